#!/usr/bin/env python3
"""Backup and restore throughput on a generated data set (run by hand, not by make test).

Starts a FerretDB of its own (own port and state directory; the shared sandbox is untouched),
generates a data set of at least --size-mb MB (several collections, mixed document sizes, text
that compresses like real documents), then measures side by side in one run:

  backup:  raw `mongodump --archive --gzip` vs the mongodb_backup role (ansible-playbook), same data
  restore: default `mongorestore --archive --gzip --drop` vs tuned restore (backup_restore module
           through the restore role's settings: --numInsertionWorkersPerCollection, parallel collections)

and prints MB/s (of uncompressed BSON, as dbStats counts it), the ratios and the implied restore
time per GB (the RTO figure). Usage:

    .venv/bin/python bench/backup/run.py --size-mb 1024 [--state /var/tmp/opsbook-bench-backup] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
VENV = REPO / ".venv" / "bin"
BIN = Path(os.environ.get("OPSBOOK_CACHE") or Path.home() / ".cache" / "opsbook") / "bin"

# (collection, document size in bytes, share of the data set)
COLLECTIONS = [("events", 300, 0.25), ("orders", 2_000, 0.30), ("profiles", 20_000, 0.25), ("documents", 50_000, 0.20)]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise SystemExit(f"FerretDB did not listen on {port}")


def start_ferretdb(state: Path, port: int, password: str) -> subprocess.Popen:
    (state / "data").mkdir(parents=True, exist_ok=True)
    env = dict(
        os.environ,
        FERRETDB_HANDLER="sqlite",
        FERRETDB_SQLITE_URL=f"file:{state}/data/",
        FERRETDB_STATE_DIR=str(state),
        FERRETDB_LISTEN_ADDR=f"127.0.0.1:{port}",
        FERRETDB_DEBUG_ADDR=f"127.0.0.1:{free_port()}",
        FERRETDB_TEST_ENABLE_NEW_AUTH="true",
        FERRETDB_SETUP_DATABASE="admin",
        FERRETDB_SETUP_USERNAME="admin",
        FERRETDB_SETUP_PASSWORD=password,
        FERRETDB_TELEMETRY="disable",
        FERRETDB_LOG_LEVEL="warn",
    )
    log = open(state / "ferretdb.log", "ab")  # noqa: SIM115
    proc = subprocess.Popen([str(BIN / "ferretdb")], env=env, stdout=log, stderr=log, start_new_session=True)
    wait_port(port)
    return proc


def generate(client, size_mb: int) -> None:
    rng = random.Random(7)
    vocabulary = ["".join(rng.choices("abcdefghijklmnopqrstuvwxyz", k=rng.randint(3, 11))) for _ in range(20_000)]
    db = client.bench
    for name, doc_size, share in COLLECTIONS:
        target = int(size_mb * 1e6 * share)
        have = db[name].estimated_document_count() * doc_size
        i = db[name].estimated_document_count()
        while have < target:
            batch = []
            batch_bytes = 0
            while batch_bytes < 4_000_000 and have + batch_bytes < target:
                size = int(doc_size * rng.uniform(0.5, 1.5))
                text = " ".join(rng.choices(vocabulary, k=size // 7))[:size]
                batch.append({"_id": i, "n": i, "tag": rng.choice(["a", "b", "c"]), "at": time.time(), "text": text})
                batch_bytes += size
                i += 1
            db[name].insert_many(batch, ordered=False)
            have += batch_bytes
        print(f"  {name}: {db[name].estimated_document_count()} documents", flush=True)


def timed(argv: list[str], **kwargs) -> float:
    start = time.monotonic()
    proc = subprocess.run(argv, capture_output=True, text=True, check=False, **kwargs)
    elapsed = time.monotonic() - start
    if proc.returncode != 0:
        raise SystemExit(f"{argv[0]} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mb", type=int, default=1024)
    parser.add_argument("--state", type=Path, default=Path("/var/tmp/opsbook-bench-backup"))
    parser.add_argument("--workers", type=int, default=2, help="tuned --numInsertionWorkersPerCollection")
    parser.add_argument("--parallel", type=int, default=2, help="tuned --numParallelCollections")
    parser.add_argument("--keep", action="store_true", help="keep the FerretDB data for another run")
    args = parser.parse_args()

    import pymongo

    port = free_port()
    password = secrets.token_urlsafe(16)
    if not args.keep:
        shutil.rmtree(args.state, ignore_errors=True)
    args.state.mkdir(parents=True, exist_ok=True)
    # A kept data set keeps its admin user: its password is stored with it (0600).
    pw_file = args.state / "admin.password"
    if pw_file.exists():
        password = pw_file.read_text()
    else:
        fd = os.open(pw_file, os.O_WRONLY | os.O_CREAT, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(password)
    ferret = start_ferretdb(args.state / "ferretdb", port, password)
    work = Path(tempfile.mkdtemp(prefix="opsbook-bench-", dir=args.state))
    os.chmod(work, 0o700)
    try:
        client = pymongo.MongoClient(
            host="127.0.0.1", port=port, username="admin", password=password, authSource="admin",
            directConnection=True, serverSelectionTimeoutMS=10000,
        )  # fmt: skip
        print(f"generating {args.size_mb} MB in FerretDB on port {port} ...", flush=True)
        t = time.monotonic()
        generate(client, args.size_mb)
        data_mb = client.bench.command("dbStats")["dataSize"] / 1e6
        print(f"  data set: {data_mb:.0f} MB (dbStats dataSize), generated in {time.monotonic() - t:.0f} s", flush=True)

        config = work / "tools.yml"
        fd = os.open(config, os.O_WRONLY | os.O_CREAT, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(f"password: {json.dumps(password)}\n")
        conn = [
            "--host=127.0.0.1",
            f"--port={port}",
            "--username=admin",
            "--authenticationDatabase=admin",
            f"--config={config}",
        ]

        raw_archive = work / "raw.archive.gz"
        raw_dump = timed([str(BIN / "mongodump"), *conn, f"--archive={raw_archive}", "--gzip", "--db=bench"])
        print(f"raw mongodump --archive --gzip: {raw_dump:.1f} s, {data_mb / raw_dump:.1f} MB/s", flush=True)

        root = work / "backups"
        variables = work / "vars.json"
        fd = os.open(variables, os.O_WRONLY | os.O_CREAT, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(
                {
                    "mongodb_backup_dir": str(root), "mongodb_backup_tier": "manual",
                    "mongodb_backup_login_host": "127.0.0.1", "mongodb_backup_login_port": port,
                    "mongodb_backup_login_user": "admin", "mongodb_backup_login_password": password,
                    "mongodb_backup_databases": ["bench"], "mongodb_backup_oplog": "never",
                    "mongodb_backup_mongodump_path": str(BIN / "mongodump"),
                },
                handle,
            )  # fmt: skip
        playbook = work / "role.yml"
        role = {"role": "opsbook.runbooks.mongodb_backup"}
        playbook.write_text(json.dumps([{"hosts": "localhost", "gather_facts": False, "roles": [role]}]))
        env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"))
        role_dump = timed(
            [str(VENV / "ansible-playbook"), "-i", "localhost,", "-c", "local",
             "-e", "ansible_python_interpreter={{ ansible_playbook_python }}", "-e", f"@{variables}", str(playbook)],
            cwd=REPO, env=env,
        )  # fmt: skip
        print(f"mongodb_backup role (ansible-playbook, checksums, manifest): {role_dump:.1f} s, "
              f"{data_mb / role_dump:.1f} MB/s, ratio {raw_dump / role_dump:.2f} (target >= 0.9)",
              flush=True)  # fmt: skip

        default_restore = timed(
            [str(BIN / "mongorestore"), *conn, f"--archive={raw_archive}", "--gzip", "--drop", "--nsInclude=bench.*"]
        )
        print(f"default mongorestore: {default_restore:.1f} s, {data_mb / default_restore:.1f} MB/s", flush=True)
        tuned_flags = [
            f"--numParallelCollections={args.parallel}",
            f"--numInsertionWorkersPerCollection={args.workers}",
        ]
        tuned_raw = timed(
            [str(BIN / "mongorestore"), *conn, f"--archive={raw_archive}", "--gzip", "--drop", "--nsInclude=bench.*",
             *tuned_flags]
        )  # fmt: skip
        print(f"mongorestore {' '.join(tuned_flags)}: {tuned_raw:.1f} s, {data_mb / tuned_raw:.1f} MB/s, "
              f"speed-up {default_restore / tuned_raw:.2f}x", flush=True)  # fmt: skip

        sys.path.insert(0, str(REPO / "plugins" / "module_utils"))
        import ansible.module_utils as module_utils

        module_utils.__path__.append(str(REPO / "plugins" / "module_utils"))
        from ansible_collections.opsbook.runbooks.plugins.module_utils.backup import list_backups
        from ansible_collections.opsbook.runbooks.plugins.module_utils.backup_restore import mongodb_restore

        record = list_backups(root)["backups"][0]
        params = {"login_host": "127.0.0.1", "login_port": port, "login_user": "admin", "login_password": password,
                  "login_database": "admin", "uri": None, "tls": False}  # fmt: skip
        start = time.monotonic()
        from ansible_collections.opsbook.runbooks.plugins.module_utils.backup import check_files

        assert not check_files(record["path"], record["manifest"])
        result = mongodb_restore(
            params, record, client, parallel_collections=args.parallel, insertion_workers=args.workers,
            mongorestore_path=str(BIN / "mongorestore"),
        )  # fmt: skip
        tuned_restore = time.monotonic() - start
        assert not result["problems"], result["problems"]
        print(f"restore role path (backup_restore: checksums, the same flags, counts checked): {tuned_restore:.1f} s, "
              f"{data_mb / tuned_restore:.1f} MB/s, speed-up {default_restore / tuned_restore:.2f}x (target >= 1.5)",
              flush=True)  # fmt: skip
        print(f"implied RTO per GB: default {1000 / (data_mb / default_restore) / 60:.1f} min, "
              f"tuned {1000 / (data_mb / tuned_restore) / 60:.1f} min", flush=True)  # fmt: skip
        print(json.dumps({
            "data_mb": round(data_mb), "raw_dump_s": round(raw_dump, 1), "role_dump_s": round(role_dump, 1),
            "backup_ratio": round(raw_dump / role_dump, 2), "default_restore_s": round(default_restore, 1),
            "tuned_flags_restore_s": round(tuned_raw, 1), "role_restore_s": round(tuned_restore, 1),
            "restore_speedup_flags": round(default_restore / tuned_raw, 2),
            "restore_speedup_role": round(default_restore / tuned_restore, 2),
        }))  # fmt: skip
    finally:
        ferret.send_signal(signal.SIGTERM)
        ferret.wait(timeout=60)
        shutil.rmtree(work, ignore_errors=True)
        if not args.keep:
            shutil.rmtree(args.state, ignore_errors=True)


if __name__ == "__main__":
    main()
