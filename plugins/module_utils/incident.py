# Copyright: opsbook contributors
# Apache License 2.0 (see LICENSE in the repository root)
"""Plain functions behind the incident, forensics and emergency playbooks: the seeds' severity
vocabulary and an assessment from findings, counts against a backup manifest, seed 004's rollback
criteria, redaction of container inspect output, and input checks that must fail before any change."""

from __future__ import annotations

import hashlib
import math
import re
from typing import Any

from ansible_collections.opsbook.runbooks.plugins.module_utils.nftables import parse_addresses

# Seed 001 "Incident Classification" (Severity 1-4) and seed 004 "Incident Severity Levels" (P0-P3),
# side by side; seed 003's "On-Call Procedures" agree with seed 001 except Sev 2 (< 30 minutes).
SEVERITIES: dict[str, dict[str, Any]] = {
    "sev1": {
        "sev": "Sev 1",
        "priority": "P0",
        "name": "Critical",
        "definition": "Complete service outage, data loss or corruption, or security breach",
        "response_time": "Immediate (< 15 minutes; P0: < 5 minutes)",
        "resolution_target": "< 1 hour",
        "escalation": "Immediate to on-call engineer and management; all hands on deck",
        "update_every": "Every 15 minutes",
        "update_minutes": 15,
        "postmortem": "Required within 24 hours",
    },
    "sev2": {
        "sev": "Sev 2",
        "priority": "P1",
        "name": "High",
        "definition": "Significant service degradation, partial outage, or a single service down",
        "response_time": "< 1 hour (P1: 15 minutes)",
        "resolution_target": "< 4 hours",
        "escalation": "To on-call engineer and relevant specialists",
        "update_every": "Every 30 minutes",
        "update_minutes": 30,
        "postmortem": "Required within 48 hours",
    },
    "sev3": {
        "sev": "Sev 3",
        "priority": "P2",
        "name": "Medium",
        "definition": "Minor service issues or performance degradation",
        "response_time": "< 4 hours (P2: 1 hour)",
        "resolution_target": "< 24 hours",
        "escalation": "Standard support queue; on-call engineer",
        "update_every": "Hourly or as needed",
        "update_minutes": 60,
        "postmortem": "Optional",
    },
    "sev4": {
        "sev": "Sev 4",
        "priority": "P3",
        "name": "Low",
        "definition": "Cosmetic issues, minor bugs or enhancement requests",
        "response_time": "Next business day",
        "resolution_target": "< 1 week",
        "escalation": "Development backlog; assigned engineer",
        "update_every": "As needed",
        "update_minutes": None,
        "postmortem": "Not required",
    },
}
_ALIASES = {
    **{f"sev{n}": f"sev{n}" for n in range(1, 5)},
    **{f"severity{n}": f"sev{n}" for n in range(1, 5)},
    **{f"p{n - 1}": f"sev{n}" for n in range(1, 5)},
    "critical": "sev1",
    "high": "sev2",
    "medium": "sev3",
    "low": "sev4",
}
# The postmortem's required sections (seed 004 "Post-Mortem Template").
POSTMORTEM_SECTIONS = [
    "Timeline of events",
    "Root cause analysis",
    "Impact assessment",
    "What went well",
    "What went wrong",
    "Action items with owners and due dates",
]
SECRET_KEY = re.compile(r"(PASS|SECRET|TOKEN|KEY|CREDENTIAL|AUTH)", re.I)
URL_CREDENTIALS = re.compile(r"(://[^:/@\s]+:)([^@\s]+)(@)")


class IncidentError(ValueError):
    """Input the incident playbooks cannot act on; the message names what to fix."""


def severity(value: str) -> dict[str, Any]:
    """The severity entry for `Sev 1`, `sev1`, `1`, `P0`, `critical` and the like."""
    key = re.sub(r"[\s_-]", "", str(value)).lower()
    if key.isdigit():
        key = f"sev{key}"
    if key not in _ALIASES:
        raise IncidentError(f"{value!r} is not a severity: use Sev 1-4 (seed 001/003) or P0-P3 (seed 004)")
    return {"key": _ALIASES[key], **SEVERITIES[_ALIASES[key]]}


def assess(services: dict[str, dict[str, Any]], checks: list[dict[str, Any]], inventory: list[dict[str, Any]]) -> dict:
    """Suggest a severity from findings, with the reasons: a critical service or dependency down
    is Sev 1 / P0; a high one down, or a critical one degraded, Sev 2 / P1; a medium one down,
    Sev 3 / P2; nothing wrong, Sev 4 / P3. `services` is service_control_result; `checks` are
    dependency results {name, up, error}."""
    criticality = {s["name"]: s.get("criticality", "medium") for s in inventory}
    rank = {"critical": 1, "high": 2, "medium": 3, "low": 4}
    level = 4
    reasons: list[str] = []
    for name, state in services.items():
        crit = criticality.get(name, "medium")
        if state.get("state") in ("absent", "exited", "down", "dead", "stopped") or state.get("ready_replicas") == 0:
            level = min(level, rank[crit])
            reasons.append(f"{name} ({crit}) is {state.get('state')}")
        elif not state.get("healthy"):
            level = min(level, rank[crit] + 1)
            reasons.append(f"{name} ({crit}) is {state.get('health')}")
    for check in checks:
        if not check.get("up"):
            crit = criticality.get(check["name"], "high")
            level = min(level, rank[crit])
            reasons.append(f"{check['name']} ({crit}) does not answer: {check.get('error') or 'down'}")
    return {**severity(f"sev{min(level, 4)}"), "reasons": reasons or ["every service and dependency answers"]}


def compare_counts(current: dict[str, int], manifest_counts: dict[str, int], database: str) -> list[dict[str, Any]]:
    """Per collection of `database`: documents now against the backup manifest's counts
    (keys `db.collection`). `suspect` marks collections that lost documents since the backup or
    vanished, the signs of corruption or deletion; growth is expected after a backup."""
    rows: list[dict[str, Any]] = []
    prefix = f"{database}."
    in_backup = {k[len(prefix) :]: int(v) for k, v in manifest_counts.items() if k.startswith(prefix)}
    for name in sorted(set(in_backup) | set(current)):
        backup = in_backup.get(name)
        now = current.get(name)
        rows.append(
            {
                "collection": name,
                "backup": backup,
                "now": now,
                "delta": None if backup is None or now is None else now - backup,
                "suspect": backup is not None and (now is None or now < backup),
            }
        )
    return rows


def rollback_criteria(
    error_rate: float | None,
    p95_seconds: float | None,
    normal_p95_seconds: float | None,
    healthy: bool,
    max_error_rate: float = 0.05,
    max_latency_factor: float = 2.0,
) -> list[str]:
    """Which of seed 004's rollback criteria hold: error rate > 5 %, response time > 2x normal,
    health checks failing. Unknown figures (no traffic, no baseline) satisfy nothing."""
    met = []
    if error_rate is not None and error_rate > max_error_rate:
        met.append(f"error rate {error_rate:.1%} > {max_error_rate:.0%}")
    if p95_seconds is not None and normal_p95_seconds and p95_seconds > max_latency_factor * normal_p95_seconds:
        met.append(f"p95 response time {p95_seconds * 1000:.0f} ms > {max_latency_factor:g}x normal "
                   f"({normal_p95_seconds * 1000:.0f} ms)")  # fmt: skip
    if not healthy:
        met.append("health checks failing")
    return met


def invalid_addresses(addresses: Any) -> list[str]:
    """Errors for block-list entries that are not addresses or networks, or must not be blocked."""
    if isinstance(addresses, str):
        addresses = [a for a in addresses.split(",") if a.strip()]
    return parse_addresses(list(addresses or []))[1]


def redact(value: str) -> str:
    digest = hashlib.sha256(value.encode()).hexdigest()[:16]
    return f"<redacted sha256:{digest}>"


def redact_inspect(inspect: dict[str, Any]) -> dict[str, Any]:
    """Container inspect output with secret-looking env values and URL passwords replaced by a
    short SHA-256, so evidence can still be compared without the bundle holding the secret."""
    out = dict(inspect)
    config = dict(out.get("Config") or {})
    env = []
    for item in config.get("Env") or []:
        key, sep, value = str(item).partition("=")
        if SECRET_KEY.search(key) and value:
            value = redact(value)
        else:
            value = URL_CREDENTIALS.sub(lambda m: m[1] + redact(m[2]) + m[3], value)
        env.append(f"{key}{sep}{value}")
    if "Env" in config:
        config["Env"] = env
    out["Config"] = config
    return out


def http_targets(services: list[dict[str, Any]], ca_path: str | None = None) -> list[dict[str, Any]]:
    """service_probe targets for the inventory's services with an HTTP health check; `ca_path`
    (the platform's CA bundle) is given to the https ones."""
    targets = []
    for service in services:
        check = service.get("health_check") or {}
        if check.get("type") != "http":
            continue
        target = {"name": service["name"], "type": "http", "url": check["url"]}
        if ca_path and str(check["url"]).startswith("https:"):
            target["ca_path"] = ca_path
        targets.append(target)
    return targets


def git_entries(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per repository, its last commits from the registered results of one `git log` per
    directory (item: the directory), or the error git gave."""
    return [
        {
            "repository": result.get("item"),
            "commits": list(result.get("stdout_lines") or []),
            "error": None if result.get("rc", 1) == 0 else str(result.get("stderr") or "").strip(),
        }
        for result in results
    ]


def dependency_checks(results: dict[str, dict[str, Any]], targets: dict[str, str]) -> list[dict[str, Any]]:
    """{name, type, target, up, error[, version]} per dependency checked from this host, from the
    registered results of the MongoDB ping (mongodb_command), postgresql_ping and redis_info
    (`results` by mongodb/postgres/redis; a skipped one was checked elsewhere)."""
    checks = []
    for name, result in results.items():
        if not result or result.get("skipped"):
            continue
        check: dict[str, Any] = {"name": name, "type": name, "target": targets.get(name, "")}
        if name == "mongodb":
            check["up"] = not result.get("failed")
            check["error"] = result.get("msg") if result.get("failed") else None
        elif name == "postgres":
            check["up"] = bool(result.get("is_available"))
            check["version"] = (result.get("server_version") or {}).get("full")
            check["error"] = None if check["up"] else result.get("conn_err_msg", result.get("msg", "unavailable"))
        elif name == "redis":
            check["up"] = "info" in result
            check["version"] = (result.get("info") or {}).get("redis_version")
            check["error"] = None if check["up"] else result.get("msg", "unavailable")
        else:
            raise IncidentError(f"unknown dependency {name!r}: mongodb, postgres or redis")
        checks.append(check)
    return checks


def service_logs(apps: list[dict[str, Any]]) -> list[dict[str, str]]:
    """One log file per application service of each host that has log lines or a reason it has
    none: {host, service, text} (text: the lines, or a note saying why there are none)."""
    files = []
    for app in apps:
        for name, service in (app.get("services") or {}).items():
            if "logs" not in service and "logs_unavailable" not in service:
                continue
            lines = service.get("logs") or []
            why = service.get("logs_unavailable") or "the service wrote none"
            text = "\n".join(lines) + "\n" if lines else f"(no log lines: {why})\n"
            files.append({"host": app["host"], "service": name, "text": text})
    return files


def outage_plan(status: dict[str, dict[str, Any]], restart_all: bool = False) -> dict[str, list[str]]:
    """What an outage recovery does with each application service (service_control_result):
    start the ones that do not run (stopped, exited, gone), restart the running ones that are
    unhealthy (every running one with `restart_all`, seed 001's "Restart all services")."""
    running = [name for name, s in status.items() if s.get("state") in ("running", "degraded")]
    return {
        "start": [name for name in status if name not in running],
        "restart": running if restart_all else [name for name in running if not status[name].get("healthy")],
    }


def outage_actions(
    plan: dict[str, list[str]], scale: str, replicas: int, host: str, at: str, check_mode: bool
) -> list[dict[str, str]]:
    """The incident timeline's entries for what an outage recovery did on `host` at `at`."""
    actions = []
    if plan.get("start"):
        actions.append({"at": at, "action": "start " + ", ".join(plan["start"]), "result": "ok"})
    if plan.get("restart"):
        actions.append({"at": at, "action": "restart " + ", ".join(plan["restart"]), "result": "ok"})
    if scale:
        actions.append({"at": at, "action": f"scale {scale} to {replicas}", "result": "ok"})
    verified = "check mode: nothing changed" if check_mode else "every application service healthy"
    actions.append({"at": at, "action": f"verify on {host}", "result": verified})
    return actions


def validate_summary(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per collection, what MongoDB's `validate` said (registered mongodb_command results, item:
    the collection): valid, the records it counted and its errors."""
    rows = []
    for result in results:
        reply = result.get("result") or {}
        rows.append(
            {
                "collection": result.get("item"),
                "valid": bool(reply.get("valid")),
                "records": reply.get("nrecords"),
                "errors": list(reply.get("errors") or []),
            }
        )
    return rows


def address_list(addresses: list[str] | str | None) -> list[str]:
    """Addresses given as a list or as one comma-separated string, as a list."""
    if isinstance(addresses, str):
        return [a.strip() for a in addresses.split(",") if a.strip()]
    return [str(a) for a in addresses or []]


def instant_values(results: list[dict[str, Any]]) -> list[float | None]:
    """The first sample's value of each Prometheus instant query, from the registered results of
    one ansible.builtin.uri call per query (json: the API's reply); None where the query failed,
    returned nothing or a value that is not a number (NaN, +Inf: no traffic)."""
    values: list[float | None] = []
    for result in results:
        samples = (((result.get("json") or {}).get("data") or {}).get("result")) or []
        value = samples[0].get("value", [None, None])[1] if samples else None
        try:
            number = float(value) if value is not None else None
        except (TypeError, ValueError):
            number = None
        values.append(number if number is not None and math.isfinite(number) else None)
    return values
