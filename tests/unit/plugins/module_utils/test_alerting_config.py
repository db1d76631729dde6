"""The Alertmanager configuration rendered from the catalog's routing, and the conversion and
pushing of alert_check's alerts. amtool checks the rendered files; Alertmanager's API is replaced
by a recording function shaped like its v2 replies (the integration tests use the sandbox's real
one). The Prometheus configuration, rendered from the sandbox inventory's services, is tested in
tests/project/test_prometheus_config.py."""

from __future__ import annotations

import copy
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from ansible_collections.opsbook.runbooks.plugins.module_utils.alertmanager import (
    alertmanager_config,
    alerts_url,
    list_alerts,
    push,
    receiver_problems,
    to_alertmanager_alert,
)
from ansible_collections.opsbook.runbooks.plugins.module_utils.catalog import CatalogError, evaluate, validate
from ansible_collections.opsbook.runbooks.tests.unit.helpers import COLLECTION

CATALOG = validate(yaml.safe_load((COLLECTION / "roles" / "alerting" / "files" / "catalog.yml").read_text()))
RECEIVERS = {
    name: {"webhook_configs": [{"url": f"http://127.0.0.1:39095/{name}"}]}
    for name in ("pager", "pager-secondary", "phone", "slack-incidents", "slack-alerts", "email", "ticket")
}


def routes_for(config: dict[str, Any], *matchers: str) -> list[dict[str, Any]]:
    return [r for r in config["route"]["routes"] if r["matchers"] == list(matchers)]


def test_each_severity_reaches_the_seed_004_receivers() -> None:
    config = alertmanager_config(CATALOG, RECEIVERS)
    p0 = routes_for(config, 'severity="P0"')
    assert [r["receiver"] for r in p0] == ["pager", "phone", "slack-incidents"]
    assert [r.get("continue", False) for r in p0] == [True, True, False]
    assert [r["receiver"] for r in routes_for(config, 'severity="P1"')] == ["pager", "slack-alerts"]
    assert [r["receiver"] for r in routes_for(config, 'severity="P2"')] == ["slack-alerts", "email"]
    p3 = routes_for(config, 'severity="P3"')
    assert [r["receiver"] for r in p3] == ["email"]
    assert p3[0]["group_by"] == ["severity"] and p3[0]["group_interval"] == "6h", "P3 mail is batched"
    assert [r["receiver"] for r in routes_for(config, 'severity="P4"')] == ["ticket"]
    assert p0[0]["group_wait"] == "10s" and p0[0]["repeat_interval"] == "30m"


def test_escalation_routes_come_first_and_stop() -> None:
    config = alertmanager_config(CATALOG, RECEIVERS)
    first = config["route"]["routes"][:2]
    assert [r["matchers"] for r in first] == [
        ['severity="P0"', 'escalated="true"'],
        ['severity="P1"', 'escalated="true"'],
    ]
    assert all(r["receiver"] == "pager-secondary" and "continue" not in r for r in first)


def test_a_critical_alert_inhibits_the_warning_of_the_same_entry() -> None:
    (rule,) = alertmanager_config(CATALOG, RECEIVERS)["inhibit_rules"]
    assert rule["source_matchers"] == ['level="critical"'] and rule["target_matchers"] == ['level="warning"']
    assert "catalog_entry" in rule["equal"] and "instance" in rule["equal"]


def test_route_settings_override_timings_per_severity() -> None:
    config = alertmanager_config(
        CATALOG, RECEIVERS, route_settings={"P3": {"group_wait": "1s", "group_interval": "2s"}}
    )
    p3 = routes_for(config, 'severity="P3"')[0]
    assert (p3["group_wait"], p3["group_interval"], p3["repeat_interval"]) == ("1s", "2s", "24h")
    with pytest.raises(CatalogError, match="alerting_route_settings P9: unknown severity"):
        alertmanager_config(CATALOG, RECEIVERS, route_settings={"P9": {"group_wait": "1s"}})
    with pytest.raises(CatalogError, match=r"alerting_route_settings P3: unknown key\(s\) \['receiver'\]"):
        alertmanager_config(CATALOG, RECEIVERS, route_settings={"P3": {"receiver": "x"}})


def test_a_routing_receiver_without_mapping_is_named() -> None:
    receivers = {k: v for k, v in RECEIVERS.items() if k not in ("phone", "pager-secondary")}
    problems = receiver_problems(CATALOG, receivers, "email")
    assert (
        "receiver pager-secondary (routing P0 escalation, P1 escalation) has no mapping in alerting_receivers"
        in problems
    )
    assert "receiver phone (routing P0) has no mapping in alerting_receivers" in problems
    with pytest.raises(CatalogError, match="receiver phone"):
        alertmanager_config(CATALOG, receivers)
    bad = {**RECEIVERS, "email": {"smtp_configs": [{}]}, "ticket": {"webhook_configs": []}}
    problems = receiver_problems(CATALOG, bad, "catch-all")
    assert any(p.startswith("receiver email: unknown integration(s) ['smtp_configs']") for p in problems)
    assert any(p.startswith("receiver ticket: no integration configured") for p in problems)
    assert "the default receiver catch-all has no mapping in alerting_receivers" in problems


@pytest.mark.skipif(
    shutil.which("amtool") is None, reason="amtool (Debian package prometheus-alertmanager) is not installed"
)
def test_rendered_alertmanager_config_passes_amtool(tmp_path: Path) -> None:
    receivers = {
        **RECEIVERS,
        "pager": {"pagerduty_configs": [{"routing_key": "0123456789abcdef0123456789abcdef"}]},
        "email": {"email_configs": [{"to": "ops-team@example.com"}]},
    }
    config = alertmanager_config(
        CATALOG,
        receivers,
        global_settings={"smtp_smarthost": "mail.example.com:587", "smtp_from": "alerts@example.com"},
    )
    path = tmp_path / "alertmanager.yml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    result = subprocess.run(["amtool", "check-config", str(path)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout and "7 receivers" in result.stdout


def test_alert_check_alerts_become_alertmanager_alerts() -> None:
    (down,) = evaluate(CATALOG, {"service_up": [{"labels": {"service": "api"}, "value": 0}]})
    postable = to_alertmanager_alert(down, labels={"source": "opsbook", "environment": "sandbox"})
    assert postable["labels"] == {
        "source": "opsbook",
        "environment": "sandbox",
        "service": "api",
        "alertname": "ServiceDown",
        "severity": "P0",
        "catalog_entry": "ServiceDown",
        "level": "critical",
    }
    assert postable["annotations"]["summary"] == down["message"]
    assert postable["annotations"]["threshold"] == "< 1" and postable["annotations"]["value"] == "0"
    assert "endsAt" not in postable
    (cpu,) = evaluate(CATALOG, {"cpu_usage_percent": 85})
    warning = to_alertmanager_alert(cpu, resolved=True, now="2024-05-02T06:00:00Z")
    assert warning["labels"]["alertname"] == "HighCpuUsageWarning", "the same name as the Prometheus rule"
    assert warning["endsAt"] == "2024-05-02T06:00:00Z"


def test_an_alert_without_level_or_alertname_keeps_its_name() -> None:
    postable = to_alertmanager_alert({"name": "MongoNoPrimary", "severity": "P0", "message": "no primary"})
    assert postable["labels"]["alertname"] == "MongoNoPrimary" and "level" not in postable["labels"]


@pytest.mark.parametrize(
    ("alert", "message"),
    [
        ({"severity": "P1"}, "an alert needs a name"),
        ({"name": "X", "severity": "critical"}, "alert X: severity must be P0-P4"),
    ],
)
def test_malformed_alerts_are_refused(alert: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        to_alertmanager_alert(alert)


class FakeAlertmanager:
    """Records calls; answers GET /api/v2/alerts with gettable alerts shaped like Alertmanager 0.25's."""

    def __init__(self, held: list[dict[str, str]]) -> None:
        self.held = held
        self.calls: list[tuple[str, str, Any]] = []

    def __call__(self, method: str, url: str, body: Any) -> Any:
        self.calls.append((method, url, copy.deepcopy(body)))
        if method == "GET":
            return [
                {
                    "labels": labels,
                    "annotations": {"summary": "held"},
                    "receivers": [{"name": "pager"}, {"name": "phone"}],
                    "status": {"state": "active", "silencedBy": [], "inhibitedBy": []},
                    "startsAt": "2024-05-02T06:00:00.000Z",
                    "endsAt": "2024-05-02T06:05:00.000Z",
                    "fingerprint": "abc",
                    "updatedAt": "2024-05-02T06:00:00.000Z",
                }
                for labels in self.held
            ]
        return None


def test_push_posts_every_alert_and_reports_the_new_ones() -> None:
    alerts = evaluate(
        CATALOG, {"service_up": [{"labels": {"service": "api"}, "value": 0}, {"labels": {"service": "db"}, "value": 0}]}
    )
    postable = [to_alertmanager_alert(a) for a in alerts]
    server = FakeAlertmanager(held=[postable[0]["labels"]])
    result = push(server, "http://am:9093/", postable)
    assert [c[0] for c in server.calls] == ["GET", "POST"]
    assert server.calls[1][1] == "http://am:9093/api/v2/alerts" and server.calls[1][2] == postable
    assert result["new"] == [postable[1]], "the alert Alertmanager already held is not new"
    assert result["posted"] == postable


def test_push_in_check_mode_posts_nothing() -> None:
    postable = [to_alertmanager_alert({"name": "ServiceDown", "level": "critical", "severity": "P0"})]
    server = FakeAlertmanager(held=[])
    result = push(server, "http://am:9093", postable, check_mode=True)
    assert [c[0] for c in server.calls] == ["GET"]
    assert result["posted"] == [] and result["new"] == postable


def test_resolving_reports_only_alerts_that_were_held() -> None:
    held = to_alertmanager_alert({"name": "ServiceDown", "level": "critical", "severity": "P0"}, resolved=True)
    gone = to_alertmanager_alert({"name": "DatabaseDown", "level": "critical", "severity": "P0"}, resolved=True)
    result = push(FakeAlertmanager(held=[held["labels"]]), "http://am:9093", [held, gone])
    assert result["resolved"] == [held] and result["new"] == []


def test_listing_summarises_and_orders_by_severity() -> None:
    server = FakeAlertmanager(
        held=[
            {"alertname": "HighCpuUsageWarning", "severity": "P2"},
            {"alertname": "Watchdog"},
            {"alertname": "ServiceDown", "severity": "P0", "service": "api"},
        ]
    )
    alerts = list_alerts(server, "http://am:9093", filters=['severity=~"P0|P2"'], silenced=False)
    assert [a["alertname"] for a in alerts] == ["ServiceDown", "HighCpuUsageWarning", "Watchdog"]
    assert alerts[0]["receivers"] == ["pager", "phone"] and alerts[0]["state"] == "active"
    assert server.calls[0][1] == alerts_url("http://am:9093", filters=['severity=~"P0|P2"'], silenced=False)
    assert "silenced=false" in server.calls[0][1] and "filter=severity%3D~%22P0%7CP2%22" in server.calls[0][1]


@pytest.mark.skipif(
    shutil.which("amtool") is None, reason="amtool (Debian package prometheus-alertmanager) is not installed"
)
@pytest.mark.parametrize(
    ("labels", "receivers"),
    [
        (["severity=P0"], "pager,phone,slack-incidents"),
        (["severity=P0", "escalated=true"], "pager-secondary"),
        (["severity=P1"], "pager,slack-alerts"),
        (["severity=P1", "escalated=true"], "pager-secondary"),
        (["severity=P2"], "slack-alerts,email"),
        (["severity=P3"], "email"),
        (["severity=P4"], "ticket"),
        (["alertname=Watchdog"], "email"),
    ],
)
def test_amtool_routes_each_severity_to_its_receivers(tmp_path: Path, labels: list[str], receivers: str) -> None:
    path = tmp_path / "alertmanager.yml"
    path.write_text(yaml.safe_dump(alertmanager_config(CATALOG, RECEIVERS), sort_keys=False))
    result = subprocess.run(
        ["amtool", "config", "routes", "test", f"--config.file={path}", *labels],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == receivers
