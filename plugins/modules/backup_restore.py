#!/usr/bin/python
# Copyright: opsbook contributors
# Apache License 2.0 (see LICENSE in the repository root)
"""Restore an opsbook backup over the original data, optionally to a point in time."""

from __future__ import annotations

DOCUMENTATION = r"""
module: backup_restore
short_description: Restore an opsbook backup over the live data, with counts checked, optionally to a point in time
description:
  - Refuses a backup without its completion marker or whose files fail their checksums, before
    touching anything.
  - V(mongodb) backups - C(mongorestore --drop) of the backup's user databases with tuned
    C(--numInsertionWorkersPerCollection); with O(oplog_limit), replays the oplog captures of
    O(oplog_target) up to that time (point-in-time recovery). V(postgres) backups - C(pg_restore
    --clean --if-exists) into each database. V(files) backups - unpacked under O(files_dest).
  - Then counts every collection, table or file set and compares with the manifest; with a point in
    time, counts are reported but not compared (the oplog changed them).
  - Stopping writers first is the playbook's job (restore.yml); this module only restores.
version_added: "0.1.0"
author: opsbook contributors (@opsbook)
extends_documentation_fragment:
  - opsbook.runbooks.mongodb
  - opsbook.runbooks.backup.restore
  - opsbook.runbooks.attributes
options:
  target:
    description: The target whose backup to restore.
    type: str
    required: true
  backup_id:
    description:
      - The backup to restore; default the newest complete one (for a point in time, the newest that ends before it).
    type: str
  databases:
    description:
      - Restore only these databases of a MongoDB backup (the others on the server are untouched).
        Empty restores every user database the backup holds.
    type: list
    elements: str
    default: []
  oplog_limit:
    description: Point in time to recover to, V(<epoch seconds>[:<ordinal>]); entries at or after it are not applied.
    type: str
  oplog_target:
    description: Target of the oplog captures.
    type: str
    default: mongodb_oplog
  pitr_engine:
    description:
      - How oplog entries are applied. V(mongorestore) uses C(--oplogReplay --oplogLimit) (the
        server needs C(applyOps)); V(opsbook) applies them with ordinary CRUD commands (FerretDB has no
        C(applyOps)); V(auto) picks V(mongorestore) when the server lists C(applyOps).
    type: str
    default: auto
    choices: [auto, mongorestore, opsbook]
  files_dest:
    description: Directory under which a files backup is unpacked (V(/) puts files back where they were).
    type: path
attributes:
  check_mode:
    support: full
    details: In check mode the backup (and oplog chain) is checked and nothing is restored.
  diff_mode:
    support: none
"""

EXAMPLES = r"""
- name: Restore the newest MongoDB backup
  opsbook.runbooks.backup_restore:
    root: /var/backups/opsbook
    target: mongodb
    login_host: 127.0.0.1
    login_port: 27017
    login_user: opsbook_admin
    login_password: "{{ vault_mongodb_admin_password }}"
  no_log: true

- name: Recover MongoDB to 2025-01-11 16:00:00 UTC
  opsbook.runbooks.backup_restore:
    root: /var/backups/opsbook
    target: mongodb
    oplog_limit: "1736611200:0"
    login_port: 27017
    login_user: opsbook_admin
    login_password: "{{ vault_mongodb_admin_password }}"
  no_log: true
"""

RETURN = r"""
backup:
  description: The backup restored (target, tier, id, path) and what it replaces (databases or file sets).
  returned: always
  type: dict
  sample: {target: mongodb, tier: daily, id: 20250111T020000Z,
           path: /var/backups/opsbook/mongodb/daily/20250111T020000Z, replaces: [shop]}
restore:
  description: Restore time, counts after restore, problems (count mismatches), for a point in time the oplog replay.
  returned: success
  type: dict
  sample: {restore_seconds: 12.5, counts: {"shop.orders": 1200}, problems: [],
           pitr: {engine: opsbook, applied: {insert: 10, update: 3}, segments: [20250111T021500Z]}}
"""

import traceback

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.opsbook.runbooks.plugins.module_utils.backup import (
    BackupError,
    backup_ref,
    check_files,
    list_backups,
    restore_argument_spec,
)
from ansible_collections.opsbook.runbooks.plugins.module_utils.backup_restore import (
    checked_backup,
    collection_count,
    files_restore,
    mongodb_restore,
    oplog_segments,
    postgres_restore,
    replay_segments,
    replay_segments_mongorestore,
    user_namespaces,
)
from ansible_collections.opsbook.runbooks.plugins.module_utils.backup_tools import oplog_limit, ts_tuple
from ansible_collections.opsbook.runbooks.plugins.module_utils.mongodb import (
    PyMongoError,
    mongodb_argument_spec,
    mongodb_client,
)


def base_for_time(root: str, target: str, limit: tuple[int, int]) -> dict:
    """The newest complete full backup whose data ends before the point in time."""
    for record in list_backups(root, [target])["backups"]:
        oplog = record["manifest"].get("oplog") or {}
        if oplog.get("end") and ts_tuple(oplog["end"]) < limit:
            problems = check_files(record["path"], record["manifest"])
            if problems:
                raise BackupError(f"backup {record['path']} fails its checksums: {'; '.join(problems)}")
            return record
    raise BackupError(f"no complete {target} backup with an oplog range ends before {limit}")


def replaced(manifest: dict, databases: list[str]) -> list[str]:
    """What a restore of this backup overwrites: databases, or file sets."""
    if manifest["kind"] == "mongodb" and databases:
        return sorted(databases)
    if manifest["kind"] == "mongodb":
        return sorted({ns.split(".", 1)[0] for ns in user_namespaces(manifest.get("counts", {}))})
    if manifest["kind"] == "postgres":
        return list(manifest.get("databases", []))
    return sorted(manifest.get("sets", {}))


def pitr_engine(client, choice: str) -> str:
    if choice != "auto":
        return choice
    commands = client.admin.command("listCommands").get("commands", {})
    return "mongorestore" if "applyOps" in commands else "opsbook"


def restore_mongodb(p: dict, check_mode: bool) -> tuple[dict, dict]:
    limit = ts_tuple(oplog_limit(p["oplog_limit"])) if p["oplog_limit"] else None
    if limit and not p["backup_id"]:
        record = base_for_time(p["root"], p["target"], limit)
    else:
        record = checked_backup(p["root"], p["target"], p["backup_id"])
    segments = []
    if limit:
        after = record["manifest"]["oplog"]["start"]
        segments = oplog_segments(p["root"], p["oplog_target"], after, limit)
        problems = [f"{s['id']}: {q}" for s in segments for q in check_files(s["path"], s["manifest"])]
        if problems:
            raise BackupError(f"oplog captures fail their checksums: {'; '.join(problems)}")
    if check_mode:
        return record, {"segments": [s["id"] for s in segments], "msg": "check mode: backup checked, nothing restored"}
    client = mongodb_client(p)
    try:
        engine = pitr_engine(client, p["pitr_engine"]) if limit else None
        extra: tuple[str, ...] = ()
        if engine == "mongorestore":
            extra = ("--oplogReplay", f"--oplogLimit={oplog_limit(p['oplog_limit'])}")
        result = mongodb_restore(
            p,
            record,
            client,
            parallel_collections=p["parallel_collections"],
            insertion_workers=p["insertion_workers"],
            identity_file=p["age_identity_file"],
            mongorestore_path=p["mongorestore_path"],
            extra_args=extra,
            databases=p["databases"],
        )
        if limit:
            databases = set(p["databases"]) or {
                ns.split(".", 1)[0] for ns in user_namespaces(record["manifest"]["counts"])
            }
            if engine == "mongorestore":
                replay = replay_segments_mongorestore(p, segments, oplog_limit(p["oplog_limit"]))
            else:
                replay = replay_segments(
                    client,
                    segments,
                    record["manifest"]["oplog"]["start"],
                    limit,
                    ns_filter=lambda ns: ns.split(".", 1)[0] in databases,
                )
            result["pitr"] = {"engine": engine, "limit": p["oplog_limit"], **replay}
            result["expected_counts_differ"] = result.pop("problems")
            result["problems"] = []
            for ns in result["counts"]:
                db, coll = ns.split(".", 1)
                result["counts"][ns] = collection_count(client, db, coll)
    finally:
        client.close()
    return record, result


def main() -> None:
    spec = mongodb_argument_spec(
        **restore_argument_spec(
            target={"type": "str", "required": True},
            backup_id={"type": "str"},
            databases={"type": "list", "elements": "str", "default": []},
            oplog_limit={"type": "str"},
            oplog_target={"type": "str", "default": "mongodb_oplog"},
            pitr_engine={"type": "str", "default": "auto", "choices": ["auto", "mongorestore", "opsbook"]},
            files_dest={"type": "path"},
        )
    )
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    p = module.params
    record = None
    try:
        kind = None
        catalog = list_backups(p["root"], [p["target"]])
        if catalog["backups"]:
            kind = catalog["backups"][0]["kind"]
        if kind == "mongodb" or p["oplog_limit"]:
            record, result = restore_mongodb(p, module.check_mode)
        else:
            record = checked_backup(p["root"], p["target"], p["backup_id"])
            kind = record["manifest"]["kind"]
            if module.check_mode:
                result = {"msg": "check mode: backup checked, nothing restored"}
            elif kind == "postgres":
                from ansible_collections.opsbook.runbooks.plugins.module_utils.backup_pg import pg_connect, table_counts

                result = postgres_restore(
                    p,
                    record,
                    lambda db: pg_connect(p, db),
                    table_counts,
                    jobs=p["insertion_workers"],
                    identity_file=p["age_identity_file"],
                    pg_restore_path=p["pg_restore_path"],
                )
            elif kind == "files":
                if not p["files_dest"]:
                    raise BackupError("files_dest is required to restore a files backup (/ puts files back in place)")
                result = files_restore(record, p["files_dest"], identity_file=p["age_identity_file"])
            else:
                raise BackupError(f"backups of kind {kind!r} cannot be restored by this module")
    except (BackupError, PyMongoError, OSError) as err:
        module.fail_json(
            msg=f"Restore of {p['target']} refused or failed: {err}",
            backup=backup_ref(record) if record else None,
            exception=traceback.format_exc(),
        )
    backup = backup_ref(record)
    backup["replaces"] = replaced(record["manifest"], p["databases"])
    if result.get("problems"):
        module.fail_json(
            msg=f"Restored {record['path']} but the counts do not match the manifest: {'; '.join(result['problems'])}",
            backup=backup,
            restore=result,
            changed=True,
        )
    module.exit_json(changed=not module.check_mode, backup=backup, restore=result)


if __name__ == "__main__":
    main()
