#!/usr/bin/python
# Copyright: opsbook contributors
# Apache License 2.0 (see LICENSE in the repository root)
"""Dump PostgreSQL databases (pg_dump -Fc each, pg_dumpall --globals-only) into a sealed opsbook backup."""

from __future__ import annotations

DOCUMENTATION = r"""
module: postgres_backup
short_description: Dump PostgreSQL databases and globals into a sealed, checksummed backup
description:
  - For each database, opens a C(REPEATABLE READ) transaction, exports its snapshot, counts the rows
    of every table in that snapshot and runs C(pg_dump --format=custom --snapshot=...), so the counts
    in the manifest are exactly what the dump holds. Then C(pg_dumpall --globals-only) (roles with
    their password hashes, tablespaces).
  - Writes into a C(.partial) directory, seals it with the manifest and the completion marker, or
    removes it and fails with the tool's message.
  - The password reaches the tools through a 0600 PGPASSFILE in a private temporary directory.
  - O(login_user) must be a superuser (C(pg_dumpall --globals-only) reads C(pg_authid)).
version_added: "0.1.0"
author: opsbook contributors (@opsbook)
extends_documentation_fragment:
  - opsbook.runbooks.postgres
  - opsbook.runbooks.backup
  - opsbook.runbooks.attributes
options:
  databases:
    description: Databases to dump. Empty dumps every database that accepts connections except templates.
    type: list
    elements: str
    default: []
  globals:
    description: Also dump roles and tablespaces with C(pg_dumpall --globals-only).
    type: bool
    default: true
  pg_dump_path:
    description: The pg_dump binary (its major version must be at least the server's).
    type: path
    default: pg_dump
  pg_dumpall_path:
    description: The pg_dumpall binary.
    type: path
    default: pg_dumpall
attributes:
  check_mode:
    support: full
    details: In check mode nothing is dumped; the module reports what it would write.
  diff_mode:
    support: none
"""

EXAMPLES = r"""
- name: Take the daily PostgreSQL backup
  opsbook.runbooks.postgres_backup:
    login_host: 127.0.0.1
    login_port: 5432
    login_password: "{{ vault_postgres_admin_password }}"
    databases: [ecommerce, ecommerce_ai]
    root: /var/backups/opsbook
    target: postgres
  no_log: true
"""

RETURN = r"""
path:
  description: The sealed backup directory.
  returned: changed
  type: str
  sample: /var/backups/opsbook/postgres/daily/20250111T020000Z
id:
  description: The backup's id.
  returned: changed
  type: str
  sample: 20250111T020000Z
manifest:
  description: The manifest written; C(counts) has rows per C(database.schema.table).
  returned: changed
  type: dict
  sample: {kind: postgres, databases: [shop], counts: {"shop.public.orders": 1200}}
skipped_for:
  description: With O(skip_if_newer_than_minutes), the recent backup that made this run write nothing.
  returned: when nothing was written because a recent backup exists
  type: str
  sample: /var/backups/opsbook/postgres/daily/20250111T020000Z
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.opsbook.runbooks.plugins.module_utils.backup import (
    BackupError,
    BackupWriter,
    encryption_details,
    run_and_exit,
    skip_if_recent,
    tool_version,
    writer_argument_spec,
)
from ansible_collections.opsbook.runbooks.plugins.module_utils.backup_pg import (
    PSYCOPG2_IMPORT_ERROR,
    Psycopg2Error,
    pg_connect,
    snapshot_counts,
)
from ansible_collections.opsbook.runbooks.plugins.module_utils.backup_tools import (
    pg_dump_argv,
    pg_env,
    pgpass_line,
    private_dir,
    run_to_file,
    write_secret_file,
)
from ansible_collections.opsbook.runbooks.plugins.module_utils.postgres import postgres_argument_spec


def backup(p: dict, check_mode: bool) -> dict:
    skipped = skip_if_recent(p)
    if skipped:
        return skipped
    admin = pg_connect(p, "postgres")
    try:
        with admin.cursor() as cur:
            cur.execute("SHOW server_version")
            version = cur.fetchone()[0]
            cur.execute("SELECT datname FROM pg_database WHERE datallowconn AND NOT datistemplate ORDER BY 1")
            existing = [row[0] for row in cur.fetchall()]
    finally:
        admin.close()
    missing = sorted(set(p["databases"]) - set(existing))
    if missing:
        raise BackupError(f"databases {', '.join(missing)} do not exist on the server (it has {', '.join(existing)})")
    databases = p["databases"] or [d for d in existing if d != "postgres"]
    if check_mode:
        return {"changed": True, "msg": f"would dump {', '.join(databases)}" + (" and globals" if p["globals"] else "")}
    suffix = ".age" if p["age_recipients"] else ""
    counts: dict[str, int] = {}
    with BackupWriter(p["root"], p["target"], p["tier"], "postgres") as writer, private_dir() as tmp:
        pgpass = write_secret_file(
            tmp / "pgpass", pgpass_line(p["login_host"], p["login_port"], p["login_user"], p["login_password"] or "")
        )
        env = pg_env(
            pgpass, p["login_host"], p["login_port"], p["login_user"], sslmode=p["ssl_mode"], sslrootcert=p["ca_cert"]
        )
        for database in databases:
            conn = pg_connect(p, database)
            try:
                snapshot, table_counts = snapshot_counts(conn)
                counts.update({f"{database}.{table}": n for table, n in table_counts.items()})
                argv = pg_dump_argv(p["pg_dump_path"], database, "-", snapshot=snapshot)
                run_to_file(
                    argv, writer.path(f"{database}.pgdump{suffix}"), env=env, age_recipients=p["age_recipients"]
                )
            finally:
                conn.close()
        if p["globals"]:
            argv = [p["pg_dumpall_path"], "--globals-only", "--no-password"]
            run_to_file(argv, writer.path(f"globals.sql{suffix}"), env=env, age_recipients=p["age_recipients"])
        return writer.sealed(
            {
                "tool": {"name": "pg_dump", "version": tool_version(p["pg_dump_path"])},
                "server": {"version": version},
                "source": f"{p['login_host']}:{p['login_port']}",
                "databases": databases,
                "globals": p["globals"],
                "counts": counts,
                "encryption": encryption_details(p["age_recipients"]),
            }
        )


def main() -> None:
    module = AnsibleModule(
        argument_spec=writer_argument_spec(
            **postgres_argument_spec(),
            databases={"type": "list", "elements": "str", "default": []},
            globals={"type": "bool", "default": True},
            pg_dump_path={"type": "path", "default": "pg_dump"},
            pg_dumpall_path={"type": "path", "default": "pg_dumpall"},
        ),
        supports_check_mode=True,
    )
    p = module.params
    run_and_exit(
        module,
        backup,
        f"PostgreSQL backup of {p['login_host']}:{p['login_port']} to {p['root']}/{p['target']} failed, "
        "nothing was kept",
        errors=(Psycopg2Error,),
        library="psycopg2",
        import_error=PSYCOPG2_IMPORT_ERROR,
    )


if __name__ == "__main__":
    main()
