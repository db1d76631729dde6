"""opsbook.run and the opsbook command against the sandbox: smoke.yml end to end, results built
from events, reports, artifact rotation, and the CLI's exit codes."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import opsbook
import pytest
from conftest import REPO, STATE, VENV_BIN, ansible_env, run_venv, secret

Require = Callable[[str], int]
SANDBOX_HOSTS = {
    "sandbox-mongodb",
    "sandbox-postgres",
    "sandbox-redis",
    "sandbox-app",
    "sandbox-lb",
    "sandbox-monitoring",
}


def require_smoke_services(require: Require) -> None:
    for service in ("ferretdb", "postgres", "redis", "app_api", "nginx_https", "prometheus", "alertmanager", "s3"):
        require(service)
    if not (STATE / "run" / "docker.sock").exists():
        pytest.skip("sandbox service docker is not running (run `make sandbox-up`)")


def opsbook_cli(*args: str, timeout: int = 300) -> subprocess.CompletedProcess[str]:
    return run_venv("opsbook", *args, timeout=timeout)


def test_smoke_through_opsbook_run(require: Require) -> None:
    require_smoke_services(require)
    seen: list[opsbook.Event] = []
    result = opsbook.run("smoke", inventory="inventories/local", on_event=seen.append)
    assert result.ok, result.failed_tasks
    assert result.rc == 0
    assert set(result.hosts) == SANDBOX_HOSTS
    assert all(stats.ok > 0 and stats.failed == 0 for stats in result.hosts.values())
    assert result.failed_tasks == ()
    types = [event.type for event in seen]
    assert types[0] == "playbook_on_start" and "playbook_on_stats" in types
    # The MongoDB smoke task's result came through the events, with the server's version.
    mongo = [e for e in seen if e.type == "runner_on_ok" and e.task == "Query the server's build information"]
    assert mongo and mongo[0].result["result"]["version"]
    assert result.artifact_dir is not None
    assert len(list((result.artifact_dir / "job_events").glob("*.json"))) == len(seen)
    assert (result.artifact_dir / "status").read_text() == "successful"


def test_check_mode_and_events_iterator(require: Require) -> None:
    require_smoke_services(require)
    handle = opsbook.run_async("smoke", inventory="inventories/local", check=True, limit="sandbox-redis")
    events = list(handle.events())
    result = handle.wait(timeout=10)
    assert result.ok and result.check
    assert set(result.hosts) == {"sandbox-redis"}
    assert any(event.type == "runner_on_ok" and event.host == "sandbox-redis" for event in events)


def test_failed_host_is_reported_with_task_and_message(require: Require) -> None:
    require("redis")
    result = opsbook.run(
        "smoke", inventory="inventories/local", limit="sandbox-redis", extravars={"opsbook_redis_port": 1}
    )
    assert result.status is opsbook.RunStatus.FAILED
    assert result.failed_hosts == ["sandbox-redis"]
    [failure] = result.failed_tasks
    assert failure.host == "sandbox-redis"
    assert failure.task == "Query Redis INFO"
    assert failure.message


def test_artifacts_are_rotated(require: Require, tmp_path: Path) -> None:
    require("redis")
    idents = []
    for _ in range(3):
        result = opsbook.run(
            "smoke", inventory="inventories/local", limit="sandbox-redis", artifacts_dir=tmp_path, keep_artifacts=2
        )
        idents.append(result.ident)
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(idents[-2:])


def test_report_of_a_reporting_playbook(require: Require, tmp_path: Path) -> None:
    """A playbook that writes reports/<run>/report.json: RunResult.report is that file, parsed,
    also when opsbook_report_dir moves it."""
    if not (REPO / "playbooks" / "health_check.yml").is_file():
        pytest.skip("playbooks/health_check.yml (the reporting playbook this test runs) is not in this checkout")
    require_smoke_services(require)
    result = opsbook.run(
        "health_check",
        inventory="inventories/local",
        # Two quick checks are enough for a report; the health check's own tests cover the rest.
        extravars={"opsbook_report_dir": str(tmp_path), "health_check_checks": ["tcp", "http"]},
    )
    assert result.report_path is not None, result.failed_tasks
    assert result.report_path.parent.parent == tmp_path
    assert result.report == json.loads(result.report_path.read_text())
    assert isinstance(result.report, dict)


def test_cli_exit_codes(require: Require) -> None:
    require("redis")
    ok = opsbook_cli("run", "smoke", "-i", "inventories/local", "--limit", "sandbox-redis", "--json")
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["status"] == "successful"

    failed = opsbook_cli(
        "run", "smoke", "-i", "inventories/local", "--limit", "sandbox-redis", "-e", "opsbook_redis_port=1"
    )
    assert failed.returncode == 2, failed.stdout + failed.stderr
    assert "Query Redis INFO" in failed.stdout

    unknown = opsbook_cli("run", "no_such_runbook", "-i", "inventories/local")
    assert unknown.returncode == 3 and "no_such_runbook" in unknown.stderr
    bad_var = opsbook_cli("run", "smoke", "-i", "inventories/local", "-e", "smoke_typo=1")
    assert bad_var.returncode == 3 and "smoke_typo" in bad_var.stderr
    no_inventory = opsbook_cli("run", "smoke", "-i", "inventories/nowhere")
    assert no_inventory.returncode == 3 and "inventories/nowhere" in no_inventory.stderr


def test_cli_list_and_doctor(require: Require) -> None:
    require("redis")
    listed = opsbook_cli("list", "--json")
    assert listed.returncode == 0
    names = {entry["name"]: entry["purpose"] for entry in json.loads(listed.stdout)}
    assert names["smoke"].startswith("prove that every component")
    doctor = opsbook_cli("doctor", "-i", "inventories/local")
    assert doctor.returncode == 0, doctor.stdout
    assert "ok    host sandbox-redis" in doctor.stdout
    assert "ok    ansible-core" in doctor.stdout


def test_awx_configure_renders_the_templates_through_opsbook(tmp_path: Path) -> None:
    """awx_configure.yml up to the controller: it renders every runbook's template and reports them.
    (No AWX runs here; applying them is not exercised, see docs/python.md.)"""
    from opsbook.awx import render_templates

    result = opsbook.run(
        "awx_configure",
        inventory="inventories/local",
        extravars={"awx_configure_render_only": True, "opsbook_report_dir": str(tmp_path)},
    )
    assert result.ok, result.failed_tasks
    assert result.report is not None and result.report["render_only"] is True
    assert result.report["templates"] == render_templates(opsbook.Project(REPO))
    with pytest.raises(opsbook.InvalidInput, match="awx_configure_controler_host"):
        opsbook.run("awx_configure", inventory="inventories/local", extravars={"awx_configure_controler_host": "x"})


def test_cli_secret_from_standard_input(require: Require) -> None:
    """--secret reads the value from standard input (no terminal), never from the command line."""
    require("redis")
    args = [str(VENV_BIN / "opsbook"), "run", "smoke", "-i", "inventories/local", "--limit", "sandbox-redis"]
    args += ["--secret", "opsbook_redis_login_password"]
    run = subprocess.run(
        args,
        cwd=REPO,
        env=ansible_env(),
        input=secret("redis_admin") + "\n",
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    wrong = subprocess.run(
        args, cwd=REPO, env=ansible_env(), input="wrong\n", capture_output=True, text=True, timeout=300
    )
    assert wrong.returncode == 2 and "Query Redis INFO" in wrong.stdout
