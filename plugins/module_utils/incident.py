# Copyright: opsbook contributors
# Apache License 2.0 (see LICENSE in the repository root)
"""Plain functions behind the incident, forensics and emergency playbooks: the seeds' severity
vocabulary and an assessment from findings, counts against a backup manifest, seed 004's rollback
criteria, redaction of container inspect output, and input checks that must fail before any change."""

from __future__ import annotations

import hashlib
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
