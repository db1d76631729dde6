# Copyright: opsbook contributors
# Apache License 2.0 (see LICENSE in the repository root)
"""Filters over the inventory's backup targets; the logic lives in module_utils/backup_targets.py."""

from __future__ import annotations

from typing import Any

from ansible_collections.opsbook.runbooks.plugins.module_utils import backup_targets as bt
from ansible_collections.opsbook.runbooks.plugins.plugin_utils.filters import filter_errors

_wrap = filter_errors(bt.BackupTargetError)


class FilterModule:
    """The filters of this file, by their names in the collection (opsbook.runbooks.<name>)."""

    def filters(self) -> dict[str, Any]:
        return {
            "backup_targets_checked": _wrap(bt.check_targets),
            "backup_target_groups": _wrap(bt.target_groups),
            "backup_target_entry": _wrap(bt.target_entry),
            "postgres_servers": _wrap(bt.postgres_servers),
        }
