"""module_utils/incident.py, the parts the incident and emergency roles' task files call as
filters: HTTP probe targets, git log entries, the dependency checks from the registered ping
results, one log file per service, the outage plan and its timeline, MongoDB's validate replies,
address lists and Prometheus instant-query values. Inputs are shaped like the registered results
of the modules the tasks call."""

from __future__ import annotations

import pytest
from ansible_collections.opsbook.runbooks.plugins.module_utils import incident as inc

SERVICES = [
    {
        "name": "api",
        "container": "opsbook-api-1",
        "health_check": {"type": "http", "url": "http://127.0.0.1:38000/health"},
    },
    {"name": "lb", "health_check": {"type": "http", "url": "https://localhost:38443/health"}},
    {"name": "mongodb", "health_check": {"type": "mongodb", "host": "127.0.0.1"}},
    {"name": "worker", "container": "opsbook-worker-1"},
]


def test_http_targets_only_http_checks_with_the_ca_for_https() -> None:
    assert inc.http_targets(SERVICES, "/srv/tls/ca.crt") == [
        {"name": "api", "type": "http", "url": "http://127.0.0.1:38000/health"},
        {"name": "lb", "type": "http", "url": "https://localhost:38443/health", "ca_path": "/srv/tls/ca.crt"},
    ]
    assert "ca_path" not in inc.http_targets(SERVICES)[1]


def test_git_entries() -> None:
    results = [
        {
            "item": "/srv/app",
            "rc": 0,
            "stdout_lines": ["a1b2c3d 2026-12-04T10:00:00+00:00 Dev: Fix login"],
            "stderr": "",
        },
        {"item": "/srv/gone", "rc": 128, "stdout_lines": [], "stderr": "fatal: cannot change to '/srv/gone'\n"},
    ]
    assert inc.git_entries(results) == [
        {"repository": "/srv/app", "commits": ["a1b2c3d 2026-12-04T10:00:00+00:00 Dev: Fix login"], "error": None},
        {"repository": "/srv/gone", "commits": [], "error": "fatal: cannot change to '/srv/gone'"},
    ]


TARGETS = {"mongodb": "127.0.0.1:37017", "postgres": "127.0.0.1:35432", "redis": "127.0.0.1:36379"}


def test_dependency_checks_up() -> None:
    results = {
        "mongodb": {"changed": False, "result": {"ok": 1.0}},
        "postgres": {"changed": False, "is_available": True, "server_version": {"full": "15.8", "major": 15}},
        "redis": {"changed": False, "info": {"redis_version": "7.0.15", "connected_clients": 4}},
    }
    assert inc.dependency_checks(results, TARGETS) == [
        {"name": "mongodb", "type": "mongodb", "target": "127.0.0.1:37017", "up": True, "error": None},
        {
            "name": "postgres",
            "type": "postgres",
            "target": "127.0.0.1:35432",
            "up": True,
            "version": "15.8",
            "error": None,
        },
        {"name": "redis", "type": "redis", "target": "127.0.0.1:36379", "up": True, "version": "7.0.15", "error": None},
    ]


def test_dependency_checks_down_and_checked_elsewhere() -> None:
    results = {
        "mongodb": {"failed": True, "msg": "No servers found yet, Timeout: 5.0s"},
        "postgres": {"is_available": False, "conn_err_msg": "connection refused", "server_version": {}},
        "redis": {"skipped": True, "changed": False, "false_condition": "inventory_hostname == ..."},
    }
    checks = inc.dependency_checks(results, TARGETS)
    assert [c["name"] for c in checks] == ["mongodb", "postgres"]
    assert checks[0]["up"] is False and checks[0]["error"].startswith("No servers found")
    assert checks[1] == {
        "name": "postgres",
        "type": "postgres",
        "target": "127.0.0.1:35432",
        "up": False,
        "version": None,
        "error": "connection refused",
    }
    assert inc.dependency_checks({"redis": {"failed": True}}, TARGETS)[0]["error"] == "unavailable"
    with pytest.raises(inc.IncidentError, match="unknown dependency"):
        inc.dependency_checks({"mysql": {"ok": True}}, TARGETS)


def test_service_logs_one_file_per_service_with_lines_or_a_reason() -> None:
    apps = [
        {
            "host": "app-1",
            "services": {
                "api": {
                    "state": "running",
                    "logs": ["2026-12-04T10:00:00Z GET /health 200", "2026-12-04T10:00:01Z boom"],
                },
                "worker": {"state": "running", "logs": []},
                "cron": {"state": "running"},
            },
        },
        {"host": "k8s", "services": {"api": {"logs": [], "logs_unavailable": "kwok node: no kubelet"}}},
    ]
    assert inc.service_logs(apps) == [
        {
            "host": "app-1",
            "service": "api",
            "text": "2026-12-04T10:00:00Z GET /health 200\n2026-12-04T10:00:01Z boom\n",
        },
        {"host": "app-1", "service": "worker", "text": "(no log lines: the service wrote none)\n"},
        {"host": "k8s", "service": "api", "text": "(no log lines: kwok node: no kubelet)\n"},
    ]


STATUS = {
    "api": {"state": "absent", "health": "none", "healthy": False},
    "api2": {"state": "running", "health": "unhealthy", "healthy": False},
    "worker": {"state": "running", "health": "healthy", "healthy": True},
    "scheduler": {"state": "degraded", "health": "healthy", "healthy": True},
}


def test_outage_plan() -> None:
    assert inc.outage_plan(STATUS) == {"start": ["api"], "restart": ["api2"]}
    assert inc.outage_plan(STATUS, True) == {"start": ["api"], "restart": ["api2", "worker", "scheduler"]}
    assert inc.outage_plan({}) == {"start": [], "restart": []}


def test_outage_actions() -> None:
    at = "2026-12-04T20:00:00Z"
    actions = inc.outage_actions({"start": ["api"], "restart": ["api2"]}, "worker", 3, "app-1", at, False)
    assert actions == [
        {"at": at, "action": "start api", "result": "ok"},
        {"at": at, "action": "restart api2", "result": "ok"},
        {"at": at, "action": "scale worker to 3", "result": "ok"},
        {"at": at, "action": "verify on app-1", "result": "every application service healthy"},
    ]
    assert inc.outage_actions({"start": [], "restart": []}, "", 0, "app-1", at, True) == [
        {"at": at, "action": "verify on app-1", "result": "check mode: nothing changed"}
    ]


def test_validate_summary() -> None:
    results = [
        {
            "item": "orders",
            "result": {"ns": "opsbook_app.orders", "valid": True, "nrecords": 50, "errors": [], "ok": 1.0},
        },
        {
            "item": "users",
            "result": {"ns": "opsbook_app.users", "valid": False, "errors": ["bad BSON at 0x10"], "ok": 1.0},
        },
    ]
    assert inc.validate_summary(results) == [
        {"collection": "orders", "valid": True, "records": 50, "errors": []},
        {"collection": "users", "valid": False, "records": None, "errors": ["bad BSON at 0x10"]},
    ]


def test_address_list() -> None:
    assert inc.address_list("203.0.113.7, 198.51.100.0/24,") == ["203.0.113.7", "198.51.100.0/24"]
    assert inc.address_list(["203.0.113.7"]) == ["203.0.113.7"]
    assert inc.address_list(None) == []


def test_instant_values() -> None:
    def reply(value: str | None) -> dict:
        samples = [] if value is None else [{"metric": {}, "value": [1733342400.0, value]}]
        return {"status": 200, "json": {"status": "success", "data": {"resultType": "vector", "result": samples}}}

    results = [reply("0.0123"), reply("NaN"), reply(None), {"status": -1, "msg": "connection refused"}, reply("+Inf")]
    assert inc.instant_values(results) == [0.0123, None, None, None, None]
