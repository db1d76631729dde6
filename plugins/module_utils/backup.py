# Copyright: opsbook contributors
# Apache License 2.0 (see LICENSE in the repository root)
"""The backup catalog: how a backup is laid out on disk, when it exists, and what retention keeps.

One mechanism for every consumer: backup writers seal backups with `BackupWriter`; verification,
retention, restore, offsite copies, the health check and the evening summary all decide what
exists with `list_backups`. A backup exists only when its directory has its completion marker
(written last) and a readable manifest. docs/backup.md documents the layout and these functions.

Layout under the backup root::

    <root>/<target>/<tier>/<id>/            a sealed backup (id: UTC time, 20250111T020000Z)
        manifest.json                       what it holds, checksums, counts, verification
        COMPLETE                            the marker, written last
        <data files>
    <root>/<target>/<tier>/<id>.partial/    being written, or abandoned by a failed run
        .lock                               flock-ed by the writer while it runs
"""

from __future__ import annotations

import calendar
import datetime as dt
import errno
import fcntl
import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ansible.module_utils.basic import missing_required_lib
from ansible_collections.opsbook.runbooks.plugins.module_utils.report import utc_iso

MANIFEST = "manifest.json"
MARKER = "COMPLETE"
PARTIAL_SUFFIX = ".partial"
LOCK = ".lock"
FORMAT = 1
TIERS = ("daily", "weekly", "monthly", "oplog", "manual")
ID_RE = re.compile(r"^\d{8}T\d{6}Z$")
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
CHUNK = 1024 * 1024


class BackupError(Exception):
    """A backup could not be written, read or checked; the message is for the operator."""


# --- names and time ----------------------------------------------------------------------------


def new_backup_id(now: float | None = None) -> str:
    """The id of a backup started at `now` (epoch seconds): its UTC time, second precision."""
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(time.time() if now is None else now))


def id_epoch(backup_id: str) -> float:
    """Epoch seconds of a backup id (inverse of new_backup_id)."""
    return float(calendar.timegm(time.strptime(backup_id, "%Y%m%dT%H%M%SZ")))


def iso(epoch: float) -> str:
    """A backup's time, written as every report writes a time."""
    return str(utc_iso(epoch))


def check_name(kind: str, value: str) -> str:
    """Target and tier names become directory names: refuse anything else."""
    if not NAME_RE.match(value or ""):
        raise BackupError(f"{kind} {value!r} is not a valid name (letters, digits, '_', '.', '-')")
    return value


# --- files ---------------------------------------------------------------------------------------


def sha256_file(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def fsync_dir(path: str | Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_tree(path: str | Path) -> None:
    """fsync every file and directory under `path`, so a rename after it publishes durable data."""
    for dirpath, _dirs, files in os.walk(path):
        for name in files:
            fd = os.open(os.path.join(dirpath, name), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        fsync_dir(dirpath)


def write_json_atomic(path: str | Path, data: Any, mode: int = 0o600) -> None:
    """Write JSON to a temporary file, fsync it and rename it over `path`."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        with os.fdopen(fd, "w") as handle:
            json.dump(data, handle, indent=2, sort_keys=True)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def data_files(directory: str | Path) -> list[str]:
    """Relative paths of the data files of a backup directory (everything but catalog files)."""
    directory = Path(directory)
    names = []
    for dirpath, _dirs, files in os.walk(directory):
        for name in files:
            rel = os.path.relpath(os.path.join(dirpath, name), directory)
            if rel not in (MANIFEST, MARKER, LOCK) and not rel.startswith(f".{MANIFEST}"):
                names.append(rel)
    return sorted(names)


def file_entries(directory: str | Path) -> list[dict[str, Any]]:
    """Manifest entries (name, size, sha256) of every data file of a backup directory."""
    directory = Path(directory)
    return [
        {"name": rel, "size": (directory / rel).stat().st_size, "sha256": sha256_file(directory / rel)}
        for rel in data_files(directory)
    ]


def check_files(directory: str | Path, manifest: dict[str, Any]) -> list[str]:
    """Problems with a backup's data files against its manifest: missing, resized, changed, extra."""
    directory = Path(directory)
    problems = []
    listed = {entry["name"] for entry in manifest.get("files", [])}
    for entry in manifest.get("files", []):
        path = directory / entry["name"]
        if not path.is_file():
            problems.append(f"{entry['name']}: missing")
        elif path.stat().st_size != entry["size"]:
            problems.append(f"{entry['name']}: size {path.stat().st_size}, manifest says {entry['size']}")
        elif sha256_file(path) != entry["sha256"]:
            problems.append(f"{entry['name']}: SHA-256 does not match the manifest (corrupted)")
    for extra in sorted(set(data_files(directory)) - listed):
        problems.append(f"{extra}: not in the manifest")
    return problems


# --- the catalog ---------------------------------------------------------------------------------


@dataclass
class Entry:
    """One directory under <root>/<target>/<tier>/, sealed or not."""

    target: str
    tier: str
    id: str
    path: Path
    partial: bool

    @property
    def started_epoch(self) -> float:
        return id_epoch(self.id)


def _entries(root: Path) -> Iterator[Entry]:
    if not root.is_dir():
        return
    for target_dir in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        for tier_dir in sorted(p for p in target_dir.iterdir() if p.is_dir()):
            for backup_dir in sorted(p for p in tier_dir.iterdir() if p.is_dir()):
                name = backup_dir.name
                partial = name.endswith(PARTIAL_SUFFIX)
                backup_id = name[: -len(PARTIAL_SUFFIX)] if partial else name
                if ID_RE.match(backup_id):
                    yield Entry(target_dir.name, tier_dir.name, backup_id, backup_dir, partial)


def lock_held(directory: str | Path) -> bool:
    """True when a running writer holds the backup directory's lock (a live partial backup)."""
    lock = Path(directory) / LOCK
    if not lock.exists():
        return False
    try:
        fd = os.open(lock, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as err:
        if err.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
            return True
        raise
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)


def read_manifest(directory: str | Path) -> dict[str, Any]:
    try:
        with open(Path(directory) / MANIFEST) as handle:
            manifest = json.load(handle)
    except (OSError, ValueError) as err:
        raise BackupError(f"{directory}: manifest unreadable: {err}") from err
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(f"{directory}: manifest is not an opsbook backup manifest (format {FORMAT})")
    return manifest


def describe(entry: Entry, manifest: dict[str, Any], with_checks: bool = False) -> dict[str, Any]:
    """The record backup_info returns for one complete backup."""
    verification = manifest.get("verification") or None
    record = {
        "target": entry.target,
        "tier": entry.tier,
        "id": entry.id,
        "path": str(entry.path),
        "kind": manifest.get("kind"),
        "started_at": manifest.get("started_at"),
        "completed_at": manifest.get("completed_at"),
        "completed_epoch": manifest.get("completed_epoch"),
        "size_bytes": sum(f.get("size", 0) for f in manifest.get("files", [])),
        "encrypted": bool(manifest.get("encryption")),
        "verified": bool(verification and verification.get("result") == "ok"),
        "verification": verification,
        "manifest": manifest,
    }
    if with_checks:
        record["problems"] = check_files(entry.path, manifest)
    return record


def list_backups(
    root: str | Path,
    targets: Iterable[str] = (),
    tiers: Iterable[str] = (),
    checksums: bool = False,
) -> dict[str, Any]:
    """What exists under `root`: complete backups newest first, incomplete directories, a summary
    per target. With `checksums`, every complete backup's files are checked against its manifest
    and those with problems move to `corrupt` (they do not count as backups either)."""
    root = Path(root)
    wanted_targets, wanted_tiers = set(targets), set(tiers)
    complete: list[dict[str, Any]] = []
    incomplete: list[dict[str, Any]] = []
    corrupt: list[dict[str, Any]] = []
    for entry in _entries(root):
        if (wanted_targets and entry.target not in wanted_targets) or (wanted_tiers and entry.tier not in wanted_tiers):
            continue
        base = {"target": entry.target, "tier": entry.tier, "id": entry.id, "path": str(entry.path)}
        if entry.partial:
            active = lock_held(entry.path)
            reason = "being written" if active else "partial: the run that wrote it did not finish"
            incomplete.append({**base, "reason": reason, "active": active})
            continue
        if not (entry.path / MARKER).is_file():
            incomplete.append({**base, "reason": f"no completion marker ({MARKER})", "active": False})
            continue
        try:
            manifest = read_manifest(entry.path)
        except BackupError as err:
            incomplete.append({**base, "reason": str(err), "active": False})
            continue
        record = describe(entry, manifest, with_checks=checksums)
        if checksums and record["problems"]:
            corrupt.append(record)
        else:
            complete.append(record)
    complete.sort(key=lambda r: (r["completed_epoch"] or 0, r["id"]), reverse=True)
    return {"backups": complete, "incomplete": incomplete, "corrupt": corrupt, "targets": summarise(complete)}


def summarise(backups: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per target: how many complete backups, the newest, the newest verified (input newest first)."""
    summary: dict[str, dict[str, Any]] = {}
    for record in backups:
        item = summary.setdefault(
            record["target"],
            {
                "count": 0,
                "latest": None,
                "latest_completed_epoch": None,
                "latest_verified": None,
                "latest_verified_epoch": None,
            },
        )
        item["count"] += 1
        if item["latest"] is None:
            item["latest"] = record["id"]
            item["latest_completed_epoch"] = record["completed_epoch"]
        verified_epoch = (record["verification"] or {}).get("verified_epoch")
        if record["verified"] and (item["latest_verified_epoch"] or 0) < (verified_epoch or 0):
            item["latest_verified"] = record["id"]
            item["latest_verified_epoch"] = verified_epoch
    return summary


def find_backup(
    catalog: dict[str, Any], target: str, backup_id: str | None = None, tier: str | None = None
) -> dict[str, Any]:
    """The named backup of a target, or its newest complete one; BackupError says why none fits."""
    for record in catalog["backups"]:
        if (
            record["target"] == target
            and (tier is None or record["tier"] == tier)
            and (backup_id is None or record["id"] == backup_id)
        ):
            return record
    for record in catalog["incomplete"] + catalog.get("corrupt", []):
        if record["target"] == target and backup_id is not None and record["id"] == backup_id:
            why = record.get("reason") or "; ".join(record.get("problems", []))
            raise BackupError(f"backup {target}/{record['tier']}/{backup_id} is not usable: {why}")
    which = f"backup {backup_id}" if backup_id else "complete backup"
    raise BackupError(f"no {which} of target {target!r}{f' in tier {tier}' if tier else ''}")


# --- writing -------------------------------------------------------------------------------------


def host_name() -> str:
    return socket.gethostname()


class BackupWriter:
    """Write one backup: a locked `.partial` directory, data files, then `seal()` writes the
    manifest (checksums of every file), fsyncs everything, renames the directory into place and
    writes the marker last. On any failure `abort()` removes the partial directory; if the
    process is killed, the partial directory stays behind, unlocked, and is never a backup."""

    def __init__(self, root: str | Path, target: str, tier: str, kind: str, now: float | None = None):
        self.root = Path(root)
        self.target = check_name("target", target)
        self.tier = check_name("tier", tier)
        self.kind = kind
        self.started = time.time() if now is None else now
        self.id = new_backup_id(self.started)
        tier_dir = self.root / self.target / self.tier
        self.final = tier_dir / self.id
        self.partial = tier_dir / f"{self.id}{PARTIAL_SUFFIX}"
        self._lock_fd: int | None = None

    def __enter__(self) -> BackupWriter:
        self.open()
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is not None:
            self.abort()
        self._unlock()

    def open(self) -> Path:
        for directory in (self.root, self.root / self.target, self.final.parent):
            directory.mkdir(mode=0o700, exist_ok=True)
        for _attempt in range(3):
            if not (self.final.exists() or self.partial.exists()):
                break
            # Two runs in the same second for the same target and tier: the second waits it out.
            time.sleep(1.05 - (time.time() % 1))
            self.started = time.time()
            self.id = new_backup_id(self.started)
            self.final = self.final.parent / self.id
            self.partial = self.final.parent / f"{self.id}{PARTIAL_SUFFIX}"
        else:
            raise BackupError(f"{self.final} already exists")
        self.partial.mkdir(mode=0o700)
        self._lock_fd = os.open(self.partial / LOCK, os.O_WRONLY | os.O_CREAT, 0o600)
        fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return self.partial

    def path(self, name: str) -> Path:
        return self.partial / name

    def seal(self, details: dict[str, Any]) -> dict[str, Any]:
        # Top-level files 0600 and directories 0700, whatever the tools created; the files inside a
        # copied tree (rsync sets) keep their own modes, behind their 0700 directory, for restores.
        for entry in self.partial.iterdir():
            os.chmod(entry, 0o700 if entry.is_dir() else 0o600)
        finished = time.time()
        manifest = {
            "format": FORMAT,
            "target": self.target,
            "tier": self.tier,
            "id": self.id,
            "kind": self.kind,
            "host": host_name(),
            "started_at": iso(self.started),
            "started_epoch": self.started,
            "completed_at": iso(finished),
            "completed_epoch": finished,
            "duration_seconds": round(finished - self.started, 3),
            "files": file_entries(self.partial),
            "verification": None,
            **details,
        }
        write_json_atomic(self.partial / MANIFEST, manifest)
        fsync_tree(self.partial)
        self._unlock()
        (self.partial / LOCK).unlink(missing_ok=True)
        os.rename(self.partial, self.final)
        fsync_dir(self.final.parent)
        write_json_atomic(self.final / MARKER, {"id": self.id, "completed_at": manifest["completed_at"]})
        return manifest

    def sealed(self, details: dict[str, Any]) -> dict[str, Any]:
        """Seal the backup (see `seal`) and return a writer module's result: changed, the sealed
        directory's path, its id and the manifest."""
        manifest = self.seal(details)
        return {"changed": True, "path": str(self.final), "id": self.id, "manifest": manifest}

    def abort(self) -> None:
        self._unlock()
        shutil.rmtree(self.partial, ignore_errors=True)

    def _unlock(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None


def backup_ref(record: dict[str, Any]) -> dict[str, Any]:
    """The fields that name a catalog record in a module's result: target, tier, id and path."""
    return {k: record[k] for k in ("target", "tier", "id", "path")}


def record_verification(directory: str | Path, verification: dict[str, Any]) -> dict[str, Any]:
    """Store a verification result in a complete backup's manifest (atomically)."""
    directory = Path(directory)
    if not (directory / MARKER).is_file():
        raise BackupError(f"{directory} has no completion marker; it is not a backup")
    manifest = read_manifest(directory)
    manifest["verification"] = verification
    history = manifest.setdefault("verification_history", [])
    history.append(verification)
    del history[:-10]
    write_json_atomic(directory / MANIFEST, manifest)
    return manifest


# --- retention -----------------------------------------------------------------------------------


def _period(epoch: float, tier: str) -> tuple[int, str]:
    """The retention period of a time for a tier: (index counting from the epoch, label)."""
    t = time.gmtime(epoch)
    day = int(epoch // 86400)
    if tier == "weekly":
        year, week, _weekday = dt.date(t.tm_year, t.tm_mon, t.tm_mday).isocalendar()
        return ((day + 3) // 7, f"{year}-W{week:02d}")  # 1970-01-01 was a Thursday: weeks start Monday
    if tier == "monthly":
        return (t.tm_year * 12 + t.tm_mon - 1, f"{t.tm_year}-{t.tm_mon:02d}")
    return (day, time.strftime("%Y-%m-%d", t))


def plan_retention(
    catalog: dict[str, Any], keep: dict[str, int], now: float | None = None, keep_min: int = 1
) -> dict[str, list[dict[str, Any]]]:
    """Grandfather-father-son: per target and tier, keep the newest backup of each period of the
    last keep[tier] periods before now (days for daily, ISO weeks for weekly, months for monthly);
    the oplog and manual tiers keep everything of the last keep[tier] days (PITR needs every
    segment). A tier missing from `keep` keeps everything. Whatever the policy, it keeps each
    target's newest verified backup and its `keep_min` newest complete backups. Incomplete and
    corrupt directories are never in the plan: retention does not touch what it cannot call a
    backup. Returns {"keep": [...], "delete": [...]}, each record with a `reason`."""
    now = time.time() if now is None else now
    keep_records: list[dict[str, Any]] = []
    delete_records: list[dict[str, Any]] = []
    protected: dict[str, str] = {}
    by_target: dict[str, list[dict[str, Any]]] = {}
    for record in catalog["backups"]:
        by_target.setdefault(record["target"], []).append(record)
    for target, records in by_target.items():
        for record in records[:keep_min]:
            protected.setdefault(record["path"], f"one of the {keep_min} newest backups of {target}")
        verified = [r for r in records if r["verified"]]
        if verified:
            newest = max(verified, key=lambda r: (r["verification"] or {}).get("verified_epoch") or 0)
            protected[newest["path"]] = f"newest verified backup of {target}"
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for record in catalog["backups"]:
        groups.setdefault((record["target"], record["tier"]), []).append(record)
    for (_target, tier), records in groups.items():
        limit = keep.get(tier)
        unit = tier if tier in ("weekly", "monthly") else "daily"
        now_index = _period(now, unit)[0]
        periods_kept: set[int] = set()
        for record in records:  # newest first
            epoch = record["completed_epoch"] or id_epoch(record["id"])
            index, label = _period(epoch, unit)
            within = limit is not None and now_index - index < limit
            if limit is None:
                reason = f"tier {tier} has no retention limit"
            elif within and tier in ("oplog", "manual"):
                reason = f"{tier} backup of the last {limit} days"
            elif within and index not in periods_kept:
                periods_kept.add(index)
                reason = f"newest {tier} backup of {label} (keep {limit})"
            else:
                reason = protected.get(record["path"])
            item = {k: record[k] for k in ("target", "tier", "id", "path", "completed_at", "verified")}
            if reason:
                keep_records.append({**item, "reason": reason})
            else:
                why = f"an older backup of {label}" if within else f"{tier} backup older than {limit} periods"
                delete_records.append({**item, "reason": why})
    return {"keep": keep_records, "delete": delete_records}


def delete_backup(record: dict[str, Any], root: str | Path) -> None:
    """Delete one complete backup: remove its marker first, so an interrupted delete leaves an
    incomplete directory (never mistaken for a backup), then the rest."""
    path = Path(record["path"]).resolve()
    root = Path(root).resolve()
    if root not in path.parents or path.name.endswith(PARTIAL_SUFFIX):
        raise BackupError(f"refusing to delete {path}: not a sealed backup under {root}")
    (path / MARKER).unlink(missing_ok=True)
    fsync_dir(path)
    shutil.rmtree(path)


def stale_partials(catalog: dict[str, Any], older_than_hours: float, now: float | None = None) -> list[dict[str, Any]]:
    """Abandoned partial directories (no writer holds their lock) older than the given age."""
    now = time.time() if now is None else now
    return [
        record
        for record in catalog["incomplete"]
        if record["path"].endswith(PARTIAL_SUFFIX)
        and not record["active"]
        and now - id_epoch(record["id"]) > older_than_hours * 3600
        and not lock_held(record["path"])
    ]


# --- metrics -------------------------------------------------------------------------------------


PROMETHEUS_METRICS = (
    ("last_success_timestamp_seconds", "Completion time of the newest complete backup.", "latest_completed_epoch"),
    ("last_verified_timestamp_seconds", "Time of the newest successful restore verification.", "latest_verified_epoch"),
    ("count", "Complete backups on disk.", "count"),
)


def prometheus_text(catalog: dict[str, Any]) -> str:
    """node_exporter textfile metrics: last successful backup and verification per target, and
    the number of backups (the timestamps only for targets that have one)."""
    summary = catalog["targets"]
    lines = []
    for suffix, help_text, key in PROMETHEUS_METRICS:
        name = f"opsbook_backup_{suffix}"
        lines += [f"# HELP {name} {help_text}", f"# TYPE {name} gauge"]
        for target in sorted(summary):
            value = summary[target][key]
            if key == "count":
                lines.append(f'{name}{{target="{target}"}} {value}')
            elif value:
                lines.append(f'{name}{{target="{target}"}} {value:.0f}')
    return "\n".join(lines) + "\n"


# --- shared by the writer modules ----------------------------------------------------------------


def writer_argument_spec(**extra: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The options every backup writer module takes (the opsbook.runbooks.backup doc fragment), plus its own."""
    spec: dict[str, dict[str, Any]] = {
        "root": {"type": "path", "required": True},
        "target": {"type": "str", "required": True},
        "tier": {"type": "str", "default": "daily", "choices": ["daily", "weekly", "monthly", "manual"]},
        "age_recipients": {"type": "list", "elements": "str", "default": []},
        "skip_if_newer_than_minutes": {"type": "int", "default": 0},
    }
    spec.update(extra)
    return spec


def catalog_argument_spec(**extra: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The options of the modules that work on the catalog's targets (the opsbook.runbooks.backup.catalog
    doc fragment: backup_info, backup_retention, backup_offsite), plus the module's own."""
    spec: dict[str, dict[str, Any]] = {
        "root": {"type": "path", "required": True},
        "targets": {"type": "list", "elements": "str", "default": []},
    }
    spec.update(extra)
    return spec


def restore_argument_spec(**extra: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The options of the modules that restore a backup, into scratch or over the original (the
    opsbook.runbooks.backup.restore doc fragment: backup_verify, backup_restore), plus the module's own.
    They reach the servers with the MongoDB login options: wrap it in mongodb_argument_spec()."""
    spec: dict[str, dict[str, Any]] = {
        "root": {"type": "path", "required": True},
        "age_identity_file": {"type": "path"},
        "parallel_collections": {"type": "int", "default": 4},
        "insertion_workers": {"type": "int", "default": 4},
        "mongorestore_path": {"type": "path", "default": "mongorestore"},
        "pg_restore_path": {"type": "path", "default": "pg_restore"},
    }
    spec.update(extra)
    return spec


def run_and_exit(
    module: Any,
    work: Callable[[dict[str, Any], bool], dict[str, Any]],
    failure: str,
    errors: tuple[type[BaseException], ...] = (),
    library: str | None = None,
    import_error: str | None = None,
) -> None:
    """The end of a backup module's main(): fail with missing_required_lib(library) when its import
    failed, else run `work(params, check_mode)` and exit with the result it returns (a `warnings`
    list in it becomes task warnings). BackupError, OSError and `errors` (a client library's base
    error) fail the task with "<failure>: <error>" and the traceback."""
    if import_error:
        module.fail_json(msg=missing_required_lib(library), exception=import_error)
    try:
        result = work(module.params, module.check_mode)
    except (BackupError, OSError, *errors) as err:
        module.fail_json(msg=f"{failure}: {err}", exception=traceback.format_exc())
    for warning in result.pop("warnings", []):
        module.warn(warning)
    module.exit_json(**result)


def run_mongodb_and_exit(module: Any, work: Callable[[dict[str, Any], bool], dict[str, Any]], failure: str) -> None:
    """run_and_exit for a module that reaches MongoDB: pymongo is required and its errors fail the
    task like BackupError does."""
    from ansible_collections.opsbook.runbooks.plugins.module_utils.mongodb import PYMONGO_IMPORT_ERROR, PyMongoError

    run_and_exit(module, work, failure, errors=(PyMongoError,), library="pymongo", import_error=PYMONGO_IMPORT_ERROR)


def recent_backup(root: str | Path, target: str, tier: str, minutes: int, now: float | None = None) -> dict | None:
    """The complete backup of target and tier that finished within `minutes`, if any."""
    if minutes <= 0:
        return None
    now = time.time() if now is None else now
    for record in list_backups(root, [target], [tier])["backups"]:
        if now - (record["completed_epoch"] or 0) < minutes * 60:
            return record
    return None


def skip_if_recent(params: dict[str, Any]) -> dict[str, Any] | None:
    """A writer's result when skip_if_newer_than_minutes finds a recent enough backup (nothing
    is written, no change), else None."""
    recent = recent_backup(params["root"], params["target"], params["tier"], params["skip_if_newer_than_minutes"])
    if recent is None:
        return None
    return {"changed": False, "skipped_for": recent["path"], "msg": f"backup {recent['id']} is recent enough"}


def encryption_details(recipients: list[str]) -> dict[str, Any] | None:
    return {"type": "age", "recipients": list(recipients)} if recipients else None


def tool_version(binary: str) -> str:
    """First line of `<binary> --version`, or "unknown" (mongo-tools built from source say little)."""
    try:
        out = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=30, check=False).stdout
    except OSError as err:
        raise BackupError(f"{binary} cannot be run: {err}") from err
    return (out.strip().splitlines() or ["unknown"])[0]
