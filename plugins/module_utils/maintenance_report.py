# Copyright: opsbook contributors
# Apache License 2.0 (see LICENSE in the repository root)
"""The weekly and monthly maintenance report as plain functions over data: maintenance_report
puts together one section per step (packages, clean-up, MongoDB, PostgreSQL, Redis, certificates,
capacity, security) from what each step recorded, in the shape of module_utils/report.py.
plugins/filter/maintenance.py exposes it as opsbook.runbooks.maintenance_report."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ansible_collections.opsbook.runbooks.plugins.module_utils import report
from ansible_collections.opsbook.runbooks.plugins.module_utils import security as s

Result = Mapping[str, Any]
# The figures of a MongoDB retention run, in the order of the report's columns.
RETENTION_COLUMNS = ("older_than", "matched", "deleted", "batches", "complete")


def maintenance_report(data: Mapping[str, Any], kind: str) -> dict[str, Any]:
    """report_data for the weekly or monthly report from what each step recorded: data has guard,
    and per step a {host: result} map (cleanup, mongodb, postgres, redis, packages, security) or one
    result (certificates, capacity), and notes (steps that did not run, and why). Critical or
    warning security findings raise the status as alerts do."""
    guard = data.get("guard") or {}
    findings = _security_findings(data.get("security"))
    sections = [
        report.text("Maintenance window", guard.get("message", "not judged")),
        *_package_sections(data.get("packages") or {}),
        *_cleanup_sections(data.get("cleanup") or {}),
        *_per_host(_mongodb_sections, data.get("mongodb")),
        *_per_host(_postgres_sections, data.get("postgres")),
        *_per_host(_redis_sections, data.get("redis")),
        *_certificate_sections(data.get("certificates")),
        *_capacity_sections(data.get("capacity")),
        *([_security_section(findings)] if data.get("security") is not None else []),
        *[report.text("Not run", note) for note in data.get("notes") or []],
    ]
    redis = data.get("redis") or {}
    alerts = [a for host in sorted(redis) for a in redis[host].get("alerts") or []]
    alerts += (data.get("certificates") or {}).get("alerts") or []
    worst = s.worst(findings)
    status = report.status_of([*alerts, *([{"level": worst}] if worst != "ok" else [])])
    return report.build(status, _summary_lines(data, kind, findings, alerts), alerts, sections, figures=dict(data))


def _summary_lines(
    data: Mapping[str, Any], kind: str, findings: list[dict[str, Any]], alerts: list[Mapping[str, Any]]
) -> list[str]:
    """The report's summary: the window's verdict, what the clean-up did, the security checks'
    counts and the alerts' names."""
    lines = [f"{kind.capitalize()} maintenance: {(data.get('guard') or {}).get('message', '')}"]
    cleanup = data.get("cleanup") or {}
    if cleanup:
        compressed = sum(len((r.get("logs") or {}).get("compressed") or []) for r in cleanup.values())
        images = sum(len((r.get("docker") or {}).get("images") or []) for r in cleanup.values())
        lines.append(f"Logs compressed: {compressed}; dangling images removed: {images}.")
    if data.get("security") is not None:
        counts = {level: sum(f["status"] == level for f in findings) for level in ("critical", "warning", "ok")}
        lines.append(
            f"Security checks: {counts['critical']} critical, {counts['warning']} warning, {counts['ok']} ok"
            + "".join(f"; {f['check']} {f['target']}" for f in findings if f["status"] == "critical")
            + "."
        )
    if alerts:
        lines.append("Alerts: " + ", ".join(sorted({a["name"] for a in alerts})) + ".")
    return lines


def _mib(value: Any) -> str:
    """Bytes as MiB in a cell; an empty cell when the figure is missing (as the maintenance
    reports have always shown it)."""
    return "" if value is None else f"{value / 1048576:.1f} MiB"


def _per_host(
    sections_of: Callable[[str, Result], list[dict[str, Any]]], results: Mapping[str, Result] | None
) -> list[dict[str, Any]]:
    """The sections of one step for each host, in the hosts' order."""
    return [section for host, result in sorted((results or {}).items()) for section in sections_of(host, result)]


def _package_sections(packages: Mapping[str, Result]) -> list[dict[str, Any]]:
    if not packages:
        return []
    rows = [
        [
            h,
            "upgraded" if r.get("upgraded") else "skipped",
            r.get("skipped") or ("changed" if r.get("changed") else "up to date"),
        ]
        for h, r in sorted(packages.items())
    ]
    return [report.table_or_text("Package updates", ["host", "result", "detail"], rows, "")]


def _cleanup_sections(cleanup: Mapping[str, Result]) -> list[dict[str, Any]]:
    if not cleanup:
        return []
    rows = []
    for host, result in sorted(cleanup.items()):
        logs = result.get("logs") or {}
        docker = result.get("docker") or {}
        rows.append(
            [
                host,
                len(logs.get("compressed") or []),
                logs.get("kept", ""),
                len(docker.get("images") or []),
                len(docker.get("containers") or []),
                _mib(int(docker.get("space_reclaimed_bytes") or 0)) if docker else "",
            ]
        )
    columns = ["host", "logs compressed", "newer logs kept", "dangling images", "stopped containers", "space reclaimed"]
    return [report.table_or_text("Logs and Docker clean-up", columns, rows, "")]


def _mongodb_sections(host: str, result: Result) -> list[dict[str, Any]]:
    """A MongoDB host's unused indexes, sizes and growth, retention and compact."""
    sections = [_mongodb_index_section(host, result)]
    growth = [g for g in result.get("growth") or [] if "." not in g["name"] or g.get("growth_bytes")]
    sections.append(
        report.table_or_text(
            f"MongoDB sizes and growth since {result.get('previous_run') or 'the first run'} ({host})",
            ["database / collection", "size", "previous", "growth", "growth %"],
            [
                [g["name"], _mib(g["bytes"]), _mib(g["previous_bytes"]), _mib(g["growth_bytes"]), g["growth_percent"]]
                for g in growth
            ],
            "No sizes were read.",
        )
    )
    sections.append(
        report.table_or_text(
            f"MongoDB retention ({host})",
            ["collection", "older than", "matched", "deleted", "batches", "complete"],
            [
                [f"{r['database']}.{r['collection']}", *(r[k] for k in RETENTION_COLUMNS)]
                for r in result.get("retention") or []
            ],
            "No collection has a retention configured (opsbook_mongodb_retention).",
        )
    )
    compact = result.get("compact") or {}
    if compact.get("reason"):
        freed = sum(c.get("bytes_freed") or 0 for c in compact.get("collections") or [])
        ran = "ran" if compact.get("ran") else "not run"
        sections.append(report.text(f"MongoDB compact ({host})", f"{ran}: {compact['reason']}; bytes freed: {freed}"))
    return sections


def _mongodb_index_section(host: str, result: Result) -> dict[str, Any]:
    title = f"MongoDB unused indexes ({host})"
    unused = result.get("unused_indexes")
    if unused is None:
        why = "; ".join(result.get("index_notes") or []) or "the indexes step did not run"
        return report.text(title, "Index usage unknown: " + why)
    return report.table_or_text(
        title,
        ["database", "collection", "index", "key", "unused days"],
        [[i.get("database"), i["collection"], i["name"], i.get("key"), i.get("unused_days")] for i in unused],
        "Every index was used in the period.",
    )


def _postgres_sections(host: str, result: Result) -> list[dict[str, Any]]:
    """A PostgreSQL host's vacuum and idle connections, slow queries and bloat estimate."""
    vacuumed = result.get("vacuumed") or {}
    upkeep = (
        f"vacuumdb --analyze ({result.get('vacuum_mode')}): "
        + (
            "; ".join(f"{db}: {', '.join(t['name'] for t in tables)}" for db, tables in vacuumed.items())
            or "nothing needed it"
        )
        + f". Idle connections older than {result.get('idle_seconds')} s: "
        + f"{len(result.get('idle_found') or [])} found, "
        + f"{len(result.get('idle_terminated') or [])} terminated."
    )
    slow = [
        [db, q["query"], q["calls"], q["mean_ms"], q["total_ms"]]
        for db, qs in (result.get("slow_queries") or {}).items()
        for q in qs
    ]
    bloat = [
        [db, t["name"], t["live_rows"], t["dead_rows"], t["dead_percent"], _mib(t["bloat_bytes_estimate"])]
        for db, tables in (result.get("bloat") or {}).items()
        for t in tables
    ]
    return [
        report.text(f"PostgreSQL upkeep ({host})", " ".join([upkeep, *(result.get("notes") or [])])),
        report.table_or_text(
            f"PostgreSQL slow queries ({host})",
            ["database", "query", "calls", "mean ms", "total ms"],
            slow,
            "No statement above the slow-query threshold in pg_stat_statements.",
        ),
        report.table_or_text(
            f"PostgreSQL table bloat estimate ({host})",
            ["database", "table", "live rows", "dead rows", "dead %", "bloat (estimate)"],
            bloat,
            "No user tables.",
        ),
    ]


def _redis_sections(host: str, result: Result) -> list[dict[str, Any]]:
    f = result.get("figures") or {}
    return [
        report.text(
            f"Redis ({host})",
            f"memory {_mib(f.get('used_memory_bytes'))} of maxmemory "
            f"{_mib(f.get('maxmemory_bytes')) or 'unset'} ({f.get('memory_percent')} %), "
            f"hit rate {f.get('hit_rate_percent')} %, evicted keys {f.get('evicted_keys')}"
            f", policy {f.get('maxmemory_policy')}. " + " ".join(f.get("notes") or []),
        )
    ]


def _certificate_sections(certificates: Result | None) -> list[dict[str, Any]]:
    if not certificates:
        return []
    return [
        report.table_or_text(
            "Certificates",
            ["endpoint", "subject", "expires", "days left", "error"],
            [
                [c["endpoint"], c.get("subject"), c.get("not_after"), c.get("days_left"), c.get("error")]
                for c in certificates.get("certificates") or []
            ],
            "No TLS endpoint is configured.",
        ),
        report.text("Certificate renewal", certificates.get("renewal") or ""),
    ]


def _capacity_sections(capacity: Result | None) -> list[dict[str, Any]]:
    """The capacity table with its projection per threshold, and the plot of used space."""
    if not capacity:
        return []
    keys = [str(int(t)) for t in capacity.get("thresholds") or [80, 90]]
    rows = [
        [
            r["target"],
            r["kind"],
            _mib(r["used_bytes"]),
            _mib(r["size_bytes"]),
            r["used_percent"] if r["used_percent"] is None else round(r["used_percent"], 1),
            r["growth_bytes_per_day"] if r["growth_bytes_per_day"] is None else _mib(r["growth_bytes_per_day"]),
            *[r["days_until"].get(k) for k in keys],
            r["note"] or "",
        ]
        for r in capacity.get("rows") or []
    ]
    columns = ["target", "kind", "used", "size", "used %", "growth per day", *[f"days to {k} %" for k in keys], "note"]
    plot = {
        **report.text("Used space over time", f"History: {capacity.get('history_file')}"),
        "svg": capacity.get("svg", ""),
    }
    return [report.table_or_text("Capacity and projection", columns, rows, "No samples yet."), plot]


def _security_findings(security: Mapping[str, Result | None] | None) -> list[dict[str, Any]]:
    """Every host's security findings, the worst first. A finding may name where it was made
    (the TLS probes: the controller); else it is its host's."""
    findings = [
        {**f, "host": f.get("host") or h}
        for h, r in sorted((security or {}).items())
        for f in (r or {}).get("findings") or []
    ]
    order = {"critical": 0, "warning": 1, "ok": 2}
    findings.sort(key=lambda f: (order.get(f["status"], 3), f["check"], f["target"]))
    return findings


def _security_section(findings: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    return report.table_or_text(
        "Security configuration",
        ["status", "check", "target", "host", "detail"],
        [[f["status"], f["check"], f["target"], f["host"], f["detail"]] for f in findings],
        "No security check ran (see maintenance_security_checks and the inventory's groups).",
    )
