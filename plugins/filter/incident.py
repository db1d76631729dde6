# Copyright: opsbook contributors
# Apache License 2.0 (see LICENSE in the repository root)
"""Filters of the incident, forensics and emergency playbooks; the logic lives in
module_utils/incident.py."""

from __future__ import annotations

from ansible_collections.opsbook.runbooks.plugins.module_utils import incident as inc
from ansible_collections.opsbook.runbooks.plugins.plugin_utils.filters import filter_module

FilterModule = filter_module(
    inc.IncidentError,
    {
        "severity": inc.severity,
        "incident_assess": inc.assess,
        "compare_counts": inc.compare_counts,
        "rollback_criteria": inc.rollback_criteria,
        "invalid_addresses": inc.invalid_addresses,
        "redact_inspect": inc.redact_inspect,
        "http_targets": inc.http_targets,
        "git_entries": inc.git_entries,
        "dependency_checks": inc.dependency_checks,
        "service_logs": inc.service_logs,
        "outage_plan": inc.outage_plan,
        "outage_actions": inc.outage_actions,
        "validate_summary": inc.validate_summary,
        "address_list": inc.address_list,
        "instant_values": inc.instant_values,
    },
)
