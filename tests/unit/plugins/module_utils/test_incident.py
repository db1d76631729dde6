"""The incident helpers: the seeds' severity scale, the assessment from findings, counts against a
backup manifest, seed 004's rollback criteria, address checks and inspect redaction."""

from __future__ import annotations

import pytest
from ansible_collections.opsbook.runbooks.plugins.module_utils import incident as inc

INVENTORY = [
    {"name": "api", "criticality": "critical"},
    {"name": "worker", "criticality": "medium"},
    {"name": "redis", "criticality": "critical"},
    {"name": "prometheus", "criticality": "high"},
]


@pytest.mark.parametrize(
    ("given", "sev", "priority"),
    [("Sev 1", "Sev 1", "P0"), ("p2", "Sev 3", "P2"), ("4", "Sev 4", "P3"), ("high", "Sev 2", "P1")],
)
def test_both_vocabularies_map_to_one_scale(given: str, sev: str, priority: str) -> None:
    entry = inc.severity(given)
    assert (entry["sev"], entry["priority"]) == (sev, priority)


def test_unknown_severity_names_the_choices() -> None:
    with pytest.raises(inc.IncidentError, match="P0-P3"):
        inc.severity("urgent")


def test_assessment_from_findings() -> None:
    healthy = {"api": {"state": "running", "healthy": True}, "worker": {"state": "running", "healthy": True}}
    assert inc.assess(healthy, [{"name": "redis", "up": True}], INVENTORY)["priority"] == "P3"
    api_down = {**healthy, "api": {"state": "exited", "healthy": False, "ready_replicas": 0}}
    assert inc.assess(api_down, [], INVENTORY)["priority"] == "P0"
    worker_down = {**healthy, "worker": {"state": "absent", "healthy": False, "ready_replicas": 0}}
    assert inc.assess(worker_down, [], INVENTORY)["priority"] == "P2"
    api_unhealthy = {**healthy, "api": {"state": "running", "health": "unhealthy", "healthy": False}}
    assert inc.assess(api_unhealthy, [], INVENTORY)["priority"] == "P1"
    result = inc.assess(healthy, [{"name": "prometheus", "up": False, "error": "refused"}], INVENTORY)
    assert result["priority"] == "P1" and "prometheus (high) does not answer: refused" in result["reasons"]


def test_counts_against_the_manifest_flag_losses_only() -> None:
    rows = inc.compare_counts(
        {"items": 90, "orders": 120, "new": 1},
        {"shop.items": 100, "shop.orders": 100, "shop.gone": 5, "other.x": 1},
        "shop",
    )
    by_name = {r["collection"]: r for r in rows}
    assert by_name["items"]["suspect"] and by_name["items"]["delta"] == -10
    assert not by_name["orders"]["suspect"] and by_name["gone"]["suspect"] and by_name["gone"]["now"] is None
    assert not by_name["new"]["suspect"] and "x" not in by_name


def test_rollback_criteria_of_seed_004() -> None:
    assert inc.rollback_criteria(0.01, 0.2, 0.15, True) == []
    met = inc.rollback_criteria(0.06, 0.5, 0.2, False)
    assert len(met) == 3 and met[0].startswith("error rate 6.0%")
    assert inc.rollback_criteria(None, 0.5, None, True) == []  # no traffic, no baseline: nothing holds


def test_addresses_that_must_not_be_blocked() -> None:
    assert inc.invalid_addresses("203.0.113.7,198.51.100.0/24") == []
    assert len(inc.invalid_addresses(["10.1.2.300", "0.0.0.0/0", "127.0.0.1"])) == 3


def test_inspect_redaction_keeps_shape_and_hides_secrets() -> None:
    inspect = {
        "Id": "abc",
        "Config": {
            "Env": [
                "MONGO_URL=mongodb://app:s3cr3t@127.0.0.1:37017/x",
                "API_KEYS=k1,k2",
                "READ_ONLY_MODE=false",
                "REDIS_PASSWORD=hunter2",
            ]
        },
    }
    env = inc.redact_inspect(inspect)["Config"]["Env"]
    text = "\n".join(env)
    assert "s3cr3t" not in text and "hunter2" not in text and "k1,k2" not in text
    assert "READ_ONLY_MODE=false" in env and env[0].startswith("MONGO_URL=mongodb://app:<redacted sha256:")
    assert inspect["Config"]["Env"][0].endswith("/x")  # the input is not modified
