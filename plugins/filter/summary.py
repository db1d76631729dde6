# Copyright: opsbook contributors
# Apache License 2.0 (see LICENSE in the repository root)
"""Filters of the evening summary: the day's backups, alerts, health checks and figures as one
report."""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any


def _iso(epoch: float | None) -> str:
    return datetime.fromtimestamp(epoch, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if epoch else ""


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
                [
                    target,
                    backup["tier"],
                    backup["id"],
                    round((backup.get("size_bytes") or 0) / 1048576, 1),
                    verification.get("result") or "not verified",
                    _iso(backup.get("completed_epoch")),
                ]
            )
        for backup in verified:
            if backup in todays:
                continue
            verification = backup["verification"]
            rows.append(
                [
                    target,
                    backup["tier"],
                    backup["id"],
                    round((backup.get("size_bytes") or 0) / 1048576, 1),
                    f"verified today: {verification.get('result')}",
                    _iso(verification.get("verified_epoch")),
                ]
            )
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
    sections: list[dict[str, Any]] = []
    lines: list[str] = []

    backups = inputs.get("backups")
    if backups is None:
        sections.append(
            {"title": "Backups of the day", "text": "No backup root (opsbook_backup_dir) in the inventory."}
        )
        stale: list[str] = []
    else:
        rows, stale = _backup_rows(backups, since)
        sections.append(
            {
                "title": "Backups of the day",
                "columns": ["target", "tier", "id", "MiB", "verification", "at"],
                "rows": rows,
            }
        )
        lines.append(
            f"Backups: {len([r for r in rows if r[4] != 'INCOMPLETE' and not str(r[4]).startswith('verified today')])}"
            f" complete in the last {window} h" + (f"; none for {', '.join(stale)}" if stale else "")
        )

    fired = inputs.get("alerts_fired")
    if fired is None:
        sections.append({"title": "Alerts of the day", "text": "No Prometheus in the inventory."})
    elif fired.get("status") != 200:
        sections.append({"title": "Alerts of the day", "text": f"Prometheus did not answer: {fired.get('msg', '')}"})
    else:
        series = ((fired.get("json") or {}).get("data") or {}).get("result") or []
        rows = sorted(
            [
                s["metric"].get("alertname"),
                s["metric"].get("severity"),
                ", ".join(
                    f"{k}={v}"
                    for k, v in sorted(s["metric"].items())
                    if k not in ("__name__", "alertname", "alertstate", "severity")
                ),
            ]
            for s in series
        )
        sections.append({"title": "Alerts of the day", "columns": ["alert", "severity", "labels"], "rows": rows})
        lines.append(f"Alerts that fired in the last {window} h (Prometheus): {len(rows)}")

    checks = []
    for result in inputs.get("health_checks") or []:
        report = json.loads(base64.b64decode(result["content"]))
        checks.append(report)
    sections.append(
        {
            "title": "Health checks of the day",
            "columns": ["at", "status", "alerts", "worst"],
            "rows": [
                [
                    c.get("generated_at"),
                    c.get("status"),
                    len(c.get("alerts") or []),
                    min((a["severity"] for a in c.get("alerts") or []), default=""),
                ]
                for c in checks
            ],
        }
    )
    lines.append(
        f"Health checks: {len(checks)}"
        + (f", the last {checks[-1]['status'].upper()} at {checks[-1]['generated_at']}" if checks else "")
    )

    figures = inputs.get("figures")
    if figures is not None:
        rows = []
        for result in figures:
            value = query_value(result)
            rows.append([result["item"]["name"], "n/a" if value is None else value, result["item"].get("unit", "")])
        sections.append(
            {"title": f"Figures of the last {window} h", "columns": ["figure", "value", "unit"], "rows": rows}
        )

    alerts = list(evaluation.get("alerts") or [])
    status = evaluation.get("status") or "unknown"
    if stale and status == "ok":
        status = "warning"
    lines.insert(0, f"Daily summary {status.upper()}: {len(alerts)} alert(s) on the day's figures")
    lines += [f"{a['severity']} {a['name']}: {a['message']}" for a in alerts]
    return {"status": status, "summary": "\n".join(lines), "alerts": alerts, "sections": sections}


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"summary_observations": summary_observations, "daily_summary": daily_summary}
