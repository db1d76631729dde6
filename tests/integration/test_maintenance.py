"""The weekly and monthly maintenance against the sandbox's real servers.

Planted state, each restored afterwards: logs older and newer than 7 days; a scratch MongoDB
database with old and new `logs` documents and an index nobody uses; a scratch PostgreSQL database
with dead rows, an idle and an active connection; a dangling image, a stopped container and a
named volume labelled for the sandbox's prune filter. A --check run changes none of it; the real
run compresses, deletes, vacuums, terminates and prunes exactly what it should; a second run
changes nothing but the report and the history. FerretDB has no $indexStats, so the never-used
index is named by the report only on MongoDB (tests/unit/plugins/module_utils/test_maintenance.py, MongoDB-shaped
replies); here the report must say that index usage is unknown and why."""

from __future__ import annotations

import contextlib
import datetime
import io
import json
import os
import re
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import PORTS, STATE, run_playbook, secret, self_signed_certificate, tls_server

UID = uuid.uuid4().hex[:8]
LABEL = "opsbook.maintenance=prunable"
# What may change on a rerun where nothing needed doing: this run's report and the size history.
RERUN_CHANGES = {"Write the report as JSON, Markdown and HTML", "Record this run's sizes in the history"}


def changed_tasks(stdout: str) -> list[str]:
    """Names of the tasks that reported a change (default callback output)."""
    changed, task = [], ""
    for line in stdout.splitlines():
        header = re.match(r"TASK \[(?:[\w.]+ : )?(.*?)\] \*+", line)
        if header:
            task = header.group(1)
        elif line.startswith("changed:"):
            changed.append(task)
    return changed


def reports(root: Path, name: str) -> list[Path]:
    return sorted(root.glob(f"*-{name}/report.json"))


# --- planted state -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    for service in ("ferretdb", "postgres"):
        port = PORTS[service]
        with socket.socket() as s:
            s.settimeout(1)
            if s.connect_ex(("127.0.0.1", port)):
                pytest.skip(f"sandbox service {service} is not running on 127.0.0.1:{port} (run `make sandbox-up`)")
    docker_sock = STATE / "run" / "docker.sock"
    if not docker_sock.exists():
        pytest.skip(f"sandbox service docker is not running ({docker_sock} missing; run `make sandbox-up`)")
    import docker
    import psycopg2
    import pymongo

    root = tmp_path_factory.mktemp("maintenance")
    state: dict[str, Any] = {"root": root, "reports": root / "reports"}

    # Logs: one older than 7 days, one newer, one already compressed.
    logs = root / "logs"
    (logs / "api").mkdir(parents=True)
    now = time.time()
    for name, age_days in (("api/old.log", 8), ("new.log", 1), ("older.log.gz", 30)):
        path = logs / name
        path.write_text(f"{name}\n" * 100)
        os.utime(path, (now - age_days * 86400, now - age_days * 86400))
    state["logs"] = logs

    # MongoDB: old and new documents in logs, and an index that is never used.
    mongo = pymongo.MongoClient(
        "127.0.0.1", PORTS["ferretdb"], username="opsbook_admin", password=secret("ferretdb_admin"),
        authSource="admin", directConnection=True, serverSelectionTimeoutMS=5000,
    )  # fmt: skip
    database = f"opsbook_maint_{UID}"
    utc = datetime.datetime.now(datetime.UTC)
    mongo[database].logs.insert_many(
        [{"timestamp": utc - datetime.timedelta(days=40), "n": i} for i in range(5)]
        + [{"timestamp": utc - datetime.timedelta(days=1), "n": i} for i in range(3)]
    )
    mongo[database].logs.create_index("never_used", name="never_used_1")
    state["mongo"], state["mongodb_database"] = mongo, database

    # PostgreSQL: a scratch database with dead rows, an idle and an active connection.
    pg_args = {"host": "127.0.0.1", "port": PORTS["postgres"], "user": "postgres", "password": secret("postgres_admin")}
    admin = psycopg2.connect(dbname="postgres", **pg_args)
    admin.autocommit = True
    pg_database = f"opsbook_maint_{UID}"
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{pg_database}"')
    scratch = psycopg2.connect(dbname=pg_database, **pg_args)
    scratch.autocommit = True
    with scratch.cursor() as cur:
        # Autovacuum off for this table, so that only the maintenance vacuums it.
        cur.execute("CREATE TABLE events (id serial PRIMARY KEY, body text) WITH (autovacuum_enabled = false)")
        cur.execute("INSERT INTO events (body) SELECT md5(i::text) FROM generate_series(1, 2000) i")
        cur.execute("DELETE FROM events WHERE id % 2 = 0")
    scratch.close()
    app_name = f"opsbook-idle-{UID}"
    idle = psycopg2.connect(dbname="postgres", application_name=app_name, **pg_args)
    idle.autocommit = True
    with idle.cursor() as cur:
        cur.execute("SELECT pg_backend_pid()")
        idle_pid = cur.fetchone()[0]
    active = psycopg2.connect(dbname="postgres", application_name=app_name, **pg_args)
    with active.cursor() as cur:
        cur.execute("SELECT pg_backend_pid()")
        active_pid = cur.fetchone()[0]

    def keep_busy() -> None:
        try:
            with active.cursor() as cur:
                cur.execute("SELECT pg_sleep(900)")
        except psycopg2.Error:
            pass  # cancelled at teardown

    busy = threading.Thread(target=keep_busy, daemon=True)
    busy.start()
    state.update(admin=admin, pg_database=pg_database, app_name=app_name, idle=idle, idle_pid=idle_pid,
                 active_pid=active_pid)  # fmt: skip

    # Docker: a dangling image, a stopped container and a named volume, all labelled for the prune.
    client = docker.DockerClient(base_url=f"unix://{docker_sock}")
    tag = f"opsbook-maint-test:{UID}"
    images = []
    for build in range(2):  # the second build takes the tag: the first image becomes dangling
        dockerfile = f"FROM opsbook/base:bookworm\nLABEL {LABEL}\nLABEL opsbook.test={UID}-{build}\n"
        image, _ = client.images.build(fileobj=io.BytesIO(dockerfile.encode()), tag=tag, rm=True)
        images.append(image.id)
    container = client.containers.run(tag, command="true", detach=True, labels={"opsbook.maintenance": "prunable"},
                                      name=f"opsbook-maint-test-{UID}")  # fmt: skip
    container.wait(timeout=60)
    volume = client.volumes.create(name=f"opsbook-maint-test-{UID}", labels={"opsbook.maintenance": "prunable"})
    state.update(docker=client, dangling=images[0], tagged=tag, container=container.id, volume=volume.name)

    state["extra"] = root / "extra.json"
    state["extra"].write_text(
        json.dumps(
            {
                "maintenance_force": True,
                "opsbook_report_dir": str(state["reports"]),
                "maintenance_cleanup_log_paths": [str(logs)],
                "maintenance_mongodb_databases": [database],
                "maintenance_mongodb_retention": [
                    {"database": database, "collection": "logs", "field": "timestamp", "days": 30, "batch_size": 2}
                ],
                "maintenance_postgres_databases": [pg_database],
                "maintenance_postgres_idle_seconds": 1,
                "maintenance_postgres_idle_application_names": [app_name],
            }
        )
    )
    time.sleep(2)  # the idle connection is now idle for longer than the 1 s threshold
    try:
        yield state
    finally:
        with admin.cursor() as cur:
            cur.execute("SELECT pg_cancel_backend(%s)", (active_pid,))
        busy.join(timeout=10)
        for conn in (idle, active):
            conn.close()
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{pg_database}" WITH (FORCE)')
        admin.close()
        mongo.drop_database(database)
        mongo.close()
        for remove in (
            lambda: client.containers.get(state["container"]).remove(force=True),
            lambda: client.images.remove(tag, force=True),
            lambda: client.images.remove(images[0], force=True),
            lambda: client.volumes.get(volume.name).remove(),
        ):
            with contextlib.suppress(docker.errors.NotFound):
                remove()
        client.close()


def weekly(state: dict[str, Any], *args: str) -> subprocess.CompletedProcess[str]:
    run = run_playbook("playbooks/maintenance_weekly.yml", "-e", f"@{state['extra']}",
                       "--tags", "cleanup,databases", *args)  # fmt: skip
    assert run.returncode == 0, run.stdout[-5000:] + run.stderr[-2000:]
    return run


def pg_pids(state: dict[str, Any]) -> set[int]:
    with state["admin"].cursor() as cur:
        cur.execute("SELECT pid FROM pg_stat_activity WHERE application_name = %s", (state["app_name"],))
        return {row[0] for row in cur.fetchall()}


def dead_rows(state: dict[str, Any]) -> int:
    import psycopg2

    args = {"host": "127.0.0.1", "port": PORTS["postgres"], "user": "postgres", "password": secret("postgres_admin")}
    with psycopg2.connect(dbname=state["pg_database"], **args) as conn, conn.cursor() as cur:
        cur.execute("SELECT n_dead_tup FROM pg_stat_user_tables WHERE relname = 'events'")
        return cur.fetchone()[0]


def exists(kind: str, state: dict[str, Any], key: str) -> bool:
    import docker

    try:
        getattr(state["docker"], kind).get(state[key])
        return True
    except docker.errors.NotFound:
        return False


# --- the weekly maintenance, in order: check, run, rerun -----------------------------------------


def test_weekly_check_run_changes_nothing(planted: dict[str, Any]) -> None:
    run = weekly(planted, "--check")
    assert (planted["logs"] / "api" / "old.log").exists() and not (planted["logs"] / "api" / "old.log.gz").exists()
    assert planted["mongo"][planted["mongodb_database"]].logs.count_documents({}) == 8
    assert pg_pids(planted) == {planted["idle_pid"], planted["active_pid"]}
    assert exists("images", planted, "dangling") and exists("containers", planted, "container")
    assert dead_rows(planted) > 0
    assert reports(planted["reports"], "maintenance_weekly") == [], "--check wrote a report"
    assert "changed:" in run.stdout  # it does say what it would change


def test_weekly_run_does_exactly_the_weekly_work(planted: dict[str, Any]) -> None:
    import psycopg2

    weekly(planted)
    logs = planted["logs"]
    # Logs older than 7 days gzipped; the newer one and the compressed one untouched.
    assert (logs / "api" / "old.log.gz").exists() and not (logs / "api" / "old.log").exists()
    assert (logs / "new.log").exists() and not (logs / "new.log.gz").exists()
    assert sorted(p.name for p in logs.rglob("*")) == ["api", "new.log", "old.log.gz", "older.log.gz"]

    # Retention: the 5 documents older than 30 days deleted in batches of 2, the 3 newer kept.
    coll = planted["mongo"][planted["mongodb_database"]].logs
    assert coll.count_documents({}) == 3

    # The idle connection terminated, the active one alive.
    assert pg_pids(planted) == {planted["active_pid"]}
    with pytest.raises(psycopg2.Error, match=r"terminat|closed|connection"), planted["idle"].cursor() as cur:
        cur.execute("SELECT 1")

    # vacuumdb --analyze ran on the table with dead rows (password through PGPASSFILE).
    deadline = time.time() + 20
    while dead_rows(planted) > 0 and time.time() < deadline:
        time.sleep(1)  # the statistics are flushed asynchronously
    assert dead_rows(planted) == 0

    # Docker: the dangling image and the stopped container gone; the volume and the tagged image kept.
    assert not exists("images", planted, "dangling") and not exists("containers", planted, "container")
    assert exists("volumes", planted, "volume") and exists("images", planted, "tagged")

    report = json.loads(reports(planted["reports"], "maintenance_weekly")[-1].read_text())
    text = json.dumps(report["sections"])
    sections = {s["title"]: s for s in report["sections"]}
    assert "forced" in sections["Maintenance window"]["text"]
    index = next(s for t, s in sections.items() if t.startswith("MongoDB unused indexes"))
    assert index["text"].startswith("Index usage unknown") and "$indexStats" in index["text"]
    assert planted["mongodb_database"] in text and f"{planted['mongodb_database']}.logs" in text
    upkeep = next(s for t, s in sections.items() if t.startswith("PostgreSQL upkeep"))
    assert "public.events" in upkeep["text"] and "1 terminated" in upkeep["text"]


def test_weekly_second_run_changes_nothing_but_the_report(planted: dict[str, Any]) -> None:
    run = weekly(planted)
    unexpected = [task for task in changed_tasks(run.stdout) if task not in RERUN_CHANGES]
    assert unexpected == [], f"a rerun with nothing to do changed: {unexpected}"
    report = json.loads(reports(planted["reports"], "maintenance_weekly")[-1].read_text())
    growth = next(s for s in report["sections"] if s["title"].startswith("MongoDB sizes and growth since 20"))
    assert any(row[0] == planted["mongodb_database"] for row in growth["rows"])
    assert pg_pids(planted) == {planted["active_pid"]}


# --- the guard -----------------------------------------------------------------------------------


def test_guard_refuses_outside_the_window() -> None:
    run = run_playbook("playbooks/maintenance_weekly.yml", "--check", "-e", "maintenance_now=2026-11-24T10:00:00Z")
    assert run.returncode != 0
    assert "Refusing the weekly maintenance: outside the maintenance window" in run.stdout
    assert "next one opens 2026-11-29T02:00:00Z" in run.stdout


def test_freeze_skips_package_updates_on_a_frozen_date(tmp_path: Path) -> None:
    extra = tmp_path / "extra.json"
    extra.write_text(json.dumps({
        "maintenance_force": True, "maintenance_now": "2026-11-27T09:00:00Z",  # a Friday morning, listed
        "opsbook_deployment_freeze": {"weekdays": [], "after": {},
                                      "dates": [{"date": "2026-11-27", "reason": "Black Friday"}]},
        "maintenance_packages_environment": "staging", "opsbook_report_dir": str(tmp_path),
    }))  # fmt: skip
    # --check as well: should the freeze logic ever break, apt only pretends.
    run = run_playbook("playbooks/maintenance_weekly.yml", "--check", "--tags", "packages", "-e", f"@{extra}")
    assert run.returncode == 0, run.stdout[-4000:]
    assert "2026-11-27 is frozen: Black Friday" in run.stdout
    assert "a deployment freeze is in force" in run.stdout
    assert "TASK [maintenance_packages : Update the package lists" not in run.stdout


# --- the monthly maintenance: certificates -------------------------------------------------------


@pytest.fixture
def short_lived_tls(tmp_path: Path) -> Iterator[int]:
    """A TLS server whose self-signed certificate expires in 5 days."""
    with tls_server(*self_signed_certificate(tmp_path, "expiring.opsbook.test", 5)) as port:
        yield port


def test_certificate_expiring_in_five_days_raises_the_critical_alert(
    short_lived_tls: int, tmp_path: Path, require: Any
) -> None:
    require("nginx_https")
    extra = tmp_path / "extra.json"
    extra.write_text(json.dumps({
        "maintenance_force": True, "opsbook_report_dir": str(tmp_path / "reports"),
        "maintenance_certificates_endpoints": [{"name": "expiring", "host": "127.0.0.1", "port": short_lived_tls}],
    }))  # fmt: skip
    run = run_playbook("playbooks/maintenance_monthly.yml", "--tags", "certificates", "-e", f"@{extra}")
    assert run.returncode == 0, run.stdout[-4000:]
    report = json.loads(reports(tmp_path / "reports", "maintenance_monthly")[-1].read_text())
    alerts = [(a["name"], a["level"], a["severity"], a["labels"]["endpoint"]) for a in report["alerts"]]
    assert ("CertificateExpiringSoon", "critical", "P1", "expiring") in alerts
    rows = {row[0]: row for row in next(s for s in report["sections"] if s["title"] == "Certificates")["rows"]}
    assert 4.9 < rows["expiring"][3] <= 5.0
    # The sandbox's nginx (from opsbook_services' https URL) is read too, and is not expiring.
    assert rows["nginx"][4] is None and rows["nginx"][3] > 30
    assert report["status"] == "critical"


def test_monthly_check_run_writes_nothing_and_the_real_run_plots_capacity(tmp_path: Path, require: Any) -> None:
    require("ferretdb")
    require("postgres")
    args = ["-e", "maintenance_force=true", "-e", f"opsbook_report_dir={tmp_path}", "--skip-tags", "backup"]
    run = run_playbook("playbooks/maintenance_monthly.yml", "--check", *args)
    assert run.returncode == 0, run.stdout[-4000:]
    assert not (tmp_path / "history").exists() and reports(tmp_path, "maintenance_monthly") == []
    run = run_playbook("playbooks/maintenance_monthly.yml", "--tags", "capacity", *args)
    assert run.returncode == 0, run.stdout[-4000:]
    history = json.loads((tmp_path / "history" / "capacity.json").read_text())
    kinds = {s["kind"] for s in history["samples"]}
    assert {"disk", "database"} <= kinds
    html = (reports(tmp_path, "maintenance_monthly")[-1].parent / "report.html").read_text()
    assert "<svg" in html and "Capacity and projection" in html and "days to 80 %" in html
