# Copyright: opsbook contributors
# Apache License 2.0 (see LICENSE in the repository root)
"""The inventory's table of backup targets (opsbook_backup_targets): what each target is, which
inventory group backs it up, and which server it reads. One place for what backup.yml,
backup_verify.yml, restore.yml and the health check's freshness check all need to agree on.

An entry: {target, kind: mongodb | postgres | files} and, optionally, group (the inventory group
whose hosts back it up; by kind: mongodb, postgres, app) and, for PostgreSQL, server: the name of
one of opsbook_postgres_servers (seed 004 runs a main and an AI server), whose host, port and
databases the target takes; without one, the inventory's opsbook_postgres_host, _port and
_databases.

`postgres_servers()` is the one list of PostgreSQL servers the runbooks work on (backups,
verification, vacuum, the security checks): opsbook_postgres_servers, or the one server of
opsbook_postgres_host and _port."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

KINDS = ("mongodb", "postgres", "files")
GROUP_OF_KIND = {"mongodb": "mongodb", "postgres": "postgres", "files": "app"}
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


class BackupTargetError(ValueError):
    """The table of backup targets is not usable."""


def postgres_servers(
    servers: Iterable[Mapping[str, Any]] | None,
    host: str | None = None,
    port: int | None = None,
    databases: Iterable[str] | None = None,
) -> list[dict[str, Any]]:
    """The PostgreSQL servers: each {name, host, port, databases}; without a list, the inventory's
    one server (opsbook_postgres_host, _port, _databases) named "main"."""  # fmt: skip
    if not servers:
        return [
            {"name": "main", "host": host or "127.0.0.1", "port": int(port or 5432), "databases": list(databases or [])}
        ]
    listed = []
    for number, server in enumerate(servers, 1):
        if not server.get("name") or not server.get("port"):
            raise BackupTargetError(
                f"opsbook_postgres_servers entry #{number} needs a name and a port, got {dict(server)}"
            )
        listed.append(
            {
                "name": server["name"],
                "host": server.get("host") or host or "127.0.0.1",
                "port": int(server["port"]),
                "databases": list(server.get("databases") or []),
            }
        )
    return listed


def check_targets(
    targets: Iterable[Mapping[str, Any]] | None, servers: Iterable[Mapping[str, Any]] | None = None
) -> list[dict[str, Any]]:
    """The targets with their group (and, when `servers` is given, a PostgreSQL target's server's
    host, port and databases) filled in; BackupTargetError naming what to fix when the table is
    empty (a backup run that backs up nothing must not report success), or an entry is wrong."""
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
        filled = {**entry, "group": entry.get("group") or GROUP_OF_KIND[kind]}
        if entry.get("server") and servers is not None:
            known = {s["name"]: s for s in servers or []}
            if kind != "postgres" or entry["server"] not in known:
                raise BackupTargetError(
                    f"backup target {name}: server {entry['server']!r} is not one of opsbook_postgres_servers "
                    f"({', '.join(known) or 'none listed'})"
                )
            server = known[entry["server"]]
            filled.update(
                host=server.get("host"), port=int(server["port"]), databases=list(server.get("databases") or [])
            )
        checked.append(filled)
    return checked


def target_groups(targets: Iterable[Mapping[str, Any]] | None) -> dict[str, str]:
    """{target: the inventory group that backs it up}, for the targets of the table (servers are
    not looked up: check_targets(targets) with servers=None)."""
    return {t["target"]: t["group"] for t in check_targets(targets)} if targets else {}


def target_entry(
    targets: Iterable[Mapping[str, Any]] | None, name: str, servers: Iterable[Mapping[str, Any]] | None = None
) -> dict[str, Any]:
    """One target's entry, its server filled in; {} when the table does not list it."""
    if not targets:
        return {}
    return next((t for t in check_targets(targets, servers) if t["target"] == name), {})
