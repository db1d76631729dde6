"""A check that cannot run is not an outage (module_utils/check_outcome.py), on task results shaped
like those the fleet's hosts returned with a library removed, a login refused or a server down."""

from __future__ import annotations

from ansible_collections.opsbook.runbooks.plugins.module_utils.check_outcome import (
    broken_checks,
    broken_reason,
    missing_checks,
    observations,
    phase_checks,
    phase_reason,
)

SERVICE = {"name": "redis", "health_check": {"type": "redis_ping"}, "criticality": "critical"}
MISSING_REDIS = {
    "failed": True,
    "msg": "Failed to import the required Python library (redis) on cache1's Python /usr/bin/python3.11. Please read "
    "the module documentation and install it in the appropriate location.",
    "item": SERVICE,
}
REDIS_DOWN = {
    "failed": True,
    "msg": "unable to connect to database: Error 111 connecting to 10.0.0.5:6379. Connection refused.",
}
PG_DOWN = {
    "failed": False,
    "is_available": False,
    "conn_err_msg": "connection to server at 10.0.0.6, port 5432 failed: Connection refused",
}
PG_LOGIN = {
    "failed": False,
    "is_available": False,
    "conn_err_msg": 'FATAL:  password authentication failed for user "postgres"',
}
MODULE_FAILURE = {
    "failed": True,
    "msg": "MODULE FAILURE",
    "module_stderr": "/bin/sh: 1: /usr/bin/python3: not found\n",
    "rc": 127,
}


def test_a_missing_library_is_a_broken_check_not_a_down_service() -> None:
    assert (
        broken_reason(MISSING_REDIS) == "the Python library redis is missing (playbooks/prepare_hosts.yml installs it)"
    )
    assert broken_reason({"failed": True, "msg": "No module named 'pymongo'"}).startswith("the Python library pymongo")


def test_a_server_that_does_not_answer_is_down_not_broken() -> None:
    assert broken_reason(REDIS_DOWN) is None
    assert broken_reason(PG_DOWN) is None
    assert broken_reason({"failed": False, "info": {"redis_version": "7.0.15"}}) is None


def test_a_refused_login_a_missing_interpreter_and_an_unreachable_host_are_broken() -> None:
    assert broken_reason(PG_LOGIN) == "the server refused the check's login"
    interpreter = broken_reason(MODULE_FAILURE)
    assert interpreter == "the check's module failed on the host: /bin/sh: 1: /usr/bin/python3: not found"
    assert broken_reason(
        {"unreachable": True, "msg": "ssh: connect to host 10.0.0.9 port 22: No route to host"}
    ).startswith("the checker host was unreachable")
    assert broken_reason({"failed": True, "check_broken": True, "check_broken_reason": "x"}) == "x"


def test_checks_without_a_result_are_reported_with_the_phase_that_broke() -> None:
    asked = [{"service": SERVICE, "host": "cache1"}, {"service": {**SERVICE, "name": "api"}, "host": "app1"}]
    records = [{"name": "api", "up": True}]
    notes = {"cache1": [{"phase": "Redis", "task": "Read Redis INFO", "msg": MISSING_REDIS["msg"]}]}
    rows = missing_checks(asked, records, notes)
    assert [r["name"] for r in rows] == ["redis"]
    assert rows[0]["up"] is None and rows[0]["status"] == "unknown"
    assert rows[0]["detail"].startswith("could not check redis on cache1: Redis: the Python library redis is missing")
    silent = missing_checks(asked, records, {})
    assert silent[0]["broken"] == "cache1 returned no result for it (the check did not run)"


def test_every_broken_check_becomes_one_check_broken_sample() -> None:
    rows = missing_checks([{"service": SERVICE, "host": "cache1"}], [], {})
    broken = broken_checks([*rows, {"name": "api", "up": True, "check": "http", "host": "app1"}])
    assert broken == [{"check": "redis_ping", "service": "redis", "host": "cache1", "reason": rows[0]["broken"]}]
    assert observations(broken) == {
        "check_broken": [{"labels": {"check": "redis_ping", "service": "redis", "host": "cache1"}, "value": 1}]
    }
    assert observations([]) == {}
    assert phase_reason("plain text") == "plain text"


def test_a_broken_phase_is_reported_on_its_own_services_or_on_its_own() -> None:
    notes = {
        "app1": [
            {"phase": "the application's containers and logs", "types": ["container"], "msg": "Permission denied"},
            {"phase": "the backups' freshness", "types": [], "msg": "[Errno 13] Permission denied: '/var/backups'"},
        ]
    }
    worker = {"name": "worker", "health_check": {"type": "container"}, "criticality": "medium"}
    api = {"name": "api", "health_check": {"type": "http", "url": "http://a/health"}, "criticality": "critical"}
    rows = missing_checks([{"service": worker, "host": "app1"}, {"service": api, "host": "app1"}], [], notes)
    assert rows[0]["broken"] == "the application's containers and logs: permission denied"
    assert rows[1]["broken"] == "app1 returned no result for it (the check did not run)"
    assert phase_checks(notes) == [
        {
            "check": "the backups' freshness",
            "service": "",
            "host": "app1",
            "reason": "permission denied",
        }
    ]
