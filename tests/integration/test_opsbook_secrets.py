"""A canary secret passed to opsbook.run is used for real and found nowhere on disk or in any
process's command line or environment, during or after the run.

The canary is the password of a throw-away FerretDB user; smoke.yml logs in with it, so the run
only succeeds if the secret really reached the module."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import opsbook
import pymongo
import pytest
from conftest import REPO, STATE, secret

Require = Callable[[str], int]
# Files bigger than this are not read when scanning (none of the run's files comes near it).
MAX_SCAN_BYTES = 20 * 1024 * 1024


def _files(roots: list[Path], newer_than: float, intended: tuple[Path, ...] = ()) -> Iterator[Path]:
    for root in roots:
        if root.is_file():
            yield root
            continue
        for dirpath, _dirs, names in os.walk(root):
            if any(Path(dirpath).resolve().is_relative_to(store.resolve()) for store in intended):
                continue
            for name in names:
                path = Path(dirpath) / name
                try:
                    info = path.lstat()
                except OSError:
                    continue
                if path.is_file() and info.st_mtime >= newer_than and info.st_size <= MAX_SCAN_BYTES:
                    yield path


def files_containing(
    needle: bytes, roots: list[Path], newer_than: float = 0, intended: tuple[Path, ...] = ()
) -> list[str]:
    """The files under `roots` (modified since `newer_than`) that hold `needle`, except those in the
    `intended` stores: the directories where the secret is meant to be (an application's env file),
    wherever the checkout and its sandbox live (under /tmp too)."""
    hits = []
    for path in _files(roots, newer_than, intended):
        try:
            if needle in path.read_bytes():
                hits.append(str(path))
        except OSError:
            continue
    return hits


def processes_containing(needle: bytes) -> list[str]:
    hits = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        for what in ("cmdline", "environ"):
            try:
                if needle in (entry / what).read_bytes():
                    hits.append(f"{entry.name}/{what}")
            except OSError:
                continue
    return hits


def require_smoke_services(require: Require) -> None:
    """smoke.yml queries every service; skip naming the first one that is down."""
    for service in ("ferretdb", "postgres", "redis", "app_api", "nginx_https", "prometheus", "alertmanager", "s3"):
        require(service)
    if not (STATE / "run" / "docker.sock").exists():
        pytest.skip(
            f"sandbox service docker is not running (no {STATE / 'run' / 'docker.sock'}; run `make sandbox-up`)"
        )


class Sampler(threading.Thread):
    """Scans process command lines and environments, and the run's directories, until stopped."""

    def __init__(self, needle: bytes, roots: Callable[[], list[Path]], since: float) -> None:
        super().__init__(daemon=True)
        self.needle = needle
        self.roots = roots
        self.since = since
        self.stop = threading.Event()
        self.hits: set[str] = set()
        self.samples = 0
        self.saw_secret_files = False

    def run(self) -> None:
        while not self.stop.is_set():
            self.hits.update(processes_containing(self.needle))
            roots = self.roots()
            self.saw_secret_files |= any(path.name == "secrets" for root in roots for path in root.glob("*"))
            self.hits.update(files_containing(self.needle, roots, self.since))
            self.samples += 1
            time.sleep(0.02)


@pytest.fixture
def canary_user(require: Require) -> Iterator[tuple[str, str]]:
    port = require("ferretdb")
    name = f"opsbook_canary_{secrets.token_hex(4)}"
    password = f"opsbook-canary-{secrets.token_hex(16)}"
    client = pymongo.MongoClient(
        host="127.0.0.1",
        port=port,
        username="opsbook_admin",
        password=secret("ferretdb_admin"),
        authSource="admin",
        serverSelectionTimeoutMS=5000,
        directConnection=True,
    )
    try:
        client.admin.command("createUser", name, pwd=password, roles=[])
        yield name, password
    finally:
        client.admin.command("dropUser", name)
        client.close()


def test_the_scanners_find_a_planted_canary(tmp_path: Path) -> None:
    """The checks below can fail: a canary written to a file or put on a command line is found."""
    needle = f"opsbook-canary-{secrets.token_hex(8)}".encode()
    (tmp_path / "planted").write_bytes(b"x" + needle + b"y")
    assert files_containing(needle, [tmp_path]) == [str(tmp_path / "planted")]
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(5)", needle.decode()])
    try:
        time.sleep(0.2)
        assert f"{proc.pid}/cmdline" in processes_containing(needle)
    finally:
        proc.kill()
        proc.wait()


def test_canary_secret_is_used_and_never_written_or_exposed(canary_user: tuple[str, str], require: Require) -> None:
    require_smoke_services(require)
    user, password = canary_user
    needle = password.encode()
    started = time.time() - 1
    handle_box: list[opsbook.RunHandle] = []

    def roots() -> list[Path]:
        found = [REPO / "artifacts", REPO / ".cache", REPO / "reports", Path.home() / ".ansible"]
        if handle_box:
            found.append(handle_box[0].private_data_dir)
        return [root for root in found if root.exists()]

    sampler = Sampler(needle, roots, started)
    sampler.start()
    try:
        handle = opsbook.run_async(
            "smoke",
            inventory="inventories/local",
            extravars={"opsbook_mongodb_login_user": user},
            secrets={"opsbook_mongodb_login_password": password},
        )
        handle_box.append(handle)
        result = handle.wait(timeout=300)
    finally:
        sampler.stop.set()
        sampler.join()

    # The secret reached the module: the MongoDB smoke test logged in as the canary user.
    assert result.ok, result.failed_tasks
    assert result.hosts["sandbox-mongodb"].ok > 0 and result.hosts["sandbox-mongodb"].failed == 0
    assert sampler.samples > 10
    assert sampler.saw_secret_files, "the sampler never saw the run's private directory"
    # Nowhere during the run: no command line, no environment, no file.
    assert sampler.hits == set()
    # Nowhere after it: the private directory is gone, artifacts and caches do not hold it.
    assert not handle.private_data_dir.exists()
    assert result.artifact_dir is not None and any((result.artifact_dir / "job_events").iterdir())
    scanned = [REPO / "artifacts", REPO / ".cache", REPO / "reports", Path.home() / ".ansible", Path("/tmp")]
    if Path("/dev/shm").is_dir():
        scanned.append(Path("/dev/shm"))
    assert files_containing(needle, [root for root in scanned if root.exists()], started) == []
    assert processes_containing(needle) == []
