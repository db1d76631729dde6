# Copyright: opsbook contributors
# Apache License 2.0 (see LICENSE in the repository root)
"""Filters of the maintenance roles; the logic lives in module_utils/maintenance.py,
maintenance_report.py and security.py."""

from __future__ import annotations

from typing import Any

from ansible_collections.opsbook.runbooks.plugins.module_utils import maintenance as m
from ansible_collections.opsbook.runbooks.plugins.module_utils import maintenance_report as mr
from ansible_collections.opsbook.runbooks.plugins.module_utils import security as s
from ansible_collections.opsbook.runbooks.plugins.plugin_utils.filters import filter_errors

_wrap = filter_errors((m.MaintenanceError, s.SecurityError))


class FilterModule:
    """Maintenance guard, MongoDB, Redis, certificate, capacity, security and report filters."""

    def filters(self) -> dict[str, Any]:
        return {
            "maintenance_guard": _wrap(m.maintenance_guard),
            "unused_indexes_for": _wrap(m.unused_indexes_for),
            "mongodb_size_map": _wrap(m.mongodb_size_map),
            "size_growth": _wrap(m.size_growth),
            "redis_figures": _wrap(m.redis_figures),
            "redis_observations": _wrap(m.redis_observations),
            "tls_endpoints": _wrap(m.tls_endpoints),
            "certificate_rows": _wrap(m.certificate_rows),
            "certificate_observations": _wrap(m.certificate_observations),
            "capacity_disk_sample": _wrap(m.capacity_disk_sample),
            "capacity_named_sample": _wrap(m.capacity_named_sample),
            "capacity_backup_samples": _wrap(m.capacity_backup_samples),
            "capacity_add": _wrap(m.add_samples),
            "maintenance_report": _wrap(mr.maintenance_report),
            "capacity_rows": _wrap(m.capacity_rows),
            "capacity_svg": _wrap(m.capacity_svg),
            "security_file_entries": _wrap(s.file_entries),
            "security_file_findings": _wrap(s.file_findings),
            "security_postgres_findings": _wrap(s.postgres_findings),
            "security_postgres_server_findings": _wrap(s.postgres_server_findings),
            "security_container_findings": _wrap(s.containers_findings),
            "security_sshd_findings": _wrap(s.sshd_findings),
            "security_accept": _wrap(s.accept),
        }
