"""The alert_check module, run by ansible-playbook (no services needed)."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import REPO, run_playbook

CATALOG = REPO / "roles" / "alerting" / "files" / "catalog.yml"


def run_alert_check(tmp_path: Path, args: dict) -> dict:
    """Run alert_check with args on localhost and return its registered result."""
    out = tmp_path / "result.json"
    playbook = tmp_path / "check.yml"
    playbook.write_text(
        f"""
- hosts: localhost
  gather_facts: false
  tasks:
    - opsbook.runbooks.alert_check: >-
        {{{{ {{'catalog': lookup('ansible.builtin.file', '{CATALOG}') | from_yaml}} | combine(args) }}}}
      vars:
        args: {json.dumps(args)}
      register: result
      ignore_errors: true
    - ansible.builtin.copy:
        content: "{{{{ result | to_json }}}}"
        dest: {out}
        mode: "0600"
"""
    )
    run = run_playbook(
        "-i",
        "localhost,",
        "-c",
        "local",
        "-e",
        "ansible_python_interpreter={{ ansible_playbook_python }}",
        str(playbook),
    )
    assert run.returncode == 0, run.stdout[-3000:]
    return json.loads(out.read_text())


def test_alerts_carry_level_severity_and_routing(tmp_path: Path) -> None:
    result = run_alert_check(
        tmp_path,
        {"observations": {"cpu_usage_percent": 85, "service_up": [{"labels": {"service": "api"}, "value": 0}]}},
    )
    assert not result["failed"] and result["changed"] is False
    assert result["status"] == "critical" and result["worst_severity"] == "P0"
    names = [a["name"] for a in result["alerts"]]
    assert names == ["ServiceDown", "HighCpuUsage"]
    assert result["alerts"][0]["receivers"] == ["pager", "phone", "slack-incidents"]
    assert result["alerts"][0]["labels"] == {"service": "api"}


def test_nothing_fires_when_all_is_well(tmp_path: Path) -> None:
    result = run_alert_check(tmp_path, {"observations": {"cpu_usage_percent": 12, "service_up": 1}})
    assert result["status"] == "ok" and result["alerts"] == [] and result["worst_severity"] is None


def test_fail_on_fails_at_that_severity_and_returns_the_alerts(tmp_path: Path) -> None:
    result = run_alert_check(tmp_path, {"observations": {"service_up": 0}, "fail_on": "P1"})
    assert result["failed"] and "alerts at P1 or more urgent fired: ServiceDown" in result["msg"]
    assert result["alerts"][0]["severity"] == "P0"
    quiet = run_alert_check(tmp_path, {"observations": {"cpu_usage_percent": 85}, "fail_on": "P1"})
    assert not quiet["failed"], "a P2 warning must not fail a fail_on: P1 check"


def test_a_malformed_override_fails_naming_the_entry(tmp_path: Path) -> None:
    result = run_alert_check(tmp_path, {"overrides": {"HighCpuUsage": {"warning": 99}}})
    assert result["failed"]
    assert "entry HighCpuUsage: warning 99 is worse than critical 95" in result["msg"]
