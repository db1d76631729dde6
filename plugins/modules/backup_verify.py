#!/usr/bin/python
# Copyright: opsbook contributors
# Apache License 2.0 (see LICENSE in the repository root)
"""Prove a backup restorable: checksums, a timed restore into scratch, counts, cleanup, a record."""

from __future__ import annotations

DOCUMENTATION = r"""
module: backup_verify
short_description: Prove an opsbook backup restorable by restoring it into a scratch copy
description:
  - Picks the newest complete backup of O(target) (or O(backup_id)), checks every file against the
    manifest's size and SHA-256, restores it into scratch (MongoDB databases renamed with
    C(--nsFrom/--nsTo) on the same server, PostgreSQL databases C(<scratch_prefix><db>), files into a
    private directory under the backup root), compares the restored counts with the manifest, drops
    the scratch copy and records C(verified_at), the result and the measured restore time in the
    manifest. That restore time is the recovery-time drill figure of seeds 002 and 004.
  - A failed verification is recorded too (result V(failed) with the problems), and the task fails.
  - Directories without a completion marker are never candidates; a named one fails with the reason.
version_added: "0.1.0"
author: opsbook contributors (@opsbook)
extends_documentation_fragment:
  - opsbook.runbooks.mongodb
  - opsbook.runbooks.backup.restore
  - opsbook.runbooks.attributes
options:
  target:
    description: The target whose backup to verify.
    type: str
    required: true
  backup_id:
    description: The backup to verify; default the newest complete one.
    type: str
  scratch_prefix:
    description: Prefix of the scratch database names. Existing databases with these names are dropped.
    type: str
    default: opsbook_verify_
  record:
    description: Record the result in the backup's manifest.
    type: bool
    default: true
attributes:
  check_mode:
    support: full
    details: In check mode only the checksums are checked; nothing is restored or recorded.
  diff_mode:
    support: none
"""

EXAMPLES = r"""
- name: Verify the newest MongoDB backup
  opsbook.runbooks.backup_verify:
    root: /var/backups/opsbook
    target: mongodb
    login_host: 127.0.0.1
    login_port: 27017
    login_user: opsbook_admin
    login_password: "{{ vault_mongodb_admin_password }}"
  no_log: true
"""

RETURN = r"""
backup:
  description: The backup verified (target, tier, id, path).
  returned: always
  type: dict
  sample: {target: mongodb, tier: daily, id: 20250111T020000Z,
           path: /var/backups/opsbook/mongodb/daily/20250111T020000Z}
verification:
  description: What was recorded in the manifest.
  returned: success
  type: dict
  sample:
    result: ok
    verified_at: "2025-01-11T03:00:00Z"
    verified_epoch: 1736564400.0
    restore_seconds: 41.2
    bytes: 104857600
    problems: []
"""

import time
import traceback

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.opsbook.runbooks.plugins.module_utils.backup import (
    BackupError,
    backup_ref,
    check_files,
    find_backup,
    iso,
    list_backups,
    restore_argument_spec,
)
from ansible_collections.opsbook.runbooks.plugins.module_utils.backup import record_verification as store
from ansible_collections.opsbook.runbooks.plugins.module_utils.backup_restore import (
    files_restore,
    mongodb_restore,
    postgres_drop,
    postgres_restore,
    scratch_dir,
    user_namespaces,
)
from ansible_collections.opsbook.runbooks.plugins.module_utils.mongodb import mongodb_argument_spec, mongodb_client


def restore_into_scratch(p: dict, record: dict) -> dict:
    kind = record["manifest"]["kind"]
    prefix = p["scratch_prefix"]
    if kind == "mongodb":
        client = mongodb_client(p)
        databases = sorted({ns.split(".", 1)[0] for ns in user_namespaces(record["manifest"]["counts"])})
        try:
            for db in databases:
                client.drop_database(prefix + db)
            return mongodb_restore(
                p,
                record,
                client,
                rename=lambda db: prefix + db,
                parallel_collections=p["parallel_collections"],
                insertion_workers=p["insertion_workers"],
                identity_file=p["age_identity_file"],
                mongorestore_path=p["mongorestore_path"],
            )
        finally:
            for db in databases:
                client.drop_database(prefix + db)
            client.close()
    if kind == "postgres":
        from ansible_collections.opsbook.runbooks.plugins.module_utils.backup_pg import pg_connect, table_counts

        def connect(db: str):
            return pg_connect(p, db)

        scratch = [prefix + db for db in record["manifest"]["databases"]]
        postgres_drop(connect, scratch)
        try:
            return postgres_restore(
                p,
                record,
                connect,
                table_counts,
                rename=lambda db: prefix + db,
                jobs=p["insertion_workers"],
                identity_file=p["age_identity_file"],
                pg_restore_path=p["pg_restore_path"],
            )
        finally:
            postgres_drop(connect, scratch)
    if kind == "files":
        import shutil

        dest = scratch_dir(p["root"])
        try:
            return files_restore(record, dest, identity_file=p["age_identity_file"])
        finally:
            shutil.rmtree(dest, ignore_errors=True)
    raise BackupError(f"backups of kind {kind!r} are verified by their checksums only")


def main() -> None:
    spec = mongodb_argument_spec(
        **restore_argument_spec(
            target={"type": "str", "required": True},
            backup_id={"type": "str"},
            scratch_prefix={"type": "str", "default": "opsbook_verify_"},
            record={"type": "bool", "default": True},
        )
    )
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    p = module.params
    try:
        record = find_backup(list_backups(p["root"], [p["target"]]), p["target"], p["backup_id"])
    except (BackupError, OSError) as err:
        module.fail_json(msg=f"Nothing to verify: {err}")
    backup = backup_ref(record)
    problems = check_files(record["path"], record["manifest"])
    if module.check_mode:
        module.exit_json(changed=False, backup=backup, problems=problems, msg="check mode: checksums only")
    result: dict = {"problems": problems}
    error = None
    if not problems:
        try:
            result = restore_into_scratch(p, record)
        except Exception as err:  # every failure is recorded as a failed verification
            error = err
            result = {"problems": [f"restore into scratch failed: {err}"]}
    now = time.time()
    verification = {
        "result": "ok" if not result["problems"] else "failed",
        "verified_at": iso(now),
        "verified_epoch": now,
        "restore_seconds": result.get("restore_seconds"),
        "bytes": record["size_bytes"],
        "problems": result["problems"],
        "scratch": result.get("databases"),
        "counts_checked": len(result.get("counts", {})),
    }
    if p["record"]:
        try:
            store(record["path"], verification)
        except (BackupError, OSError) as err:
            module.fail_json(msg=f"Verification of {record['path']} ran but could not be recorded: {err}")
    if verification["result"] != "ok":
        module.fail_json(
            msg=f"Backup {record['path']} FAILED verification: {'; '.join(verification['problems'])}",
            backup=backup,
            verification=verification,
            exception="".join(traceback.format_exception(error)) if error else None,
            changed=p["record"],
        )
    module.exit_json(changed=p["record"], backup=backup, verification=verification)


if __name__ == "__main__":
    main()
