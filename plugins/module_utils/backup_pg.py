# Copyright: opsbook contributors
# Apache License 2.0 (see LICENSE in the repository root)
"""PostgreSQL helpers of opsbook's backup modules: connections, snapshot-consistent row counts."""

from __future__ import annotations

from typing import Any

from ansible_collections.opsbook.runbooks.plugins.module_utils.postgres import (
    PSYCOPG2_IMPORT_ERROR,
    Psycopg2Error,
    connect,
    sql,
)

# postgres_backup imports psycopg2's base error class from here, with the import error to report.
__all__ = ["PSYCOPG2_IMPORT_ERROR", "TABLES_SQL", "Psycopg2Error", "pg_connect", "snapshot_counts", "table_counts"]

TABLES_SQL = """
SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg_toast%' AND NOT c.relispartition
ORDER BY 1, 2
"""


def pg_connect(params: dict[str, Any], database: str) -> Any:
    """A psycopg2 connection to `database` with the module's login options (password in-process)."""
    return connect(params, database)


def table_counts(cur: Any) -> dict[str, int]:
    """Exact row counts of every user table, as `schema.table` (partitioned tables counted once)."""
    cur.execute(TABLES_SQL)
    counts = {}
    for schema, table in cur.fetchall():
        cur.execute(sql.SQL("SELECT count(*) FROM {}.{}").format(sql.Identifier(schema), sql.Identifier(table)))
        counts[f"{schema}.{table}"] = cur.fetchone()[0]
    return counts


def snapshot_counts(conn: Any) -> tuple[str, dict[str, int]]:
    """Open a REPEATABLE READ transaction on `conn`, export its snapshot and count rows in it.
    The transaction stays open (the snapshot lives as long as it does) until the caller closes
    the connection, so pg_dump --snapshot dumps exactly the counted rows."""
    conn.set_session(isolation_level="REPEATABLE READ", readonly=True)
    cur = conn.cursor()
    cur.execute("SELECT pg_export_snapshot()")
    snapshot = cur.fetchone()[0]
    return snapshot, table_counts(cur)
