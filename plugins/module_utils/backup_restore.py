# Copyright: opsbook contributors
# Apache License 2.0 (see LICENSE in the repository root)
"""Restoring an opsbook backup, shared by verification (into a scratch database or directory)
and restore (into the original): one way to turn a backup back into data, with the counts of
what was restored compared against the manifest."""

from __future__ import annotations

import os
import shutil
import tarfile
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ansible_collections.opsbook.runbooks.plugins.module_utils.backup import BackupError, check_files, list_backups
from ansible_collections.opsbook.runbooks.plugins.module_utils.backup_tools import (
    SYSTEM_DATABASES,
    create_indexes,
    decrypted,
    mongo_tool_connection,
    mongorestore_argv,
    parse_mongorestore_output,
    pg_env,
    pg_restore_argv,
    pgpass_line,
    private_dir,
    replay_oplog,
    run_tool,
    tail,
    ts_tuple,
    write_secret_file,
)


def compare_counts(expected: dict[str, int], actual: dict[str, int]) -> list[str]:
    """Mismatches between the manifest's counts and what a restore holds, one line each."""
    problems = []
    for key in sorted(expected):
        if key not in actual:
            problems.append(f"{key}: missing after restore (manifest: {expected[key]})")
        elif actual[key] != expected[key]:
            problems.append(f"{key}: {actual[key]} after restore, manifest says {expected[key]}")
    return problems


def checked_backup(root: str, target: str, backup_id: str | None) -> dict[str, Any]:
    """The complete backup to restore, its files checked against the manifest; BackupError
    (naming the problem) for a missing marker, a partial backup or a checksum mismatch."""
    from ansible_collections.opsbook.runbooks.plugins.module_utils.backup import find_backup

    record = find_backup(list_backups(root, [target]), target, backup_id)
    problems = check_files(record["path"], record["manifest"])
    if problems:
        raise BackupError(f"backup {record['path']} fails its checksums: {'; '.join(problems)}")
    return record


def collection_count(client: Any, db: str, coll: str) -> int:
    """Documents in a collection: collStats' count (FerretDB counts its table rows: 1 s where
    count_documents decodes every document, 55 s for 850,000 documents), or count_documents."""
    try:
        return int(client[db].command("collStats", coll)["count"])
    except Exception:  # a server without collStats, or a view
        return client[db][coll].count_documents({})


def user_namespaces(counts: dict[str, int]) -> dict[str, int]:
    return {ns: n for ns, n in counts.items() if ns.split(".", 1)[0] not in SYSTEM_DATABASES}


# --- MongoDB -------------------------------------------------------------------------------------


def mongodb_restore(
    params: dict[str, Any],
    record: dict[str, Any],
    client: Any,
    *,
    rename: Callable[[str], str] = lambda db: db,
    drop: bool = True,
    parallel_collections: int = 4,
    insertion_workers: int = 4,
    identity_file: str | None = None,
    mongorestore_path: str = "mongorestore",
    extra_args: tuple[str, ...] = (),
    databases: list[str] | None = None,
) -> dict[str, Any]:
    """mongorestore the backup's user databases (or the listed ones; renamed by `rename` for a
    scratch copy), then count every restored collection and compare with the manifest.
    FerretDB rejects the `ns` option mongorestore puts in every createIndexes (it ignores
    ignoreUnknownIndexOptions), so on FerretDB the indexes are restored from the manifest instead."""
    manifest = record["manifest"]
    expected = user_namespaces(manifest.get("counts", {}))
    held = sorted({ns.split(".", 1)[0] for ns in expected})
    if databases:
        missing = sorted(set(databases) - set(held))
        if missing:
            raise BackupError(f"backup {record['path']} does not hold {', '.join(missing)} (it has {', '.join(held)})")
        expected = {ns: n for ns, n in expected.items() if ns.split(".", 1)[0] in databases}
    databases = sorted(databases or held)
    if not databases:
        raise BackupError(f"backup {record['path']} holds no user database")
    own_indexes = bool(client.admin.command("buildInfo").get("ferretdbVersion")) and "indexes" in manifest
    if own_indexes:
        extra_args = (*extra_args, "--noIndexRestore")
    archive = Path(record["path"]) / manifest["archive"]["name"]
    started = time.monotonic()
    with private_dir() as tmp, decrypted(archive, manifest.get("encryption"), identity_file, tmp) as plain:
        renamed = [db for db in databases if rename(db) != db]
        argv = mongorestore_argv(
            mongorestore_path,
            mongo_tool_connection(params, tmp, "mongorestore.yml"),
            archive=str(plain),
            gzip=manifest["archive"].get("gzip", True),
            drop=drop,
            ns_include=[f"{db}.*" for db in databases],
            ns_from=[f"{db}.*" for db in renamed],
            ns_to=[f"{rename(db)}.*" for db in renamed],
            parallel_collections=parallel_collections,
            insertion_workers=insertion_workers,
            extra=extra_args,
        )
        rc, out = run_tool(argv)
    seconds = time.monotonic() - started
    if rc != 0:
        raise BackupError(f"mongorestore failed (exit {rc}): {tail(out)}")
    summary = parse_mongorestore_output(out) or {}
    index_problems = []
    if own_indexes:
        wanted = {ns: specs for ns, specs in manifest["indexes"].items() if ns in expected}
        index_problems = create_indexes(client, wanted, rename)
    actual = {}
    for ns in expected:
        db, coll = ns.split(".", 1)
        actual[ns] = collection_count(client, rename(db), coll)
    return {
        "restore_seconds": round(seconds, 3),
        "databases": {db: rename(db) for db in databases},
        "documents": summary.get("restored"),
        "failed_documents": summary.get("failed"),
        "counts": actual,
        "indexes": "opsbook" if own_indexes else "mongorestore",
        "problems": compare_counts(expected, actual) + index_problems,
    }


def oplog_segments(root: str, target: str, after: dict[str, int] | None, limit: tuple[int, int]) -> list[dict]:
    """The complete oplog segments (oldest first) needed to go from `after` to `limit`; BackupError
    when they leave a gap (a missing or failed capture)."""
    segments = sorted(list_backups(root, [target])["backups"], key=lambda r: ts_tuple(r["manifest"]["oplog"]["end"]))
    needed, covered = [], ts_tuple(after) if after else None
    for record in segments:
        oplog = record["manifest"]["oplog"]
        start, end = ts_tuple(oplog["start"]), ts_tuple(oplog["end"])
        lower = ts_tuple(oplog["after"]) if oplog.get("after") else None
        if covered is not None and end <= covered:
            continue
        # A segment covers (after, end], or [start, end] when it was the first capture.
        if covered is not None and ((lower is None and start > covered) or (lower is not None and lower > covered)):
            raise BackupError(
                f"the oplog captures of {target} have a gap: nothing covers {covered} to {lower or start} "
                f"(segment {record['id']} starts there); point-in-time recovery to {limit} is not possible"
            )
        needed.append(record)
        covered = end
        if end >= limit:
            break
    if covered is None or covered < limit:
        raise BackupError(
            f"the oplog captures of {target} end at {covered}, before the requested time {limit}; "
            "run backup_oplog.yml or pick an earlier time"
        )
    return needed


def replay_segments(
    client: Any, segments: list[dict], after: dict[str, int] | None, limit: tuple[int, int], ns_filter: Any = None
) -> dict:
    """Apply the segments' oplog entries in (after, limit) with the opsbook replayer."""
    import bson

    totals: dict[str, int] = {}
    last = None
    for record in segments:
        path = Path(record["path"]) / record["manifest"]["oplog"]["file"]
        with open(path, "rb") as handle:
            entries = bson.decode_file_iter(handle)
            result = replay_oplog(client, entries, limit, ts_tuple(after) if after else None, ns_filter)
        for kind, n in result["applied"].items():
            totals[kind] = totals.get(kind, 0) + n
        last = result["last_ts"] or last
    return {"applied": totals, "last_ts": last, "segments": [r["id"] for r in segments]}


def replay_segments_mongorestore(
    params: dict[str, Any], segments: list[dict], limit: str, mongorestore_path: str = "mongorestore"
) -> dict:
    """Replay the segments with `mongorestore --oplogReplay --oplogLimit` (servers with applyOps):
    their oplog.bson files concatenated (BSON files concatenate) as the oplog.bson of an otherwise
    empty dump directory."""
    with private_dir() as tmp:
        dump = tmp / "dump"
        dump.mkdir()
        with open(dump / "oplog.bson", "wb") as out:
            for record in segments:
                with open(Path(record["path"]) / record["manifest"]["oplog"]["file"], "rb") as segment:
                    shutil.copyfileobj(segment, out)
        argv = [
            mongorestore_path,
            *mongo_tool_connection(params, tmp, "mongorestore.yml"),
            "--oplogReplay",
            f"--oplogLimit={limit}",
            f"--dir={dump}",
        ]
        rc, out = run_tool(argv)
    if rc != 0:
        raise BackupError(f"mongorestore --oplogReplay failed (exit {rc}): {tail(out)}")
    return {"applied": None, "segments": [r["id"] for r in segments], "log": tail(out, 3)}


# --- PostgreSQL ----------------------------------------------------------------------------------


def postgres_restore(
    params: dict[str, Any],
    record: dict[str, Any],
    connect: Callable[[str], Any],
    counter: Callable[[Any], dict[str, int]],
    *,
    rename: Callable[[str], str] = lambda db: db,
    jobs: int = 2,
    identity_file: str | None = None,
    pg_restore_path: str = "pg_restore",
) -> dict[str, Any]:
    """pg_restore each database of the backup into rename(db) (created when missing, cleaned
    otherwise), count the rows of every table and compare with the manifest."""
    from psycopg2 import sql

    manifest = record["manifest"]
    suffix = ".age" if manifest.get("encryption") else ""
    started = time.monotonic()
    actual: dict[str, int] = {}
    admin = connect("postgres")
    admin.autocommit = True
    try:
        with private_dir() as tmp:
            pgpass = write_secret_file(
                tmp / "pgpass",
                pgpass_line(
                    params["login_host"], params["login_port"], params["login_user"], params["login_password"] or ""
                ),
            )
            env = pg_env(pgpass, params["login_host"], params["login_port"], params["login_user"])
            for database in manifest["databases"]:
                dest = rename(database)
                with admin.cursor() as cur:
                    cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (dest,))
                    if not cur.fetchone():
                        cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dest)))
                archive = Path(record["path"]) / f"{database}.pgdump{suffix}"
                with decrypted(archive, manifest.get("encryption"), identity_file, tmp) as plain:
                    rc, out = run_tool(pg_restore_argv(pg_restore_path, dest, str(plain), jobs=jobs), env=env)
                if rc != 0:
                    raise BackupError(f"pg_restore of {database} into {dest} failed (exit {rc}): {tail(out)}")
                conn = connect(dest)
                try:
                    with conn.cursor() as cur:
                        actual.update({f"{database}.{t}": n for t, n in counter(cur).items()})
                finally:
                    conn.close()
    finally:
        admin.close()
    return {
        "restore_seconds": round(time.monotonic() - started, 3),
        "databases": {db: rename(db) for db in manifest["databases"]},
        "counts": actual,
        "problems": compare_counts(manifest.get("counts", {}), actual),
    }


def postgres_drop(connect: Callable[[str], Any], databases: list[str]) -> None:
    from psycopg2 import sql

    admin = connect("postgres")
    admin.autocommit = True
    try:
        with admin.cursor() as cur:
            for database in databases:
                cur.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database)))
    finally:
        admin.close()


# --- files ---------------------------------------------------------------------------------------


def unsafe_members(members: list[tarfile.TarInfo], dest: str) -> list[str]:
    """The members that would land outside `dest` or are not plain files, directories or links
    inside it (what tarfile's "data" filter refuses), for Pythons without that filter."""
    root = os.path.realpath(dest)

    def within(path: str) -> bool:
        return os.path.commonpath([root, path]) == root

    bad = []
    for member in members:
        target = os.path.realpath(os.path.join(root, member.name))
        inside = within(target)
        link_ok = True
        if member.issym() or member.islnk():
            base = root if member.islnk() else os.path.dirname(target)
            link_ok = within(os.path.realpath(os.path.join(base, member.linkname)))
        if not inside or not link_ok or not (member.isfile() or member.isdir() or member.issym() or member.islnk()):
            bad.append(member.name)
    return bad


def safe_extract(archive: tarfile.TarFile, members: list[tarfile.TarInfo], dest: str) -> None:
    """Extract with tarfile's "data" filter where the Python has it (3.11.4+, 3.12), else only
    after checking every member stays inside `dest` (Debian 12 ships Python 3.11.2)."""
    if hasattr(tarfile, "data_filter"):
        archive.extractall(dest, members=members, filter="data")
        return
    bad = unsafe_members(members, dest)
    if bad:
        raise BackupError(f"the archive has members that would land outside {dest} or are not files: {bad[:5]}")
    archive.extractall(dest, members=members)  # every member was checked above


def files_restore(record: dict[str, Any], dest: str, identity_file: str | None = None) -> dict[str, Any]:
    """Unpack every set of a files backup under `dest` (tar sets at their original absolute paths
    below dest, rsync sets as dest/<name>/), count the files and compare with the manifest."""
    manifest = record["manifest"]
    started = time.monotonic()
    actual = {}
    os.makedirs(dest, mode=0o700, exist_ok=True)
    for name, spec in manifest["sets"].items():
        source = Path(record["path"]) / spec["file"]
        if spec["mode"] == "tar":
            with (
                private_dir() as tmp,
                decrypted(source, manifest.get("encryption"), identity_file, tmp) as plain,
                tarfile.open(plain, "r:gz") as archive,
            ):
                members = archive.getmembers()
                safe_extract(archive, members, dest)
            actual[name] = sum(1 for m in members if not m.isdir())
        else:
            target = Path(dest) / name
            shutil.copytree(source, target, symlinks=True, dirs_exist_ok=True)
            actual[name] = sum(len(files) for _d, _s, files in os.walk(target))
    return {
        "restore_seconds": round(time.monotonic() - started, 3),
        "counts": actual,
        "problems": compare_counts(manifest.get("counts", {}), actual),
    }


def scratch_dir(root: str) -> str:
    """A private scratch directory for a files verification, on the backup filesystem."""
    base = Path(root) / ".verify"
    base.mkdir(mode=0o700, exist_ok=True)
    return tempfile.mkdtemp(prefix="files-", dir=base)
