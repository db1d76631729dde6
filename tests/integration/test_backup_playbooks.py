"""backup.yml, backup_verify.yml and restore.yml against the shared sandbox: FerretDB, PostgreSQL,
the Compose app and the S3 endpoint. Backups go to a temporary root and a test bucket; the test's
own MongoDB and PostgreSQL databases are created and dropped by the test, and restore.yml
restores only the test's MongoDB database, so the sandbox is left as it was found."""

from __future__ import annotations

import json
import secrets as token
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import psycopg2
import pymongo
import pytest
from conftest import PORTS, port_open, run_playbook, secret

DB = f"opsbook_backup_it_{token.token_hex(3)}"


def mongo() -> pymongo.MongoClient:
    return pymongo.MongoClient(
        host="127.0.0.1", port=PORTS["ferretdb"], username="opsbook_admin", password=secret("ferretdb_admin"),
        authSource="admin", directConnection=True, serverSelectionTimeoutMS=5000,
    )  # fmt: skip


def pg(database: str = "postgres") -> Any:
    conn = psycopg2.connect(
        host="127.0.0.1", port=PORTS["postgres"], user="postgres", password=secret("postgres_admin"), dbname=database
    )
    conn.autocommit = True
    return conn


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    for service in ("ferretdb", "postgres", "s3", "app_api"):
        if not port_open(PORTS[service]):
            pytest.skip(f"sandbox service {service} is not running on port {PORTS[service]} (run `make sandbox-up`)")
    tmp = tmp_path_factory.mktemp("backup-playbooks")
    extra = {
        "opsbook_backup_dir": str(tmp / "backups"),
        "opsbook_backup_textfile_dir": str(tmp / "textfile"),
        "opsbook_postgres_databases": [DB],
        "opsbook_s3_bucket": DB.replace("_", "-"),
        "opsbook_backup_tier": "manual",
        # The shared FerretDB's oplog is large (every engineer's tests write to it) and FerretDB
        # scans all of it for each oplog query: dumps with --oplog take a minute here. The oplog
        # path is exercised on a FerretDB of its own by test_restore_pitr.py.
        "mongodb_backup_oplog": "never",
    }
    (tmp / "extra.json").write_text(json.dumps(extra))
    try:
        with mongo() as client:
            client[DB].orders.insert_many([{"_id": i, "total": i * 10} for i in range(50)])
            client[DB].orders.create_index("total", name="total_1")
        with closing(pg()) as conn, conn.cursor() as cur:
            cur.execute(f"CREATE DATABASE {DB}")
        with closing(pg(DB)) as conn, conn.cursor() as cur:
            cur.execute("CREATE TABLE invoices (id int PRIMARY KEY, amount numeric)")
            cur.execute("INSERT INTO invoices SELECT g, g * 1.5 FROM generate_series(1, 120) g")
        yield {"tmp": tmp, "extra": f"@{tmp / 'extra.json'}", "root": tmp / "backups"}
    finally:
        with mongo() as client:
            for name in client.list_database_names():
                if name.endswith(DB):
                    client.drop_database(name)
        with closing(pg()) as conn, conn.cursor() as cur:
            for name in (DB, f"opsbook_verify_{DB}"):
                cur.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def play(world: dict[str, Any], playbook: str, *args: str) -> Any:
    run = run_playbook(f"playbooks/{playbook}", "-e", world["extra"], *args)
    for name in ("ferretdb_admin", "postgres_admin"):
        assert secret(name) not in run.stdout + run.stderr, f"the {name} password appears in the output"
    return run


def manifests(root: Path, target: str) -> list[dict[str, Any]]:
    return [json.loads(p.read_text()) for p in sorted(root.glob(f"{target}/*/*/manifest.json"))]


def test_backup_verify_and_metrics(world: dict[str, Any]) -> None:
    root = world["root"]
    dry = play(world, "backup.yml", "--check")
    assert dry.returncode == 0, dry.stdout[-3000:]
    assert not root.exists() or not list(root.glob("*/*/*")), "--check wrote a backup"

    run = play(world, "backup.yml")
    assert run.returncode == 0, run.stdout[-4000:]
    (mongo_manifest,) = manifests(root, "mongodb")
    assert mongo_manifest["counts"][f"{DB}.orders"] == 50
    assert mongo_manifest["indexes"][f"{DB}.orders"][0]["name"] == "total_1"
    (pg_manifest,) = manifests(root, "postgres")
    assert pg_manifest["counts"] == {f"{DB}.public.invoices": 120}
    assert {f["name"] for f in pg_manifest["files"]} == {f"{DB}.pgdump", "globals.sql"}
    (files_manifest,) = manifests(root, "files")
    assert files_manifest["counts"]["config"] == 2
    for path in root.rglob("*"):
        assert path.stat().st_mode & 0o077 == 0 or path.is_symlink(), f"{path} is readable by others"
    metrics = (world["tmp"] / "textfile" / "opsbook_backup.prom").read_text()
    for target in ("mongodb", "postgres", "files"):
        assert f'opsbook_backup_last_success_timestamp_seconds{{target="{target}"}}' in metrics
    assert "Copied" in run.stdout

    verify = play(world, "backup_verify.yml")
    assert verify.returncode == 0, verify.stdout[-4000:]
    for target in ("mongodb", "postgres", "files"):
        (manifest,) = manifests(root, target)
        assert manifest["verification"]["result"] == "ok", manifest["verification"]
        assert manifest["verification"]["restore_seconds"] > 0
    metrics = (world["tmp"] / "textfile" / "opsbook_backup.prom").read_text()
    assert 'opsbook_backup_last_verified_timestamp_seconds{target="postgres"}' in metrics
    with mongo() as client:
        assert not [n for n in client.list_database_names() if n.startswith("opsbook_verify_")], "scratch left behind"


def test_restore_refuses_without_confirmation_then_restores(world: dict[str, Any]) -> None:
    if not manifests(world["root"], "mongodb"):
        pytest.skip("needs the backup of test_backup_verify_and_metrics")
    args = ("-e", json.dumps({"restore_databases": [DB]}))
    with mongo() as client:
        client[DB].orders.delete_many({"_id": {"$lt": 25}})
        refused = play(world, "restore.yml", *args)
        assert refused.returncode != 0 and f"REPLACES the MongoDB databases {DB}" in refused.stdout.replace("\n", " ")
        assert client[DB].orders.count_documents({}) == 25, "nothing changed without confirmation"
        run = play(world, "restore.yml", *args, "-e", "confirm=yes")
        assert run.returncode == 0, run.stdout[-4000:]
        assert client[DB].orders.count_documents({}) == 50
        assert "total_1" in {i["name"] for i in client[DB].orders.list_indexes()}
    import urllib.request

    with urllib.request.urlopen(f"http://127.0.0.1:{PORTS['app_api']}/health", timeout=10) as reply:
        assert reply.status == 200, "the writers run again"
