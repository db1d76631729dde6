"""The daily health check against the sandbox: every service answers and the report says so; a
down service and an unreachable host are reported as alerts of their criticality, never as a
crashed run; --check writes nothing."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from conftest import REPO, free_port, run_playbook

PLATFORM = yaml.safe_load((REPO / "inventories/local/group_vars/all/platform.yml").read_text())
SANDBOX_SERVICES = ["api", "api2", "worker", "mongodb", "postgres", "redis", "nginx", "prometheus", "alertmanager"]


@pytest.fixture
def sandbox_up(require) -> None:
    services = ("ferretdb", "postgres", "redis", "app_api", "app_api2", "nginx_https", "prometheus", "alertmanager")
    for service in services:
        require(service)


def run_health_check(tmp_path: Path, *args: str) -> tuple[str, dict | None]:
    reports = tmp_path / "reports"
    run = run_playbook("playbooks/health_check.yml", "-e", f"opsbook_report_dir={reports}", *args)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    written = sorted(reports.glob("*-health_check/report.json"))
    return run.stdout, json.loads(written[-1].read_text()) if written else None


def test_health_check_reports_every_sandbox_service_up(sandbox_up: None, tmp_path: Path) -> None:
    stdout, report = run_health_check(tmp_path)
    assert report is not None, "no report.json written"
    services = {s["name"]: s for s in report["services"]}
    assert sorted(services) == sorted(SANDBOX_SERVICES)
    down = {name: s["detail"] for name, s in services.items() if not s["up"]}
    assert down == {}, f"services reported down on a healthy sandbox: {down}"
    assert services["api"]["latency_ms"] > 0 and services["nginx"]["detail"].startswith("HTTP 200")
    # No service alert fires; host alerts (a busy CI machine's CPU) may.
    assert not [a for a in report["alerts"] if a["name"].startswith(("ServiceDown", "DatabaseDown", "HostUnreach"))]
    logs = next(s for s in report["sections"] if s["title"] == "Errors in the logs")
    read = {row[0]: row[2] for row in logs["rows"]}
    assert sorted(read) == ["api", "api2", "worker"], read
    assert read["api"] > 0 and read["api2"] > 0, "each API instance logs every request it serves"
    report_dir = next((tmp_path / "reports").glob("*-health_check"))
    html = (report_dir / "report.html").read_text()
    assert '<table id="services">' in html and "http://" not in re.sub(r"<[^>]+>", "", html[:200])
    assert "## Services" in (report_dir / "report.md").read_text()
    assert "Health check" in stdout and "services up" in stdout


def test_down_services_and_an_unreachable_host_are_alerts_not_a_crash(sandbox_up: None, tmp_path: Path) -> None:
    dead = free_port()
    services = [{**s, "port": dead} if s["name"] == "redis" else s for s in PLATFORM["opsbook_services"]] + [
        {
            "name": "search",
            "port": dead,
            "health_check": {"type": "http", "url": f"http://127.0.0.1:{dead}/health"},
            "criticality": "high",
        }
    ]
    ghost = tmp_path / "ghost.yml"
    ghost.write_text(
        yaml.safe_dump(
            {
                "all": {
                    "hosts": {
                        "ghost": {
                            "ansible_connection": "ssh",
                            "ansible_host": "127.0.0.1",
                            "ansible_port": dead,
                            "ansible_ssh_timeout": 3,
                        }
                    }
                }
            }
        )
    )
    extra = tmp_path / "services.json"
    extra.write_text(json.dumps({"opsbook_services": services}))
    _stdout, report = run_health_check(tmp_path, "-i", "inventories/local", "-i", str(ghost), "-e", f"@{extra}")
    assert report is not None
    alerts = {
        (a["name"], a["labels"].get("service") or a["labels"].get("host")): a["severity"] for a in report["alerts"]
    }
    assert alerts[("ServiceDown", "redis")] == "P0", alerts
    assert alerts[("ServiceDownHigh", "search")] == "P1", alerts
    assert alerts[("HostUnreachable", "ghost")] == "P1", alerts
    assert report["status"] == "critical"
    by_name = {s["name"]: s for s in report["services"]}
    assert not by_name["redis"]["up"] and by_name["api"]["up"]
    assert "unreachable: ghost" in report["summary"]


def test_fail_on_fails_the_run_when_such_an_alert_fires(sandbox_up: None, tmp_path: Path) -> None:
    dead = free_port()
    services = [{**s, "port": dead} if s["name"] == "postgres" else s for s in PLATFORM["opsbook_services"]]
    extra = tmp_path / "services.json"
    extra.write_text(json.dumps({"opsbook_services": services, "health_check_fail_on": "P0"}))
    run = run_playbook("playbooks/health_check.yml", "-e", f"opsbook_report_dir={tmp_path}", "-e", f"@{extra}")
    assert run.returncode != 0
    assert re.search(r"The health check found .*ServiceDown.* at P0 or worse", run.stdout)


def test_check_mode_writes_no_report(sandbox_up: None, tmp_path: Path) -> None:
    run = run_playbook("playbooks/health_check.yml", "--check", "-e", f"opsbook_report_dir={tmp_path}/reports")
    assert run.returncode == 0, run.stdout[-3000:]
    assert not (tmp_path / "reports").exists()
    assert re.search(r"changed=0\s", run.stdout.split("PLAY RECAP")[-1])
