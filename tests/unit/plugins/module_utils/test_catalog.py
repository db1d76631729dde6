"""The alert catalog: the shipped catalog is valid, malformed entries are named, overrides merge,
observations evaluate to the right level and routing, and the rendered rules pass promtool."""

from __future__ import annotations

import copy
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from ansible_collections.opsbook.runbooks.plugins.module_utils.catalog import (
    CatalogError,
    evaluate,
    fires_at_or_above,
    merge,
    prometheus_rules,
    receivers_used,
    rule_name,
    validate,
)
from ansible_collections.opsbook.runbooks.tests.unit.helpers import COLLECTION

CATALOG = yaml.safe_load((COLLECTION / "roles" / "alerting" / "files" / "catalog.yml").read_text())


def entry(name: str) -> dict:
    return next(e for e in CATALOG["entries"] if e["name"] == name)


def test_shipped_catalog_is_valid_and_carries_the_seed_thresholds() -> None:
    catalog = validate(CATALOG)
    assert (entry("HighCpuUsage")["warning"], entry("HighCpuUsage")["critical"]) == (80, 95)
    assert (entry("HighMemoryUsage")["warning"], entry("HighMemoryUsage")["critical"]) == (85, 95)
    assert entry("DataDiskSpaceLow")["warning"] == 80 and entry("SystemDiskSpaceLow")["warning"] == 90
    assert (entry("ApiLatencyHigh")["warning"], entry("ApiLatencyHigh")["critical"]) == (1, 5)
    assert (entry("ApiErrorRateHigh")["warning"], entry("ApiErrorRateHigh")["critical"]) == (2, 5)
    assert entry("DatabasePoolSaturated")["warning"] == 80 and entry("DatabaseQueriesSlow")["warning"] == 100
    assert entry("ReplicationLagHigh")["warning"] == 1
    assert catalog["routing"]["P0"]["receivers"] == ["pager", "phone", "slack-incidents"]
    assert catalog["routing"]["P0"]["escalate_after"] == "5m"
    assert catalog["routing"]["P0"]["escalate_to"] == ["pager-secondary"]
    assert catalog["routing"]["P1"]["escalate_after"] == "15m"
    assert catalog["routing"]["P2"]["receivers"] == ["slack-alerts", "email"]
    # P3 is the same mailbox, batched: grouped by severity alone, sent every 6 hours
    assert catalog["routing"]["P3"]["receivers"] == ["email"]
    assert catalog["routing"]["P3"]["group_by"] == ["severity"] and catalog["routing"]["P3"]["group_interval"] == "6h"
    assert catalog["routing"]["P4"]["receivers"] == ["ticket"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"metric": "cpu_temperature"}, "entry HighCpuUsage: unknown metric 'cpu_temperature'"),
        ({"warning": 99, "critical": 90}, "entry HighCpuUsage: warning 99 is worse than critical 90"),
        ({"severity": {"warning": "P7", "critical": "P1"}}, "entry HighCpuUsage: unknown severity 'P7'"),
        ({"comparison": "~="}, "entry HighCpuUsage: unknown comparison '~='"),
        ({"for": "five minutes"}, "entry HighCpuUsage: 'for' must be a duration"),
        ({"warning": None, "critical": None}, "entry HighCpuUsage: needs a warning or a critical threshold"),
        ({"warning": "eighty"}, "entry HighCpuUsage: warning threshold must be a number"),
    ],
)
def test_malformed_entry_is_named(change: dict, message: str) -> None:
    broken = copy.deepcopy(CATALOG)
    entry_ = next(e for e in broken["entries"] if e["name"] == "HighCpuUsage")
    entry_.update(change)
    with pytest.raises(CatalogError, match=message.replace("(", r"\(").replace(")", r"\)")):
        validate(broken)


@pytest.mark.parametrize(
    ("sev", "change", "message"),
    [
        ("P0", {"receivers": []}, "routing P0: no receivers"),
        ("P0", {"escalate_to": None}, "routing P0: escalate_after and escalate_to go together"),
        ("P0", {"escalate_after": "soon"}, "routing P0: escalate_after must be a duration"),
        ("P3", {"group_interval": "6 hours"}, "routing P3: group_interval must be a duration"),
        ("P3", {"batched": True}, "routing P3: unknown key 'batched'"),
        ("P2", {"receivers": "email"}, "routing P2: receivers must be a list of receiver names"),
        ("P2", {"receivers": ["e mail"]}, "routing P2: receivers must be a list of receiver names"),
        ("P4", {"group_by": "severity"}, "routing P4: group_by must be a list of label names"),
    ],
)
def test_malformed_route_is_named(sev: str, change: dict, message: str) -> None:
    broken = copy.deepcopy(CATALOG)
    broken["routing"][sev].update(change)
    broken["routing"][sev] = {k: v for k, v in broken["routing"][sev].items() if v is not None}
    with pytest.raises(CatalogError, match=message):
        validate(broken)


def test_a_severity_without_routing_is_refused() -> None:
    broken = copy.deepcopy(CATALOG)
    del broken["routing"]["P4"]
    with pytest.raises(CatalogError, match="severity P4: no routing"):
        validate(broken)


def test_receivers_used_lists_routing_and_escalation_receivers() -> None:
    assert receivers_used(CATALOG) == [
        "email",
        "pager",
        "pager-secondary",
        "phone",
        "slack-alerts",
        "slack-incidents",
        "ticket",
    ]


def test_reversed_thresholds_are_fine_for_lower_is_worse_metrics() -> None:
    assert entry("CertificateExpiringSoon")["comparison"] == "<"
    validate(CATALOG)  # warning 30 days, critical 7 days


def test_duplicate_and_nameless_entries_are_refused() -> None:
    broken = copy.deepcopy(CATALOG)
    broken["entries"].append(copy.deepcopy(entry("HighCpuUsage")))
    broken["entries"].append({"metric": "cpu_usage_percent"})
    with pytest.raises(CatalogError) as err:
        validate(broken)
    assert "entry HighCpuUsage: duplicate name" in str(err.value)
    assert f"entry #{len(broken['entries'])}: missing name" in str(err.value)


def test_overrides_and_extra_entries_merge() -> None:
    merged = merge(
        CATALOG,
        {"HighCpuUsage": {"warning": 70, "severity": {"warning": "P3"}}},
        [{**entry("RedisMemoryHigh"), "name": "RedisMemoryHighCache2", "warning": 60}],
    )
    cpu = next(e for e in merged["entries"] if e["name"] == "HighCpuUsage")
    assert cpu["warning"] == 70 and cpu["severity"] == {"warning": "P3", "critical": "P1"}
    assert any(e["name"] == "RedisMemoryHighCache2" for e in merged["entries"])
    assert entry("HighCpuUsage")["warning"] == 80, "merge changed the catalog it was given"
    with pytest.raises(CatalogError, match="override NoSuchAlert: no catalog entry"):
        merge(CATALOG, {"NoSuchAlert": {"warning": 1}})
    with pytest.raises(CatalogError, match="entry HighCpuUsage: warning 99 is worse than critical 95"):
        merge(CATALOG, {"HighCpuUsage": {"warning": 99}})


def test_evaluate_levels_severity_and_routing() -> None:
    alerts = evaluate(
        CATALOG,
        {
            "cpu_usage_percent": [{"labels": {"host": "a"}, "value": 50}, {"labels": {"host": "b"}, "value": 85}],
            "memory_usage_percent": 97,
            "certificate_expiry_days": 5,
            "service_up": [{"labels": {"service": "api"}, "value": 0}, {"labels": {"service": "db"}, "value": 1}],
            "backup_age_hours": None,
        },
    )
    by_name = {(a["name"], tuple(a["labels"].values())): a for a in alerts}
    assert ("HighCpuUsage", ("a",)) not in by_name
    cpu = by_name[("HighCpuUsage", ("b",))]
    assert (cpu["level"], cpu["severity"], cpu["receivers"]) == ("warning", "P2", ["slack-alerts", "email"])
    assert cpu["alertname"] == "HighCpuUsageWarning", "a warning carries the name of its Prometheus rule"
    assert cpu["runbook"] == "docs/runbooks/health_check.md"
    assert by_name[("HighMemoryUsage", ())]["level"] == "critical"
    assert by_name[("CertificateExpiringSoon", ())]["severity"] == "P1"
    down = by_name[("ServiceDown", ("api",))]
    assert down["severity"] == "P0" and "pager" in down["receivers"]
    assert ("ServiceDown", ("db",)) not in by_name
    assert alerts[0]["severity"] == "P0", "alerts are ordered most urgent first"
    assert fires_at_or_above(alerts, "P0") and fires_at_or_above(alerts, "P1")
    assert not fires_at_or_above([a for a in alerts if a["severity"] >= "P2"], "P1")
    assert evaluate(CATALOG, {"cpu_usage_percent": 10}) == []


def test_rendered_rules_have_one_rule_per_entry_and_level() -> None:
    rules = prometheus_rules(CATALOG)["groups"][0]["rules"]
    names = [r["alert"] for r in rules]
    assert "HighCpuUsage" in names and "HighCpuUsageWarning" in names
    assert "ServiceDownWarning" not in names  # ServiceDown has no warning level
    expected = sum(1 for e in CATALOG["entries"] for level in ("warning", "critical") if e.get(level) is not None)
    assert len(rules) == expected
    cpu = next(r for r in rules if r["alert"] == "HighCpuUsage")
    assert cpu["expr"].endswith(") > 95") and cpu["labels"]["severity"] == "P1" and cpu["for"] == "5m"
    assert cpu["labels"] == {"severity": "P1", "level": "critical", "catalog_entry": "HighCpuUsage"}
    assert rule_name("HighCpuUsage", "warning") == "HighCpuUsageWarning"


def test_escalation_rules_follow_the_routing() -> None:
    groups = prometheus_rules(CATALOG)["groups"]
    assert [g["name"] for g in groups] == ["opsbook", "opsbook-escalation"]
    escalations = {r["alert"]: r for r in groups[1]["rules"]}
    assert sorted(escalations) == ["EscalateP0", "EscalateP1"]
    assert escalations["EscalateP0"]["for"] == "5m" and escalations["EscalateP1"]["for"] == "15m"
    assert escalations["EscalateP0"]["labels"] == {"severity": "P0", "escalated": "true"}
    assert 'severity="P0"' in escalations["EscalateP0"]["expr"]
    quiet = copy.deepcopy(CATALOG)
    for route in quiet["routing"].values():
        route.pop("escalate_after", None)
        route.pop("escalate_to", None)
    assert len(prometheus_rules(validate(quiet))["groups"]) == 1


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool (Debian package prometheus) is not installed")
def test_rendered_rules_pass_promtool(tmp_path: Path) -> None:
    rules_file = tmp_path / "opsbook.rules.yml"
    rules_file.write_text(yaml.safe_dump(prometheus_rules(CATALOG), sort_keys=False))
    result = subprocess.run(
        ["promtool", "check", "rules", str(rules_file)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_a_sample_in_words_is_told_in_words() -> None:
    """A backup age that stands for "no backup at all" reads so in the alert, not as 1000000.0 h."""
    alerts = evaluate(
        CATALOG,
        {"backup_age_hours": [{"labels": {"target": "mongodb"}, "value": 1_000_000.0, "display": "no backup yet"}]},
    )
    stale = next(a for a in alerts if a["name"] == "BackupStale")
    assert stale["message"] == "BackupStale: no backup yet (critical when backup_age_hours > 50)"
    assert "1000000" not in stale["message"]
