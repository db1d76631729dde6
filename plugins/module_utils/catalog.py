# Copyright: opsbook contributors
# Apache License 2.0 (see LICENSE in the repository root)
"""The alert catalog (roles/alerting/files/catalog.yml) as plain functions: validate it, apply an
inventory's overrides, evaluate observations against it and render Prometheus alerting rules
(with the escalation rules of its routing). No Ansible import is needed to call them, so modules,
filters and tests share them."""

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
# Alertmanager's durations also take weeks and years.
ROUTE_DURATION_RE = re.compile(r"^\d+(ms|s|m|h|d|w|y)$")
REQUIRED = ("name", "metric", "comparison", "for", "severity")
ROUTE_KEYS = (
    "receivers",
    "escalate_after",
    "escalate_to",
    "group_wait",
    "group_interval",
    "repeat_interval",
    "group_by",
)
ROUTE_TIMINGS = ("group_wait", "group_interval", "repeat_interval")
RECEIVER_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
# The label that marks an escalation alert, and the prefix of the escalation rules' names.
ESCALATION_LABEL = "escalated"
ESCALATION_PREFIX = "Escalate"


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


def _route_problems(route: Any) -> list[str]:
    if not isinstance(route, Mapping):
        return ["must be a mapping with receivers"]
    problems = [f"unknown key {key!r} (known: {', '.join(ROUTE_KEYS)})" for key in route if key not in ROUTE_KEYS]
    for key in ("receivers", "escalate_to"):
        names = route.get(key)
        if names is None:
            continue
        if not isinstance(names, list) or not all(isinstance(n, str) and RECEIVER_RE.match(n) for n in names):
            problems.append(f"{key} must be a list of receiver names (letters, digits, - _ .), not {names!r}")
    if not route.get("receivers"):
        problems.append("no receivers")
    if bool(route.get("escalate_after")) != bool(route.get("escalate_to")):
        problems.append("escalate_after and escalate_to go together")
    if route.get("escalate_after") and not DURATION_RE.match(str(route["escalate_after"])):
        problems.append(f"escalate_after must be a duration such as 5m, not {route['escalate_after']!r}")
    for key in ROUTE_TIMINGS:
        if key in route and not ROUTE_DURATION_RE.match(str(route[key])):
            problems.append(f"{key} must be a duration such as 30s, not {route[key]!r}")
    if "group_by" in route and not (
        isinstance(route["group_by"], list) and all(isinstance(label, str) for label in route["group_by"])
    ):
        problems.append(f"group_by must be a list of label names, not {route['group_by']!r}")
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
        else:
            errors += [f"routing {sev}: {problem}" for problem in _route_problems(route)]
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


def _with_unit(value: Any, unit: str) -> str:
    if unit in ("", "bool"):
        return f"{value}"
    return f"{value}{unit}" if unit == "%" else f"{value} {unit}"


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
    A metric that is not observed raises no alert; a null value is skipped. A sample may carry a
    `display`, what its value means in words ("no backup yet" for a backup age that stands for
    none), which the alert's message gives instead of the number."""
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
                    "alertname": rule_name(entry["name"], level),
                    "level": level,
                    "severity": severity,
                    "value": value,
                    "threshold": entry[level],
                    "comparison": entry["comparison"],
                    "labels": dict(sample.get("labels") or {}),
                    "receivers": list(catalog["routing"][severity]["receivers"]),
                    "runbook": entry.get("runbook", ""),
                    "message": f"{entry['name']}: "
                    + (
                        f"{sample['display']} ({level} when {entry['metric']} {entry['comparison']} {entry[level]})"
                        if sample.get("display")
                        else f"{entry['metric']} is "
                        f"{_with_unit(value, catalog['metrics'][entry['metric']].get('unit', ''))}, {level} when "
                        f"{entry['comparison']} {entry[level]}"
                    ),
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


def rule_name(entry_name: str, level: str) -> str:
    """The alert name of an entry's rule at a level: the entry's name when critical, with
    'Warning' appended when warning. Pushed alerts use the same names, so the two agree."""
    return entry_name if level == "critical" else f"{entry_name}Warning"


def receivers_used(catalog: Mapping[str, Any]) -> list[str]:
    """Every receiver name the routing mentions (receivers and escalate_to), sorted."""
    names: set[str] = set()
    for route in catalog["routing"].values():
        names.update(route.get("receivers") or [])
        names.update(route.get("escalate_to") or [])
    return sorted(names)


def escalation_rules(catalog: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One rule per severity with escalate_after: it fires when an alert of that severity has been
    firing for that long (Prometheus keeps firing alerts in its ALERTS series) and carries the
    label escalated="true", which the Alertmanager routing sends to escalate_to."""
    rules = []
    for sev, route in sorted(catalog["routing"].items()):
        if not route.get("escalate_after"):
            continue
        source = f'ALERTS{{alertstate="firing",severity="{sev}",{ESCALATION_LABEL}!="true"}}'
        rules.append(
            {
                "alert": f"{ESCALATION_PREFIX}{sev}",
                # The escalated alert's name moves to escalated_alert; alertstate is dropped.
                "expr": f'max without (alertname, alertstate) (label_replace({source}, "escalated_alert", "$1", '
                f'"alertname", "(.+)"))',
                "for": route["escalate_after"],
                "labels": {"severity": sev, ESCALATION_LABEL: "true"},
                "annotations": {
                    "summary": f"A {sev} alert is still firing after {route['escalate_after']}",
                    "description": f"Escalated to {', '.join(route['escalate_to'])} (seed 004 alert routing); "
                    "the label escalated_alert names the alert.",
                },
            }
        )
    return rules


def prometheus_rules(catalog: Mapping[str, Any], group: str = "opsbook") -> dict[str, Any]:
    """Prometheus alerting rules: one rule per entry and level, then the escalation rules."""
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
                    "alert": rule_name(entry["name"], level),
                    "expr": f"({expr}) {entry['comparison']} {threshold}",
                    "for": entry["for"],
                    "labels": {"severity": severity, "level": level, "catalog_entry": entry["name"]},
                    "annotations": {
                        "summary": f"{entry['name']} ({level}, {severity})",
                        "description": entry.get("description", ""),
                        "runbook": entry.get("runbook", ""),
                        "value": "{{ $value | humanize }}",
                        "threshold": f"{entry['comparison']} {threshold}",
                    },
                }
            )
    groups = [{"name": group, "rules": rules}]
    escalations = escalation_rules(catalog)
    if escalations:
        groups.append({"name": f"{group}-escalation", "rules": escalations})
    return {"groups": groups}
