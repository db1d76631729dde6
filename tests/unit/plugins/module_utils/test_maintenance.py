"""Routine maintenance logic (plugins/module_utils/maintenance.py and the
opsbook_maintenance filters) on fixed datetimes and data shaped like the servers' replies: the
window and freeze guard, which logs are compressed, retention in batches, where compact runs,
unused indexes from MongoDB's $indexStats (FerretDB has none), Redis INFO, certificate days, the
capacity projection and plot, and the report."""

from __future__ import annotations

import datetime
import gzip
import os
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from ansible_collections.opsbook.runbooks.plugins.module_utils import maintenance as m
from ansible_collections.opsbook.runbooks.plugins.module_utils import maintenance_report as mr
from ansible_collections.opsbook.runbooks.plugins.module_utils.catalog import evaluate, validate
from ansible_collections.opsbook.runbooks.plugins.module_utils.maintenance import (
    MaintenanceError,
    add_samples,
    apply_retention,
    capacity_rows,
    capacity_svg,
    check_retention_rules,
    compact_decision,
    days_left,
    freeze_reason,
    guard,
    gzip_file,
    logs_to_compress,
    projection,
    redis_figures,
    unused_for,
    walk_files,
    window_status,
)
from ansible_collections.opsbook.runbooks.plugins.module_utils.mongodb_health import gather
from ansible_collections.opsbook.runbooks.tests.unit.helpers import COLLECTION
from ansible_collections.opsbook.runbooks.tests.unit.plugins.module_utils.fake_mongodb import FakeServer

CATALOG = validate(yaml.safe_load((COLLECTION / "roles" / "alerting" / "files" / "catalog.yml").read_text()))
DEFAULTS = yaml.safe_load((COLLECTION / "roles" / "maintenance_window" / "defaults" / "main.yml").read_text())
WEEKLY = DEFAULTS["__maintenance_window_seed_windows"]["weekly"]
MONTHLY = DEFAULTS["__maintenance_window_seed_windows"]["monthly"]
FREEZE = DEFAULTS["__maintenance_window_seed_freeze"] | {"dates": [{"date": "2025-11-28", "reason": "Black Friday"}]}

# 2025-01-05 is the first Sunday of January 2025; 2025-01-12 the second.


@pytest.mark.parametrize(
    ("now", "inside"),
    [
        ("2025-01-12T01:59:59Z", False),
        ("2025-01-12T02:00:00Z", True),
        ("2025-01-12T04:59:59Z", True),  # 180 minutes
        ("2025-01-12T05:00:00Z", False),
        ("2025-01-13T02:30:00Z", False),  # a Monday
    ],
)
def test_weekly_window_is_sunday_0200_for_its_duration(now: str, inside: bool) -> None:
    assert window_status(now, WEEKLY)["inside"] is inside


def test_monthly_window_is_only_the_first_sunday() -> None:
    assert window_status("2025-01-05T01:30:00Z", MONTHLY)["inside"]
    second = window_status("2025-01-12T01:30:00Z", MONTHLY)
    assert not second["inside"] and second["next_opening"] == "2025-02-02T01:00:00Z"


def test_window_in_a_local_time_zone_and_across_midnight() -> None:
    window = {"weekday": "saturday", "time": "23:00", "timezone": "Europe/Berlin", "duration_minutes": 120}
    # Saturday 23:00 in Berlin (winter, UTC+1) is 22:00 UTC; open until Sunday 01:00 Berlin.
    assert window_status("2025-01-11T22:00:00Z", window)["inside"]
    assert window_status("2025-01-11T23:59:00Z", window)["inside"]
    assert not window_status("2025-01-12T00:00:00Z", window)["inside"]


def test_guard_refuses_outside_the_window_unless_forced() -> None:
    refused = guard("2025-01-14T10:00:00Z", WEEKLY, FREEZE)
    assert not refused["allowed"] and "next one opens 2025-01-19T02:00:00Z" in refused["message"]
    assert "maintenance_force=true" in refused["message"]
    forced = guard("2025-01-14T10:00:00Z", WEEKLY, FREEZE, force=True)
    assert forced["allowed"] and forced["forced"] and forced["restarts_allowed"]  # a Tuesday: no freeze


@pytest.mark.parametrize(
    ("now", "frozen"),
    [
        ("2025-01-10T11:59:00Z", None),  # Friday morning
        ("2025-01-10T12:00:00Z", "Fridays after 12:00 UTC"),
        ("2025-01-11T09:00:00Z", "Saturday is a freeze day"),
        ("2025-01-12T02:30:00Z", "Sunday is a freeze day"),
        ("2025-11-28T09:00:00Z", "Black Friday"),  # a listed date, on a Friday morning
        ("2025-11-27T09:00:00Z", None),
    ],
)
def test_deployment_freeze_of_seed_004(now: str, frozen: str | None) -> None:
    reason = freeze_reason(now, FREEZE)
    assert (reason is None) if frozen is None else (frozen in reason)


def test_the_freeze_skips_restarts_but_not_the_maintenance() -> None:
    # Seed 001's weekly window is on a Sunday, which seed 004 freezes: the maintenance runs, the
    # steps that restart services do not unless the freeze is overridden.
    sunday = guard("2025-01-12T02:30:00Z", WEEKLY, FREEZE)
    assert sunday["allowed"] and not sunday["restarts_allowed"] and "Sunday" in sunday["freeze"]
    assert guard("2025-01-12T02:30:00Z", WEEKLY, FREEZE, ignore_freeze=True)["restarts_allowed"]
    ranged = {"dates": [{"from": "2025-12-24", "to": "2025-12-26", "reason": "Christmas"}]}
    assert "Christmas" in freeze_reason("2025-12-25T10:00:00Z", ranged)
    assert freeze_reason("2025-12-27T10:00:00Z", ranged) is None


@pytest.mark.parametrize(
    ("window", "message"),
    [
        ({"weekday": "sonday"}, "not a weekday"),
        ({"time": "2am"}, "not a time of day"),
        ({"duration_minutes": 0}, "duration_minutes"),
        ({"week_of_month": 6}, "week_of_month"),
        ({"timezone": "Mars/Olympus"}, "IANA"),
    ],
)
def test_bad_windows_fail_with_the_field_named(window: dict[str, Any], message: str) -> None:
    with pytest.raises(MaintenanceError, match=message):
        guard("2025-01-12T02:30:00Z", WEEKLY | window, FREEZE)


def test_bad_freeze_dates_fail() -> None:
    with pytest.raises(MaintenanceError, match="not a date"):
        freeze_reason("2025-01-12T02:30:00Z", {"dates": ["28/11/2025"]})


# --- logs ------------------------------------------------------------------------------------


def test_only_logs_older_than_the_age_are_chosen() -> None:
    now = 1_700_000_000.0
    day = 86400
    files = [
        ("/l/old.log", now - 8 * day),
        ("/l/edge.log", now - 7 * day + 60),  # just under 7 days
        ("/l/new.log", now - 3600),
        ("/l/old.log.gz", now - 30 * day),
        ("/l/old.txt", now - 30 * day),
    ]
    assert logs_to_compress(files, now, 7) == ["/l/old.log"]


def test_gzip_keeps_content_mode_and_time_and_refuses_to_overwrite(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_text("line\n" * 1000)
    log.chmod(0o640)
    old = time.time() - 10 * 86400
    os.utime(log, (old, old))
    target = Path(gzip_file(str(log)))
    assert not log.exists() and target.name == "app.log.gz"
    assert gzip.decompress(target.read_bytes()) == b"line\n" * 1000
    assert oct(target.stat().st_mode & 0o777) == "0o640" and abs(target.stat().st_mtime - old) < 1
    log.write_text("again\n")
    with pytest.raises(MaintenanceError, match="already exists"):
        gzip_file(str(log))
    assert log.exists()  # nothing lost
    found, notes = walk_files([str(tmp_path), str(tmp_path / "missing")], ".log")
    assert [Path(p).name for p, _size in found] == ["app.log"] and "no such directory" in notes[0]


# --- MongoDB ---------------------------------------------------------------------------------


class Collection:
    """A collection of {_id, timestamp} documents with count, find-ids and delete-by-ids."""

    def __init__(self, ages_days: list[float], now: datetime.datetime) -> None:
        self.docs = {i: now - datetime.timedelta(days=a) for i, a in enumerate(ages_days)}
        self.deletes: list[int] = []

    def _match(self, query: dict[str, Any]) -> list[int]:
        cutoff = query["timestamp"]["$lt"]
        return sorted(i for i, ts in self.docs.items() if ts < cutoff)

    def count(self, query: dict[str, Any]) -> int:
        return len(self._match(query))

    def find_ids(self, query: dict[str, Any], limit: int) -> list[int]:
        return self._match(query)[:limit]

    def delete_ids(self, ids: list[int]) -> int:
        self.deletes.append(len(ids))
        for i in ids:
            del self.docs[i]
        return len(ids)


NOW = datetime.datetime(2025, 1, 12, 2, 30, tzinfo=datetime.UTC)
RULE = check_retention_rules([{"database": "app", "collection": "logs", "days": 30, "batch_size": 2}])[0]


def test_retention_dry_run_counts_and_deletes_nothing() -> None:
    logs = Collection([1, 29, 31, 45, 90], NOW)
    result = apply_retention(RULE, NOW, logs.count, logs.find_ids, logs.delete_ids, dry_run=True)
    assert result["matched"] == 3 and result["deleted"] == 0 and len(logs.docs) == 5
    assert result["older_than"] == "2024-12-13T02:30:00Z"


def test_retention_deletes_in_batches_and_keeps_newer_documents() -> None:
    logs = Collection([1, 29, 31, 45, 90], NOW)
    result = apply_retention(RULE, NOW, logs.count, logs.find_ids, logs.delete_ids, dry_run=False)
    assert (result["matched"], result["deleted"], result["batches"], result["complete"]) == (3, 3, 2, True)
    assert logs.deletes == [2, 1] and len(logs.docs) == 2
    again = apply_retention(RULE, NOW, logs.count, logs.find_ids, logs.delete_ids, dry_run=False)
    assert again["matched"] == 0 and again["batches"] == 0


def test_retention_stops_after_max_batches() -> None:
    logs = Collection([40] * 5, NOW)
    result = apply_retention(RULE, NOW, logs.count, logs.find_ids, logs.delete_ids, dry_run=False, max_batches=1)
    assert result["deleted"] == 2 and not result["complete"] and len(logs.docs) == 3


def test_bad_retention_rules_are_refused() -> None:
    with pytest.raises(MaintenanceError, match="days missing"):
        check_retention_rules([{"database": "app", "collection": "logs"}])
    with pytest.raises(MaintenanceError, match="batch_size"):
        check_retention_rules([{"database": "app", "collection": "logs", "days": 30, "batch_size": 0}])


@pytest.mark.parametrize(
    ("hello", "allow", "runs", "why"),
    [
        ({"setName": "rs0", "secondary": True}, False, True, "secondary"),
        ({"setName": "rs0", "isWritablePrimary": True}, False, False, "secondaries only"),
        ({"setName": "rs0", "isWritablePrimary": True}, True, True, "allow_primary"),
        ({"setName": "rs0", "arbiterOnly": True}, True, False, "arbiter"),
        ({"isWritablePrimary": True}, False, False, "standalone"),
        ({"msg": "isdbgrid"}, True, False, "mongos"),
    ],
)
def test_compact_runs_on_secondaries(hello: dict[str, Any], allow: bool, runs: bool, why: str) -> None:
    ran, reason = compact_decision(hello, allow)
    assert ran is runs and why in reason


def test_unused_index_report_from_mongodb_index_stats() -> None:
    # $indexStats as MongoDB 7.0 documents it (FerretDB does not implement it): the same fixture
    # and the same module_utils functions as mongodb_health's indexes check.
    result = gather(FakeServer("replset_hidden_arbiter"), ["indexes"])
    unused = m.unused_indexes_for(result["databases"], "2024-05-22T10:00:00Z", 14)
    assert [(i["database"], i["collection"], i["name"]) for i in unused] == [
        ("shop", "customers", "name_text"),
        ("shop", "orders", "legacy_sku_1"),
    ]
    assert all(i["unused_days"] >= 14 for i in unused)
    # Counters that started a day ago (a restart resets $indexStats) are not yet evidence.
    assert m.unused_indexes_for(result["databases"], "2024-04-23T10:00:00Z", 14) == []


def test_unused_for_keeps_exact_names_and_days() -> None:
    unused = [{"collection": "logs", "name": "legacy_level_1", "since": "2025-01-01T00:00:00Z"}]
    assert unused_for(unused, "2025-01-31T00:00:00Z", 14)[0] | {} == unused[0] | {"unused_days": 30.0}


def test_size_growth_since_the_last_run() -> None:
    rows = m.size_growth({"app": 100, "app.logs": 50}, {"app": 150, "app.logs": 50, "app.users": 10})
    assert [(r["name"], r["growth_bytes"], r["growth_percent"]) for r in rows] == [
        ("app", 50, 50.0),
        ("app.logs", 0, 0.0),
        ("app.users", None, None),
    ]
    sizes = {"app": {"total_size_bytes": 150, "collections": {"logs": {"size_bytes": 50}}}}
    assert m.mongodb_size_map(sizes) == {"app": 150, "app.logs": 50}


# --- Redis and certificates ------------------------------------------------------------------


def test_redis_figures_from_info_and_the_catalog() -> None:
    info = {"used_memory": 230 * 2**20, "maxmemory": 256 * 2**20, "maxmemory_policy": "allkeys-lru",
            "keyspace_hits": 600, "keyspace_misses": 400, "evicted_keys": 12}  # fmt: skip
    figures = redis_figures(info) | {"instance": "redis:6379"}
    assert figures["memory_percent"] == 89.84 and figures["hit_rate_percent"] == 60.0 and figures["evicted_keys"] == 12
    fired = {a["name"]: a["level"] for a in evaluate(CATALOG, m.redis_observations([figures]))}
    assert fired == {"RedisMemoryHigh": "warning", "RedisHitRateLow": "warning"}
    no_limit = redis_figures({"used_memory": 10, "maxmemory": 0, "keyspace_hits": 0, "keyspace_misses": 0})
    assert no_limit["memory_percent"] is None and no_limit["hit_rate_percent"] is None and len(no_limit["notes"]) == 2


def test_certificate_expiring_in_five_days_is_critical() -> None:
    results = [
        {"item": {"name": "shop", "host": "shop", "port": 443}, "not_after": "20250117023000Z",
         "subject": {"commonName": "shop"}, "issuer": {"commonName": "R3"}},
        {"item": {"name": "api", "host": "api", "port": 443}, "not_after": "20250301000000Z",
         "subject": {"commonName": "api"}, "issuer": {"commonName": "R3"}},
        {"item": {"name": "down", "host": "down", "port": 443}, "failed": True, "msg": "connection refused"},
    ]  # fmt: skip
    rows = m.certificate_rows(results, "2025-01-12T02:30:00Z")
    assert [r["days_left"] for r in rows] == [5.0, 47.9, None] and rows[2]["error"] == "connection refused"
    fired = evaluate(CATALOG, m.certificate_observations(rows))
    assert [(a["name"], a["level"], a["labels"]["endpoint"]) for a in fired] == [
        ("CertificateExpiringSoon", "critical", "shop")
    ]
    assert days_left("2025-01-12T02:30:00Z", "2025-01-12T02:30:00Z") == 0


def test_tls_endpoints_from_services_without_duplicates() -> None:
    services = [
        {"name": "nginx", "health_check": {"type": "http", "url": "https://localhost:38443/nginx-health"}},
        {"name": "api", "health_check": {"type": "http", "url": "http://127.0.0.1:38000/health"}},
    ]
    endpoints = m.tls_endpoints([{"name": "lb", "host": "localhost", "port": 38443}], services)
    assert endpoints == [{"name": "lb", "host": "localhost", "port": 38443}]
    assert m.tls_endpoints([], services) == [{"name": "nginx", "host": "localhost", "port": 38443}]
    with pytest.raises(MaintenanceError, match="host and port"):
        m.tls_endpoints([{"name": "x"}])


# --- capacity --------------------------------------------------------------------------------


def samples(target: str, used_percents: list[float], start: str = "2025-01-01T00:00:00Z") -> list[dict[str, Any]]:
    first = datetime.datetime.fromisoformat(start.replace("Z", "+00:00"))
    return [
        {"time": (first + datetime.timedelta(days=i)).strftime("%Y-%m-%dT%H:%M:%SZ"), "target": target,
         "kind": "disk", "used_bytes": p * 10, "size_bytes": 1000}
        for i, p in enumerate(used_percents)
    ]  # fmt: skip


def test_linear_projection_to_80_and_90_percent() -> None:
    result = projection(samples("disk /", [50, 51, 52, 53, 54]))  # 1 % per day, 54 % now
    assert result["growth_percent_per_day"] == 1.0 and result["growth_bytes_per_day"] == 10
    assert result["days_until"] == {"80": 26.0, "90": 36.0}
    assert projection(samples("disk /", [85, 86]))["days_until"]["80"] == 0
    flat = projection(samples("disk /", [40, 40, 40]))
    assert flat["days_until"] == {"80": None, "90": None} and flat["note"] == "not growing"
    database = projection([s | {"size_bytes": None} for s in samples("mongodb app", [10, 12, 14])])
    assert database["growth_bytes_per_day"] == 20 and database["days_until"] == {"80": None, "90": None}
    assert database["note"] == "no size known: growth only"
    one = projection(samples("disk /", [40]))
    assert one["days_until"] == {"80": None, "90": None} and "not enough history" in one["note"]


def test_history_keeps_the_newest_samples_per_target_once() -> None:
    history = add_samples(None, samples("a", [1, 2, 3]) + samples("b", [5]), keep=2)
    assert [(s["target"], s["used_bytes"]) for s in history["samples"]] == [("b", 50), ("a", 20), ("a", 30)]
    again = add_samples(history, samples("b", [5]), keep=2)  # the same time and target: added once
    assert again == history
    rows = capacity_rows(add_samples(None, [*samples("a", [10, 20]), samples("db", [0])[0] | {"size_bytes": None}], 10))
    assert [(r["target"], r["days_until"]["80"]) for r in rows] == [("a", 6.0), ("db", None)]


def test_capacity_plot_is_inline_svg_with_thresholds_and_a_line_per_target() -> None:
    svg = capacity_svg(add_samples(None, samples("disk <root>", [10, 20, 30]) + samples("disk /srv", [60, 61]), 10))
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert svg.count("<polyline") == 2 and "80%" in svg and "90%" in svg and "disk &lt;root&gt;" in svg
    assert "no capacity samples" in capacity_svg({"samples": []})


def test_monthly_report_sections_and_status() -> None:
    history = add_samples(None, samples("disk /", [50, 51, 52]), 10)
    shop = {"item": {"name": "shop", "host": "shop", "port": 443}, "not_after": "20250117023000Z"}
    rows = m.certificate_rows([shop], "2025-01-12T02:30:00Z")
    alerts = evaluate(CATALOG, m.certificate_observations(rows))
    report = mr.maintenance_report(
        {
            "guard": guard("2025-01-05T01:30:00Z", MONTHLY, FREEZE),
            "certificates": {"certificates": rows, "alerts": alerts, "renewal": "certbot is not configured"},
            "capacity": {"rows": capacity_rows(history), "svg": capacity_svg(history), "thresholds": [80, 90]},
        },
        "monthly",
    )
    titles = [s["title"] for s in report["sections"]]
    assert report["status"] == "critical" and "CertificateExpiringSoon" in report["summary"]
    assert titles == ["Maintenance window", "Certificates", "Certificate renewal", "Capacity and projection",
                      "Used space over time"]  # fmt: skip
    capacity = report["sections"][3]
    assert capacity["columns"][6:8] == ["days to 80 %", "days to 90 %"] and capacity["rows"][0][6:8] == [28.0, 38.0]
    assert report["sections"][4]["svg"].startswith("<svg")
