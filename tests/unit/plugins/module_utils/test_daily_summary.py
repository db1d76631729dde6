"""The evening summary's filters: Prometheus answers (including NaN for a day without traffic),
the day's backups and verifications, and the report they make."""

from __future__ import annotations

import base64
import json

from ansible_collections.opsbook.runbooks.plugins.module_utils import daily_summary as s

NOW = 1_800_000_000.0
DAY = 86400


def answer(value: str | None, status: int = 200) -> dict:
    result = [] if value is None else [{"metric": {}, "value": [NOW, value]}]
    return {"status": status, "json": {"status": "success", "data": {"resultType": "vector", "result": result}}}


def test_query_value_handles_no_series_nan_and_errors() -> None:
    assert s.query_value(answer("2.5")) == 2.5
    assert s.query_value(answer(None)) is None
    assert s.query_value(answer("NaN")) is None, "0/0 over a day without requests is not a figure"
    assert s.query_value({"status": -1, "msg": "refused"}) is None


def test_only_figures_naming_a_catalog_metric_become_observations() -> None:
    results = [
        {"item": {"name": "Errors", "catalog_metric": "api_error_rate_percent"}, **answer("7")},
        {"item": {"name": "Requests"}, **answer("1000")},
        {"item": {"name": "Latency", "catalog_metric": "api_latency_p95_seconds"}, **answer("NaN")},
    ]
    assert s.summary_observations(results) == {"api_error_rate_percent": 7.0}


def backup(bid: str, completed: float, verified: float | None = None) -> dict:
    verification = {"result": "ok", "verified_epoch": verified} if verified else None
    return {
        "tier": "daily",
        "id": bid,
        "size_bytes": 2 * 1048576,
        "completed_epoch": completed,
        "verification": verification,
    }


def test_the_days_backups_verifications_and_incomplete_runs_are_listed() -> None:
    backups = [
        {
            "item": {"key": "mongodb"},
            "backups": [backup("today", NOW - 3600), backup("old", NOW - 3 * DAY, NOW - 600)],
            "incomplete": [{"tier": "daily", "id": "x", "reason": "partial: the run that wrote it did not finish"}],
        },
        {"item": {"key": "postgres"}, "backups": [backup("old", NOW - 2 * DAY)], "incomplete": []},
    ]
    report = s.daily_summary(
        {"window_hours": 24, "now": NOW, "backups": backups, "evaluation": {"alerts": [], "status": "ok"}}
    )
    rows = next(x for x in report["sections"] if x["title"] == "Backups of the day")["rows"]
    assert [[*r[:3], r[4]] for r in rows] == [
        ["mongodb", "daily", "today", "not verified"],
        ["mongodb", "daily", "old", "verified today: ok"],
        ["mongodb", "daily", "x", "INCOMPLETE"],
    ]
    assert "Backups: 1 complete in the last 24 h; none for postgres" in report["summary"]
    assert report["status"] == "warning", "a target without a backup today is not ok"


def test_health_checks_of_the_day_and_alerts_on_figures() -> None:
    check = {"generated_at": "2026-11-23T09:00:00Z", "status": "critical", "alerts": [{"severity": "P0"}]}
    content = base64.b64encode(json.dumps(check).encode()).decode()
    alert = {"severity": "P1", "name": "ApiErrorRateHigh", "message": "ApiErrorRateHigh: 7%"}
    report = s.daily_summary(
        {
            "window_hours": 24,
            "now": NOW,
            "health_checks": [{"content": content}],
            "evaluation": {"alerts": [alert], "status": "critical"},
        }
    )
    rows = next(x for x in report["sections"] if x["title"] == "Health checks of the day")["rows"]
    assert rows == [["2026-11-23T09:00:00Z", "critical", 1, "P0"]]
    assert report["status"] == "critical" and report["alerts"] == [alert]
    assert "P1 ApiErrorRateHigh" in report["summary"]
