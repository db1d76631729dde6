# Copyright: opsbook contributors
# Apache License 2.0 (see LICENSE in the repository root)
"""The one shape of opsbook's reports and the rules every report shares: the status from alerts,
how a time is written, how a missing figure reads, and the sections a report is made of.

A report (the report role's report_data) is {status, summary, alerts, sections, …}: summary is
the text an operator reads first, one line per fact; each section is a table ({title, columns,
rows}) or a text ({title, text}). Plain functions over data, so unit tests call them without
Ansible; module_utils/health.py, daily_summary.py and maintenance_report.py build their reports
with them."""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

# How every report writes a moment: UTC, second precision, a Z for the zone.
TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
# How every report says a figure is missing (not reported, not measured).
MISSING = "n/a"


def utc_iso(moment: float | datetime.datetime | None) -> str | None:
    """A moment (epoch seconds, or an aware datetime) as TIME_FORMAT in UTC; None for none."""
    if moment is None:
        return None
    if not isinstance(moment, datetime.datetime):
        moment = datetime.datetime.fromtimestamp(moment, datetime.UTC)
    return moment.astimezone(datetime.UTC).strftime(TIME_FORMAT)


def figure(value: Any) -> Any:
    """A figure as a report cell: the value itself, or MISSING when there is none."""
    return MISSING if value is None else value


def shown(value: Any, suffix: str = "") -> str:
    """A figure with its unit as a report cell's text, or MISSING when there is none."""
    return MISSING if value is None else f"{value}{suffix}"


def status_of(alerts: Iterable[Mapping[str, Any]]) -> str:
    """critical when any alert is at its critical level, warning when any fires, else ok."""
    levels = {a.get("level") for a in alerts}
    if "critical" in levels:
        return "critical"
    return "warning" if levels else "ok"


def evaluated_status(evaluation: Mapping[str, Any]) -> str:
    """The status the alert catalog's evaluation gave, unknown when it gave none."""
    return evaluation.get("status") or "unknown"


def table(title: str, columns: Sequence[str], rows: list[list[Any]]) -> dict[str, Any]:
    """A section that is a table."""
    return {"title": title, "columns": list(columns), "rows": rows}


def text(title: str, body: str) -> dict[str, Any]:
    """A section that is a text."""
    return {"title": title, "text": body}


def table_or_text(title: str, columns: Sequence[str], rows: list[list[Any]], empty: str) -> dict[str, Any]:
    """A table, or the text `empty` in its place when it has no rows."""
    return table(title, columns, rows) if rows else text(title, empty)


def build(
    status: str,
    lines: Iterable[str],
    alerts: list[Any],
    sections: list[dict[str, Any]],
    **extra: Any,
) -> dict[str, Any]:
    """A report: its status, the summary from its lines, its alerts and sections, and any further
    keys the report carries (services, broken_checks, figures)."""
    return {"status": status, "summary": "\n".join(lines), "alerts": alerts, "sections": sections, **extra}
