# Copyright: opsbook contributors
# Apache License 2.0 (see LICENSE in the repository root)
"""The alert catalog (roles/alerting/files/catalog.yml) as plain functions: validate it, apply an
inventory's overrides, evaluate observations against it and render Prometheus alerting rules.
No Ansible import is needed to call them, so modules, filters and tests share them."""

from __future__ import annotations

import copy
import operator
import re
from collections.abc import Callable, Mapping
from typing import Any

COMPARISONS: dict[str, Callable[[float, float], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
}
LEVELS = ("warning", "critical")
SEVERITY_RE = re.compile(r"^P[0-4]$")
DURATION_RE = re.compile(r"^\d+[smhd]$")
REQUIRED = ("name", "metric", "comparison", "for", "severity")


class CatalogError(ValueError):
    """A malformed catalog; the message names the entry and what is wrong with it."""


def _problems(entry: Mapping[str, Any], metrics: Mapping[str, Any], severities: Mapping[str, Any]) -> list[str]:
    problems = [f"missing {key}" for key in REQUIRED if entry.get(key) in (None, "")]
    if problems:
        return problems
    if entry["metric"] not in metrics:
        problems.append(f"unknown metric {entry['metric']!r} (known: {', '.join(sorted(metrics))})")
    comparison = entry["comparison"]
    if comparison not in COMPARISONS:
        problems.append(f"unknown comparison {comparison!r} (use one of {', '.join(COMPARISONS)})")
    if not DURATION_RE.match(str(entry["for"])):
        problems.append(f"'for' must be a duration such as 5m, not {entry['for']!r}")
    thresholds = {level: entry.get(level) for level in LEVELS if entry.get(level) is not None}
    if not thresholds:
        problems.append("needs a warning or a critical threshold")
    for level, value in thresholds.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            problems.append(f"{level} threshold must be a number, not {value!r}")
    severity = entry["severity"]
    if not isinstance(severity, Mapping):
        problems.append("severity must map each level (warning, critical) to P0-P4")
        return problems
    for level in thresholds:
        sev = severity.get(level)
        if sev is None:
            problems.append(f"no severity for its {level} threshold")
        elif not SEVERITY_RE.match(str(sev)) or sev not in severities:
            problems.append(f"unknown severity {sev!r} for {level} (use P0-P4)")
    unknown_levels = set(severity) - set(LEVELS)
    if unknown_levels:
        problems.append(f"unknown severity level(s) {sorted(unknown_levels)}")
    if len(thresholds) == 2 and comparison in COMPARISONS and not problems:
        warning, critical = thresholds["warning"], thresholds["critical"]
        # The critical threshold must be reached after (or with) the warning one.
        if COMPARISONS[comparison](warning, critical):
            problems.append(f"warning {warning} is worse than critical {critical} for comparison {comparison!r}")
    return problems


def validate(catalog: Mapping[str, Any]) -> dict[str, Any]:
    """Check every entry; raise CatalogError naming each malformed entry. Returns a copy."""
    for section in ("severities", "routing", "metrics", "entries"):
        if section not in catalog:
            raise CatalogError(f"the alert catalog has no {section!r} section")
    metrics, severities = catalog["metrics"], catalog["severities"]
    errors: list[str] = []
    seen: set[str] = set()
    for index, entry in enumerate(catalog["entries"]):
        label = entry.get("name") or f"#{index + 1}"
        if label in seen:
            errors.append(f"entry {label}: duplicate name")
        seen.add(label)
        errors += [f"entry {label}: {problem}" for problem in _problems(entry, metrics, severities)]
    for sev, route in catalog["routing"].items():
        if sev not in severities:
            errors.append(f"routing {sev}: unknown severity")
        elif not route.get("receivers"):
            errors.append(f"routing {sev}: no receivers")
    for sev in severities:
        if sev not in catalog["routing"]:
            errors.append(f"severity {sev}: no routing")
    if errors:
        raise CatalogError("malformed alert catalog:\n  " + "\n  ".join(errors))
    return copy.deepcopy(dict(catalog))


def merge(
    catalog: Mapping[str, Any],
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
    extra_entries: list[Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """Apply an inventory's overrides (by entry name) and extra entries, then validate the result."""
    merged = copy.deepcopy(dict(catalog))
    by_name = {entry["name"]: entry for entry in merged["entries"]}
    for name, changes in (overrides or {}).items():
        if name not in by_name:
            raise CatalogError(f"override {name}: no catalog entry has that name")
        for key, value in changes.items():
            if key == "severity" and isinstance(value, Mapping):
                by_name[name]["severity"] = {**by_name[name]["severity"], **value}
            else:
                by_name[name][key] = value
    merged["entries"] = list(merged["entries"]) + [dict(e) for e in extra_entries or []]
    return validate(merged)


def level_for(entry: Mapping[str, Any], value: float) -> str | None:
    """'critical', 'warning' or None for an observed value."""
    compare = COMPARISONS[entry["comparison"]]
    for level in ("critical", "warning"):
        threshold = entry.get(level)
        if threshold is not None and compare(value, threshold):
            return level
    return None


def evaluate(catalog: Mapping[str, Any], observations: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Alerts for the observations: {metric: number | [{labels: {...}, value: number}, ...]}.
    A metric that is not observed raises no alert; a null value is skipped."""
    alerts: list[dict[str, Any]] = []
    for entry in catalog["entries"]:
        observed = observations.get(entry["metric"])
        if observed is None:
            continue
        samples = observed if isinstance(observed, list) else [{"labels": {}, "value": observed}]
        for sample in samples:
            value = sample.get("value")
            if value is None:
                continue
            level = level_for(entry, float(value))
            if level is None:
                continue
            severity = entry["severity"][level]
            alerts.append(
                {
                    "name": entry["name"],
                    "level": level,
                    "severity": severity,
                    "value": value,
                    "threshold": entry[level],
                    "comparison": entry["comparison"],
                    "labels": dict(sample.get("labels") or {}),
                    "receivers": list(catalog["routing"][severity]["receivers"]),
                    "message": f"{entry['name']}: {entry['metric']} is {value}"
                    f"{catalog['metrics'][entry['metric']].get('unit', '')}, {level} when "
                    f"{entry['comparison']} {entry[level]}",
                }
            )
    return sorted(alerts, key=lambda a: (a["severity"], a["name"]))


def worst_severity(alerts: list[Mapping[str, Any]]) -> str | None:
    """The most urgent severity among the alerts (P0 is the most urgent)."""
    return min((a["severity"] for a in alerts), default=None)


def fires_at_or_above(alerts: list[Mapping[str, Any]], fail_on: str) -> bool:
    """True when an alert at severity fail_on or more urgent fired."""
    worst = worst_severity(alerts)
    return worst is not None and worst <= fail_on


def prometheus_rules(catalog: Mapping[str, Any], group: str = "opsbook") -> dict[str, Any]:
    """Prometheus alerting rules: one rule per entry and level."""
    rules = []
    for entry in catalog["entries"]:
        expr = catalog["metrics"][entry["metric"]]["promql"]
        for level in LEVELS:
            threshold = entry.get(level)
            if threshold is None:
                continue
            severity = entry["severity"][level]
            rules.append(
                {
                    "alert": entry["name"] if level == "critical" else f"{entry['name']}Warning",
                    "expr": f"({expr}) {entry['comparison']} {threshold}",
                    "for": entry["for"],
                    "labels": {"severity": severity, "level": level, "catalog_entry": entry["name"]},
                    "annotations": {
                        "summary": f"{entry['name']} ({level}, {severity})",
                        "description": f"{entry.get('description', '')} Value: {{{{ $value }}}}.",
                        "runbook": entry.get("runbook", ""),
                    },
                }
            )
    return {"groups": [{"name": group, "rules": rules}]}
