# Copyright: opsbook contributors
# Apache License 2.0 (see LICENSE in the repository root)
"""Routine maintenance as plain functions over data: the maintenance window and deployment-freeze
guard, which logs to compress, MongoDB retention in batches and where compact may run, Redis
figures from INFO, certificate days left, and the capacity history with its linear projection
and SVG plot. No Ansible, pymongo or network import: the modules and filters are the edges."""

from __future__ import annotations

import datetime
import html
import os
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ansible_collections.opsbook.runbooks.plugins.module_utils.report import TIME_FORMAT, utc_iso

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
UTC = datetime.UTC


class MaintenanceError(ValueError):
    """Input an operator has to fix; the message says what."""


# --- time helpers ----------------------------------------------------------------------------


def parse_moment(value: Any) -> datetime.datetime:
    """An aware datetime from a datetime or an ISO 8601 string (naive means UTC)."""
    if isinstance(value, datetime.datetime):
        moment = value
    else:
        text = str(value).strip().replace("Z", "+00:00")
        try:
            moment = datetime.datetime.fromisoformat(text)
        except ValueError as err:
            raise MaintenanceError(f"{value!r} is not an ISO 8601 time such as 2025-01-12T02:30:00Z") from err
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def parse_clock(value: Any, what: str) -> datetime.time:
    try:
        hours, minutes = str(value).split(":")
        return datetime.time(int(hours), int(minutes))
    except ValueError as err:
        raise MaintenanceError(f"{what}: {value!r} is not a time of day HH:MM such as 02:00") from err


def weekday_number(name: Any, what: str) -> int:
    text = str(name).strip().lower()
    for number, day in enumerate(WEEKDAYS):
        if text in (day, day[:3]):
            return number
    raise MaintenanceError(f"{what}: {name!r} is not a weekday (monday … sunday)")


def zone(name: Any) -> datetime.tzinfo:
    if not name or str(name).upper() == "UTC":
        return UTC
    try:
        return ZoneInfo(str(name))
    except (ZoneInfoNotFoundError, ValueError) as err:
        raise MaintenanceError(f"timezone {name!r} is not an IANA time zone such as UTC or Europe/Berlin") from err


# --- maintenance window ----------------------------------------------------------------------


def check_window(window: Mapping[str, Any]) -> dict[str, Any]:
    """The window with defaults filled in and every field checked.

    weekday: the day it opens; time: HH:MM in `timezone`; duration_minutes; week_of_month: null
    (every week) or 1-5 (the first … fifth such weekday of the month: seed 001's "first Sunday")."""
    week = window.get("week_of_month")
    if week is not None and (not isinstance(week, int) or isinstance(week, bool) or not 1 <= week <= 5):
        raise MaintenanceError(f"window.week_of_month: {week!r} must be null (every week) or 1 to 5")
    duration = window.get("duration_minutes", 120)
    if not isinstance(duration, int) or isinstance(duration, bool) or not 0 < duration <= 7 * 24 * 60:
        raise MaintenanceError(f"window.duration_minutes: {duration!r} must be a whole number of minutes, 1 to 10080")
    return {
        "weekday": WEEKDAYS[weekday_number(window.get("weekday", "sunday"), "window.weekday")],
        "time": parse_clock(window.get("time", "02:00"), "window.time").strftime("%H:%M"),
        "duration_minutes": duration,
        "week_of_month": week,
        "timezone": str(window.get("timezone") or "UTC"),
    }


def _opens_on(day: datetime.date, window: Mapping[str, Any]) -> bool:
    if day.weekday() != weekday_number(window["weekday"], "window.weekday"):
        return False
    week = window.get("week_of_month")
    return week is None or (day.day - 1) // 7 + 1 == week


def _start(day: datetime.date, window: Mapping[str, Any]) -> datetime.datetime:
    clock = parse_clock(window["time"], "window.time")
    return datetime.datetime.combine(day, clock, tzinfo=zone(window.get("timezone")))


def window_status(now: Any, window: Mapping[str, Any]) -> dict[str, Any]:
    """Whether `now` is inside the window, the current or next opening, all in UTC ISO form."""
    window = check_window(window)
    moment = parse_moment(now)
    local = moment.astimezone(zone(window["timezone"]))
    length = datetime.timedelta(minutes=window["duration_minutes"])
    current = None
    for back in range(0, 8):  # a window lasts at most a week, so it opened at most 7 days ago
        day = local.date() - datetime.timedelta(days=back)
        if _opens_on(day, window):
            start = _start(day, window)
            if start <= moment < start + length:
                current = start
                break
    upcoming = None
    for ahead in range(0, 40 * 7):
        day = local.date() + datetime.timedelta(days=ahead)
        if _opens_on(day, window) and _start(day, window) > moment:
            upcoming = _start(day, window)
            break

    return {
        "inside": current is not None,
        "opened_at": utc_iso(current),
        "closes_at": utc_iso(current + length) if current else None,
        "next_opening": utc_iso(upcoming),
        "window": window,
    }


def describe_window(window: Mapping[str, Any]) -> str:
    window = check_window(window)
    ordinal = {1: "first", 2: "second", 3: "third", 4: "fourth", 5: "fifth"}
    day = window["weekday"].capitalize()
    when = f"the {ordinal[window['week_of_month']]} {day} of the month" if window["week_of_month"] else f"every {day}"
    return f"{when} at {window['time']} {window['timezone']} for {window['duration_minutes']} minutes"


# --- deployment freeze -----------------------------------------------------------------------


def freeze_reason(now: Any, freeze: Mapping[str, Any]) -> str | None:
    """Why `now` (in UTC) is inside a deployment freeze, or None (seed 004: Fridays after 12:00
    UTC, weekends and holidays, listed dates such as Black Friday).

    freeze: weekdays (whole days), after ({weekday: HH:MM}: from that time to the end of the day),
    dates (YYYY-MM-DD or {date, reason} or {from, to, reason}, inclusive)."""
    moment = parse_moment(now).astimezone(UTC)
    day_name = WEEKDAYS[moment.weekday()]
    for name in freeze.get("weekdays") or []:
        if weekday_number(name, "freeze.weekdays") == moment.weekday():
            return f"{day_name.capitalize()} is a freeze day (deployment freeze on {', '.join(freeze['weekdays'])})"
    for name, clock in (freeze.get("after") or {}).items():
        if weekday_number(name, "freeze.after") == moment.weekday():
            limit = parse_clock(clock, f"freeze.after.{name}")
            if moment.time() >= limit:
                return f"deployment freeze on {day_name.capitalize()}s after {limit.strftime('%H:%M')} UTC"
    today = moment.date()
    for entry in freeze.get("dates") or []:
        if isinstance(entry, Mapping):
            first = _date(entry.get("from", entry.get("date")), "freeze.dates")
            last = _date(entry.get("to", entry.get("date")), "freeze.dates")
            reason = entry.get("reason") or "listed freeze date"
        else:
            first = last = _date(entry, "freeze.dates")
            reason = "listed freeze date"
        if first > last:
            raise MaintenanceError(f"freeze.dates: {entry!r} ends before it starts")
        if first <= today <= last:
            return f"{today.isoformat()} is frozen: {reason}"
    return None


def _date(value: Any, what: str) -> datetime.date:
    if isinstance(value, datetime.date):
        return value
    try:
        return datetime.date.fromisoformat(str(value))
    except ValueError as err:
        raise MaintenanceError(f"{what}: {value!r} is not a date YYYY-MM-DD") from err


def guard(
    now: Any,
    window: Mapping[str, Any],
    freeze: Mapping[str, Any],
    *,
    force: bool = False,
    ignore_freeze: bool = False,
) -> dict[str, Any]:
    """The decision of the maintenance guard: may the maintenance run (inside the window, or
    forced), and may it restart anything (no freeze, or the freeze explicitly overridden)."""
    status = window_status(now, window)
    reason = freeze_reason(now, freeze)
    allowed = status["inside"] or force
    restarts = allowed and (reason is None or ignore_freeze)
    if status["inside"]:
        message = f"inside the maintenance window ({describe_window(window)}; closes {status['closes_at']})"
    elif force:
        message = f"outside the maintenance window ({describe_window(window)}), forced"
    else:
        message = (
            f"outside the maintenance window ({describe_window(window)}); the next one opens "
            f"{status['next_opening']}. Run then, or force with -e maintenance_force=true"
        )
    if reason and allowed:
        message += (
            f"; {reason}: steps that restart a service are overridden (maintenance_ignore_freeze)"
            if ignore_freeze
            else f"; {reason}: steps that restart a service are skipped (override: -e maintenance_ignore_freeze=true)"
        )
    return {
        "now": utc_iso(parse_moment(now)),
        "allowed": allowed,
        "forced": force and not status["inside"],
        "restarts_allowed": restarts,
        "freeze": reason,
        "message": message,
        **{k: status[k] for k in ("inside", "opened_at", "closes_at", "next_opening")},
    }


# --- logs ------------------------------------------------------------------------------------


def logs_to_compress(
    files: Iterable[tuple[str, float]], now_epoch: float, age_days: float, suffix: str = ".log"
) -> list[str]:
    """Files named *<suffix> last modified more than age_days ago (seed 001's
    `find logs/ -name "*.log" -mtime +7 -exec gzip {} \\;`, counted in exact hours rather than
    find's whole days), sorted; compressed ones (.gz) never match, so a rerun finds nothing."""
    limit = now_epoch - age_days * 86400
    return sorted(path for path, mtime in files if path.endswith(suffix) and mtime < limit)


def walk_files(roots: Iterable[str], suffix: str) -> tuple[list[tuple[str, float]], list[str]]:
    """(path, mtime) of every regular file ending in suffix under the roots (symlinks not
    followed), and a note per root that does not exist."""
    found: list[tuple[str, float]] = []
    notes: list[str] = []
    for root in roots:
        if not os.path.isdir(root):
            notes.append(f"{root}: no such directory")
            continue
        for directory, _dirs, names in os.walk(root):
            for name in names:
                path = os.path.join(directory, name)
                if name.endswith(suffix) and os.path.isfile(path) and not os.path.islink(path):
                    found.append((path, os.stat(path).st_mtime))
    return found, notes


def gzip_file(path: str) -> str:
    """Compress path to path.gz as gzip(1) does: same mode and times, the original removed only
    after the compressed copy is complete. An existing path.gz is never overwritten."""
    import gzip
    import shutil

    target = f"{path}.gz"
    if os.path.exists(target):
        raise MaintenanceError(f"{target} already exists; compare it with {path} and remove one")
    stat = os.stat(path)
    partial = f"{target}.partial"
    try:
        with open(path, "rb") as source, open(partial, "wb") as raw:
            with gzip.GzipFile(
                filename=os.path.basename(path), mode="wb", fileobj=raw, mtime=int(stat.st_mtime)
            ) as out:
                shutil.copyfileobj(source, out)
            raw.flush()
            os.fsync(raw.fileno())
        os.chmod(partial, stat.st_mode & 0o7777)
        os.utime(partial, (stat.st_atime, stat.st_mtime))
        os.rename(partial, target)
    except BaseException:
        if os.path.exists(partial):
            os.unlink(partial)
        raise
    os.unlink(path)
    return target


# --- MongoDB ---------------------------------------------------------------------------------


def check_retention_rules(rules: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Retention rules with defaults: database, collection, field (a date), days, batch_size."""
    checked = []
    for number, rule in enumerate(rules, start=1):
        missing = [key for key in ("database", "collection", "days") if not rule.get(key)]
        if missing:
            raise MaintenanceError(f"retention rule {number}: {', '.join(missing)} missing (got {dict(rule)!r})")
        days, batch = rule["days"], rule.get("batch_size", 1000)
        if not isinstance(days, int) or isinstance(days, bool) or days < 1:
            raise MaintenanceError(f"retention rule {number}: days must be a whole number of days, at least 1")
        if not isinstance(batch, int) or isinstance(batch, bool) or batch < 1:
            raise MaintenanceError(f"retention rule {number}: batch_size must be at least 1")
        checked.append(
            {
                "database": str(rule["database"]),
                "collection": str(rule["collection"]),
                "field": str(rule.get("field") or "timestamp"),
                "days": days,
                "batch_size": batch,
            }
        )
    return checked


def retention_filter(rule: Mapping[str, Any], now: datetime.datetime) -> dict[str, Any]:
    """Seed 003's `{timestamp: {$lt: new Date(Date.now() - 30 days)}}`."""
    return {rule["field"]: {"$lt": now - datetime.timedelta(days=rule["days"])}}


def apply_retention(
    rule: Mapping[str, Any],
    now: datetime.datetime,
    count: Callable[[dict[str, Any]], int],
    find_ids: Callable[[dict[str, Any], int], list[Any]],
    delete_ids: Callable[[list[Any]], int],
    *,
    dry_run: bool,
    max_batches: int = 0,
) -> dict[str, Any]:
    """Count the documents older than the rule's days (the dry run), then, unless dry_run, delete
    them batch by batch by _id (each batch re-checks the date condition, so a document updated
    meanwhile is kept). max_batches > 0 stops after that many batches; the rest waits for the
    next run."""
    query = retention_filter(rule, now)
    matched = count(query)
    result = {
        "database": rule["database"],
        "collection": rule["collection"],
        "field": rule["field"],
        "older_than": query[rule["field"]]["$lt"].strftime(TIME_FORMAT),
        "matched": matched,
        "deleted": 0,
        "batches": 0,
        "complete": matched == 0,
    }
    if dry_run or matched == 0:
        return result
    while True:
        ids = find_ids(query, rule["batch_size"])
        if not ids:
            result["complete"] = True
            break
        if max_batches and result["batches"] >= max_batches:
            break
        result["deleted"] += delete_ids(ids)
        result["batches"] += 1
    return result


def compact_decision(hello: Mapping[str, Any], allow_primary: bool) -> tuple[bool, str]:
    """Whether compact may run on this member (seed 003: one secondary at a time; the playbook's
    serial makes it one at a time) and why."""
    if hello.get("msg") == "isdbgrid":
        return False, "connected to a mongos: compact runs on each shard's members"
    if hello.get("arbiterOnly"):
        return False, "the member is an arbiter and holds no data"
    if not hello.get("setName"):
        if allow_primary:
            return True, "standalone server; compact allowed (allow_primary)"
        return False, "standalone server: compact blocks it; set allow_primary to run it anyway"
    if hello.get("secondary"):
        return True, "the member is a secondary"
    if hello.get("isWritablePrimary", hello.get("ismaster")):
        if allow_primary:
            return True, "the member is the primary; compact allowed (allow_primary)"
        return (
            False,
            "the member is the primary: compact runs on secondaries only (step it down first, or allow_primary)",
        )
    return False, "the member is neither primary nor secondary (recovering or syncing)"


def unused_for(unused: Iterable[Mapping[str, Any]], now: Any, min_days: float) -> list[dict[str, Any]]:
    """Indexes that $indexStats counts no access to (opsbook_mongodb_health.unused_indexes) since
    at least min_days ago; `unused_days` is how long. An index whose counter started less than
    min_days ago (a restart resets $indexStats) is not listed yet."""
    moment = parse_moment(now)
    kept = []
    for index in unused:
        since = index.get("since")
        days = None if not since else round((moment - parse_moment(since)).total_seconds() / 86400, 1)
        if days is not None and days >= min_days:
            kept.append({**index, "unused_days": days})
    return sorted(kept, key=lambda i: (i.get("database", ""), i["collection"], i["name"]))


def size_growth(previous: Mapping[str, Any], current: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Per key (database or database.collection), bytes now, at the last run and the change."""
    rows = []
    for key in sorted(current):
        now_bytes = current[key]
        before = previous.get(key)
        rows.append(
            {
                "name": key,
                "bytes": now_bytes,
                "previous_bytes": before,
                "growth_bytes": None if before is None or now_bytes is None else now_bytes - before,
                "growth_percent": (
                    None if not before or now_bytes is None else round(100.0 * (now_bytes - before) / before, 2)
                ),
            }
        )
    return rows


# --- Redis -----------------------------------------------------------------------------------


def redis_figures(info: Mapping[str, Any]) -> dict[str, Any]:
    """Seed 004's `INFO memory` and `INFO stats`: memory against maxmemory, hit rate, evictions."""

    def num(key: str) -> float | None:
        value = info.get(key)
        try:
            return None if value is None else float(value)
        except (TypeError, ValueError):
            return None

    used, limit = num("used_memory"), num("maxmemory")
    hits, misses = num("keyspace_hits"), num("keyspace_misses")
    lookups = None if hits is None or misses is None else hits + misses
    return {
        "used_memory_bytes": used,
        "maxmemory_bytes": limit,
        "maxmemory_policy": info.get("maxmemory_policy"),
        "memory_percent": round(100.0 * used / limit, 2) if used is not None and limit else None,
        "keyspace_hits": hits,
        "keyspace_misses": misses,
        "hit_rate_percent": round(100.0 * hits / lookups, 2) if lookups and hits is not None else None,
        "evicted_keys": num("evicted_keys"),
        "notes": [
            *(["maxmemory is 0 (no limit): memory is not judged against a limit"] if limit == 0 else []),
            *(["no key lookups since the server started: the hit rate is unknown"] if lookups == 0 else []),
        ],
    }


# --- certificates ----------------------------------------------------------------------------


def days_left(not_after: Any, now: Any) -> float:
    """Days until a certificate's notAfter (ASN.1 20250112020000Z as get_certificate returns it,
    or ISO 8601)."""
    text = str(not_after)
    try:
        end = datetime.datetime.strptime(text, "%Y%m%d%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        end = parse_moment(text)
    return round((end - parse_moment(now)).total_seconds() / 86400, 2)


# --- capacity --------------------------------------------------------------------------------


def add_samples(history: Mapping[str, Any] | None, samples: Iterable[Mapping[str, Any]], keep: int) -> dict[str, Any]:
    """The history with the samples appended (each: time, target, kind, used_bytes, size_bytes),
    the oldest dropped beyond `keep` samples per target."""
    old = list((history or {}).get("samples") or [])
    seen = {(s["time"], s["target"]) for s in old}
    merged = old
    for sample in samples:
        key = (sample["time"], sample["target"])
        if key not in seen:  # hosts sharing a disk (or a rerun in the same second) add it once
            seen.add(key)
            merged.append(dict(sample))
    by_target: dict[str, list[dict[str, Any]]] = {}
    for sample in merged:
        by_target.setdefault(sample["target"], []).append(sample)
    kept = [s for target in by_target.values() for s in sorted(target, key=lambda s: s["time"])[-keep:]]
    return {"format": 1, "samples": sorted(kept, key=lambda s: (s["time"], s["target"]))}


def _percent(sample: Mapping[str, Any]) -> float | None:
    used, size = sample.get("used_bytes"), sample.get("size_bytes")
    return 100.0 * used / size if used is not None and size else None


def projection(samples: Iterable[Mapping[str, Any]], thresholds: Iterable[float] = (80, 90)) -> dict[str, Any]:
    """Least-squares lines through one target's samples: bytes per day always, and, for a target
    with a size (a disk), used % per day and the days from the newest sample until each threshold:
    0 when already above, None when not growing, without a size or without enough history (two
    samples at least an hour apart)."""
    points = sorted(
        ((parse_moment(s["time"]).timestamp() / 86400, s) for s in samples if s.get("used_bytes") is not None),
        key=lambda p: p[0],
    )
    thresholds = list(thresholds)
    latest = _percent(points[-1][1]) if points else None
    result: dict[str, Any] = {
        "samples": len(points),
        "used_percent": None if latest is None else round(latest, 2),
        "growth_percent_per_day": None,
        "growth_bytes_per_day": None,
        "days_until": {str(int(t)): None for t in thresholds},
        "note": None,
    }
    for t in thresholds:
        if latest is not None and latest >= t:
            result["days_until"][str(int(t))] = 0
    if len(points) < 2 or points[-1][0] - points[0][0] < 1 / 24:
        result["note"] = "not enough history for a projection (two samples at least an hour apart)"
        return result
    xs = [x for x, _sample in points]
    mean_x = sum(xs) / len(xs)
    spread = sum((x - mean_x) ** 2 for x in xs)

    def slope_of(ys: list[float]) -> tuple[float, float]:
        mean_y = sum(ys) / len(ys)
        slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / spread
        return slope, mean_y - slope * mean_x

    byte_slope, _intercept = slope_of([float(s["used_bytes"]) for _x, s in points])
    result["growth_bytes_per_day"] = round(byte_slope)
    percents = [_percent(s) for _x, s in points]
    if any(p is None for p in percents):
        result["note"] = "no size known: growth only" if byte_slope > 0 else "not growing"
        return result
    slope, intercept = slope_of([float(p) for p in percents if p is not None])
    result["growth_percent_per_day"] = round(slope, 4)
    fitted_now = intercept + slope * xs[-1]
    for t in thresholds:
        key = str(int(t))
        if result["days_until"][key] is None and slope > 0:
            result["days_until"][key] = round(max(0.0, (t - fitted_now) / slope), 1)
    if slope <= 0:
        result["note"] = "not growing"
    return result


def capacity_rows(history: Mapping[str, Any], thresholds: Iterable[float] = (80, 90)) -> list[dict[str, Any]]:
    """One row per target: its latest figures and the projection."""
    thresholds = list(thresholds)
    by_target: dict[str, list[Mapping[str, Any]]] = {}
    for sample in history.get("samples") or []:
        by_target.setdefault(sample["target"], []).append(sample)
    rows = []
    for target in sorted(by_target):
        samples = sorted(by_target[target], key=lambda s: s["time"])
        latest = samples[-1]
        rows.append(
            {
                "target": target,
                "kind": latest.get("kind"),
                "time": latest["time"],
                "used_bytes": latest.get("used_bytes"),
                "size_bytes": latest.get("size_bytes"),
                **projection(samples, thresholds),
            }
        )
    return rows


PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf")


def capacity_svg(
    history: Mapping[str, Any], thresholds: Iterable[float] = (80, 90), width: int = 640, height: int = 260
) -> str:
    """A small line plot of used % over time per target with a size (disks, and anything given a
    size), the thresholds as dashed lines: inline SVG for the HTML report."""
    series: dict[str, list[tuple[float, float]]] = {}
    for sample in history.get("samples") or []:
        percent = _percent(sample)
        if percent is not None:
            series.setdefault(sample["target"], []).append((parse_moment(sample["time"]).timestamp(), percent))
    left, right, top, bottom = 48, 150, 12, 28
    plot_w, plot_h = width - left - right, height - top - bottom
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        'role="img" aria-label="Used space per target over time" font-family="sans-serif" font-size="11">',
        f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#999"/>',
    ]
    times = [t for points in series.values() for t, _value in points]
    if not times:
        parts.append(f'<text x="{left + 8}" y="{top + 20}">no capacity samples with a size yet</text></svg>')
        return "".join(parts)
    t0, t1 = min(times), max(times)
    span = (t1 - t0) or 1.0

    def x(t: float) -> float:
        return round(left + plot_w * ((t - t0) / span if t1 > t0 else 0.5), 1)

    def y(p: float) -> float:
        return round(top + plot_h * (1 - min(max(p, 0.0), 100.0) / 100.0), 1)

    for tick in (0, 25, 50, 75, 100):
        parts.append(f'<text x="{left - 6}" y="{y(tick) + 4}" text-anchor="end">{tick}%</text>')
    for threshold in thresholds:
        parts.append(
            f'<line x1="{left}" x2="{left + plot_w}" y1="{y(threshold)}" y2="{y(threshold)}" '
            f'stroke="#c00" stroke-dasharray="4 3"/><text x="{left + plot_w - 4}" y="{y(threshold) - 3}" '
            f'text-anchor="end" fill="#c00">{threshold:g}%</text>'
        )
    for moment, anchor in ((t0, "start"), (t1, "end")):
        stamp = datetime.datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%d")
        parts.append(f'<text x="{x(moment)}" y="{height - 8}" text-anchor="{anchor}">{stamp}</text>')
    for number, target in enumerate(sorted(series)):
        colour = PALETTE[number % len(PALETTE)]
        points = sorted(series[target])
        path = " ".join(f"{x(t)},{y(p)}" for t, p in points)
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{path}"/>')
        parts += [f'<circle cx="{x(t)}" cy="{y(p)}" r="2.5" fill="{colour}"/>' for t, p in points]
        legend_y = top + 14 * (number + 1)
        parts.append(
            f'<rect x="{left + plot_w + 10}" y="{legend_y - 8}" width="10" height="10" fill="{colour}"/>'
            f'<text x="{left + plot_w + 24}" y="{legend_y + 1}">{html.escape(target)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


# --- the steps' results as the roles pass them on (the maintenance filters) -------------------


def maintenance_guard(
    now: Any, window: Mapping[str, Any], freeze: Mapping[str, Any], force: Any = False, ignore_freeze: Any = False
) -> dict[str, Any]:
    """The guard's decision for `now` (see opsbook_maintenance.guard)."""
    return guard(now, window, freeze, force=_bool(force), ignore_freeze=_bool(ignore_freeze))


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
    return unused_for(flat, now, min_days)


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
                days_left=days_left(result["not_after"], now),
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
            raise MaintenanceError(
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
