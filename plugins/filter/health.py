# Copyright: opsbook contributors
# Apache License 2.0 (see LICENSE in the repository root)
"""Filters of the health check; the logic lives in module_utils/health.py."""

from __future__ import annotations

from ansible_collections.opsbook.runbooks.plugins.module_utils import health as h
from ansible_collections.opsbook.runbooks.plugins.plugin_utils.filters import filter_module

FilterModule = filter_module(
    h.HealthError,
    {
        "service_group": h.service_group,
        "services_checked_here": h.services_checked_here,
        "merge_observations": h.merge_observations,
        "service_observations": h.service_observations,
        "combine_observations": h.combine_observations,
        "service_record": h.service_record,
        "probe_targets": h.probe_targets,
        "probe_services": h.probe_services,
        "check_records": h.check_records,
        "check_observations": h.check_observations,
        "check_figures": h.check_figures,
        "container_records": h.container_records,
        "log_errors": h.log_errors,
        "host_results": h.host_results,
        "health_results": h.health_results,
        "checked_results": h.checked_results,
        "broken_observations": h.broken_observations,
        "backup_targets_here": h.backup_targets_here,
        "backup_freshness": h.backup_freshness,
        "result_services": h.result_services,
        "host_observations": h.host_observations,
        "health_report": h.health_report,
    },
)
