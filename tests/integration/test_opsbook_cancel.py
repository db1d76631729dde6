"""Cancel and timeout stop the whole ansible process tree within 5 s.

A throw-away project holds one long playbook whose task starts a small process tree on the
controller: a shell with a child ``sleep``, and one ``sleep`` that leaves the process group with
``setsid`` (runner's own kill of the process group does not reach it). The checks look for leftover
processes by their command lines, independently of opsbook's own bookkeeping."""

from __future__ import annotations

import os
import secrets
import sys
import time
from collections.abc import Callable
from pathlib import Path

import opsbook
import pytest
from conftest import REPO, run_venv

Require = Callable[[str], int]
STOP_LIMIT = 5.0

LONG_PLAYBOOK = """\
---
# long.yml: start a small process tree on the controller and wait on it.
- name: Run long commands
  hosts: all
  gather_facts: false
  tasks:
    - name: Start a process tree that outlives a quick kill
      ansible.builtin.shell: "sleep {seconds} & setsid sleep {seconds} & wait"
      changed_when: false
"""


def leftover(token: str) -> list[str]:
    """Processes (not zombies) whose command line contains ``token``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = (entry / "stat").read_text().rsplit(")", 1)[-1].split()[0]
        except OSError:
            continue
        if token in cmdline and state not in ("Z", "X") and int(entry.name) != os.getpid():
            found.append(f"{entry.name}: {cmdline.strip()}")
    return found


@pytest.fixture
def long_project(tmp_path: Path) -> tuple[Path, str]:
    """A minimal opsbook project with playbooks/long.yml; returns it and a token unique to its
    processes (the sleep duration)."""
    seconds = str(3000 + secrets.randbelow(900))
    (tmp_path / "playbooks").mkdir()
    (tmp_path / "playbooks" / "long.yml").write_text(LONG_PLAYBOOK.format(seconds=seconds))
    (tmp_path / "ansible.cfg").write_text("[defaults]\nforks = 5\n[connection]\npipelining = true\n")
    (tmp_path / "hosts.yml").write_text(
        "all:\n  hosts:\n    controller:\n      ansible_connection: local\n"
        f"      ansible_python_interpreter: {sys.executable}\n"
    )
    return tmp_path, f"sleep {seconds}"


def wait_for(predicate: Callable[[], bool], limit: float) -> bool:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def test_cancel_stops_the_whole_tree(long_project: tuple[Path, str]) -> None:
    project, token = long_project
    handle = opsbook.run_async("long", inventory=project / "hosts.yml", project_dir=project)
    try:
        assert wait_for(lambda: len(leftover(token)) >= 2, 60), "the playbook's sleeps never started"
    finally:
        started = time.monotonic()
        handle.cancel()
        result = handle.wait(timeout=30)
        elapsed = time.monotonic() - started
    assert result.status is opsbook.RunStatus.CANCELED
    assert elapsed < STOP_LIMIT, f"cancel took {elapsed:.1f} s"
    assert leftover(token) == []
    assert leftover(str(project)) == [], "an ansible process of the run is still alive"
    assert not handle.private_data_dir.exists()


def test_timeout_stops_the_whole_tree(long_project: tuple[Path, str]) -> None:
    project, token = long_project
    started = time.monotonic()
    result = opsbook.run("long", inventory=project / "hosts.yml", project_dir=project, timeout=4)
    elapsed = time.monotonic() - started
    assert result.status is opsbook.RunStatus.TIMEOUT
    assert 4 <= elapsed < 4 + STOP_LIMIT, f"the 4 s timeout ended the run after {elapsed:.1f} s"
    assert leftover(token) == []
    assert leftover(str(project)) == []


def test_cli_timeout_exits_4(long_project: tuple[Path, str]) -> None:
    project, token = long_project
    proc = run_venv(
        "opsbook",
        "--project",
        str(project),
        "run",
        "long",
        "-i",
        "hosts.yml",
        "--timeout",
        "3",
        timeout=120,
        cwd=project,
    )
    assert proc.returncode == 4, proc.stdout + proc.stderr
    assert "timeout" in proc.stdout
    assert leftover(token) == []


def test_cancel_a_real_smoke_run(require: Require) -> None:
    """Cancel smoke.yml against the sandbox as soon as its first task starts on a host."""
    require("ferretdb")
    handle = opsbook.run_async("smoke", inventory="inventories/local")
    for event in handle.events():
        if event.type == "runner_on_start":
            break
    started = time.monotonic()
    handle.cancel()
    result = handle.wait(timeout=30)
    assert time.monotonic() - started < STOP_LIMIT
    assert result.status is opsbook.RunStatus.CANCELED
    assert leftover(str(REPO / "playbooks" / "smoke.yml")) == []
