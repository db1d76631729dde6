# Copyright: opsbook contributors
# Apache License 2.0 (see LICENSE in the repository root)
"""Filters over the inventory's backup targets; the logic lives in module_utils/backup_targets.py."""

from __future__ import annotations

from ansible_collections.opsbook.runbooks.plugins.module_utils import backup_targets as bt
from ansible_collections.opsbook.runbooks.plugins.plugin_utils.filters import filter_module

FilterModule = filter_module(
    bt.BackupTargetError,
    {
        "backup_targets_checked": bt.check_targets,
        "backup_target_groups": bt.target_groups,
        "backup_target_entry": bt.target_entry,
        "postgres_servers": bt.postgres_servers,
    },
)
