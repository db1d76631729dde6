"""The alerting role against the sandbox's Prometheus 2.42, Alertmanager 0.25 and webhook sink:
monitoring_configure installs the rendered configuration idempotently (check mode changes
nothing), Prometheus and Alertmanager run it, and pushed alerts take the catalog's routes (a P0
reaches the pager, phone and #incidents paths, a P3 only the email path). The test leaves the
rendered configuration applied, the sandbox's intended state, and resolves what it pushed."""

from __future__ import annotations

import json
import re
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from ansible_collections.opsbook.runbooks.plugins.module_utils.catalog import prometheus_rules, validate
from conftest import PORTS, REPO, STATE, port_open, run_playbook

PROMETHEUS = f"http://127.0.0.1:{PORTS['prometheus']}"
ALERTMANAGER = f"http://127.0.0.1:{PORTS['alertmanager']}"
SINK_LOG = STATE / "webhook-sink" / "notifications.jsonl"
CATALOG = validate(yaml.safe_load((REPO / "roles" / "alerting" / "files" / "catalog.yml").read_text()))
PLAYBOOK = "playbooks/monitoring_configure.yml"


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as reply:
        return json.loads(reply.read())


def recap_changed(output: str, host: str = "sandbox-monitoring") -> int:
    match = re.search(rf"^{host}\s*:.*?changed=(\d+)", output, re.M)
    assert match, output[-3000:]
    return int(match[1])


@pytest.fixture(scope="module")
def configured() -> Iterator[None]:
    """The sandbox with the rendered configuration applied (what sandbox/up.sh leaves)."""
    for service in ("prometheus", "alertmanager", "webhook_sink"):
        if not port_open(PORTS[service]):
            port = PORTS[service]
            pytest.skip(f"sandbox service {service} is not running on 127.0.0.1:{port} (run `make sandbox-up`)")
    run = run_playbook(PLAYBOOK)
    assert run.returncode == 0, run.stdout[-4000:]
    yield


def test_configure_is_idempotent_and_check_mode_changes_nothing(configured: None) -> None:
    again = run_playbook(PLAYBOOK)
    assert again.returncode == 0, again.stdout[-4000:]
    assert recap_changed(again.stdout) == 0, "a second run must change nothing"

    rules_file = STATE / "prometheus" / "rules" / "opsbook.rules.yml"
    before = rules_file.read_bytes(), (STATE / "alertmanager" / "alertmanager.yml").read_bytes()
    changed = run_playbook(
        PLAYBOOK,
        "--check",
        "-e",
        json.dumps({"alerting_overrides": {"HighCpuUsage": {"warning": 70}}, "alerting_route_settings": {}}),
    )
    assert changed.returncode == 0, changed.stdout[-4000:]
    assert recap_changed(changed.stdout) >= 2, "check mode reports the rules and routing that would change"
    after = rules_file.read_bytes(), (STATE / "alertmanager" / "alertmanager.yml").read_bytes()
    assert after == before, "check mode changed an installed file"


def test_a_malformed_override_fails_before_any_change(configured: None) -> None:
    rules_file = STATE / "prometheus" / "rules" / "opsbook.rules.yml"
    before = rules_file.read_bytes()
    run = run_playbook(PLAYBOOK, "-e", json.dumps({"alerting_overrides": {"HighCpuUsage": {"warning": 99}}}))
    assert run.returncode != 0
    assert "entry HighCpuUsage: warning 99 is worse than critical 95" in run.stdout
    assert rules_file.read_bytes() == before


def test_prometheus_and_alertmanager_run_the_rendered_configuration(configured: None) -> None:
    loaded = {r["name"] for g in get_json(f"{PROMETHEUS}/api/v1/rules")["data"]["groups"] for r in g["rules"]}
    rendered = {r["alert"] for g in prometheus_rules(CATALOG)["groups"] for r in g["rules"]}
    assert rendered <= loaded, f"Prometheus lacks {sorted(rendered - loaded)}"
    targets = get_json(f"{PROMETHEUS}/api/v1/targets")["data"]["activeTargets"]
    by_job = {t["labels"]["job"]: t["labels"] for t in targets}
    assert by_job["api"]["service"] == "api" and by_job["api"]["criticality"] == "critical"
    assert by_job["mongodb"]["criticality"] == "critical" and by_job["prometheus"]["criticality"] == "high"
    config = yaml.safe_load(get_json(f"{ALERTMANAGER}/api/v2/status")["config"]["original"])
    assert {r["name"] for r in config["receivers"]} >= {"pager", "phone", "slack-incidents", "email", "ticket"}
    # nothing in the healthy sandbox fires: the FerretDB and API targets are up
    firing = [a["labels"]["alertname"] for a in get_json(f"{PROMETHEUS}/api/v1/alerts")["data"]["alerts"]]
    assert "ServiceDown" not in firing and "MongoNoPrimary" not in firing, firing


def push_playbook(tmp_path: Path, run_id: str, state: str) -> dict[str, Any]:
    """alert_check on a down service and a certificate 20 days from expiry, pushed through the
    role's push entry point (twice), then the active alerts listed through its active entry point."""
    out = tmp_path / f"{state}.json"
    playbook = tmp_path / f"push-{state}.yml"
    playbook.write_text(
        yaml.safe_dump(
            [
                {
                    "name": "Push alerts through the alerting role",
                    "hosts": "monitoring",
                    "gather_facts": False,
                    "tasks": [
                        {
                            "name": "Evaluate observations",
                            "opsbook.runbooks.alert_check": {
                                "catalog": "{{ lookup('opsbook.runbooks.catalog') }}",
                                "observations": {
                                    "service_up": [{"labels": {"service": f"itest-{run_id}"}, "value": 0}],
                                    "certificate_expiry_days": [
                                        {"labels": {"instance": f"itest-{run_id}"}, "value": 20}
                                    ],
                                },
                            },
                            "register": "checked",
                        },
                        *[
                            {
                                "name": f"Push the alerts ({attempt})",
                                "ansible.builtin.include_role": {
                                    "name": "opsbook.runbooks.alerting",
                                    "tasks_from": "push",
                                },
                                "vars": {
                                    "alerting_push_alerts": "{{ checked.alerts }}",
                                    "alerting_push_labels": {"source": "opsbook-test", "run": run_id},
                                    "alerting_push_state": state,
                                },
                            }
                            for attempt in ("first", "second")
                        ],
                        {
                            "name": "List the active alerts of this run",
                            "ansible.builtin.include_role": {
                                "name": "opsbook.runbooks.alerting",
                                "tasks_from": "active",
                            },
                            "vars": {"alerting_active_filters": [f'run="{run_id}"']},
                        },
                        {
                            "name": "Save the results",
                            "ansible.builtin.copy": {
                                "content": "{{ {'checked': checked, 'push': alerting_push_result, "
                                "'active': alerting_active_alerts} | to_json }}",
                                "dest": str(out),
                                "mode": "0600",
                            },
                        },
                    ],
                }
            ],
            sort_keys=False,
        )
    )
    run = run_playbook(str(playbook))
    assert run.returncode == 0, run.stdout[-4000:]
    return json.loads(out.read_text())


def notifications(run_id: str) -> dict[str, set[str]]:
    """Which alert names reached each sink path, for alerts of this run still firing."""
    paths: dict[str, set[str]] = {}
    if not SINK_LOG.exists():
        return paths
    for line in SINK_LOG.read_text().splitlines():
        record = json.loads(line)
        body = record["body"] if isinstance(record["body"], dict) else {}
        for alert in body.get("alerts", []):
            if alert["labels"].get("run") == run_id and alert["status"] == "firing":
                paths.setdefault(record["path"], set()).add(alert["labels"]["alertname"])
    return paths


def wait_for(run_id: str, expected: dict[str, set[str]], seconds: float = 30) -> dict[str, set[str]]:
    deadline = time.monotonic() + seconds
    while True:
        seen = notifications(run_id)
        if all(expected[path] <= seen.get(path, set()) for path in expected) or time.monotonic() > deadline:
            return seen
        time.sleep(0.5)


def test_pushed_alerts_take_the_catalog_routes(configured: None, tmp_path: Path) -> None:
    run_id = uuid.uuid4().hex[:12]
    try:
        result = push_playbook(tmp_path, run_id, "firing")
        names = {a["alertname"]: a["severity"] for a in result["checked"]["alerts"]}
        assert names == {"ServiceDown": "P0", "CertificateExpiringSoonWarning": "P3"}
        assert result["push"]["new"] == [], "the second push of the same alerts is no change"

        p0, p3 = {"ServiceDown"}, {"CertificateExpiringSoonWarning"}
        seen = wait_for(run_id, {"/pager": p0, "/phone": p0, "/slack-incidents": p0, "/email": p3})
        assert seen.get("/pager") == p0 and seen.get("/phone") == p0 and seen.get("/slack-incidents") == p0, seen
        assert seen.get("/email") == p3, f"the P3 alert goes to email, the P0 does not: {seen}"
        assert set(seen) == {"/pager", "/phone", "/slack-incidents", "/email"}, f"unexpected routes: {seen}"

        active = {a["alertname"]: a for a in result["active"]}
        assert set(active) == {"ServiceDown", "CertificateExpiringSoonWarning"}
        assert sorted(active["ServiceDown"]["receivers"]) == ["pager", "phone", "slack-incidents"]
        assert active["CertificateExpiringSoonWarning"]["receivers"] == ["email"]
        assert active["ServiceDown"]["labels"]["service"] == f"itest-{run_id}"
    finally:
        resolved = push_playbook(tmp_path, run_id, "resolved")
    assert resolved["active"] == [], "resolving left alerts active"
