# Copyright: opsbook contributors
# Apache License 2.0 (see LICENSE in the repository root)
"""Filters of the maintenance roles; the logic lives in module_utils/maintenance.py,
maintenance_report.py and security.py."""

from __future__ import annotations

from ansible_collections.opsbook.runbooks.plugins.module_utils import maintenance as m
from ansible_collections.opsbook.runbooks.plugins.module_utils import maintenance_report as mr
from ansible_collections.opsbook.runbooks.plugins.module_utils import security as s
from ansible_collections.opsbook.runbooks.plugins.plugin_utils.filters import filter_module

FilterModule = filter_module(
    (m.MaintenanceError, s.SecurityError),
    {
        "maintenance_guard": m.maintenance_guard,
        "unused_indexes_for": m.unused_indexes_for,
        "mongodb_size_map": m.mongodb_size_map,
        "size_growth": m.size_growth,
        "redis_figures": m.redis_figures,
        "redis_observations": m.redis_observations,
        "tls_endpoints": m.tls_endpoints,
        "certificate_rows": m.certificate_rows,
        "certificate_observations": m.certificate_observations,
        "capacity_disk_sample": m.capacity_disk_sample,
        "capacity_named_sample": m.capacity_named_sample,
        "capacity_backup_samples": m.capacity_backup_samples,
        "capacity_add": m.add_samples,
        "maintenance_report": mr.maintenance_report,
        "capacity_rows": m.capacity_rows,
        "capacity_svg": m.capacity_svg,
        "security_file_entries": s.file_entries,
        "security_file_findings": s.file_findings,
        "security_postgres_findings": s.postgres_findings,
        "security_postgres_server_findings": s.postgres_server_findings,
        "security_container_findings": s.containers_findings,
        "security_sshd_findings": s.sshd_findings,
        "security_accept": s.accept,
    },
)
