"""mongodb_health run through ansible-playbook against the sandbox's FerretDB 1.24: what the server
reports, what it does not (null with a note), a slow operation it cannot show, an unreachable
port (the DatabaseDown alert, no traceback), a refused login and a malformed catalog. One playbook
runs every case (an ansible-playbook start costs seconds on this machine), in a scratch database
that is dropped afterwards."""

from __future__ import annotations

import contextlib
import json
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pymongo
import pytest
from conftest import PORTS, STATE, ferretdb_admin_client, free_port, port_open, run_playbook, secret

PASSWORD_FILE = STATE / "secrets" / "ferretdb_admin"


def connection(port: int, **extra: Any) -> dict[str, Any]:
    """Module arguments for the sandbox's admin; the password is read by a lookup at run time,
    so it is in no file or command line the test writes."""
    return {
        "login_host": "127.0.0.1",
        "login_port": port,
        "login_user": "opsbook_admin",
        "login_password": f"{{{{ lookup('ansible.builtin.file', '{PASSWORD_FILE}') }}}}",
        "catalog": "{{ lookup('opsbook.runbooks.catalog') }}",
        **extra,
    }


def client(port: int) -> pymongo.MongoClient:
    return ferretdb_admin_client(port)


def run_cases(tmp_path: Path, cases: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Run mongodb_health once per case (its arguments, plus `check_mode`) in one playbook on
    localhost, and return each registered result, failed or not. After the first case the
    playbook creates tmp_path/done_<case>."""
    out = tmp_path / "results.json"
    tasks: list[dict[str, Any]] = []
    for name, args in cases.items():
        args = dict(args)
        check = args.pop("check_mode", False)
        tasks.append(
            {"name": f"Run case {name}", "opsbook.runbooks.mongodb_health": "{{ module_args }}",
             "vars": {"module_args": args}, "register": f"case_{name}", "ignore_errors": True, "check_mode": check}
        )  # fmt: skip
        if len(tasks) > 1:
            continue
        done = str(tmp_path / f"done_{name}")
        tasks.append(
            {"name": f"Mark case {name} done", "ansible.builtin.copy": {"content": "", "dest": done, "mode": "0600"},
             "check_mode": False}
        )  # fmt: skip
    results = "{" + ", ".join(f"{json.dumps(n)}: case_{n}" for n in cases) + "}"
    tasks.append(
        {"name": "Save the results", "ansible.builtin.copy": {"content": f"{{{{ {results} | to_json }}}}",
         "dest": str(out), "mode": "0600"}, "check_mode": False}
    )  # fmt: skip
    playbook = tmp_path / "mongodb_health.yml"
    playbook.write_text(json.dumps([{"hosts": "localhost", "gather_facts": False, "tasks": tasks}]))
    run = run_playbook(
        "-i", "localhost,", "-c", "local", "-e", "ansible_python_interpreter={{ ansible_playbook_python }}",
        str(playbook),
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert secret("ferretdb_admin") not in run.stdout + run.stderr
    return json.loads(out.read_text())


WRONG_PASSWORD = f"wrong-{uuid.uuid4().hex}"
BROKEN_CATALOG = (
    "{{ lookup('opsbook.runbooks.catalog') | combine({'entries': [{'name': 'Broken', 'metric': 'nope'}]}) }}"
)
SLOW_PIPELINE = [{"$unwind": "$a"}, {"$group": {"_id": "$k", "n": {"$sum": "$a"}}}]


@pytest.fixture(scope="module")
def ferretdb_port() -> int:
    """The require fixture, once for the module."""
    port = PORTS["ferretdb"]
    if not port_open(port):
        pytest.skip(f"sandbox service ferretdb is not running on 127.0.0.1:{port} (run `make sandbox-up`)")
    return port


@pytest.fixture(scope="module")
def cases(ferretdb_port: int, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Every case's result, with a scratch database of 3 orders (and an index) and, until the
    slow_ops case (the first) is done, a slow aggregation run back to back on it (FerretDB 1.24 has
    no $where or JavaScript to sleep with: 100 documents unwound into 20 000 and grouped, which
    takes FerretDB a few hundred milliseconds and adds little to the shared oplog)."""
    port = ferretdb_port
    name = f"opsbook_health_{uuid.uuid4().hex[:8]}"
    unreachable = free_port()
    assert unreachable not in PORTS.values()
    mongo = client(port)
    stop = threading.Event()
    runs: list[float] = []
    workdir = tmp_path_factory.mktemp("mongodb_health")

    def slow() -> None:
        with contextlib.closing(client(port)) as own:
            while not stop.is_set() and not (workdir / "done_slow_ops").exists():
                started = time.monotonic()
                list(own[name].load.aggregate(SLOW_PIPELINE))
                runs.append(time.monotonic() - started)

    worker = threading.Thread(target=slow)
    try:
        mongo[name].orders.insert_many([{"n": i, "status": "new"} for i in range(3)])
        mongo[name].orders.create_index("status")
        mongo[name].load.insert_many([{"k": i % 10, "a": list(range(200))} for i in range(100)])
        worker.start()
        while not runs and worker.is_alive():
            time.sleep(0.05)
        assert runs, "the slow aggregation failed"
        results = run_cases(
            workdir,
            {
                "slow_ops": connection(port, checks=["slow_ops"], slow_op_threshold_ms=50),
                "full": connection(port, databases=[name], check_mode=True),
                "databases_only": connection(port, checks=["databases"], databases=[name]),
                "unreachable": connection(unreachable, server_selection_timeout_ms=500),
                "unreachable_fail": connection(unreachable, server_selection_timeout_ms=500, fail_on_unreachable=True),
                "wrong_password": {**connection(port), "login_password": WRONG_PASSWORD},
                "bad_catalog": {**connection(unreachable), "catalog": BROKEN_CATALOG},
            },
        )
        stop.set()
        worker.join()
        mongo.admin.command("ping")
        results["_"] = {
            "database": name,
            "unreachable_port": unreachable,
            "slow_runs": runs,
            "build_info": mongo.admin.command("buildInfo"),
            "oplog_first": mongo.local["oplog.rs"].find_one({}, {"ts": 1}, sort=[("$natural", 1)], max_time_ms=60000),
            "oplog_stats": mongo.local.command("collStats", "oplog.rs"),
        }
        yield results
    finally:
        stop.set()
        if worker.is_alive():
            worker.join()
        mongo.drop_database(name)
        left = name in mongo.list_database_names()
        mongo.close()
        assert not left, f"the scratch database {name} is still on the sandbox's FerretDB"


def test_health_of_ferretdb_in_check_mode(cases: dict[str, Any]) -> None:
    """The whole picture, read in check mode (the module only reads, so it runs in full)."""
    result, name = cases["full"], cases["_"]["database"]
    assert not result.get("failed"), result.get("msg")
    assert result["reachable"] is True and result["changed"] is False
    assert secret("ferretdb_admin") not in json.dumps({k: v for k, v in cases.items() if k != "_"})
    server = result["server"]
    assert server["version"] == cases["_"]["build_info"]["version"] and server["process"] == "ferretdb"
    assert server["uptime_seconds"] > 0
    # What FerretDB 1.24 does not report is null, with a note naming it.
    notes = "\n".join(result["notes"])
    assert server["connections"] is None and server["pool_utilisation_percent"] is None
    for missing in ("connections", "opcounters", "asserts", "wiredTiger", "replSetGetStatus", "$indexStats"):
        assert missing in notes, missing
    assert result["cache"]["dirty_percent"] is None
    assert result["databases"][name]["unused_indexes"] is None
    # What it does report: a writable primary of rs0, the oplog, the scratch database's figures.
    assert result["node"]["replica_set"] == "rs0" and result["node"]["writable_primary"] is True
    assert result["replication"]["has_primary"] is True and result["replication"]["members"] is None
    # The first entry, read in natural order without a sort, is the one a $natural sort finds.
    oplog, first = result["replication"]["oplog"], cases["_"]["oplog_first"]["ts"].time
    assert oplog["first_entry"] == time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(first))
    assert oplog["max_size_bytes"] == cases["_"]["oplog_stats"]["maxSize"] and oplog["size_bytes"] > 0
    if oplog["full"] is False:
        # FerretDB's hello has no lastWrite: the last entry is looked up only once the oplog is full.
        assert oplog["window_hours"] is None and result["observations"]["db_oplog_window_hours"] is None
        assert "has not filled up" in notes
    else:
        assert oplog["window_hours"] is not None or "the last entry" in notes
    database = result["databases"][name]
    assert (database["objects"], database["collections"]) == (103, 2) and database["data_size_bytes"] > 0
    observed = result["observations"]
    assert observed["database_up"] == 1 and observed["db_replset_has_primary"] == 1
    assert observed["db_pool_utilisation_percent"] is None and observed["db_unused_indexes"] is None
    fired = {a["name"] for a in result["alerts"]}
    assert not {"DatabaseDown", "MongoNoPrimary", "MongoVotingMajorityLost"} & fired
    levels = {a["level"] for a in result["alerts"]}
    assert result["status"] == ("critical" if "critical" in levels else "warning" if levels else "ok")


def test_checks_select_what_runs(cases: dict[str, Any]) -> None:
    result, name = cases["databases_only"], cases["_"]["database"]
    assert not result.get("failed") and result["changed"] is False and result["checks"] == ["databases"]
    assert result["server"] is None and result["replication"] is None and result["slow_ops"] is None
    assert "unused_indexes" not in result["databases"][name]
    assert result["databases"][name] == {
        k: v for k, v in cases["full"]["databases"][name].items() if k != "unused_indexes"
    }


def test_a_slow_operation_is_not_reported_as_none(cases: dict[str, Any]) -> None:
    """FerretDB 1.24's currentOp is a stub that lists nothing, so while the aggregation runs the
    module must say it cannot see operations rather than report zero slow ones."""
    runs = cases["_"]["slow_runs"]
    assert len(runs) > 1 and max(runs) > 0.05, f"the aggregation did not run slowly: {runs}"
    result = cases["slow_ops"]
    assert result["slow_ops"]["in_progress"] == 0 and result["slow_ops"]["count"] is None
    assert any("currentOp listed no operation" in note for note in result["notes"])
    assert result["observations"]["db_slow_operations"] is None
    assert "MongoSlowOperations" not in {a["name"] for a in result["alerts"]}


def test_unreachable_port_is_a_database_down_alert(cases: dict[str, Any]) -> None:
    result = cases["unreachable"]
    assert not result.get("failed") and "exception" not in result and "Traceback" not in json.dumps(result)
    assert result["reachable"] is False and result["status"] == "critical"
    assert [(a["name"], a["severity"], a["level"], a["value"]) for a in result["alerts"]] == [
        ("DatabaseDown", "P0", "critical", 0)
    ]
    assert result["observations"] == {"database_up": 0}
    assert "did not answer" in result["notes"][0]


def test_unreachable_port_fails_when_asked_to(cases: dict[str, Any]) -> None:
    result = cases["unreachable_fail"]
    assert result["failed"] is True
    assert f"127.0.0.1:{cases['_']['unreachable_port']} cannot be reached" in result["msg"]


def test_refused_login_fails_with_a_message_and_no_password(cases: dict[str, Any]) -> None:
    result = cases["wrong_password"]
    assert result["failed"] is True
    assert "refused the login of opsbook_admin (auth database admin)" in result["msg"]
    assert WRONG_PASSWORD not in json.dumps(result)


def test_malformed_catalog_fails_before_connecting(cases: dict[str, Any]) -> None:
    result = cases["bad_catalog"]
    assert result["failed"] is True and "Broken" in result["msg"] and "database_up" not in json.dumps(result)
