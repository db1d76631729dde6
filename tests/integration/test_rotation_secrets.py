"""A rotation at -vvv through ansible-runner (opsbook.run_async) never shows a secret, and the
single_user strategy's window of failed logins is measured.

The canary is the starting password of the test users: the rotation reads it from the
application's env file, logs in with it and restores it on the server during the run. The new
passwords and API keys, read from the env file afterwards, are looked for too: in the events'
stdout, the runner's artifacts, the Ansible log and every command line seen during the run."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import opsbook
import pytest
from conftest import REPO
from rotation_sandbox import DOCKER_STATE, ENV_FILE, Probe, parse_env, sandbox_app
from test_opsbook_secrets import files_containing

__all__ = ["sandbox_app"]  # a fixture, used by name

# Processes in the application's containers (the app and its health checks) carry the image's
# APP_VERSION in their environment, which Compose fills from the env file: that is where the
# secret is meant to be.
APP_CONTAINER = b"\0APP_VERSION="


class CommandLines(threading.Thread):
    """Every distinct command line of every process, and the environment of every process outside
    the application's containers, sampled until stopped."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.stop = threading.Event()
        self.seen: set[bytes] = set()
        self.samples = 0

    def run(self) -> None:
        while not self.stop.is_set():
            for entry in Path("/proc").iterdir():
                if not entry.name.isdigit():
                    continue
                try:
                    self.seen.add((entry / "cmdline").read_bytes())
                    environ = (entry / "environ").read_bytes()
                except OSError:
                    continue
                if APP_CONTAINER not in environ:
                    self.seen.add(environ)
            self.samples += 1
            time.sleep(0.05)


@pytest.fixture
def verbose_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    log = tmp_path / "ansible.log"
    monkeypatch.setenv("ANSIBLE_VERBOSITY", "3")
    monkeypatch.setenv("ANSIBLE_LOG_PATH", str(log))
    yield log


def test_rotation_at_vvv_shows_no_secret_and_single_user_window_is_measured(
    sandbox_app: dict[str, Any],
    verbose_log: Path,
) -> None:
    users = sandbox_app["users"]
    canary = users.password.encode()
    before = parse_env(ENV_FILE.read_text())
    settings = {
        "credential_rotation_accounts": users.accounts("single_user"),
        "credential_rotation_vault_file": str(sandbox_app["vault"]),
        "credential_rotation_vault_password_file": str(sandbox_app["vault_pass"]),
        "opsbook_report_dir": str(sandbox_app["tmp"] / "reports"),
    }
    stdout: list[str] = []
    started = time.time() - 1
    cmdlines = CommandLines()
    cmdlines.start()
    try:
        with Probe() as probe:
            time.sleep(1)
            handle = opsbook.run_async(
                "rotate_credentials",
                inventory="inventories/local",
                extravars=settings,
                on_event=lambda event: stdout.append(event.stdout or ""),
            )
            result = handle.wait(timeout=900)
            time.sleep(1)
    finally:
        cmdlines.stop.set()
        cmdlines.join()
    print(probe.summary(), f"single_user window: {probe.login_window():.1f} s")
    assert result.ok, result.failed_tasks
    text = "\n".join(stdout)
    # -vvv took effect: connection details are only printed from -vvv on.
    assert "ESTABLISH LOCAL CONNECTION" in text
    after = parse_env(ENV_FILE.read_text())
    assert after["MONGO_URL"] != before["MONGO_URL"]

    # single_user: the same users, new passwords; logins with the env file's secret failed only
    # between the password change and the env file's update.
    assert f"//{users.mongo[0]}:" in after["MONGO_URL"] and f"//{users.pg[0]}:" in after["DATABASE_URL"]
    assert probe.login_window() < 120
    assert probe.last_health == "ok"

    needles = [canary] + [after[k].encode() for k in ("MONGO_URL", "REDIS_URL", "DATABASE_URL")]
    needles += [str(urlsplit(after[k]).password).encode() for k in ("MONGO_URL", "REDIS_URL", "DATABASE_URL")]
    needles += [key.encode() for key in after["API_KEYS"].split(",")]
    assert verbose_log.exists() and verbose_log.stat().st_size > 0
    assert cmdlines.samples > 10
    roots = [verbose_log, REPO / "artifacts", REPO / ".cache", Path.home() / ".ansible", sandbox_app["tmp"] / "reports"]
    roots += [Path("/tmp"), Path("/dev/shm")]
    for needle in needles:
        assert needle.decode() not in text
        assert not [line for line in cmdlines.seen if needle in line]
        # The intended stores only: the application's env file (and its previous copy), wherever
        # the checkout lives, and the container runtime's own files about the containers it runs
        # with that environment; never anywhere else (PostgreSQL's statement texts included). The
        # vault store is scanned: it is encrypted.
        hits = files_containing(
            needle, [root for root in roots if root.exists()], started, (ENV_FILE.parent, *DOCKER_STATE)
        )
        assert hits == [], hits
    assert os.environ.get("ANSIBLE_VERBOSITY") == "3"
