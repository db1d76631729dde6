"""The health check's filters: which host checks which service, how results become catalog
observations, and the report they make (the HTTP/TCP probes: module_utils/test_probe.py)."""

from __future__ import annotations

import yaml
from ansible_collections.opsbook.runbooks.plugins.module_utils import health as f
from ansible_collections.opsbook.runbooks.plugins.module_utils.catalog import evaluate, validate
from ansible_collections.opsbook.runbooks.tests.unit.helpers import COLLECTION

CATALOG = validate(yaml.safe_load((COLLECTION / "roles/alerting/files/catalog.yml").read_text()))
SERVICES = [
    {"name": "api", "health_check": {"type": "http", "url": "http://127.0.0.1:1/health"}, "criticality": "critical"},
    {"name": "nginx", "health_check": {"type": "http", "url": "https://x/"}, "criticality": "critical", "group": "lb"},
    {"name": "worker", "health_check": {"type": "container"}, "criticality": "medium"},
    {"name": "db", "port": 27017, "health_check": {"type": "mongodb"}, "criticality": "critical"},
    {"name": "bouncer", "port": 6432, "health_check": {"type": "tcp"}, "criticality": "high"},
]
GROUPS = {"app": ["app1", "app2"], "lb": ["lb1"], "mongodb": ["m1", "m2", "m3"]}


def test_each_service_is_checked_once_by_the_first_host_of_its_group() -> None:
    assert [s["name"] for s in f.services_checked_here(SERVICES, "app1", GROUPS, "http")] == ["api"]
    assert f.services_checked_here(SERVICES, "app2", GROUPS, "http") == []
    assert [s["name"] for s in f.services_checked_here(SERVICES, "lb1", GROUPS, "http")] == ["nginx"]
    assert [s["name"] for s in f.services_checked_here(SERVICES, "m1", GROUPS, "mongodb")] == ["db"]
    assert f.services_checked_here(SERVICES, "m2", GROUPS, "mongodb") == []
    # A service whose group the inventory lacks is checked by nobody (and shows as not checked).
    assert f.services_checked_here(SERVICES, "app1", {"lb": ["lb1"]}, "http") == []


def test_a_down_service_raises_the_alert_of_its_criticality() -> None:
    records = [
        f.service_record(SERVICES[0], "app1", False, "refused"),
        f.service_record(SERVICES[4], "app1", False, "refused"),
        f.service_record(SERVICES[2], "app1", False, "exited"),
        f.service_record(SERVICES[3], "m1", True, "ok"),
    ]
    alerts = evaluate(CATALOG, f.service_observations(records))
    by_name = {a["name"]: a for a in alerts}
    assert by_name["ServiceDown"]["severity"] == "P0" and by_name["ServiceDown"]["labels"]["service"] == "api"
    assert (
        by_name["ServiceDownHigh"]["severity"] == "P1" and by_name["ServiceDownHigh"]["labels"]["service"] == "bouncer"
    )
    assert (
        by_name["ServiceDownMinor"]["severity"] == "P2" and by_name["ServiceDownMinor"]["labels"]["service"] == "worker"
    )
    assert len(alerts) == 3, "a service that is up raises nothing"
    assert records[0]["status"] == "critical" and records[3]["status"] == "ok"


def test_observations_of_many_hosts_are_labelled_and_nulls_dropped() -> None:
    results = {
        "h1": {"observations": {"cpu_usage_percent": 97.0, "data_disk_usage_percent": None}},
        "h2": {
            "observations": {
                "cpu_usage_percent": 10.0,
                "data_disk_usage_percent": [{"labels": {"mountpoint": "/srv"}, "value": 85.0}],
            }
        },
    }
    merged = f.merge_observations(results)
    assert merged["cpu_usage_percent"] == [
        {"labels": {"host": "h1"}, "value": 97.0},
        {"labels": {"host": "h2"}, "value": 10.0},
    ]
    assert merged["data_disk_usage_percent"] == [{"labels": {"host": "h2", "mountpoint": "/srv"}, "value": 85.0}]
    alerts = evaluate(CATALOG, merged)
    assert {(a["name"], a["labels"]["host"]) for a in alerts} == {("HighCpuUsage", "h1"), ("DataDiskSpaceLow", "h2")}


def test_an_unreachable_host_is_observed_as_down() -> None:
    assert f.host_observations(["a", "b"], {"a": {}}) == {
        "host_up": [{"labels": {"host": "a"}, "value": 1}, {"labels": {"host": "b"}, "value": 0}]
    }


def test_redis_and_postgres_results_become_observations() -> None:
    redis = [
        {
            "item": {"name": "redis"},
            "info": {"used_memory": 80, "maxmemory": 100, "keyspace_hits": 600, "keyspace_misses": 400},
        }
    ]
    obs = f.check_observations(redis, "redis")
    assert obs["redis_memory_percent"][0]["value"] == 80.0 and obs["redis_hit_rate_percent"][0]["value"] == 60.0
    no_limit = [{"item": {"name": "redis"}, "info": {"used_memory": 80, "maxmemory": 0}}]
    few = [{"item": {"name": "redis"}, "info": {"keyspace_hits": 0, "keyspace_misses": 40}}]
    assert "redis_hit_rate_percent" not in f.check_observations(few, "redis"), "40 lookups make no hit rate"
    assert "redis_memory_percent" not in f.check_observations(no_limit, "redis"), "no maxmemory: no percentage"
    pg = [
        {
            "item": {"name": "postgres", "health_check": {"type": "pg_isready"}},
            "is_available": False,
            "conn_err_msg": "refused",
        }
    ]
    assert f.check_observations(pg, "postgres")["database_up"][0]["value"] == 0
    assert f.check_records(pg, "postgres", "h")[0]["detail"] == "refused"


def test_container_records_and_log_errors() -> None:
    status = {
        "worker": {"state": "running", "health": "healthy", "healthy": True, "replicas": 1, "ready_replicas": 1,
                   "logs": ["ok", "ERROR boom", "Traceback (most recent call last):", "fine"]},
        "api": {"state": "exited", "health": "unhealthy", "healthy": False, "replicas": 1, "ready_replicas": 0,
                "logs": None, "logs_note": "kwok pods have no logs"},
    }  # fmt: skip
    records = f.container_records(status, [SERVICES[2], {**SERVICES[2], "name": "gone"}], "app1")
    assert [(r["name"], r["up"]) for r in records] == [("worker", True), ("gone", False)]
    errors = f.log_errors(status, r"(?i)\b(error|traceback)\b", 1)
    assert errors["worker"] == {"errors": 2, "lines": 4, "last": ["Traceback (most recent call last):"]}
    assert errors["api"]["errors"] is None and errors["api"]["note"] == "kwok pods have no logs"


def test_report_names_unreachable_hosts_and_down_services_first() -> None:
    results = {
        "h1": {
            "host": {"cpu": {"used_percent": 5}, "memory": {"used_percent": 10}, "load": {"per_core_1m": 0.1},
                     "disks": [{"mountpoint": "/", "used_percent": 20.0}]},
            "services": [f.service_record(SERVICES[0], "h1", False, "refused"),
                         f.service_record(SERVICES[3], "h1", True, "ok")],
        }
    }  # fmt: skip
    evaluation = {"alerts": evaluate(CATALOG, f.service_observations(results["h1"]["services"])), "status": "critical",
                  "worst_severity": "P0"}  # fmt: skip
    report = f.health_report(results, evaluation, [], ["h1", "h2"])
    assert report["status"] == "critical"
    assert report["services"][0]["name"] == "api" and report["services"][0]["status"] == "critical"
    assert "1/2 hosts answered (unreachable: h2); 1/2 services up" in report["summary"]
    assert "P0 ServiceDown (criticality=critical, host=h1, service=api)" in report["summary"]
    hosts = next(s for s in report["sections"] if s["title"] == "Hosts")
    assert hosts["rows"][1][:2] == ["h2", "unreachable"]


API_UP = f.service_record(SERVICES[0], "skipped", True, "HTTP 200")


def test_host_results_come_from_what_each_host_registered() -> None:
    figures = {"cpu": {"used_percent": 1}, "memory": {"used_percent": 2}, "load": {"per_core_1m": 0.1}, "disks": [],
               "observations": {"cpu_usage_percent": 1}}  # fmt: skip
    hostvars = {
        "ok": {"__health_check_host": figures, "__health_check_service_observations": {"database_up": []}},
        "down": {"__health_check_host": {"unreachable": True, "msg": "ssh: connect refused"}},
        "skipped": {"__health_check_host": {"skipped": True}, "__health_check_services": [API_UP]},
        "elsewhere": {"ansible_host": "10.0.0.9"},
    }
    results = f.health_results(hostvars, ["ok", "down", "skipped", "elsewhere"])
    assert f.host_results(hostvars, ["ok", "elsewhere"], "ansible_host") == {"elsewhere": "10.0.0.9"}
    assert sorted(results) == ["ok", "skipped"]
    assert results["ok"]["observations"] == {"cpu_usage_percent": 1, "database_up": []}
    assert results["skipped"]["host"] == {} and results["skipped"]["services"] == [API_UP]
    report = f.health_report(results, {"alerts": [], "status": "ok"}, [], ["ok", "elsewhere"], hosts_checked=False)
    assert "hosts answered;" in report["summary"] and "unreachable" not in report["summary"]
