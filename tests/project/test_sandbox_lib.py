"""sandbox/lib/common.sh: a component that cannot start stops the sandbox with a message naming it
and its log; start_daemon and stop_daemon manage exactly the process they started."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import REPO

COMMON = REPO / "sandbox" / "lib" / "common.sh"


@pytest.fixture
def state() -> Iterator[Path]:
    """A state directory unprivileged users can reach, as ensure_dirs requires (pytest's tmp_path
    sits under a 0700 directory)."""
    path = Path(tempfile.mkdtemp(prefix="opsbook-test-", dir="/var/tmp"))
    path.chmod(0o711)
    yield path / "state"
    shutil.rmtree(path, ignore_errors=True)


def bash(script: str, state: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OPSBOOK_SANDBOX_STATE": str(state), "OPSBOOK_CACHE": str(state / "cache")}
    return subprocess.run(
        ["bash", "-c", f"set -euo pipefail; source {COMMON}; ensure_dirs; {script}"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_a_component_that_exits_is_named_with_its_log(state: Path) -> None:
    result = bash("start_daemon broken -- sh -c 'echo cannot bind >&2; exit 3'; wait_tcp broken 1 5", state)
    assert result.returncode != 0
    assert "broken exited during start-up" in result.stderr
    assert str(state / "log" / "broken.log") in result.stderr
    assert "cannot bind" in result.stderr  # the log's last lines are shown


def test_a_component_that_never_listens_times_out_with_its_log(state: Path) -> None:
    result = bash("start_daemon sleepy -- sleep 30; wait_tcp sleepy 1 1", state)
    assert result.returncode != 0
    assert "sleepy did not listen on 127.0.0.1:1 within 1s" in result.stderr
    assert str(state / "log" / "sleepy.log") in result.stderr
    bash("stop_daemon sleepy", state)


def test_start_is_idempotent_and_stop_stops_only_its_process(state: Path) -> None:
    neighbour = subprocess.Popen(["sleep", "60"])
    try:
        first = bash("start_daemon napper -- sleep 60; cat $RUN_DIR/napper.pid", state)
        second = bash("start_daemon napper -- sleep 60; cat $RUN_DIR/napper.pid", state)
        assert first.returncode == second.returncode == 0
        pid = int(first.stdout)
        assert int(second.stdout) == pid, "a second start_daemon started another process"
        assert bash("stop_daemon napper", state).returncode == 0
        assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text().lower()
        assert neighbour.poll() is None, "stop_daemon stopped a process it did not start"
    finally:
        neighbour.kill()
        neighbour.wait()


def test_secrets_are_private_and_stable(state: Path) -> None:
    first = bash("secret demo", state)
    second = bash("secret demo", state)
    assert first.stdout == second.stdout and len(first.stdout.strip()) >= 24
    assert (state / "secrets" / "demo").stat().st_mode & 0o777 == 0o600
    assert (state / "secrets").stat().st_mode & 0o777 == 0o700


def test_an_unreachable_state_directory_is_refused(tmp_path: Path) -> None:
    (tmp_path / "private").mkdir(mode=0o700)
    result = bash("true", tmp_path / "private" / "state")
    assert result.returncode != 0
    assert "not reachable by unprivileged users" in result.stderr and "OPSBOOK_SANDBOX_STATE" in result.stderr
