"""Command lines, output parsers, oplog translation and oplog chains of the backup modules
(no services; the same code runs against real servers in tests/integration/test_backup_*.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from ansible_collections.opsbook.runbooks.plugins.module_utils.backup import BackupWriter
from ansible_collections.opsbook.runbooks.plugins.module_utils.backup_restore import compare_counts, oplog_segments
from ansible_collections.opsbook.runbooks.plugins.module_utils.backup_tools import (
    BackupError,
    mongo_connection_args,
    mongo_tool_connection,
    mongo_tools_config,
    mongodump_argv,
    mongorestore_argv,
    oplog_limit,
    oplog_operation,
    parse_mongodump_output,
    parse_mongorestore_output,
    pg_dump_argv,
    pgpass_line,
)

PARAMS = {
    "login_host": "db1",
    "login_port": 27017,
    "login_user": "ops",
    "login_password": "s3cr:t",
    "login_database": "admin",
}

# mongodump 100.10's log lines, as it prints them.
MONGODUMP_LOG = """2025-01-11T02:00:00.103+0000\twriting admin.system.users to archive on stdout
2025-01-11T02:00:00.108+0000\tdone dumping admin.system.users (1 document)
2025-01-11T02:00:01.120+0000\tdone dumping shop.orders (1200 documents)
2025-01-11T02:00:01.124+0000\twriting captured oplog to
2025-01-11T02:00:01.137+0000\t\tdumped 3 oplog entries
"""


def test_password_never_reaches_argv() -> None:
    connection = mongo_connection_args(PARAMS, Path("/tmp/x/mongodump.yml"))
    argv = mongodump_argv("mongodump", connection, archive="-", oplog=True, parallel_collections=2)
    assert not any("s3cr" in a for a in argv)
    assert "--config=/tmp/x/mongodump.yml" in argv and "--archive" in argv and "--oplog" in argv
    assert json.loads(mongo_tools_config("s3cr:t").split(": ", 1)[1]) == "s3cr:t"
    with pytest.raises(BackupError, match="uri would reach"):
        mongo_connection_args({**PARAMS, "uri": "mongodb://ops:pw@db1"}, None)
    assert pgpass_line("db1", 5432, "postgres", "a:b\\c") == "db1:5432:*:postgres:a\\:b\\\\c\n"
    assert not any("--file" in a for a in pg_dump_argv("pg_dump", "shop", "-", snapshot="00000003-1"))


def test_oplog_needs_the_whole_server() -> None:
    with pytest.raises(BackupError, match="--oplog dumps the whole server"):
        mongodump_argv("mongodump", [], archive="-", oplog=True, databases=["shop"])


def test_mongorestore_rename_and_tuning() -> None:
    argv = mongorestore_argv(
        "mongorestore", [], archive="/b/dump.archive.gz", ns_include=["shop.*"], ns_from=["shop.*"],
        ns_to=["opsbook_verify_shop.*"], insertion_workers=8, oplog_replay=True, oplog_limit="1736611200:1",
    )  # fmt: skip
    assert argv[-4:] == [
        "--numParallelCollections=4",
        "--numInsertionWorkersPerCollection=8",
        "--oplogReplay",
        "--oplogLimit=1736611200:1",
    ]
    assert "--drop" in argv and "--nsTo=opsbook_verify_shop.*" in argv


def test_parsers() -> None:
    parsed = parse_mongodump_output(MONGODUMP_LOG)
    assert parsed == {"counts": {"admin.system.users": 1, "shop.orders": 1200}, "oplog_entries": 3}
    assert parse_mongorestore_output("1200 document(s) restored successfully. 0 document(s) failed to restore.") == {
        "restored": 1200,
        "failed": 0,
    }
    assert oplog_limit("1736611200") == "1736611200:0" and oplog_limit(" 17:3 ") == "17:3"
    with pytest.raises(BackupError, match="not <epoch seconds>"):
        oplog_limit("2025-01-11")
    assert compare_counts({"a.b": 2, "a.c": 1}, {"a.b": 3}) == [
        "a.b: 3 after restore, manifest says 2",
        "a.c: missing after restore (manifest: 1)",
    ]


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ({"op": "i", "ns": "shop.o", "o": {"_id": 1, "a": 1}}, ("insert", "shop.o", {"_id": 1, "a": 1})),
        ({"op": "d", "ns": "shop.o", "o": {"_id": 1}}, ("delete", "shop.o", {"_id": 1})),
        # FerretDB 1.24 writes $v:1 updates with the whole document under $set (probed on the sandbox).
        (
            {"op": "u", "ns": "shop.o", "o": {"$v": 1, "$set": {"_id": 1, "a": 2}}, "o2": {"_id": 1}},
            ("update", "shop.o", ({"_id": 1}, {"$set": {"_id": 1, "a": 2}})),
        ),
        # MongoDB 5+ writes $v:2 diffs (documented oplog format).
        (
            {"op": "u", "ns": "shop.o", "o2": {"_id": 1},
             "o": {"$v": 2, "diff": {"u": {"a": 2}, "d": {"b": False}, "sc": {"i": {"x": 1}}}}},
            ("update", "shop.o", ({"_id": 1}, {"$set": {"a": 2, "c.x": 1}, "$unset": {"b": ""}})),
        ),
        (
            {"op": "u", "ns": "shop.o", "o": {"_id": 1, "a": 3}, "o2": {"_id": 1}},
            ("replace", "shop.o", ({"_id": 1}, {"_id": 1, "a": 3})),
        ),
        ({"op": "c", "ns": "shop.$cmd", "o": {"drop": "o"}}, ("command", "shop.$cmd", {"drop": "o"})),
        ({"op": "n", "ns": "", "o": {"msg": "periodic noop"}}, ("noop", "", None)),
    ],
)  # fmt: skip
def test_oplog_operations(entry: dict, expected: tuple) -> None:
    assert oplog_operation(entry) == expected


def test_array_diffs_are_refused_not_misapplied() -> None:
    with pytest.raises(BackupError, match="array diff"):
        oplog_operation(
            {"op": "u", "ns": "s.o", "o": {"$v": 2, "diff": {"sarr": {"a": True, "u0": 1}}}, "o2": {"_id": 1}}
        )


def segment(root: Path, after: dict | None, start: dict, end: dict, now: float) -> None:
    with BackupWriter(root, "mongodb_oplog", "oplog", "oplog", now=now) as writer:
        writer.path("oplog.bson").write_bytes(b"")
        writer.seal({"oplog": {"after": after, "start": start, "end": end, "file": "oplog.bson"}})


def test_oplog_chain_and_gaps(tmp_path: Path) -> None:
    base = {"t": 100, "i": 1}
    segment(tmp_path, None, {"t": 100, "i": 1}, {"t": 200, "i": 5}, now=1000)
    segment(tmp_path, {"t": 200, "i": 5}, {"t": 210, "i": 1}, {"t": 300, "i": 2}, now=2000)
    segment(tmp_path, {"t": 300, "i": 2}, {"t": 301, "i": 1}, {"t": 400, "i": 1}, now=3000)
    assert len(oplog_segments(str(tmp_path), "mongodb_oplog", base, (250, 0))) == 2
    assert len(oplog_segments(str(tmp_path), "mongodb_oplog", base, (400, 1))) == 3
    with pytest.raises(BackupError, match="end at"):
        oplog_segments(str(tmp_path), "mongodb_oplog", base, (400, 2))
    segment(tmp_path, {"t": 450, "i": 0}, {"t": 451, "i": 1}, {"t": 500, "i": 1}, now=4000)
    with pytest.raises(BackupError, match="have a gap"):
        oplog_segments(str(tmp_path), "mongodb_oplog", base, (480, 0))


def test_mongo_tool_connection_puts_the_password_in_a_private_config_file(tmp_path: Path) -> None:
    args = mongo_tool_connection(PARAMS, tmp_path, "mongodump.yml")
    config = tmp_path / "mongodump.yml"
    assert f"--config={config}" in args
    assert not any("s3cr" in arg for arg in args)
    assert config.stat().st_mode & 0o777 == 0o600
    assert config.read_text() == mongo_tools_config(PARAMS["login_password"])
    without = mongo_tool_connection({**PARAMS, "login_password": None}, tmp_path, "other.yml")
    assert not (tmp_path / "other.yml").exists() and not any(arg.startswith("--config") for arg in without)
