"""Faults that must leave nothing lost, against real servers of this test's own: a FerretDB
instance (own port and state directory, so the shared one is never stopped) and a moto S3 server.

In each case: the run fails with a message that says what happened, no incomplete backup is
reported as good or restored, retention keeps every good backup, and a later run succeeds."""

from __future__ import annotations

import json
import os
import random
import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pymongo
import pytest
from conftest import COLLECTIONS, REPO, VENV_BIN, free_port, wait_port

CACHE = Path(os.environ.get("OPSBOOK_CACHE") or Path.home() / ".cache" / "opsbook")
BIN = CACHE / "bin"
MODULES = REPO / "plugins" / "modules"


def module_argv(module: str, args_file: Path) -> list[str]:
    """Run a module file as Ansible would, with its module_utils importable (no ansible-playbook
    start-up cost: these tests run many module calls)."""
    code = (
        "import sys, runpy; collections, path, args = sys.argv[1:4]; sys.path.insert(0, collections);"
        "sys.argv = ['module', args]; runpy.run_path(path, run_name='__main__')"
    )
    return [sys.executable, "-c", code, str(COLLECTIONS), str(MODULES / f"{module}.py"), str(args_file)]


def run_module(tmp: Path, module: str, args: dict[str, Any], check: bool = False) -> dict[str, Any]:
    args_file = tmp / f".{module}-{secrets.token_hex(4)}.json"
    args_file.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": {**args, "_ansible_check_mode": check}}))
    try:
        proc = subprocess.run(module_argv(module, args_file), capture_output=True, text=True, timeout=600, check=False)
    finally:
        args_file.unlink()
    try:
        return json.loads(proc.stdout)
    except ValueError:
        raise AssertionError(f"{module} printed no JSON: {proc.stdout[-2000:]} {proc.stderr[-2000:]}") from None


class Ferret:
    """A FerretDB of the test's own, with SCRAM (and an oplog when asked), as sandbox/components/ferretdb.sh runs it."""

    def __init__(self, state: Path, oplog: bool = False):
        self.state = state
        self.oplog = oplog
        self.port = free_port()
        self.password = secrets.token_urlsafe(16)
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        (self.state / "data").mkdir(parents=True, exist_ok=True)
        env = dict(
            os.environ,
            FERRETDB_HANDLER="sqlite",
            FERRETDB_SQLITE_URL=f"file:{self.state}/data/",
            FERRETDB_STATE_DIR=str(self.state),
            FERRETDB_LISTEN_ADDR=f"127.0.0.1:{self.port}",
            FERRETDB_DEBUG_ADDR=f"127.0.0.1:{free_port()}",
            FERRETDB_REPL_SET_NAME="rs0",
            FERRETDB_TEST_ENABLE_NEW_AUTH="true",
            FERRETDB_SETUP_DATABASE="admin",
            FERRETDB_SETUP_USERNAME="admin",
            FERRETDB_SETUP_PASSWORD=self.password,
            FERRETDB_TELEMETRY="disable",
            FERRETDB_LOG_LEVEL="warn",
        )
        log = open(self.state / "ferretdb.log", "ab")  # noqa: SIM115 - kept open for the process
        self.proc = subprocess.Popen([str(BIN / "ferretdb")], env=env, stdout=log, stderr=log, start_new_session=True)
        wait_port(self.port)
        with self.client() as client:
            if self.oplog and "oplog.rs" not in client["local"].list_collection_names():
                client["local"].create_collection("oplog.rs", capped=True, size=256 * 1024 * 1024)

    def stop(self, sig: int = signal.SIGKILL) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=30)

    def client(self) -> pymongo.MongoClient:
        return pymongo.MongoClient(
            host="127.0.0.1", port=self.port, username="admin", password=self.password, authSource="admin",
            directConnection=True, serverSelectionTimeoutMS=5000,
        )  # fmt: skip

    def login(self) -> dict[str, Any]:
        return {
            "login_host": "127.0.0.1",
            "login_port": self.port,
            "login_user": "admin",
            "login_password": self.password,
        }


@pytest.fixture(scope="module")
def ferret(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ferret]:
    if not (BIN / "ferretdb").exists() or not (BIN / "mongodump").exists():
        pytest.skip(f"FerretDB and mongo-tools are not built in {BIN} (run `make install`)")
    server = Ferret(tmp_path_factory.mktemp("ferretdb"))
    server.start()
    rng = random.Random(4)
    with server.client() as client:
        # About 5 MB of incompressible documents of mixed sizes: a dump lasts seconds on FerretDB.
        for name, size in (("orders", 2000), ("events", 2000), ("profiles", 1000)):
            docs = [{"_id": i, "n": i, "body": rng.randbytes(100 + (i * 37) % 1000).hex()} for i in range(size)]
            client.shop[name].insert_many(docs)
        client.shop.orders.create_index("n", name="n_1")
        client.small.items.insert_many([{"_id": i} for i in range(10)])
    yield server
    server.stop()


def mongo_args(ferret: Ferret, root: Path, **extra: Any) -> dict[str, Any]:
    """mongodb_backup's arguments; without --oplog unless asked (FerretDB scans its whole oplog for
    each oplog query, which makes every dump slower; test_restore_pitr covers the oplog)."""
    return {
        **ferret.login(), "root": str(root), "target": "mongodb", "mongodump_path": str(BIN / "mongodump"),
        "oplog": "never", **extra,
    }  # fmt: skip


def verify_args(ferret: Ferret, root: Path, **extra: Any) -> dict[str, Any]:
    return {
        **ferret.login(),
        "root": str(root),
        "target": "mongodb",
        "mongorestore_path": str(BIN / "mongorestore"),
        **extra,
    }


def catalog(root: Path, checksums: bool = False) -> dict[str, Any]:
    from ansible_collections.opsbook.runbooks.plugins.module_utils.backup import list_backups

    return list_backups(root, checksums=checksums)


def good_backup(tmp: Path, ferret: Ferret, root: Path, **extra: Any) -> dict[str, Any]:
    result = run_module(tmp, "mongodb_backup", mongo_args(ferret, root, tier="manual", **extra))
    assert result.get("changed") and not result.get("failed"), result.get("msg")
    return result


def retention_keeps(tmp: Path, root: Path, paths: list[str]) -> None:
    result = run_module(tmp, "backup_retention", {"root": str(root), "keep_manual": 1, "stale_partial_hours": 0})
    assert not result.get("failed"), result.get("msg")
    kept = {r["path"] for r in result["keep"]}
    assert set(paths) <= kept, (paths, result["delete"])


def test_database_stops_in_the_middle_of_a_dump(tmp_path: Path, ferret: Ferret) -> None:
    root = tmp_path / "backups"
    first = good_backup(tmp_path, ferret, root, databases=["small"])
    args_file = tmp_path / "args.json"
    args_file.write_text(
        json.dumps({"ANSIBLE_MODULE_ARGS": mongo_args(ferret, root, tier="manual", parallel_collections=1)})
    )
    proc = subprocess.Popen(module_argv("mongodb_backup", args_file), stdout=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not list((root / "mongodb" / "manual").glob("*.partial/dump.archive.gz")):
            assert time.monotonic() < deadline and proc.poll() is None, "the dump never started"
            time.sleep(0.02)
        ferret.stop(signal.SIGKILL)
        out, _ = proc.communicate(timeout=120)
    finally:
        if ferret.proc.poll() is not None:
            ferret.start()
    result = json.loads(out)
    assert result["failed"] and "mongodump failed" in result["msg"] and "nothing was kept" in result["msg"], result[
        "msg"
    ]
    found = catalog(root)
    assert [b["path"] for b in found["backups"]] == [first["path"]]
    assert found["incomplete"] == [], "the failed run's partial directory is removed"
    retention_keeps(tmp_path, root, [first["path"]])
    later = good_backup(tmp_path, ferret, root)
    assert later["manifest"]["counts"]["shop.orders"] == 2000


def test_sigkill_mid_backup_leaves_a_partial_that_nothing_uses(tmp_path: Path, ferret: Ferret) -> None:
    root = tmp_path / "backups"
    first = good_backup(tmp_path, ferret, root, databases=["small"])
    run_module(tmp_path, "backup_verify", verify_args(ferret, root))
    time.sleep(1)  # a new backup id
    args_file = tmp_path / "args.json"
    args_file.write_text(
        json.dumps({"ANSIBLE_MODULE_ARGS": mongo_args(ferret, root, tier="manual", parallel_collections=1)})
    )
    proc = subprocess.Popen(module_argv("mongodb_backup", args_file), stdout=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 60
    while not list((root / "mongodb" / "manual").glob("*.partial/dump.archive.gz")):
        assert time.monotonic() < deadline and proc.poll() is None, "the dump never started"
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)  # the module and its mongodump
    proc.wait()
    # The module is gone; its children die in their own time (a busy disk delays a SIGKILL), and
    # one forked but not yet exec-ed still holds the lock's descriptor: wait for the whole group.
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    found = catalog(root)
    assert [b["path"] for b in found["backups"]] == [first["path"]]
    assert len(found["incomplete"]) == 1 and found["incomplete"][0]["active"] is False
    assert "did not finish" in found["incomplete"][0]["reason"]
    partial = found["incomplete"][0]["path"]
    # Verification and restore pick the good backup, never the partial one.
    verified = run_module(tmp_path, "backup_verify", verify_args(ferret, root))
    assert verified["backup"]["path"] == first["path"] and verified["verification"]["result"] == "ok"
    refused = run_module(
        tmp_path, "backup_restore", verify_args(ferret, root, backup_id=Path(partial).name[:16]), check=True
    )
    assert refused["failed"] and "not usable" in refused["msg"] and "did not finish" in refused["msg"]
    # Retention keeps the good backup and clears the abandoned partial.
    retention_keeps(tmp_path, root, [first["path"]])
    assert not Path(partial).exists()
    good_backup(tmp_path, ferret, root, databases=["small"])


def test_full_backup_filesystem(tmp_path: Path, ferret: Ferret) -> None:
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mnt = tmp_path / "small-fs"
    mnt.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m,mode=0700", "tmpfs", str(mnt)], check=True)
    try:
        root = mnt / "backups"
        first = good_backup(tmp_path, ferret, root, databases=["small"])
        result = run_module(tmp_path, "mongodb_backup", mongo_args(ferret, root, tier="manual"))
        assert result["failed"] and "no space left on device" in result["msg"].lower(), result["msg"]
        found = catalog(root, checksums=True)
        assert [b["path"] for b in found["backups"]] == [first["path"]] and found["incomplete"] == []
        retention_keeps(tmp_path, root, [first["path"]])
        subprocess.run(["mount", "-o", "remount,size=64m", str(mnt)], check=True)
        good_backup(tmp_path, ferret, root)
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def test_flipped_byte_is_never_verified_or_restored(tmp_path: Path, ferret: Ferret) -> None:
    root = tmp_path / "backups"
    good = good_backup(tmp_path, ferret, root, databases=["small"])
    time.sleep(1)
    bad = good_backup(tmp_path, ferret, root, databases=["small"])
    archive = Path(bad["path"]) / "dump.archive.gz"
    data = bytearray(archive.read_bytes())
    data[len(data) // 2] ^= 0x20
    archive.write_bytes(bytes(data))
    verified = run_module(tmp_path, "backup_verify", verify_args(ferret, root))
    assert verified["failed"] and "SHA-256 does not match" in verified["msg"], verified["msg"]
    manifest = json.loads((Path(bad["path"]) / "manifest.json").read_text())
    assert manifest["verification"]["result"] == "failed"
    with ferret.client() as client:
        client.small.items.insert_one({"_id": "after"})
        refused = run_module(tmp_path, "backup_restore", verify_args(ferret, root))
        assert refused["failed"] and "fails its checksums" in refused["msg"], refused["msg"]
        assert client.small.items.find_one({"_id": "after"}), "a refused restore changes nothing"
    assert [b["path"] for b in catalog(root, checksums=True)["corrupt"]] == [bad["path"]]
    retention_keeps(tmp_path, root, [good["path"]])
    restored = run_module(
        tmp_path, "backup_restore", verify_args(ferret, root, backup_id=good["id"], databases=["small"])
    )
    assert not restored.get("failed"), restored.get("msg")
    with ferret.client() as client:
        assert client.small.items.count_documents({}) == 10


def test_missing_marker_means_no_backup(tmp_path: Path, ferret: Ferret) -> None:
    root = tmp_path / "backups"
    good = good_backup(tmp_path, ferret, root, databases=["small"])
    time.sleep(1)
    unmarked = good_backup(tmp_path, ferret, root, databases=["small"])
    (Path(unmarked["path"]) / "COMPLETE").unlink()
    info = run_module(tmp_path, "backup_info", {"root": str(root)})
    assert [b["id"] for b in info["backups"]] == [good["id"]]
    assert "no completion marker" in info["incomplete"][0]["reason"]
    refused = run_module(tmp_path, "backup_restore", verify_args(ferret, root, backup_id=unmarked["id"]), check=True)
    assert refused["failed"] and "no completion marker" in refused["msg"]
    verified = run_module(tmp_path, "backup_verify", verify_args(ferret, root))
    assert verified["backup"]["id"] == good["id"]
    retention_keeps(tmp_path, root, [good["path"]])
    assert Path(unmarked["path"]).exists(), "retention leaves what it cannot call a backup"
    time.sleep(1)
    good_backup(tmp_path, ferret, root, databases=["small"])


@pytest.fixture
def moto(tmp_path: Path) -> Iterator[dict[str, Any]]:
    port = free_port()
    server = VENV_BIN / "moto_server"
    if not server.exists():
        pytest.skip("moto_server is not installed in the venv (make venv)")
    log = open(tmp_path / "moto.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen([str(server), "-H", "127.0.0.1", "-p", str(port)], stdout=log, stderr=log)
    wait_port(port)
    yield {"proc": proc, "endpoint_url": f"http://127.0.0.1:{port}"}
    if proc.poll() is None:
        proc.terminate()
        proc.wait(timeout=30)
    log.close()


def test_s3_endpoint_down(tmp_path: Path, moto: dict[str, Any]) -> None:
    from ansible_collections.opsbook.runbooks.plugins.module_utils.backup import BackupWriter

    root = tmp_path / "backups"
    with BackupWriter(root, "files", "manual", "files") as writer:
        writer.path("config.tar.gz").write_bytes(os.urandom(4096))
        writer.seal({"counts": {}})
    args = {
        "root": str(root), "bucket": "offsite-test", "endpoint_url": moto["endpoint_url"],
        "access_key": "test-access", "secret_key": "test-secret-key", "timeout": 3,
    }  # fmt: skip
    moto["proc"].terminate()
    moto["proc"].wait(timeout=30)
    down = run_module(tmp_path, "backup_offsite", args)
    assert down["failed"] and "Could not connect" in down["msg"] and "incomplete" in down["msg"], down["msg"]
    assert catalog(root)["backups"], "a failed offsite copy leaves the local backup as it was"
    port = int(moto["endpoint_url"].rsplit(":", 1)[1])
    log = open(tmp_path / "moto2.log", "wb")  # noqa: SIM115
    moto["proc"] = subprocess.Popen(
        [str(VENV_BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)], stdout=log, stderr=log
    )
    wait_port(port)
    up = run_module(tmp_path, "backup_offsite", args)
    assert not up.get("failed") and len(up["uploaded"]) == 1 and up["uploaded"][0]["objects"] == 3, up
    again = run_module(tmp_path, "backup_offsite", args)
    assert again["changed"] is False and len(again["skipped"]) == 1


def test_age_encrypted_backup_verifies_and_needs_its_identity(tmp_path: Path, ferret: Ferret) -> None:
    if not shutil.which("age") or not shutil.which("age-keygen"):
        pytest.skip("age is not installed (sandbox/install.sh installs the Debian package)")
    identity = tmp_path / "identity.txt"
    subprocess.run(["age-keygen", "-o", str(identity)], check=True, capture_output=True)
    recipient = next(line.split(": ", 1)[1] for line in identity.read_text().splitlines() if "public key" in line)
    root = tmp_path / "backups"
    backup = good_backup(tmp_path, ferret, root, databases=["small"], age_recipients=[recipient])
    (entry,) = backup["manifest"]["files"]
    assert entry["name"] == "dump.archive.gz.age" and backup["manifest"]["encryption"]["type"] == "age"
    assert (Path(backup["path"]) / entry["name"]).read_bytes().startswith(b"age-encryption.org/v1")
    without = run_module(tmp_path, "backup_verify", verify_args(ferret, root, record=False))
    assert without["failed"] and "give the identity file" in without["msg"]
    verified = run_module(tmp_path, "backup_verify", verify_args(ferret, root, age_identity_file=str(identity)))
    assert verified["verification"]["result"] == "ok", verified.get("msg")


def test_file_sets_tar_and_rsync_with_hard_links(tmp_path: Path) -> None:
    uploads = tmp_path / "uploads"
    (uploads / "a").mkdir(parents=True)
    for n in range(5):
        (uploads / "a" / f"img{n}.bin").write_bytes(os.urandom(2048))
    env_file = tmp_path / "app.env"
    env_file.write_text("SECRET=x\n")
    root = tmp_path / "backups"
    args = {
        "root": str(root), "target": "files", "tier": "manual",
        "sets": [
            {"name": "config", "paths": [str(env_file)]},
            {"name": "uploads", "paths": [str(uploads)], "mode": "rsync"},
        ],
    }  # fmt: skip
    first = run_module(tmp_path, "files_backup", args)
    assert first["manifest"]["counts"] == {"config": 1, "uploads": 5}, first.get("msg")
    (uploads / "a" / "img0.bin").write_bytes(b"changed")
    time.sleep(1)
    second = run_module(tmp_path, "files_backup", args)
    old, new = Path(first["path"]) / "uploads" / "a", Path(second["path"]) / "uploads" / "a"
    assert (old / "img1.bin").stat().st_ino == (new / "img1.bin").stat().st_ino, "unchanged files are hard links"
    assert (old / "img0.bin").stat().st_ino != (new / "img0.bin").stat().st_ino
    verified = run_module(tmp_path, "backup_verify", {"root": str(root), "target": "files"})
    assert verified["verification"]["result"] == "ok", verified.get("msg")
    dest = tmp_path / "restored"
    restored = run_module(tmp_path, "backup_restore", {"root": str(root), "target": "files", "files_dest": str(dest)})
    assert restored["restore"]["counts"] == {"config": 1, "uploads": 5}, restored.get("msg")
    assert (dest / str(env_file).lstrip("/")).read_text() == "SECRET=x\n"
    assert (dest / "uploads" / "a" / "img0.bin").read_bytes() == b"changed"
    missing = run_module(tmp_path, "files_backup", {**args, "sets": [{"name": "x", "paths": [str(tmp_path / "nope")]}]})
    assert missing["failed"] and "does not exist" in missing["msg"]
