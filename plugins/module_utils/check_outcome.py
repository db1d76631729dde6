# Copyright: opsbook contributors
# Apache License 2.0 (see LICENSE in the repository root)
"""Whether a check ran: a check that could not run is not an outage, and never an all-clear.

A service check has three outcomes: the service answered (up), the service did not answer
(down: an alert about the service), or the check itself could not run on its checker host (a
library or tool missing, a refused permission, a login the server rejected, the checker host
unreachable, a task that broke before it got to the service). The third is reported as "could
not check X on HOST: reason", the CheckBroken alert, and nothing about the service itself.

`broken_reason()` tells the third from the others in a task's result; `missing_checks()` finds
the checks that were asked for but left no result at all (a phase that broke, a host that did
not run), so that no check can vanish from a report in silence. Plain functions."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

# What a result says when the check could not run, rather than that the service is down.
_MISSING_LIBRARY = "the Python library {0} is missing (playbooks/prepare_hosts.yml installs it)"
_BROKEN = [
    (re.compile(r"Failed to import the required Python library \(([^)]+)\)"), _MISSING_LIBRARY),
    (re.compile(r"No module named '?([\w.]+)'?"), _MISSING_LIBRARY),
    (re.compile(r"authentication failed|Authentication failed|WRONGPASS|NOAUTH|invalid username-password"),
     "the server refused the check's login"),
    (re.compile(r"[Pp]ermission denied"), "permission denied"),
    (re.compile(r"Error executing command|command not found|[Nn]o such file or directory"),
     "a command or file the check needs is missing"),
    (re.compile(r"Unsupported parameters|missing required arguments"), "the check was given bad options"),
]  # fmt: skip


def _text(result: Mapping[str, Any]) -> str:
    keys = ("msg", "conn_err_msg", "module_stderr", "exception", "stderr")
    parts = [result.get(key) for key in keys]
    return "\n".join(str(p) for p in parts if p)


def reason_of(text: str) -> str | None:
    """A short reason for a failure text that says a check could not run, or None."""
    for pattern, reason in _BROKEN:
        match = pattern.search(text)
        if match:
            return reason.format(*match.groups())
    return None


def broken_reason(result: Mapping[str, Any]) -> str | None:
    """Why a check's task result shows that the check could not run, or None when it ran (its
    service answered, or did not answer: both are findings about the service)."""
    if result.get("unreachable"):
        return f"the checker host was unreachable: {result.get('msg') or 'no connection'}"
    if result.get("check_broken"):
        return str(result.get("check_broken_reason") or result.get("msg") or "the check could not run")
    text = _text(result)
    if not text:
        return None
    reason = reason_of(text)
    if reason:
        return reason
    if "MODULE FAILURE" in text or result.get("module_stderr"):
        return f"the check's module failed on the host: {text.strip().splitlines()[-1][:200]}"
    return None


def service_record(
    service: Mapping[str, Any], host: str, up: bool | None, detail: str = "", latency_ms: float | None = None
) -> dict[str, Any]:
    """One row of the report's service table: down is critical, unknown (not checked) is unknown."""
    return {
        "name": service["name"],
        "criticality": service.get("criticality") or "critical",
        "check": service["health_check"]["type"],
        "host": host,
        "up": up,
        "status": "unknown" if up is None else ("ok" if up else "critical"),
        "latency_ms": latency_ms,
        "detail": detail,
    }


def broken_record(service: Mapping[str, Any], host: str, reason: str) -> dict[str, Any]:
    """A service row of the report for a check that could not run: neither up nor down."""
    return {
        **service_record(service, host, None, f"could not check {service['name']} on {host}: {reason}"),
        "broken": reason,
    }


def broken_checks(records: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The checks that could not run, from the service rows: {check, service, host, reason}."""
    return [
        {"check": r["check"], "service": r["name"], "host": r["host"], "reason": r["broken"]}
        for r in records
        if r.get("broken")
    ]


def missing_checks(
    asked: Iterable[Mapping[str, Any]], records: Iterable[Mapping[str, Any]], notes: Mapping[str, Iterable[str]]
) -> list[dict[str, Any]]:
    """Service rows for the checks that were asked for but have no result: `asked` holds each
    {service, host} (the service and the host that was to check it), `records` the rows the
    hosts returned, `notes` what each host noted when a phase of its checks broke."""
    seen = {r["name"] for r in records}
    rows = []
    for entry in asked:
        service, host = entry["service"], entry["host"]
        if service["name"] in seen:
            continue
        kind = service["health_check"]["type"]
        host_notes = [phase_reason(n) for n in notes.get(host) or [] if _covers(n, kind)]
        reason = "; ".join(host_notes) if host_notes else f"{host} returned no result for it (the check did not run)"
        rows.append(broken_record(service, host, reason))
    return rows


def _covers(note: str | Mapping[str, Any], kind: str) -> bool:
    """Whether a broken phase's note is about checks of this type (a text note is about all)."""
    return not isinstance(note, Mapping) or "types" not in note or kind in (note.get("types") or [])


def phase_checks(notes: Mapping[str, Iterable[str | Mapping[str, Any]]]) -> list[dict[str, Any]]:
    """The broken phases that check no service (the backups' freshness, the host's figures): each
    one a check that could not run of its own, {check, service: "", host, reason}."""
    return [
        {"check": note["phase"], "service": "", "host": host, "reason": note_reason(note)}
        for host, host_notes in sorted(notes.items())
        for note in host_notes
        if isinstance(note, Mapping) and "types" in note and not note.get("types")
    ]


def phase_reason(note: str | Mapping[str, Any]) -> str:
    """What a host noted when a phase of its checks broke ({phase, task, msg}, or text), short."""
    if not isinstance(note, Mapping):
        return str(note)
    return f"{note.get('phase')}: {note_reason(note)}"


def note_reason(note: Mapping[str, Any]) -> str:
    """Why a phase broke, short: the known reason of its failure text, else its first line."""
    msg = str(note.get("msg") or "failed")
    return reason_of(msg) or msg.strip().splitlines()[0][:200]


def observations(broken: Iterable[Mapping[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """The alert catalog's check_broken samples (CheckBroken): one per check that did not run."""
    samples = [
        {"labels": {"check": b["check"], "service": b["service"], "host": b["host"]}, "value": 1} for b in broken
    ]
    return {"check_broken": samples} if samples else {}
