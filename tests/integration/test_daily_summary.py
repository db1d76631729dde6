"""The evening summary against the sandbox: the day's figures come from the sandbox's Prometheus
(which scrapes the API) and are evaluated against the catalog; the day's health checks are listed."""

from __future__ import annotations

import json
import time
import urllib.request
from pathlib import Path

import pytest
from conftest import PORTS, run_playbook


@pytest.fixture
def monitoring_up(require) -> None:
    for service in ("prometheus", "app_api"):
        require(service)


def run_summary(tmp_path: Path, *args: str) -> dict:
    run = run_playbook("playbooks/daily_summary.yml", "-e", f"opsbook_report_dir={tmp_path}", *args)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    return json.loads(sorted(tmp_path.glob("*-daily_summary/report.json"))[-1].read_text())


def prometheus_scraped_the_api(wait: float = 40) -> bool:
    """Whether Prometheus holds the API's request counters, waiting up to `wait` seconds: a test
    that stopped or recreated the API just before leaves them stale until the next scrape (15 s)."""
    url = f"http://127.0.0.1:{PORTS['prometheus']}/api/v1/query?query=http_requests_total"
    deadline = time.monotonic() + wait
    while True:
        with urllib.request.urlopen(url, timeout=5) as reply:
            if json.load(reply)["data"]["result"]:
                return True
        if time.monotonic() > deadline:
            return False
        time.sleep(2)


def test_summary_reads_the_days_figures_and_health_checks(monitoring_up: None, tmp_path: Path) -> None:
    if not prometheus_scraped_the_api():
        pytest.skip("the sandbox's Prometheus has not scraped the API within 40 s (it scrapes every 15 s)")
    # A health-check report of the day, in the directory the summary reads.
    day = tmp_path / "20261123T090000Z-health_check"
    day.mkdir()
    (day / "report.json").write_text(
        json.dumps({"generated_at": "2026-11-23T09:00:00Z", "status": "warning", "alerts": [{"severity": "P2"}]})
    )
    report = run_summary(tmp_path)
    figures = {
        row[0]: row[1] for row in next(s for s in report["sections"] if s["title"].startswith("Figures"))["rows"]
    }
    assert isinstance(figures["Requests"], float) and figures["Requests"] > 0
    # Other tests put the API in read-only mode (503s): the rate is a figure, whatever its value.
    assert isinstance(figures["Error rate (5xx)"], float) and 0 <= figures["Error rate (5xx)"] <= 100
    checks = next(s for s in report["sections"] if s["title"] == "Health checks of the day")["rows"]
    assert ["2026-11-23T09:00:00Z", "warning", 1, "P2"] in checks


def test_the_days_error_rate_is_judged_by_the_catalog(monitoring_up: None, tmp_path: Path) -> None:
    if not prometheus_scraped_the_api():
        pytest.skip("the sandbox's Prometheus has not scraped the API within 40 s (it scrapes every 15 s)")
    # An override that makes any error rate, even 0 %, critical proves the figure reaches alert_check.
    overrides = tmp_path / "overrides.json"
    overrides.write_text(json.dumps({"alerting_overrides": {"ApiErrorRateHigh": {"warning": -2, "critical": -1}}}))
    report = run_summary(tmp_path, "-e", f"@{overrides}")
    assert [(a["name"], a["severity"]) for a in report["alerts"]] == [("ApiErrorRateHigh", "P1")]
    assert report["status"] == "critical"


def test_check_mode_writes_no_report(monitoring_up: None, tmp_path: Path) -> None:
    run = run_playbook("playbooks/daily_summary.yml", "--check", "-e", f"opsbook_report_dir={tmp_path}/r")
    assert run.returncode == 0, run.stdout[-3000:]
    assert not (tmp_path / "r").exists() and "Daily summary" in run.stdout
