#!/usr/bin/python
# Copyright: opsbook contributors
# Apache License 2.0 (see LICENSE in the repository root)
"""Dump a MongoDB server with mongodump into a sealed opsbook backup."""

from __future__ import annotations

DOCUMENTATION = r"""
module: mongodb_backup
short_description: Dump a MongoDB server with mongodump into a sealed, checksummed backup
description:
  - Runs C(mongodump --archive --gzip), with C(--oplog) when the server keeps an oplog, into a
    C(.partial) directory, writes the manifest (tool and server versions, times, SHA-256 and size of
    the archive, documents per collection as mongodump counted them, the oplog range), fsyncs it,
    renames it into place and writes the completion marker last. On any failure the partial
    directory is removed and the task fails with the tool's own message.
  - The password reaches mongodump through a 0600 C(--config) file in a private temporary
    directory, never its command line.
version_added: "0.1.0"
author: opsbook contributors (@opsbook)
extends_documentation_fragment:
  - opsbook.runbooks.mongodb
  - opsbook.runbooks.backup
  - opsbook.runbooks.attributes
options:
  databases:
    description:
      - Dump only this database (mongodump dumps one database or all). Empty dumps the whole server,
        which C(--oplog) requires.
    type: list
    elements: str
    default: []
  oplog:
    description:
      - V(auto) adds C(--oplog) when the server has C(local.oplog.rs) with at least one entry
        (mongodump needs one to start from; a server that was never written to has none) and
        O(databases) is empty; V(always) fails when it cannot; V(never) leaves it out.
    type: str
    default: auto
    choices: [auto, always, never]
  gzip:
    description: Compress the archive (C(--gzip)).
    type: bool
    default: true
  parallel_collections:
    description: C(--numParallelCollections), collections dumped at once.
    type: int
    default: 4
  mongodump_path:
    description: The mongodump binary.
    type: path
    default: mongodump
attributes:
  check_mode:
    support: full
    details: In check mode nothing is dumped; the module reports what it would write.
  diff_mode:
    support: none
"""

EXAMPLES = r"""
- name: Take the daily MongoDB backup
  opsbook.runbooks.mongodb_backup:
    login_host: 127.0.0.1
    login_port: 27017
    login_user: opsbook_admin
    login_password: "{{ vault_mongodb_admin_password }}"
    root: /var/backups/opsbook
    target: mongodb
    tier: daily
    age_recipients: ["age1qyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqs3290gq"]
  no_log: true
"""

RETURN = r"""
path:
  description: The sealed backup directory.
  returned: changed
  type: str
  sample: /var/backups/opsbook/mongodb/daily/20250111T020000Z
id:
  description: The backup's id.
  returned: changed
  type: str
  sample: 20250111T020000Z
manifest:
  description: The manifest written (see docs/backup.md).
  returned: changed
  type: dict
  sample: {kind: mongodb, counts: {"shop.orders": 1200}, oplog: {start: {t: 1736560800, i: 1}, entries: 3}}
skipped_for:
  description: With O(skip_if_newer_than_minutes), the recent backup that made this run write nothing.
  returned: when nothing was written because a recent backup exists
  type: str
  sample: /var/backups/opsbook/mongodb/daily/20250111T020000Z
"""

from ansible_collections.opsbook.runbooks.plugins.module_utils.backup import (
    BackupError,
    BackupWriter,
    encryption_details,
    run_mongodb_and_exit,
    skip_if_recent,
    tool_version,
    writer_argument_spec,
)
from ansible_collections.opsbook.runbooks.plugins.module_utils.backup_tools import (
    SYSTEM_DATABASES,
    index_specs,
    mongo_tool_connection,
    mongodump_argv,
    parse_mongodump_output,
    private_dir,
    run_to_file,
    ts_dict,
)
from ansible_collections.opsbook.runbooks.plugins.module_utils.mongodb import (
    mongodb_client,
    mongodb_module,
)


def newest_oplog_ts(client):
    """The newest oplog entry's timestamp, or None when the server keeps no oplog."""
    if "oplog.rs" not in client["local"].list_collection_names():
        return None
    entry = client["local"]["oplog.rs"].find_one({}, sort=[("ts", -1)], projection={"ts": 1})
    return entry["ts"] if entry else None


def use_oplog(mode: str, has_oplog: bool, databases: list[str], oplog_empty: bool = False) -> bool:
    if mode == "never":
        return False
    possible = has_oplog and not oplog_empty and not databases
    if mode == "always" and not possible:
        if not has_oplog:
            why = "the server has no local.oplog.rs"
        elif oplog_empty:
            why = "the oplog has no entry yet to start from"
        else:
            why = "databases is set (--oplog needs the whole server)"
        raise BackupError(f"oplog=always but mongodump --oplog is not possible: {why}")
    return possible


def backup(params: dict, check_mode: bool) -> dict:
    skipped = skip_if_recent(params)
    if skipped:
        return skipped
    client = mongodb_client(params)
    try:
        server = client.admin.command("buildInfo")
        has_oplog = "oplog.rs" in client["local"].list_collection_names()
        oplog = use_oplog(params["oplog"], has_oplog, params["databases"], has_oplog and not newest_oplog_ts(client))
        if check_mode:
            return {
                "changed": True,
                "msg": f"would dump {params['login_host']}:{params['login_port']} (oplog: {oplog})",
            }
        start_ts = newest_oplog_ts(client) if oplog else None
        encrypted = bool(params["age_recipients"])
        name = "dump.archive" + (".gz" if params["gzip"] else "") + (".age" if encrypted else "")
        with BackupWriter(params["root"], params["target"], params["tier"], "mongodb") as writer, private_dir() as tmp:
            argv = mongodump_argv(
                params["mongodump_path"],
                mongo_tool_connection(params, tmp, "mongodump.yml"),
                archive="-",
                gzip=params["gzip"],
                oplog=oplog,
                databases=params["databases"],
                parallel_collections=params["parallel_collections"],
            )
            # The archive goes to mongodump's stdout, a file this module creates 0600 (mongodump's
            # own --archive=FILE would be 0644), through age when encrypting.
            log = run_to_file(argv, writer.path(name), age_recipients=params["age_recipients"])
            parsed = parse_mongodump_output(log)
            end_ts = newest_oplog_ts(client) if oplog else None
            user = [ns for ns in parsed["counts"] if ns.split(".", 1)[0] not in SYSTEM_DATABASES]
            return writer.sealed(
                {
                    "tool": {"name": "mongodump", "version": tool_version(params["mongodump_path"])},
                    "server": {"version": server.get("version"), "ferretdb": server.get("ferretdbVersion")},
                    "source": f"{params['login_host']}:{params['login_port']}",
                    "databases": sorted({ns.split(".", 1)[0] for ns in parsed["counts"]}),
                    "counts": parsed["counts"],
                    "indexes": index_specs(client, user),
                    "archive": {"name": name, "gzip": params["gzip"]},
                    "oplog": {"start": ts_dict(start_ts), "end": ts_dict(end_ts), "entries": parsed["oplog_entries"]}
                    if oplog
                    else None,
                    "encryption": encryption_details(params["age_recipients"]),
                    "options": {"parallel_collections": params["parallel_collections"]},
                }
            )
    finally:
        client.close()


def main() -> None:
    module = mongodb_module(
        **writer_argument_spec(
            databases={"type": "list", "elements": "str", "default": []},
            oplog={"type": "str", "default": "auto", "choices": ["auto", "always", "never"]},
            gzip={"type": "bool", "default": True},
            parallel_collections={"type": "int", "default": 4},
            mongodump_path={"type": "path", "default": "mongodump"},
        )
    )
    p = module.params
    run_mongodb_and_exit(
        module,
        backup,
        f"MongoDB backup of {p['login_host']}:{p['login_port']} to {p['root']}/{p['target']} failed, nothing was kept",
    )


if __name__ == "__main__":
    main()
