# Copyright: opsbook contributors
# Apache License 2.0 (see LICENSE in the repository root)
"""The evening summary as plain functions over data: the day's backups, alerts, health checks and
figures as one report (daily_summary, one function per section). plugins/filter/summary.py
exposes them as filters (opsbook.runbooks.summary_observations, .daily_summary)."""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Iterable, Mapping
from typing import Any

from ansible_collections.opsbook.runbooks.plugins.module_utils import report


class DailySummaryError(ValueError):
    """Input the evening summary cannot read; the message says what (plugins/filter/summary.py
    turns it into the filter's error)."""


def _iso(epoch: float | None) -> str:
    """A backup's time in the table; empty when it has none."""
    return (report.utc_iso(epoch) if epoch else None) or ""


def query_value(result: Mapping[str, Any]) -> float | None:
    """The value of an instant query's first series (uri's registered result), or None when
    Prometheus did not answer, returned no series, or returned NaN (no traffic in the window)."""
    series = ((result.get("json") or {}).get("data") or {}).get("result") or []
    if result.get("status") != 200 or not series:
        return None
    value = float(series[0]["value"][1])
    return None if math.isnan(value) or math.isinf(value) else round(value, 4)


def summary_observations(figure_results: Iterable[Mapping[str, Any]]) -> dict[str, float]:
    """{catalog_metric: value} of the day's figures that name a catalog metric."""
    observations = {}
    for result in figure_results:
        metric = result["item"].get("catalog_metric")
        value = query_value(result)
        if metric and value is not None:
            observations[metric] = value
    return observations


def _backup_row(target: str, backup: Mapping[str, Any], verification: str, epoch: float | None) -> list[Any]:
    return [
        target,
        backup["tier"],
        backup["id"],
        round((backup.get("size_bytes") or 0) / 1048576, 1),
        verification,
        _iso(epoch),
    ]


def _backup_rows(backup_results: Iterable[Mapping[str, Any]], since: float) -> tuple[list[list[Any]], list[str]]:
    rows, stale = [], []
    for result in backup_results:
        target = result["item"]["key"]
        if result.get("failed"):
            rows.append([target, "", "", "", "", f"could not list: {result.get('msg', '')}"])
            continue
        todays = [b for b in result.get("backups") or [] if (b.get("completed_epoch") or 0) >= since]
        verified = [
            b
            for b in result.get("backups") or []
            if ((b.get("verification") or {}).get("verified_epoch") or 0) >= since
        ]
        for backup in todays:
            verification = backup.get("verification") or {}
            rows.append(
                _backup_row(target, backup, verification.get("result") or "not verified", backup.get("completed_epoch"))
            )
        for backup in verified:
            if backup in todays:
                continue
            verification = backup["verification"]
            result_text = f"verified today: {verification.get('result')}"
            rows.append(_backup_row(target, backup, result_text, verification.get("verified_epoch")))
        if not todays:
            stale.append(target)
        for partial in result.get("incomplete") or []:
            rows.append([target, partial.get("tier"), partial.get("id"), "", "INCOMPLETE", partial.get("reason")])
    return rows, stale


def daily_summary(inputs: Mapping[str, Any]) -> dict[str, Any]:
    """The report role's report_data for the evening summary."""
    window = inputs["window_hours"]
    since = inputs["now"] - window * 3600
    evaluation = inputs.get("evaluation") or {}
    lines: list[str] = []
    backups, stale = _backups_section(inputs.get("backups"), since, window, lines)
    sections = [
        backups,
        _alerts_section(inputs.get("alerts_fired"), window, lines),
        _health_checks_section(inputs.get("health_checks") or [], lines),
        *_figures_sections(inputs.get("figures"), window),
    ]
    alerts = list(evaluation.get("alerts") or [])
    status = report.evaluated_status(evaluation)
    if stale and status == "ok":
        status = "warning"
    lines.insert(0, f"Daily summary {status.upper()}: {len(alerts)} alert(s) on the day's figures")
    lines += [f"{a['severity']} {a['name']}: {a['message']}" for a in alerts]
    return report.build(status, lines, alerts, sections)


def _backups_section(
    backups: Iterable[Mapping[str, Any]] | None, since: float, window: float, lines: list[str]
) -> tuple[dict[str, Any], list[str]]:
    """The day's backups and the targets without one; adds the summary's line."""
    title = "Backups of the day"
    if backups is None:
        return report.text(title, "No backup root (opsbook_backup_dir) in the inventory."), []
    rows, stale = _backup_rows(backups, since)
    complete = [r for r in rows if r[4] != "INCOMPLETE" and not str(r[4]).startswith("verified today")]
    lines.append(
        f"Backups: {len(complete)} complete in the last {window} h"
        + (f"; none for {', '.join(stale)}" if stale else "")
    )
    return report.table(title, ["target", "tier", "id", "MiB", "verification", "at"], rows), stale


def _alerts_section(fired: Mapping[str, Any] | None, window: float, lines: list[str]) -> dict[str, Any]:
    """The alerts that fired in the window (Prometheus' ALERTS); adds the summary's line."""
    title = "Alerts of the day"
    if fired is None:
        return report.text(title, "No Prometheus in the inventory.")
    if fired.get("status") != 200:
        return report.text(title, f"Prometheus did not answer: {fired.get('msg', '')}")
    series = ((fired.get("json") or {}).get("data") or {}).get("result") or []
    hidden = ("__name__", "alertname", "alertstate", "severity")
    rows = sorted(
        [
            s["metric"].get("alertname"),
            s["metric"].get("severity"),
            ", ".join(f"{k}={v}" for k, v in sorted(s["metric"].items()) if k not in hidden),
        ]
        for s in series
    )
    lines.append(f"Alerts that fired in the last {window} h (Prometheus): {len(rows)}")
    return report.table(title, ["alert", "severity", "labels"], rows)


def _health_checks_section(results: Iterable[Mapping[str, Any]], lines: list[str]) -> dict[str, Any]:
    """The day's health-check reports (slurped report.json files); adds the summary's line."""
    checks = [json.loads(base64.b64decode(result["content"])) for result in results]
    rows = [
        [
            c.get("generated_at"),
            c.get("status"),
            len(c.get("alerts") or []),
            min((a["severity"] for a in c.get("alerts") or []), default=""),
        ]
        for c in checks
    ]
    lines.append(
        f"Health checks: {len(checks)}"
        + (f", the last {checks[-1]['status'].upper()} at {checks[-1]['generated_at']}" if checks else "")
    )
    return report.table("Health checks of the day", ["at", "status", "alerts", "worst"], rows)


def _figures_sections(figures: Iterable[Mapping[str, Any]] | None, window: float) -> list[dict[str, Any]]:
    """The day's figures from Prometheus, when the inventory has any."""
    if figures is None:
        return []
    rows = [
        [result["item"]["name"], report.figure(query_value(result)), result["item"].get("unit", "")]
        for result in figures
    ]
    return [report.table(f"Figures of the last {window} h", ["figure", "value", "unit"], rows)]
