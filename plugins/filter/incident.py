# Copyright: opsbook contributors
# Apache License 2.0 (see LICENSE in the repository root)
"""Filters of the incident, forensics and emergency playbooks; the logic lives in
module_utils/incident.py."""

from __future__ import annotations

from typing import Any

from ansible_collections.opsbook.runbooks.plugins.module_utils import incident as inc
from ansible_collections.opsbook.runbooks.plugins.plugin_utils.filters import filter_errors

_wrap = filter_errors(inc.IncidentError)


class FilterModule:
    """The filters of this file, by their names in the collection (opsbook.runbooks.<name>)."""

    def filters(self) -> dict[str, Any]:
        return {
            "severity": _wrap(inc.severity),
            "incident_assess": _wrap(inc.assess),
            "compare_counts": _wrap(inc.compare_counts),
            "rollback_criteria": _wrap(inc.rollback_criteria),
            "invalid_addresses": _wrap(inc.invalid_addresses),
            "redact_inspect": _wrap(inc.redact_inspect),
            "http_targets": _wrap(inc.http_targets),
            "git_entries": _wrap(inc.git_entries),
            "dependency_checks": _wrap(inc.dependency_checks),
            "service_logs": _wrap(inc.service_logs),
            "outage_plan": _wrap(inc.outage_plan),
            "outage_actions": _wrap(inc.outage_actions),
            "validate_summary": _wrap(inc.validate_summary),
            "address_list": _wrap(inc.address_list),
            "instant_values": _wrap(inc.instant_values),
        }
