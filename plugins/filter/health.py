# Copyright: opsbook contributors
# Apache License 2.0 (see LICENSE in the repository root)
"""Filters of the health check; the logic lives in module_utils/health.py."""

from __future__ import annotations

from typing import Any

from ansible_collections.opsbook.runbooks.plugins.module_utils import health as h
from ansible_collections.opsbook.runbooks.plugins.plugin_utils.filters import filter_errors

_wrap = filter_errors(h.HealthError)


class FilterModule:
    """The filters of this file, by their names in the collection (opsbook.runbooks.<name>)."""

    def filters(self) -> dict[str, Any]:
        return {
            "service_group": _wrap(h.service_group),
            "services_checked_here": _wrap(h.services_checked_here),
            "merge_observations": _wrap(h.merge_observations),
            "service_observations": _wrap(h.service_observations),
            "combine_observations": _wrap(h.combine_observations),
            "service_record": _wrap(h.service_record),
            "probe_targets": _wrap(h.probe_targets),
            "probe_services": _wrap(h.probe_services),
            "check_records": _wrap(h.check_records),
            "check_observations": _wrap(h.check_observations),
            "check_figures": _wrap(h.check_figures),
            "container_records": _wrap(h.container_records),
            "log_errors": _wrap(h.log_errors),
            "host_results": _wrap(h.host_results),
            "health_results": _wrap(h.health_results),
            "checked_results": _wrap(h.checked_results),
            "broken_observations": _wrap(h.broken_observations),
            "backup_targets_here": _wrap(h.backup_targets_here),
            "backup_freshness": _wrap(h.backup_freshness),
            "result_services": _wrap(h.result_services),
            "host_observations": _wrap(h.host_observations),
            "health_report": _wrap(h.health_report),
        }
