"""What a run produced, built from ansible-runner's events (never from stdout, which runner may
stop writing on large outputs while its events stay complete)."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

__all__ = ["Event", "FailedTask", "HostStats", "RunResult", "RunStatus"]

log = logging.getLogger(__name__)

REPORT_NAME = "report.json"
_FAILED_EVENTS = frozenset({"runner_on_failed", "runner_on_unreachable"})
_FINISHED_EVENTS = frozenset(
    {"runner_on_ok", "runner_on_failed", "runner_on_skipped", "runner_on_unreachable", "runner_on_async_failed"}
)


class RunStatus(StrEnum):
    SUCCESSFUL = "successful"
    FAILED = "failed"
    TIMEOUT = "timeout"
    CANCELED = "canceled"


@dataclass(frozen=True)
class HostStats:
    """The play recap of one host."""

    ok: int = 0
    changed: int = 0
    failed: int = 0
    unreachable: int = 0
    skipped: int = 0
    rescued: int = 0
    ignored: int = 0


@dataclass(frozen=True)
class FailedTask:
    """A task that failed (not ignored) or a host that was unreachable."""

    host: str
    task: str
    message: str
    play: str = ""
    action: str = ""
    unreachable: bool = False


@dataclass(frozen=True)
class Event:
    """One ansible-runner event (``type`` is runner's ``event``: ``runner_on_ok``, ``playbook_on_task_start``…).

    ``data`` is runner's ``event_data``; ``stdout`` the text Ansible displayed for it."""

    type: str
    counter: int
    uuid: str
    created: str
    stdout: str
    data: Mapping[str, Any]

    @classmethod
    def from_runner(cls, raw: Mapping[str, Any]) -> Event:
        data = raw.get("event_data")
        return cls(
            type=str(raw.get("event", "")),
            counter=int(raw.get("counter", 0) or 0),
            uuid=str(raw.get("uuid", "")),
            created=str(raw.get("created", "")),
            stdout=str(raw.get("stdout", "") or ""),
            data=data if isinstance(data, Mapping) else {},
        )

    @property
    def host(self) -> str:
        return str(self.data.get("host", "") or "")

    @property
    def task(self) -> str:
        return str(self.data.get("task", "") or "")

    @property
    def play(self) -> str:
        return str(self.data.get("play", "") or "")

    @property
    def action(self) -> str:
        return str(self.data.get("task_action", "") or "")

    @property
    def result(self) -> Mapping[str, Any]:
        res = self.data.get("res")
        return res if isinstance(res, Mapping) else {}

    @property
    def finishes_host(self) -> bool:
        """True for the event that ends a task on one host."""
        return self.type in _FINISHED_EVENTS


@dataclass(frozen=True)
class RunResult:
    """The outcome of a run. ``report`` is the parsed ``report.json`` the playbook wrote, if any."""

    playbook: str
    ident: str
    status: RunStatus
    rc: int | None
    duration: float
    check: bool
    hosts: Mapping[str, HostStats] = field(default_factory=dict)
    failed_tasks: tuple[FailedTask, ...] = ()
    report: Any = None
    report_path: Path | None = None
    artifact_dir: Path | None = None

    @property
    def ok(self) -> bool:
        return self.status is RunStatus.SUCCESSFUL

    @property
    def failed_hosts(self) -> list[str]:
        return sorted(name for name, stats in self.hosts.items() if stats.failed or stats.unreachable)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary (``opsbook run --json`` prints it)."""
        return {
            "playbook": self.playbook,
            "ident": self.ident,
            "status": str(self.status),
            "rc": self.rc,
            "duration": round(self.duration, 3),
            "check": self.check,
            "hosts": {name: asdict(stats) for name, stats in sorted(self.hosts.items())},
            "failed_tasks": [asdict(task) for task in self.failed_tasks],
            "report": self.report,
            "report_path": str(self.report_path) if self.report_path else None,
            "artifact_dir": str(self.artifact_dir) if self.artifact_dir else None,
        }


def _failure_message(res: Mapping[str, Any]) -> str:
    """The most useful line of a failed result: msg, then stderr, then the first failed item."""
    for key in ("msg", "message", "stderr", "reason"):
        value = res.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    for item in res.get("results") or []:
        if isinstance(item, Mapping) and item.get("failed"):
            return _failure_message(item)
    return "failed (no message)"


class EventCollector:
    """Accumulates what a RunResult needs from the event stream."""

    def __init__(self) -> None:
        self.hosts: dict[str, HostStats] = {}
        self.failed_tasks: list[FailedTask] = []
        self.report_candidates: list[Path] = []
        self.count = 0

    def add(self, event: Event) -> None:
        self.count += 1
        if event.type in _FAILED_EVENTS and not event.data.get("ignore_errors"):
            self.failed_tasks.append(
                FailedTask(
                    host=event.host,
                    task=event.task,
                    message=_failure_message(event.result),
                    play=event.play,
                    action=event.action,
                    unreachable=event.type == "runner_on_unreachable",
                )
            )
        elif event.type == "runner_on_ok":
            for key in ("dest", "path"):
                value = event.result.get(key)
                if isinstance(value, str) and value.endswith("/" + REPORT_NAME):
                    self.report_candidates.append(Path(value))
        elif event.type == "playbook_on_stats":
            self.hosts = _stats(event.data)

    def find_report(self, report_root: Path, started: float) -> tuple[Any, Path | None]:
        """The report.json this run wrote: the one a task reported writing, else the newest
        ``<report_root>/*/report.json`` modified since the run started."""
        candidates = [path for path in self.report_candidates if path.is_file()]
        if not candidates and report_root.is_dir():
            fresh = []
            for path in report_root.glob(f"*/{REPORT_NAME}"):
                try:
                    if path.stat().st_mtime >= started:
                        fresh.append(path)
                except OSError:
                    continue
            candidates = sorted(fresh, key=lambda p: p.stat().st_mtime)
        if not candidates:
            return None, None
        path = candidates[-1]
        try:
            return json.loads(path.read_text(encoding="utf-8")), path
        except (OSError, ValueError) as err:
            log.warning("the run's report %s could not be read: %s", path, err)
            return None, path


def _stats(data: Mapping[str, Any]) -> dict[str, HostStats]:
    keys = {
        "ok": "ok",
        "changed": "changed",
        "failures": "failed",
        "dark": "unreachable",
        "skipped": "skipped",
        "rescued": "rescued",
        "ignored": "ignored",
    }
    counts: dict[str, dict[str, int]] = {}
    for runner_key, field_name in keys.items():
        per_host = data.get(runner_key) or {}
        for host, count in per_host.items() if isinstance(per_host, Mapping) else []:
            counts.setdefault(str(host), {})[field_name] = int(count)
    for host in data.get("processed") or {}:
        counts.setdefault(str(host), {})
    return {host: HostStats(**values) for host, values in counts.items()}
