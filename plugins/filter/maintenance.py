# Copyright: opsbook contributors
# Apache License 2.0 (see LICENSE in the repository root)
"""Filters of the maintenance roles; the logic lives in module_utils/maintenance.py."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ansible.errors import AnsibleFilterError
from ansible_collections.opsbook.runbooks.plugins.module_utils import maintenance as m
from ansible_collections.opsbook.runbooks.plugins.module_utils import security as s


def maintenance_guard(
    now: Any, window: Mapping[str, Any], freeze: Mapping[str, Any], force: Any = False, ignore_freeze: Any = False
) -> dict[str, Any]:
    """The guard's decision for `now` (see opsbook_maintenance.guard)."""
    return m.guard(now, window, freeze, force=_bool(force), ignore_freeze=_bool(ignore_freeze))


def _bool(value: Any) -> bool:
    return value if isinstance(value, bool) else str(value).strip().lower() in ("1", "true", "yes", "on")


def unused_indexes_for(databases: Mapping[str, Any] | None, now: Any, min_days: float) -> list[dict[str, Any]]:
    """mongodb_health's per-database unused_indexes, flattened with the database name, kept when
    unused for at least min_days."""
    flat = [
        {**index, "database": name}
        for name, figures in (databases or {}).items()
        for index in (figures or {}).get("unused_indexes") or []
    ]
    return m.unused_for(flat, now, min_days)


def mongodb_size_map(sizes: Mapping[str, Any] | None) -> dict[str, Any]:
    """{database: bytes, database.collection: bytes} from mongodb_maintenance's sizes."""
    flat: dict[str, Any] = {}
    for database, figures in (sizes or {}).items():
        flat[database] = figures.get("total_size_bytes") or figures.get("storage_size_bytes")
        for collection, stats in (figures.get("collections") or {}).items():
            flat[f"{database}.{collection}"] = stats.get("size_bytes")
    return flat


def redis_observations(figures: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The catalog metrics redis_memory_percent and redis_hit_rate_percent, one series per instance."""
    out: dict[str, list[dict[str, Any]]] = {"redis_memory_percent": [], "redis_hit_rate_percent": []}
    for item in figures:
        for metric, key in (("redis_memory_percent", "memory_percent"), ("redis_hit_rate_percent", "hit_rate_percent")):
            if item.get(key) is not None:
                out[metric].append({"labels": {"instance": item["instance"]}, "value": item[key]})
    return {k: v for k, v in out.items() if v}


def certificate_rows(results: Iterable[Mapping[str, Any]], now: Any) -> list[dict[str, Any]]:
    """One row per endpoint from community.crypto.get_certificate results (looped over endpoints
    with host and port): subject, issuer, notAfter, days left, or the error."""
    rows = []
    for result in results:
        endpoint = result.get("item") or {}
        name = endpoint.get("name") or f"{endpoint.get('host')}:{endpoint.get('port')}"
        row = {"endpoint": name, "host": endpoint.get("host"), "port": endpoint.get("port")}
        if result.get("failed") or not result.get("not_after"):
            row.update(error=result.get("msg") or "no certificate", days_left=None)
        else:
            subject = result.get("subject") or {}
            row.update(
                subject=subject.get("commonName") or ", ".join(f"{k}={v}" for k, v in subject.items()),
                issuer=(result.get("issuer") or {}).get("commonName"),
                not_after=result["not_after"],
                days_left=m.days_left(result["not_after"], now),
                self_signed=result.get("subject") == result.get("issuer"),
                error=None,
            )
        rows.append(row)
    return rows


def tls_endpoints(
    endpoints: Iterable[Mapping[str, Any]], services: Iterable[Mapping[str, Any]] = ()
) -> list[dict[str, Any]]:
    """The configured endpoints plus one per https health-check URL of the services (host and
    port from the URL), without duplicates (same host and port)."""
    from urllib.parse import urlsplit

    found: list[dict[str, Any]] = []
    seen: set[tuple[str, int]] = set()
    derived = []
    for service in services:
        url = str((service.get("health_check") or {}).get("url") or "")
        if url.startswith("https://"):
            parts = urlsplit(url)
            derived.append({"name": service["name"], "host": parts.hostname, "port": parts.port or 443})
    for endpoint in [*endpoints, *derived]:
        if not isinstance(endpoint, Mapping) or not endpoint.get("host") or not endpoint.get("port"):
            raise m.MaintenanceError(
                "a TLS endpoint needs host and port, as {name: shop, host: shop.example.com, port: 443}; "
                f"got {endpoint!r}"
            )
        key = (str(endpoint["host"]), int(endpoint["port"]))
        if key not in seen:
            seen.add(key)
            found.append({"name": endpoint.get("name") or f"{key[0]}:{key[1]}", **endpoint, "port": key[1]})
    return found


def certificate_observations(rows: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    series = [
        {"labels": {"endpoint": r["endpoint"]}, "value": r["days_left"]} for r in rows if r.get("days_left") is not None
    ]
    return {"certificate_expiry_days": series} if series else {}


def capacity_disk_sample(disk: Mapping[str, Any], owner: str, time: str) -> dict[str, Any]:
    """A capacity sample from one of host_health's disks."""
    return {
        "time": time,
        "target": f"disk {owner}:{disk['mountpoint']}",
        "kind": "disk",
        "used_bytes": disk.get("used_bytes"),
        "size_bytes": disk.get("size_bytes"),
    }


def capacity_named_sample(
    item: Mapping[str, Any], source: str, kind: str, time: str, path: str = "value"
) -> dict[str, Any]:
    """A capacity sample from a {key, value} item (dict2items, or a query's rows); `path` is the
    dotted path to the bytes within the item."""
    value: Any = item
    for part in path.split("."):
        value = (value or {}).get(part) if isinstance(value, Mapping) else None
    return {"time": time, "target": f"{source} {item['key']}", "kind": kind, "used_bytes": value, "size_bytes": None}


def capacity_backup_samples(backups: Iterable[Mapping[str, Any]], time: str) -> list[dict[str, Any]]:
    """Bytes of complete backups per target (backup_info's backups)."""
    totals: dict[str, int] = {}
    for backup in backups:
        totals[backup["target"]] = totals.get(backup["target"], 0) + int(backup.get("size_bytes") or 0)
    return [
        {"time": time, "target": f"backups {t}", "kind": "backup", "used_bytes": b, "size_bytes": None}
        for t, b in sorted(totals.items())
    ]


def _mib(value: Any) -> str:
    return "" if value is None else f"{value / 1048576:.1f} MiB"


def _section(title: str, columns: list[str], rows: list[list[Any]], empty: str) -> dict[str, Any]:
    return {"title": title, "columns": columns, "rows": rows} if rows else {"title": title, "text": empty}


def maintenance_report(data: Mapping[str, Any], kind: str) -> dict[str, Any]:
    """report_data for the weekly or monthly report from what each step recorded: data has guard,
    and per step a {host: result} map (cleanup, mongodb, postgres, redis, packages, security) or one
    result (certificates, capacity), and notes (steps that did not run, and why). Critical or
    warning security findings raise the status as alerts do."""
    guard = data.get("guard") or {}
    sections: list[dict[str, Any]] = [{"title": "Maintenance window", "text": guard.get("message", "not judged")}]
    alerts: list[dict[str, Any]] = []
    lines = [f"{kind.capitalize()} maintenance: {guard.get('message', '')}"]

    packages = data.get("packages") or {}
    if packages:
        rows = [
            [
                h,
                "upgraded" if r.get("upgraded") else "skipped",
                r.get("skipped") or ("changed" if r.get("changed") else "up to date"),
            ]
            for h, r in sorted(packages.items())
        ]
        sections.append(_section("Package updates", ["host", "result", "detail"], rows, ""))

    cleanup = data.get("cleanup") or {}
    if cleanup:
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
        sections.append(
            _section(
                "Logs and Docker clean-up",
                [
                    "host",
                    "logs compressed",
                    "newer logs kept",
                    "dangling images",
                    "stopped containers",
                    "space reclaimed",
                ],
                rows,
                "",
            )
        )
        compressed = sum(r[1] for r in rows)
        lines.append(f"Logs compressed: {compressed}; dangling images removed: {sum(r[3] for r in rows)}.")

    for host, result in sorted((data.get("mongodb") or {}).items()):
        unused = result.get("unused_indexes")
        if unused is None:
            text = "Index usage unknown: " + (
                "; ".join(result.get("index_notes") or []) or "the indexes step did not run"
            )
            sections.append({"title": f"MongoDB unused indexes ({host})", "text": text})
        else:
            sections.append(
                _section(
                    f"MongoDB unused indexes ({host})",
                    ["database", "collection", "index", "key", "unused days"],
                    [
                        [i.get("database"), i["collection"], i["name"], i.get("key"), i.get("unused_days")]
                        for i in unused
                    ],
                    "Every index was used in the period.",
                )
            )
        growth = [g for g in result.get("growth") or [] if "." not in g["name"] or g.get("growth_bytes")]
        sections.append(
            _section(
                f"MongoDB sizes and growth since {result.get('previous_run') or 'the first run'} ({host})",
                ["database / collection", "size", "previous", "growth", "growth %"],
                [
                    [
                        g["name"],
                        _mib(g["bytes"]),
                        _mib(g["previous_bytes"]),
                        _mib(g["growth_bytes"]),
                        g["growth_percent"],
                    ]
                    for g in growth
                ],
                "No sizes were read.",
            )
        )
        sections.append(
            _section(
                f"MongoDB retention ({host})",
                ["collection", "older than", "matched", "deleted", "batches", "complete"],
                [
                    [
                        f"{r['database']}.{r['collection']}",
                        r["older_than"],
                        r["matched"],
                        r["deleted"],
                        r["batches"],
                        r["complete"],
                    ]
                    for r in result.get("retention") or []
                ],
                "No collection has a retention configured (opsbook_mongodb_retention).",
            )
        )
        compact = result.get("compact") or {}
        if compact.get("reason"):
            freed = sum(c.get("bytes_freed") or 0 for c in compact.get("collections") or [])
            sections.append(
                {
                    "title": f"MongoDB compact ({host})",
                    "text": f"{'ran' if compact.get('ran') else 'not run'}: {compact['reason']}; bytes freed: {freed}",
                }
            )

    for host, result in sorted((data.get("postgres") or {}).items()):
        vacuumed = result.get("vacuumed") or {}
        text = (
            f"vacuumdb --analyze ({result.get('vacuum_mode')}): "
            + (
                "; ".join(f"{db}: {', '.join(t['name'] for t in tables)}" for db, tables in vacuumed.items())
                or "nothing needed it"
            )
            + f". Idle connections older than {result.get('idle_seconds')} s: "
            + f"{len(result.get('idle_found') or [])} found, "
            + f"{len(result.get('idle_terminated') or [])} terminated."
        )
        sections.append(
            {"title": f"PostgreSQL upkeep ({host})", "text": " ".join([text, *(result.get("notes") or [])])}
        )
        slow = [
            [db, q["query"], q["calls"], q["mean_ms"], q["total_ms"]]
            for db, qs in (result.get("slow_queries") or {}).items()
            for q in qs
        ]
        sections.append(
            _section(
                f"PostgreSQL slow queries ({host})",
                ["database", "query", "calls", "mean ms", "total ms"],
                slow,
                "No statement above the slow-query threshold in pg_stat_statements.",
            )
        )
        bloat = [
            [db, t["name"], t["live_rows"], t["dead_rows"], t["dead_percent"], _mib(t["bloat_bytes_estimate"])]
            for db, tables in (result.get("bloat") or {}).items()
            for t in tables
        ]
        sections.append(
            _section(
                f"PostgreSQL table bloat estimate ({host})",
                ["database", "table", "live rows", "dead rows", "dead %", "bloat (estimate)"],
                bloat,
                "No user tables.",
            )
        )

    for host, result in sorted((data.get("redis") or {}).items()):
        f = result.get("figures") or {}
        sections.append(
            {
                "title": f"Redis ({host})",
                "text": (
                    f"memory {_mib(f.get('used_memory_bytes'))} of maxmemory "
                    f"{_mib(f.get('maxmemory_bytes')) or 'unset'} ({f.get('memory_percent')} %), "
                    f"hit rate {f.get('hit_rate_percent')} %, evicted keys {f.get('evicted_keys')}"
                    f", policy {f.get('maxmemory_policy')}. " + " ".join(f.get("notes") or [])
                ),
            }
        )
        alerts += result.get("alerts") or []

    certificates = data.get("certificates")
    if certificates:
        sections.append(
            _section(
                "Certificates",
                ["endpoint", "subject", "expires", "days left", "error"],
                [
                    [c["endpoint"], c.get("subject"), c.get("not_after"), c.get("days_left"), c.get("error")]
                    for c in certificates.get("certificates") or []
                ],
                "No TLS endpoint is configured.",
            )
        )
        sections.append({"title": "Certificate renewal", "text": certificates.get("renewal") or ""})
        alerts += certificates.get("alerts") or []

    capacity = data.get("capacity")
    if capacity:
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
        sections.append(
            _section(
                "Capacity and projection",
                [
                    "target",
                    "kind",
                    "used",
                    "size",
                    "used %",
                    "growth per day",
                    *[f"days to {k} %" for k in keys],
                    "note",
                ],
                rows,
                "No samples yet.",
            )
        )
        sections.append(
            {
                "title": "Used space over time",
                "text": f"History: {capacity.get('history_file')}",
                "svg": capacity.get("svg", ""),
            }
        )

    security = data.get("security")
    findings: list[dict[str, Any]] = []
    if security is not None:
        # A finding may name where it was made (the TLS probes: the controller); else its host.
        findings = [
            {**f, "host": f.get("host") or h}
            for h, r in sorted(security.items())
            for f in (r or {}).get("findings") or []
        ]
        order = {"critical": 0, "warning": 1, "ok": 2}
        findings.sort(key=lambda f: (order.get(f["status"], 3), f["check"], f["target"]))
        sections.append(
            _section(
                "Security configuration",
                ["status", "check", "target", "host", "detail"],
                [[f["status"], f["check"], f["target"], f["host"], f["detail"]] for f in findings],
                "No security check ran (see maintenance_security_checks and the inventory's groups).",
            )
        )
        counts = {level: sum(f["status"] == level for f in findings) for level in ("critical", "warning", "ok")}
        lines.append(
            f"Security checks: {counts['critical']} critical, {counts['warning']} warning, {counts['ok']} ok"
            + "".join(f"; {f['check']} {f['target']}" for f in findings if f["status"] == "critical")
            + "."
        )

    for note in data.get("notes") or []:
        sections.append({"title": "Not run", "text": note})
    levels = {a.get("level") for a in alerts} | ({s.worst(findings)} - {"ok"})
    status = "critical" if "critical" in levels else "warning" if levels else "ok"
    if alerts:
        lines.append("Alerts: " + ", ".join(sorted({a["name"] for a in alerts})) + ".")
    return {
        "status": status,
        "summary": "\n".join(lines),
        "alerts": alerts,
        "sections": sections,
        "figures": dict(data),
    }


class FilterModule:
    """Maintenance guard, MongoDB, Redis, certificate, capacity and security filters."""

    def filters(self) -> dict[str, Any]:
        def wrap(func: Any) -> Any:
            def filter_(*args: Any, **kwargs: Any) -> Any:
                try:
                    return func(*args, **kwargs)
                except (m.MaintenanceError, s.SecurityError) as err:
                    raise AnsibleFilterError(str(err)) from err

            filter_.__name__ = func.__name__
            filter_.__doc__ = func.__doc__
            return filter_

        return {
            name: wrap(func)
            for name, func in {
                "maintenance_guard": maintenance_guard,
                "unused_indexes_for": unused_indexes_for,
                "mongodb_size_map": mongodb_size_map,
                "size_growth": m.size_growth,
                "redis_figures": m.redis_figures,
                "redis_observations": redis_observations,
                "tls_endpoints": tls_endpoints,
                "certificate_rows": certificate_rows,
                "certificate_observations": certificate_observations,
                "capacity_disk_sample": capacity_disk_sample,
                "capacity_named_sample": capacity_named_sample,
                "capacity_backup_samples": capacity_backup_samples,
                "capacity_add": m.add_samples,
                "maintenance_report": maintenance_report,
                "capacity_rows": m.capacity_rows,
                "capacity_svg": m.capacity_svg,
                "security_file_entries": s.file_entries,
                "security_file_findings": s.file_findings,
                "security_postgres_findings": s.postgres_findings,
                "security_postgres_server_findings": s.postgres_server_findings,
                "security_container_findings": s.containers_findings,
                "security_sshd_findings": s.sshd_findings,
                "security_accept": s.accept,
            }.items()
        }
