# Copyright: opsbook contributors
# Apache License 2.0 (see LICENSE in the repository root)
"""The inventory's table of backup targets (opsbook_backup_targets): what each target is, which
inventory group backs it up, and which server it reads. One place for what backup.yml,
backup_verify.yml, restore.yml and the health check's freshness check all need to agree on.

An entry: {target, kind: mongodb | postgres | files} and, optionally, group (the inventory group
whose hosts back it up; by kind: mongodb, postgres, app), host and port (the server, for a kind
with several servers such as seed 004's two PostgreSQL servers; default: the inventory's
opsbook_<kind>_host and _port) and databases (PostgreSQL: the databases to dump)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

KINDS = ("mongodb", "postgres", "files")
GROUP_OF_KIND = {"mongodb": "mongodb", "postgres": "postgres", "files": "app"}
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


class BackupTargetError(ValueError):
    """The table of backup targets is not usable."""


def check_targets(targets: Iterable[Mapping[str, Any]] | None) -> list[dict[str, Any]]:
    """The targets with their group filled in; BackupTargetError naming what to fix when the table
    is empty (a backup run that backs up nothing must not report success), or an entry is wrong."""
    entries = list(targets or [])
    if not entries:
        raise BackupTargetError(
            "opsbook_backup_targets is empty: this run would back up nothing. List what to back up, "
            "e.g. [{target: mongodb, kind: mongodb}, {target: postgres, kind: postgres}, {target: files, kind: files}]."
        )
    seen: set[str] = set()
    checked = []
    for number, entry in enumerate(entries, 1):
        name, kind = entry.get("target"), entry.get("kind")
        if not isinstance(name, str) or not _NAME.match(name):
            raise BackupTargetError(f"opsbook_backup_targets entry #{number}: target must be a name, got {name!r}")
        if kind not in KINDS:
            raise BackupTargetError(f"backup target {name}: kind must be one of {', '.join(KINDS)}, got {kind!r}")
        if name in seen:
            raise BackupTargetError(f"backup target {name} is listed twice")
        seen.add(name)
        checked.append({**entry, "group": entry.get("group") or GROUP_OF_KIND[kind]})
    return checked


def target_groups(targets: Iterable[Mapping[str, Any]] | None) -> dict[str, str]:
    """{target: the inventory group that backs it up}, for the targets of the table."""
    return {t["target"]: t["group"] for t in check_targets(targets)} if targets else {}


def targets_of(targets: Iterable[Mapping[str, Any]] | None, kind: str, groups: Iterable[str]) -> list[dict[str, Any]]:
    """The targets of one kind that a host in `groups` (its group_names) backs up."""
    mine = set(groups)
    return [t for t in check_targets(targets) if t["kind"] == kind and t["group"] in mine]


def target(
    targets: Iterable[Mapping[str, Any]] | None, name: str, defaults: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """One target's entry, with host and port from `defaults` where the entry names none."""
    for entry in check_targets(targets):
        if entry["target"] == name:
            return {**{k: v for k, v in (defaults or {}).items() if v is not None}, **entry}
    raise BackupTargetError(f"no backup target {name!r} in opsbook_backup_targets")
