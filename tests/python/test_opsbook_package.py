"""The opsbook package without services: runbook discovery, input checks against role argument
specs, secrets files, results built from runner-shaped events, the CLI's parsing and exit codes,
and stopping a process tree by its run marker."""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import opsbook
import pytest
from ansible.parsing.vault import VaultLib, VaultSecret
from conftest import REPO
from opsbook import cli, doctor, proctree
from opsbook.project import Project
from opsbook.results import Event, EventCollector, RunResult, RunStatus
from opsbook.runner import _redact_command_artifact, tool_path
from opsbook.secrets import REDACTED, SecretVars, scrub
from opsbook.specs import playbook_spec

ROLE_SPEC = """\
argument_specs:
  main:
    short_description: Demo
    options:
      demo_count: {type: int, default: 3, description: How many.}
      demo_mode: {type: str, choices: [fast, safe], default: safe, description: Mode.}
      demo_enabled: {type: bool, default: false, description: Switch.}
      demo_token: {type: str, required: true, no_log: true, description: A secret.}
      demo_items:
        type: list
        elements: dict
        default: []
        description: Items.
        options:
          name: {type: str, required: true, description: Name.}
  extra:
    short_description: Another entry point
    options:
      demo_extra_path: {type: path, description: Where.}
"""


@pytest.fixture
def project(tmp_path: Path) -> Project:
    """A small project: two runbooks, a shared piece, roles used four different ways."""
    (tmp_path / "ansible.cfg").write_text("[defaults]\nhost_key_checking = false\n")
    books = tmp_path / "playbooks"
    books.mkdir()
    (books / "_shared.yml").write_text("---\n- name: Shared\n  hosts: all\n  roles: [shared_role]\n")
    (books / "demo.yml").write_text(
        "---\n# demo.yml: show every way a playbook uses roles.\n#\n# Example: -e confirm=yes -e demo_mode=fast\n"
        "- name: Shared\n  ansible.builtin.import_playbook: _shared.yml\n"
        "- name: Demo\n  hosts: all\n  vars:\n    demo_play_var: 1\n"
        "  vars_prompt:\n    - name: demo_prompt\n      prompt: Sure?\n"
        "  roles:\n    - role: demo\n"
        "  tasks:\n    - name: Block\n      block:\n        - name: Include\n"
        "          ansible.builtin.include_role:\n            name: included\n"
        '    - name: Templated\n      ansible.builtin.include_role:\n        name: "{{ which }}"\n'
        "    - name: Vaulted\n      ansible.builtin.debug:\n        msg: !unsafe '{{ x }}'\n"
    )
    (books / "other.yml").write_text("# other.yml: no document marker.\n- hosts: all\n  tasks: []\n")
    (books / "nohead.yml").write_text("---\n- hosts: all\n  tasks: []\n")
    roles = tmp_path / "roles"
    for role in ("demo", "included", "shared_role", "nested"):
        (roles / role / "tasks").mkdir(parents=True)
        (roles / role / "tasks" / "main.yml").write_text("---\n[]\n")
    (roles / "demo" / "meta").mkdir()
    (roles / "demo" / "meta" / "argument_specs.yml").write_text(ROLE_SPEC)
    (roles / "included" / "tasks" / "main.yml").write_text(
        "---\n- name: Nested\n  ansible.builtin.import_role:\n    name: nested\n"
    )
    return Project(tmp_path)


def test_runbooks_and_purposes(project: Project) -> None:
    books = {b.name: b for b in project.playbooks()}
    assert set(books) == {"demo", "other", "nohead"}
    assert books["demo"].purpose == "show every way a playbook uses roles."
    assert books["other"].purpose == "no document marker."
    assert books["nohead"].purpose == ""
    assert project.playbook("demo.yml") == books["demo"] == project.playbook("playbooks/demo.yml")
    with pytest.raises(opsbook.PlaybookNotFound, match="_shared"):
        project.playbook("_shared")


def test_roles_are_discovered_through_imports_blocks_and_role_tasks(project: Project) -> None:
    inputs = project.inputs(project.playbook("demo"))
    assert inputs.roles == ("shared_role", "demo", "included", "nested")
    assert inputs.play_vars == {"demo_play_var", "demo_prompt"}
    assert inputs.header_vars == {"confirm", "demo_mode"}
    assert any("which" in note for note in inputs.unresolved)


def test_input_checks_name_the_offending_key(project: Project) -> None:
    spec = playbook_spec(project, project.playbook("demo"))
    with pytest.raises(opsbook.InvalidInput, match=r"demo_cuont.*Did you mean demo_count") as err:
        spec.validate({"demo_cuont": 1})
    assert err.value.key == "demo_cuont"
    with pytest.raises(opsbook.InvalidInput, match="demo_mode: value of demo_mode must be one of: fast, safe"):
        spec.validate({"demo_mode": "reckless"})
    with pytest.raises(opsbook.InvalidInput, match="demo_count"):
        spec.validate({"demo_count": "many"})
    with pytest.raises(opsbook.InvalidInput, match="name"):
        spec.validate({"demo_items": [{"nom": "x"}]})


def test_input_checks_convert_strings_and_accept_play_header_and_platform_names(project: Project) -> None:
    spec = playbook_spec(project, project.playbook("demo"))
    checked = spec.validate(
        {
            "demo_count": "7",
            "demo_enabled": "yes",
            "demo_mode": "fast",
            "demo_extra_path": "~/x",
            "demo_play_var": 2,
            "demo_prompt": "y",
            "confirm": "yes",
            "opsbook_report_dir": "/tmp/r",
            "ansible_become_password": "pw",
        }
    )
    assert checked["demo_count"] == 7 and checked["demo_enabled"] is True
    assert checked["demo_extra_path"] == "~/x"
    # `required` is not enforced: the inventory may set demo_token.
    assert "demo_token" not in checked


def test_secret_values_never_appear_in_errors(project: Project) -> None:
    spec = playbook_spec(project, project.playbook("demo"))
    with pytest.raises(opsbook.InvalidInput) as err:
        spec.validate({"demo_mode": "hunter2-secret"}, secret=True)
    assert "hunter2-secret" not in str(err.value)
    assert REDACTED in str(err.value)


def test_the_repositorys_runbooks_all_have_a_purpose_and_parse() -> None:
    project = Project(REPO)
    for book in project.playbooks():
        assert book.purpose, f"{book.path} lacks its '# {book.filename}: purpose' first header line"
        spec = playbook_spec(project, book)
        assert spec.playbook == book


def test_secret_vars_files(tmp_path: Path) -> None:
    canary = "canary-" + os.urandom(8).hex()
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    with SecretVars({"demo_token": canary, "nested": {"k": [canary + "2"]}}, directory=private) as secret:
        assert stat.S_IMODE(secret.directory.stat().st_mode) == 0o700
        for path in (secret.password_file, secret.vars_file):
            assert stat.S_IMODE(path.stat().st_mode) == 0o600
            assert canary.encode() not in path.read_bytes()
        assert canary not in " ".join(secret.cmdline())
        ciphertext = secret.vars_file.read_bytes()
        assert ciphertext.startswith(b"$ANSIBLE_VAULT;1.2;AES256;opsbook_secrets")
        password = secret.password_file.read_bytes().strip()
        plain = VaultLib([("opsbook_secrets", VaultSecret(password))]).decrypt(ciphertext)
        assert json.loads(plain) == {"demo_token": canary, "nested": {"k": [canary + "2"]}}
        assert secret.strings == {canary, canary + "2"}
    assert not secret.directory.exists()


def test_scrub_replaces_secrets_in_place() -> None:
    event: dict[str, Any] = {"stdout": "pw=s3cret!", "event_data": {"res": {"msg": ["x s3cret!", 5]}}}
    scrub(event, frozenset({"s3cret!"}))
    assert event == {"stdout": f"pw={REDACTED}", "event_data": {"res": {"msg": [f"x {REDACTED}", 5]}}}


def _event(kind: str, **data: Any) -> Event:
    return Event.from_runner({"event": kind, "counter": 1, "uuid": "u", "event_data": data})


def test_results_from_runner_events(tmp_path: Path) -> None:
    report = tmp_path / "reports" / "20250101T000000Z-demo" / "report.json"
    report.parent.mkdir(parents=True)
    report.write_text('{"status": "ok"}')
    collector = EventCollector()
    collector.add(_event("runner_on_failed", host="h1", task="Probe", res={"msg": "boom"}, task_action="command"))
    collector.add(_event("runner_on_failed", host="h1", task="Ignored", res={"msg": "x"}, ignore_errors=True))
    collector.add(
        _event(
            "runner_on_failed",
            host="h2",
            task="Loop",
            res={"msg": "One or more items failed", "results": [{"failed": True, "msg": "item 2"}]},
        )
    )
    collector.add(_event("runner_on_unreachable", host="h3", task="Ping", res={"msg": "no route"}))
    collector.add(_event("runner_on_ok", host="localhost", task="Write", res={"dest": str(report)}))
    collector.add(
        _event(
            "playbook_on_stats",
            ok={"h1": 2, "localhost": 1},
            failures={"h1": 1, "h2": 1},
            dark={"h3": 1},
            changed={},
            skipped={"h1": 1},
            processed={"h1": 1, "h2": 1, "h3": 1, "localhost": 1},
        )
    )
    assert [(t.host, t.message, t.unreachable) for t in collector.failed_tasks] == [
        ("h1", "boom", False),
        ("h2", "One or more items failed", False),
        ("h3", "no route", True),
    ]
    assert collector.hosts["h1"] == opsbook.HostStats(ok=2, failed=1, skipped=1)
    assert collector.hosts["h3"].unreachable == 1
    parsed, path = collector.find_report(tmp_path / "reports", started=0)
    assert parsed == {"status": "ok"} and path == report
    # Without an event naming it, the newest report.json written since the run started.
    parsed, path = EventCollector().find_report(tmp_path / "reports", started=time.time() - 60)
    assert path == report
    assert EventCollector().find_report(tmp_path / "reports", started=time.time() + 60) == (None, None)


def _result(status: RunStatus, failed: bool) -> RunResult:
    hosts = {"h": opsbook.HostStats(ok=1, failed=int(failed))}
    return RunResult(playbook="p", ident="i", status=status, rc=2, duration=1, check=False, hosts=hosts)


def test_exit_codes() -> None:
    assert cli.exit_code(_result(RunStatus.SUCCESSFUL, False)) == 0
    assert cli.exit_code(_result(RunStatus.FAILED, True)) == 2
    assert cli.exit_code(_result(RunStatus.FAILED, False)) == 1
    assert cli.exit_code(_result(RunStatus.TIMEOUT, False)) == 4
    assert cli.exit_code(_result(RunStatus.CANCELED, True)) == 4


def test_cli_extra_vars_and_secrets_files(tmp_path: Path) -> None:
    varfile = tmp_path / "vars.yml"
    varfile.write_text("a: 1\nb: [x]\n")
    assert cli._parse_extravars(["k=v=w", f"@{varfile}", '{"c": true}']) == {"k": "v=w", "a": 1, "b": ["x"], "c": True}
    with pytest.raises(opsbook.InvalidInput):
        cli._parse_extravars(["novalue"])
    secrets = tmp_path / "secrets.yml"
    secrets.write_text("token: abc\n")
    secrets.chmod(0o644)
    with pytest.raises(opsbook.InvalidInput, match="readable by others"):
        cli._read_secrets([], [str(secrets)], io.StringIO())
    secrets.chmod(0o600)
    assert cli._read_secrets(["pw"], [str(secrets)], io.StringIO("from-stdin\n")) == {
        "token": "abc",
        "pw": "from-stdin",
    }


def test_cli_invalid_input_exits_3(project: Project, capsys: pytest.CaptureFixture[str]) -> None:
    root = str(project.root)
    assert cli.main(["--project", root, "run", "missing", "-i", root]) == 3
    assert "no runbook named 'missing'" in capsys.readouterr().err
    assert cli.main(["--project", root, "run", "demo", "-i", root, "-e", "demo_count=lots"]) == 3
    assert "demo_count" in capsys.readouterr().err
    assert cli.main(["--project", root, "run", "demo", "-i", "nowhere"]) == 3
    assert cli.main(["--project", root, "list"]) == 0
    assert "demo    show every way" in capsys.readouterr().out


def test_command_artifact_keeps_no_secret_environment(tmp_path: Path) -> None:
    (tmp_path / "command").write_text(
        json.dumps({"command": ["ansible-playbook"], "cwd": "/", "env": {"PATH": "/bin", "DB_PASSWORD": "pw"}})
    )
    _redact_command_artifact(tmp_path)
    data = json.loads((tmp_path / "command").read_text())
    assert data["env"] == {"PATH": "/bin", "DB_PASSWORD": "<redacted>"}
    assert stat.S_IMODE((tmp_path / "command").stat().st_mode) == 0o600


def test_terminate_stops_every_marked_process_even_outside_the_group() -> None:
    ident = "unit-" + os.urandom(4).hex()
    env = {**os.environ, proctree.MARKER: ident}
    script = "import os, subprocess, time; subprocess.Popen(['setsid', 'sleep', '300']); time.sleep(300)"
    parent = subprocess.Popen([sys.executable, "-c", script], env=env, start_new_session=True)
    try:
        deadline = time.monotonic() + 10
        while len(proctree.marked_processes(ident)) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(proctree.marked_processes(ident)) == 2
        assert proctree.terminate(ident, grace=0.5, limit=4) == []
        parent.wait(timeout=5)
        assert proctree.marked_processes(ident) == []
    finally:
        if parent.poll() is None:
            os.kill(parent.pid, signal.SIGKILL)
            parent.wait()


def test_doctor_finds_commands_and_libraries(project: Project) -> None:
    roles = project.root / "roles"
    (roles / "demo" / "defaults").mkdir()
    (roles / "demo" / "defaults" / "main.yml").write_text(
        "demo_dump_path: \"{{ opsbook_dump_path | default('mongodump') }}\"\ndemo_tool_path: pg_dump\n"
        'demo_dir_path: /var/backups\ndemo_cli: "{{ demo_tool_path }} --version"\n'
    )
    (roles / "demo" / "tasks" / "main.yml").write_text(
        "---\n- name: Literal\n  ansible.builtin.command: vacuumdb --all\n"
        "- name: Argv\n  ansible.builtin.command:\n    argv: [redis-cli, ping]\n"
        '- name: Templated\n  ansible.builtin.shell: "{{ demo_cli }}"\n'
        "- name: Query\n  community.postgresql.postgresql_query:\n    query: SELECT 1\n"
        "- name: Block\n  block:\n    - name: Mongo\n      community.mongodb.mongodb_info: {}\n"
    )
    book = project.playbook("demo")
    assert doctor.binaries_of(project, book) == {"mongodump", "pg_dump", "vacuumdb", "redis-cli"}
    assert doctor.libraries_of(project, book) == {"psycopg2", "pymongo"}
    checks = {check.name: check for check in doctor.run_checks(project)}
    assert checks["python"].ok and checks["ansible-core"].ok
    assert checks["command vacuumdb"].ok == (shutil.which("vacuumdb", path=tool_path()) is not None)
    assert checks["command redis-cli"].ok or checks["command redis-cli"].detail.endswith("needed by demo")
    assert not checks["collections"].ok
    assert checks["python library pymongo"].ok


def test_run_takes_ansible_playbooks_verbosity_flags() -> None:
    from opsbook.cli import build_parser

    parser = build_parser()
    assert parser.parse_args(["run", "smoke", "-i", "inv", "-vvv"]).verbose == 3
    assert parser.parse_args(["run", "smoke", "-i", "inv", "-v", "-v"]).verbose == 2
    assert parser.parse_args(["run", "smoke", "-i", "inv"]).verbose == 0
