# Copyright: opsbook contributors
# Apache License 2.0 (see LICENSE in the repository root)
"""The morning health check as plain functions over data: which host checks which service, the
service records and alert-catalog observations from the checks' results, the checks that could
not run, and the report (health_report, one function per section). plugins/filter/health.py
exposes them as filters (opsbook.runbooks.<name>)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from ansible_collections.opsbook.runbooks.plugins.module_utils import check_outcome, report
from ansible_collections.opsbook.runbooks.plugins.module_utils.check_outcome import service_record


class HealthError(ValueError):
    """Input the health check cannot judge; the message says what (plugins/filter/health.py turns
    it into the filter's error)."""


# Which catalog metric reports a service as down, by the service's criticality.
SERVICE_UP_METRIC = {
    "critical": "service_up",
    "high": "high_service_up",
    "medium": "minor_service_up",
    "low": "minor_service_up",
}
# Which inventory group runs a service's check when the service names none, by check type.
DEFAULT_GROUP = {
    "http": "app",
    "tcp": "app",
    "container": "app",
    "mongodb": "mongodb",
    "pg_isready": "postgres",
    "redis_ping": "redis",
}


def service_group(service: Mapping[str, Any]) -> str:
    """The inventory group whose first host checks the service."""
    return str(service.get("group") or DEFAULT_GROUP.get(service["health_check"]["type"], "app"))


def services_checked_here(
    services: Iterable[Mapping[str, Any]], inventory_hostname: str, groups: Mapping[str, list[str]], check_type: str
) -> list[dict[str, Any]]:
    """The services of one check type that this host checks: it is the first host of their group."""
    mine = []
    for service in services:
        if service["health_check"]["type"] != check_type:
            continue
        members = groups.get(service_group(service)) or []
        if members and members[0] == inventory_hostname:
            mine.append(dict(service))
    return mine


# Which name in health_check_checks turns on each health check type ("container" services are
# read whenever containers are).
CHECK_OF_TYPE = {
    "http": "http",
    "tcp": "tcp",
    "mongodb": "mongodb",
    "pg_isready": "postgres",
    "redis_ping": "redis",
    "container": "containers",
}


def asked_checks(
    services: Iterable[Mapping[str, Any]], groups: Mapping[str, list[str]], checks: Iterable[str]
) -> list[dict[str, Any]]:
    """Every service check the run was asked to make, with the host that was to make it: the
    first host of the service's group, for the check types health_check_checks turns on."""
    checks = set(checks)
    asked = []
    for service in services:
        kind = service["health_check"]["type"]
        members = groups.get(service_group(service)) or []
        if members and (CHECK_OF_TYPE.get(kind) in checks or (kind == "container" and "logs" in checks)):
            asked.append({"service": dict(service), "host": members[0]})
    return asked


def _samples(value: Any, host: str) -> list[dict[str, Any]]:
    if value is None:
        return []
    if isinstance(value, list):
        # A sample's other keys (a `display` in words) go with it.
        return [{**s, "labels": {"host": host, **(s.get("labels") or {})}} for s in value]
    return [{"labels": {"host": host}, "value": value}]


def merge_observations(results: Mapping[str, Mapping[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """{host: {observations: {metric: value | [samples]}}} → {metric: [samples labelled with host]}.
    A null value is left out, so a figure a server does not report raises no alert."""
    merged: dict[str, list[dict[str, Any]]] = {}
    for host in sorted(results):
        for metric, value in (results[host].get("observations") or {}).items():
            samples = [s for s in _samples(value, host) if s["value"] is not None]
            if samples:
                merged.setdefault(metric, []).extend(samples)
    return merged


def service_observations(services: Iterable[Mapping[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Service check results ({name, up, criticality, host}) as the catalog's service-up metrics."""
    merged: dict[str, list[dict[str, Any]]] = {}
    for service in services:
        if service.get("up") is None:
            continue
        metric = SERVICE_UP_METRIC[service.get("criticality") or "critical"]
        labels = {"service": service["name"], "criticality": service.get("criticality") or "critical"}
        if service.get("host"):
            labels["host"] = service["host"]
        merged.setdefault(metric, []).append({"labels": labels, "value": int(bool(service["up"]))})
    return merged


def probe_targets(services: Iterable[Mapping[str, Any]], ca_path: str | None = None, host: str = "127.0.0.1") -> list:
    """service_probe targets for http and tcp services."""
    targets = []
    for service in services:
        check = service["health_check"]
        if check["type"] == "http":
            target = {"name": service["name"], "type": "http", "url": check["url"]}
            target["expect_status"] = check.get("expect_status") or [200]
            if check["url"].startswith("https:") and (check.get("ca_path") or ca_path):
                target["ca_path"] = check.get("ca_path") or ca_path
            if check.get("address"):
                target["address"] = check["address"]
        else:
            target = {
                "name": service["name"],
                "type": "tcp",
                "host": check.get("host") or host,
                "port": service["port"],
            }
        targets.append(target)
    return targets


def probe_services(
    results: Iterable[Mapping[str, Any]], services: Iterable[Mapping[str, Any]], host: str, target_ms: float = 200
) -> list[dict[str, Any]]:
    """service_probe results as service records; latency above the target is noted, not alerted
    (the catalog's thresholds decide alerts)."""
    by_name = {s["name"]: s for s in services}
    records = []
    for result in results:
        service = by_name[result["name"]]
        if result["up"]:
            detail = f"HTTP {result['status_code']}" if result.get("status_code") else "port open"
            if result["latency_ms"] is not None and result["latency_ms"] > target_ms:
                detail += f", above the {target_ms:g} ms target"
        else:
            detail = result.get("error") or "down"
        records.append(service_record(service, host, bool(result["up"]), detail, result.get("latency_ms")))
    return records


def _pg_record(result: Mapping[str, Any]) -> tuple[bool, str]:
    if result.get("is_available"):
        version = (result.get("server_version") or {}).get("full") or ""
        return True, f"PostgreSQL {version} accepting connections"
    return False, result.get("conn_err_msg") or result.get("msg") or "not accepting connections"


def _redis_record(result: Mapping[str, Any]) -> tuple[bool, str]:
    if result.get("failed") or "info" not in result:
        return False, result.get("msg") or "no answer"
    info = result["info"]
    return True, f"Redis {info.get('redis_version', '')}, {info.get('used_memory_human', '?')} used".strip()


def _mongodb_record(result: Mapping[str, Any]) -> tuple[bool, str]:
    up = (result.get("observations") or {}).get("database_up")
    if result.get("failed") or not up:
        return False, result.get("msg") or "; ".join(a["message"] for a in result.get("alerts") or []) or "no answer"
    version = (result.get("server") or {}).get("version") or ""
    return True, f"MongoDB API {version}, status {result.get('status', 'unknown')}".strip()


# Lookups (keyspace hits + misses since Redis started) below which no hit rate is judged.
REDIS_MIN_LOOKUPS = 1000

RECORDERS = {"mongodb": _mongodb_record, "postgres": _pg_record, "redis": _redis_record}


def check_records(results: Iterable[Mapping[str, Any]], kind: str, host: str) -> list[dict[str, Any]]:
    """Service records from a looped check's results (each carries its service as `item`). A
    check that could not run (check_outcome.broken_reason) is neither up nor down."""
    records = []
    for result in results:
        reason = check_outcome.broken_reason(result)
        if reason:
            records.append(check_outcome.broken_record(result["item"], host, reason))
            continue
        up, detail = RECORDERS[kind](result)
        records.append(service_record(result["item"], host, up, detail))
    return records


def _pct(part: float, whole: float) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


def check_observations(
    results: Iterable[Mapping[str, Any]], kind: str = "mongodb", extra: Iterable[Mapping[str, Any]] | None = None
) -> dict[str, Any]:
    """Alert-catalog observations from the database checks, labelled by service."""
    obs: dict[str, list[dict[str, Any]]] = {}

    def add(metric: str, service: str, value: Any, labels: Mapping[str, Any] | None = None) -> None:
        if value is not None:
            obs.setdefault(metric, []).append({"labels": {"service": service, **(labels or {})}, "value": value})

    for result in results:
        if check_outcome.broken_reason(result):  # the check did not run: nothing is known
            continue
        name = result["item"]["name"]
        if kind == "mongodb":
            for metric, value in (result.get("observations") or {}).items():
                samples = value if isinstance(value, list) else [{"labels": {}, "value": value}]
                for sample in samples:
                    add(metric, name, sample.get("value"), sample.get("labels"))
        elif kind == "postgres":
            add("database_up", name, int(bool(result.get("is_available"))))
        elif kind == "redis":
            info = result.get("info") or {}
            maxmemory = int(info.get("maxmemory") or 0)
            hits, misses = int(info.get("keyspace_hits") or 0), int(info.get("keyspace_misses") or 0)
            add("redis_memory_percent", name, _pct(int(info.get("used_memory") or 0), maxmemory) if info else None)
            # A hit rate over a handful of lookups says nothing about the cache.
            if hits + misses >= REDIS_MIN_LOOKUPS:
                add("redis_hit_rate_percent", name, _pct(hits, hits + misses))
    for result in extra or []:
        if check_outcome.broken_reason(result):
            continue
        rows = result.get("query_result") or []
        if rows:
            add("db_pool_utilisation_percent", result["item"]["item"]["name"], rows[0].get("used_percent"))
    return obs


def check_figures(results: Iterable[Mapping[str, Any]], kind: str = "mongodb") -> dict[str, Any]:
    """The raw figures each database check returned, by service, for the report's JSON."""
    figures: dict[str, Any] = {}
    for result in results:
        if kind == "postgres":
            figures[result["item"]["item"]["name"]] = (result.get("query_result") or [{}])[0]
        elif kind == "redis":
            info = result.get("info") or {}
            keys = (
                "redis_version",
                "used_memory",
                "maxmemory",
                "keyspace_hits",
                "keyspace_misses",
                "evicted_keys",
                "connected_clients",
                "uptime_in_seconds",
            )
            figures[result["item"]["name"]] = {k: info.get(k) for k in keys}
        else:
            skip = {"item", "ansible_loop_var", "invocation", "changed", "failed", "failed_when_result", "observations"}
            figures[result["item"]["name"]] = {k: v for k, v in result.items() if k not in skip}
    return figures


def container_records(
    status: Mapping[str, Mapping[str, Any]], services: Iterable[Mapping[str, Any]], host: str
) -> list[dict[str, Any]]:
    """Service records for services whose health check is their container (or Deployment)
    state, from service_control's status: up when running and healthy (or without health check)."""
    records = []
    for service in services:
        state = status.get(service["name"])
        if state is None:
            records.append(service_record(service, host, False, "not found on the platform"))
            continue
        up = state.get("state") == "running" and bool(state.get("healthy"))
        detail = (
            f"{state.get('state')}, {state.get('health')}, {state.get('ready_replicas')}/{state.get('replicas')} ready"
        )
        records.append(service_record(service, host, up, detail))
    return records


def log_errors(status: Mapping[str, Mapping[str, Any]], regex: str, samples: int = 5) -> dict[str, dict[str, Any]]:
    """Per service: how many log lines match the error pattern, and the last few of them."""
    pattern = re.compile(regex)
    counts: dict[str, dict[str, Any]] = {}
    for name, service in status.items():
        lines = service.get("logs")
        if lines is None:
            counts[name] = {"errors": None, "lines": None, "last": [], "note": service.get("logs_note", "no logs")}
            continue
        matching = [line for line in lines if pattern.search(line)]
        counts[name] = {"errors": len(matching), "lines": len(lines), "last": matching[-samples:] if samples else []}
    return counts


def combine_observations(*parts: Mapping[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    combined: dict[str, list[dict[str, Any]]] = {}
    for part in parts:
        for metric, samples in part.items():
            combined.setdefault(metric, []).extend(samples)
    return combined


# An age for a target that has no backup at all: far past any threshold, and shown as "none".
NO_BACKUP_HOURS = 1_000_000.0


def backup_targets_here(targets: Mapping[str, str], groups: Mapping[str, list[str]], host: str) -> list[str]:
    """The backup targets whose group this host is the first host of."""
    return sorted(target for target, group in targets.items() if (groups.get(group) or [])[:1] == [host])


def backup_freshness(
    info: Mapping[str, Any], targets: Iterable[str], now: float, mode: str = "figures"
) -> dict[str, Any]:
    """From backup_info's result: per target the newest complete and verified backup and their
    ages in hours (figures), or the catalog's backup_age_hours / backup_verify_age_hours samples
    (observations). A target without any backup gets NO_BACKUP_HOURS."""
    known = info.get("targets") or {}
    figures: dict[str, Any] = {}
    for target in targets:
        entry = known.get(target) or {}
        done, verified = entry.get("latest_completed_epoch"), entry.get("latest_verified_epoch")
        figures[target] = {
            "count": entry.get("count", 0),
            "latest": entry.get("latest"),
            "age_hours": round((now - done) / 3600, 2) if done else None,
            "latest_verified": entry.get("latest_verified"),
            "verified_age_hours": round((now - verified) / 3600, 2) if verified else None,
        }
    if mode == "figures":
        return figures
    return {
        "backup_age_hours": [_age_sample(t, f["age_hours"], NO_BACKUP) for t, f in figures.items()],
        "backup_verify_age_hours": [
            _age_sample(t, f["verified_age_hours"], NO_BACKUP if f["age_hours"] is None else NOT_VERIFIED)
            for t, f in figures.items()
        ],
    }


# How a missing backup or verification reads in every report and alert message.
NO_BACKUP = "no backup yet"
NOT_VERIFIED = "not verified yet"


def _age_sample(target: str, age: float | None, missing: str) -> dict[str, Any]:
    """One age sample; a missing one stands as NO_BACKUP_HOURS (past every threshold), in words."""
    if age is not None:
        return {"labels": {"target": target}, "value": age}
    return {"labels": {"target": target}, "value": NO_BACKUP_HOURS, "display": missing}


# What the main entry point registers on each host, by the key of the host's result.
RESULT_VARS = {
    "host": "__health_check_host",
    "broken_phases": "__health_check_broken_phases",
    "services": "__health_check_services",
    "service_observations": "__health_check_service_observations",
    "figures": "__health_check_figures",
    "containers": "__health_check_containers",
    "log_errors": "__health_check_log_errors",
    "notes": "__health_check_notes",
    "backups": "__health_check_backup_freshness",
}


def host_results(hostvars: Mapping[str, Any], hosts: Iterable[str], key: str) -> dict[str, Any]:
    """{host: hostvars[host][key]} for the hosts that have it (the others did not answer)."""
    return {host: hostvars[host][key] for host in hosts if key in hostvars[host]}


def health_results(hostvars: Mapping[str, Any], hosts: Iterable[str]) -> dict[str, Any]:
    """Each host's health-check result, from what the main entry point registered on it: host
    figures, services, observations and the rest. A host that could not be reached, or that ran
    nothing (not in the play), has no result."""
    results = {}
    for host in hosts:
        facts = hostvars[host]
        raw = {key: facts[var] for key, var in RESULT_VARS.items() if var in facts}
        figures = raw.get("host") or {}
        if not raw or figures.get("unreachable"):
            continue
        if "cpu" not in figures:  # the host check did not run (skipped)
            figures = {}
        results[host] = {
            "host": figures,
            "services": raw.get("services") or [],
            "observations": {**(figures.get("observations") or {}), **(raw.get("service_observations") or {})},
            "figures": raw.get("figures") or {},
            "containers": raw.get("containers") or {},
            "log_errors": raw.get("log_errors") or {},
            "notes": raw.get("notes") or [],
            "backups": raw.get("backups") or {},
            "broken_phases": raw.get("broken_phases") or [],
        }
    return results


def checked_results(
    results: Mapping[str, Mapping[str, Any]],
    services: Iterable[Mapping[str, Any]],
    groups: Mapping[str, list[str]],
    checks: Iterable[str],
    hosts: Iterable[str],
) -> dict[str, Any]:
    """The hosts' results with every check that was asked for and did not run added as a
    "could not check" row to its checker host (an unreachable host gets a result of its own
    holding only those rows), and a host whose figures were asked for but are missing noted."""
    checks = list(checks)
    merged = {host: dict(result) for host, result in results.items()}
    records = [record for result in merged.values() for record in result.get("services") or []]
    notes = {}
    for host in hosts:
        if host in merged:
            notes[host] = list(merged[host].get("broken_phases") or [])
        else:
            notes[host] = [f"the checker host {host} was unreachable or ran nothing"]
    missing = check_outcome.missing_checks(asked_checks(services, groups, checks), records, notes)
    for row in missing:
        entry = merged.setdefault(row["host"], {"host": {}, "services": [], "observations": {}, "unreached": True})
        entry["services"] = [*entry.get("services", []), row]
    phases = check_outcome.phase_checks(notes)
    for host, result in merged.items():
        broken = check_outcome.broken_checks(result.get("services") or [])
        broken += [p for p in phases if p["host"] == host]
        figures_missing = "host" in checks and not result.get("unreached") and not result.get("host")
        if figures_missing and not any(p["check"] == "host figures" for p in broken):
            broken.append({"check": "host figures", "service": "", "host": host, "reason": "the figures were not read"})
        result["broken"] = broken
    return merged


def broken_observations(results: Mapping[str, Mapping[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """CheckBroken's samples: one per check of checked_results() that could not run."""
    return check_outcome.observations([b for host in sorted(results) for b in results[host].get("broken") or []])


def result_services(results: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    return [service for host in sorted(results) for service in results[host].get("services") or []]


def host_observations(hosts: Iterable[str], results: Mapping[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """host_up per host of the inventory: 0 for a host that returned no result (unreachable)."""
    return {
        "host_up": [
            {"labels": {"host": h}, "value": int(h in results and not results[h].get("unreached"))} for h in hosts
        ]
    }


def health_report(
    results: Mapping[str, Mapping[str, Any]],
    evaluation: Mapping[str, Any],
    am_alerts: list[Mapping[str, Any]] | None,
    hosts: Iterable[str],
    hosts_checked: bool = True,
) -> dict[str, Any]:
    """The report role's report_data for the morning check. With hosts_checked false (the host
    check did not run), a host without a result is "not checked" rather than unreachable."""
    hosts = list(hosts)
    services = sorted(result_services(results), key=lambda s: (s["status"] != "critical", s["name"]))
    alerts = list(evaluation.get("alerts") or [])
    answered = {h for h, r in results.items() if not r.get("unreached")}
    unreachable = [h for h in hosts if h not in answered] if hosts_checked else []
    broken = [b for host in sorted(results) for b in results[host].get("broken") or []]
    status = report.evaluated_status(evaluation)
    lines = _summary_lines(status, evaluation, alerts, hosts, unreachable, services, broken)
    sections = [
        *([_broken_section(broken)] if broken else []),
        _host_section(results, hosts, unreachable),
        *_container_sections(results),
        *_backup_sections(results),
        _alertmanager_section(am_alerts),
        *_notes_sections(results, evaluation),
    ]
    return report.build(
        status,
        lines,
        alerts,
        sections,
        services=services,
        broken_checks=broken,
        figures={host: {k: v for k, v in r.items() if k != "services"} for host, r in results.items()},
    )


def _summary_lines(
    status: str,
    evaluation: Mapping[str, Any],
    alerts: list[Mapping[str, Any]],
    hosts: list[str],
    unreachable: list[str],
    services: list[Mapping[str, Any]],
    broken: list[Mapping[str, Any]],
) -> list[str]:
    """The health report's summary: the status, who answered, the checks that could not run and
    the first alerts."""
    up = [s for s in services if s["up"]]
    worst = evaluation.get("worst_severity")
    lines = [
        f"Health check {status.upper()}: {len(alerts)} alert(s)" + (f", worst {worst}" if worst else ""),
        f"{len(hosts) - len(unreachable)}/{len(hosts)} hosts answered"
        + (f" (unreachable: {', '.join(unreachable)})" if unreachable else "")
        + f"; {len(up)}/{len(services)} services up",
    ]
    if broken:
        lines.append(f"{len(broken)} check(s) could not run; what they check is neither up nor down, but unknown:")
        lines += [f"  could not check {b['service'] or b['check']} on {b['host']}: {b['reason']}" for b in broken[:10]]
    for alert in alerts[:10]:
        where = ", ".join(f"{k}={v}" for k, v in sorted((alert.get("labels") or {}).items()))
        lines.append(
            f"{alert['severity']} {alert['name']}" + (f" ({where})" if where else "") + f": {alert['message']}"
        )
    if len(alerts) > 10:
        lines.append(f"… and {len(alerts) - 10} more in the report")
    return lines


def _broken_section(broken: list[Mapping[str, Any]]) -> dict[str, Any]:
    return report.table(
        "Checks that could not run",
        ["check", "service", "checker host", "reason"],
        [[b["check"], b["service"], b["host"], b["reason"]] for b in broken],
    )


def _host_section(results: Mapping[str, Mapping[str, Any]], hosts: list[str], unreachable: list[str]) -> dict[str, Any]:
    """Per host its figures, or why there are none (unreachable, not checked)."""
    rows = []
    for host in hosts:
        figures = (results.get(host) or {}).get("host") or {}
        if not figures:
            rows.append([host, "unreachable" if host in unreachable else "not checked", None, None, None, None])
            continue
        disks = ", ".join(
            f"{d['mountpoint']} {report.shown(d['used_percent'], '%')}" for d in figures.get("disks") or []
        )
        rows.append(
            [
                host,
                "ok",
                figures["cpu"]["used_percent"],
                figures["memory"]["used_percent"],
                disks,
                figures["load"]["per_core_1m"],
            ]
        )
    return report.table("Hosts", ["host", "state", "CPU %", "memory %", "disks (used)", "load per core"], rows)


def _container_sections(results: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The containers' states and the errors in their logs, each table only when it has rows."""
    container_rows, log_rows = [], []
    for host in sorted(results):
        for name, state in sorted((results[host].get("containers") or {}).items()):
            image = state.get("image")
            container_rows.append(
                [
                    name,
                    state.get("state"),
                    state.get("health"),
                    f"{state.get('ready_replicas')}/{state.get('replicas')}",
                    image if isinstance(image, str) else ", ".join(image or []),
                ]
            )
        for name, counted in sorted((results[host].get("log_errors") or {}).items()):
            last = (counted.get("last") or [""])[-1]
            log_rows.append([name, counted.get("errors"), counted.get("lines"), counted.get("note") or last])
    sections = []
    if container_rows:
        sections.append(report.table("Containers", ["service", "state", "health", "ready", "image"], container_rows))
    if log_rows:
        columns = ["service", "error lines", "lines read", "last error"]
        sections.append(report.table("Errors in the logs", columns, log_rows))
    return sections


def _backup_sections(results: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The backups' freshness per target, when any host read it."""
    rows = [
        [
            target,
            fresh["count"],
            fresh["latest"] or NO_BACKUP,
            report.shown(fresh["age_hours"], " h"),
            fresh["latest_verified"] or NOT_VERIFIED,
            report.shown(fresh["verified_age_hours"], " h"),
        ]
        for host in sorted(results)
        for target, fresh in sorted((results[host].get("backups") or {}).items())
    ]
    columns = ["target", "complete backups", "newest", "age", "newest verified", "age"]
    return [report.table("Backups", columns, rows)] if rows else []


def _alertmanager_section(am_alerts: list[Mapping[str, Any]] | None) -> dict[str, Any]:
    """The alerts active in Alertmanager, or that it was not asked or did not answer."""
    title = "Active alerts in Alertmanager"
    if am_alerts is None:
        return report.text(title, "Alertmanager was not asked or did not answer.")
    rows = [
        [
            a.get("alertname"),
            a.get("severity"),
            a.get("state"),
            a.get("starts_at"),
            (a.get("annotations") or {}).get("summary") or (a.get("annotations") or {}).get("message"),
        ]
        for a in am_alerts
    ]
    return report.table(title, ["alert", "severity", "state", "since", "summary"], rows)


def _notes_sections(results: Mapping[str, Mapping[str, Any]], evaluation: Mapping[str, Any]) -> list[dict[str, Any]]:
    """What the hosts, the database checks and the evaluation noted, when they noted anything."""
    notes = [f"{host}: {note}" for host in sorted(results) for note in (results[host].get("notes") or [])]
    for host in sorted(results):
        for kind, figures in (results[host].get("figures") or {}).items():
            for service, values in figures.items():
                notes += [f"{service} ({kind}): {note}" for note in (values or {}).get("notes") or []]
    notes += list(evaluation.get("notes") or [])
    return [report.text("Notes", "\n".join(f"- {note}" for note in notes))] if notes else []
