# Copyright: opsbook contributors
# Apache License 2.0 (see LICENSE in the repository root)
"""The health picture of a MongoDB deployment, as plain functions over the server's replies
(serverStatus, hello, replSetGetStatus, replSetGetConfig, currentOp, $indexStats, dbStats and
the first and last oplog entries). Each returns figures and notes; a field or command the server
does not have becomes None with a note saying so, never an exception. `gather()` runs the checks
through a `Runner` (the module's pymongo edge, or a fake serving recorded replies in tests) and
`observations()` turns the figures into the alert catalog's metrics. No Ansible or pymongo import."""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol

CHECKS = ("server", "replication", "cache", "slow_ops", "indexes", "databases")
SYSTEM_DATABASES = frozenset({"admin", "config", "local"})

# Replica set member states (MongoDB manual, "Replica Set Member States").
STATE_NAMES = {
    0: "STARTUP",
    1: "PRIMARY",
    2: "SECONDARY",
    3: "RECOVERING",
    4: "FATAL",
    5: "STARTUP2",
    6: "UNKNOWN",
    7: "ARBITER",
    8: "DOWN",
    9: "ROLLBACK",
    10: "REMOVED",
}
# States in which a member is eligible to vote ("Eligible to vote" in the manual's table).
VOTING_STATES = frozenset({1, 2, 3, 5, 7, 9})
# States of a member that is up but catching up: it serves no reads and has no meaningful lag.
SYNCING_STATES = frozenset({3, 5, 9})
HEALTHY_STATES = frozenset({1, 2, 7})

# wiredTiger.cache fields of serverStatus.
CACHE_FIELDS = {
    "bytes_in_cache": "bytes currently in the cache",
    "max_bytes": "maximum bytes configured",
    "dirty_bytes": "tracked dirty bytes in the cache",
    "pages_read_into_cache": "pages read into cache",
    "pages_requested": "pages requested from the cache",
}

Figures = dict[str, Any]
Notes = list[str]


class CommandError(Exception):
    """A command the server refused or does not have; code_name is MongoDB's codeName."""

    def __init__(self, message: str, code_name: str | None = None) -> None:
        super().__init__(message)
        self.code_name = code_name


class Runner(Protocol):
    """What gather() needs from a connection; every method raises CommandError on failure."""

    def command(self, database: str, document: Mapping[str, Any]) -> dict[str, Any]: ...

    def find_one(
        self,
        database: str,
        collection: str,
        sort: list[tuple[str, int]] | None,
        projection: Mapping[str, Any],
        max_time_ms: int | None = None,
    ) -> dict[str, Any] | None: ...

    def aggregate(self, database: str, collection: str, pipeline: list[dict[str, Any]]) -> list[dict[str, Any]]: ...


# --- small helpers ---------------------------------------------------------------------------


def _number(value: Any) -> float | int | None:
    """An int or float from a BSON number (Int64 is an int subclass), else None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return value


def _percent(part: Any, whole: Any) -> float | None:
    part, whole = _number(part), _number(whole)
    if part is None or not whole:
        return None
    return round(100.0 * part / whole, 2)


def _utc(value: Any) -> datetime.datetime | None:
    """A datetime from a BSON date (naive UTC from pymongo, or aware), else None."""
    if isinstance(value, datetime.datetime):
        return value if value.tzinfo else value.replace(tzinfo=datetime.UTC)
    return None


def _iso(value: Any) -> str | None:
    moment = _utc(value)
    return moment.isoformat().replace("+00:00", "Z") if moment else None


def ts_seconds(ts: Any) -> float | None:
    """Seconds since the epoch of a BSON Timestamp (its `time`), a datetime, or Extended JSON."""
    if hasattr(ts, "time") and hasattr(ts, "inc"):
        return float(ts.time)
    if isinstance(ts, datetime.datetime):
        return _utc(ts).timestamp()  # type: ignore[union-attr]
    if isinstance(ts, Mapping) and isinstance(ts.get("$timestamp"), Mapping):
        return float(ts["$timestamp"]["t"])
    return None


def error_note(what: str, err: CommandError) -> str:
    """A note for a command that failed, with a hint for the usual causes."""
    hint = {
        "CommandNotFound": "the server does not have this command",
        "NotImplemented": "the server does not implement it",
        "Unauthorized": "the user may not run it (MongoDB: grant the clusterMonitor role)",
        "NoReplicationEnabled": "the server is not a replica set member",
        "MaxTimeMSExpired": "the server took longer than allowed",
    }.get(err.code_name or "")
    return f"{what}: {err}" + (f" ({hint})" if hint else "")


# --- server ----------------------------------------------------------------------------------


def server_figures(status: Mapping[str, Any], build_info: Mapping[str, Any] | None = None) -> tuple[Figures, Notes]:
    """Version, uptime, connections and pool utilisation, opcounters and asserts."""
    notes: Notes = []
    connections = status.get("connections")
    figures: Figures = {
        "host": status.get("host"),
        "process": status.get("process"),
        "version": (build_info or {}).get("version") or status.get("version"),
        "uptime_seconds": _number(status.get("uptime")),
        "storage_engine": (status.get("storageEngine") or {}).get("name"),
        "connections": None,
        "pool_utilisation_percent": None,
        "opcounters": None,
        "asserts": None,
    }
    if isinstance(connections, Mapping) and _number(connections.get("current")) is not None:
        current, available = connections["current"], _number(connections.get("available"))
        figures["connections"] = {
            "current": current,
            "available": available,
            "total_created": _number(connections.get("totalCreated")),
            "active": _number(connections.get("active")),
        }
        if available is not None:
            figures["pool_utilisation_percent"] = _percent(current, current + available)
    else:
        notes.append("server.connections: serverStatus has no 'connections' section; pool utilisation is unknown")
    for key in ("opcounters", "asserts"):
        section = status.get(key)
        if isinstance(section, Mapping):
            figures[key] = {k: _number(v) for k, v in section.items() if _number(v) is not None}
        else:
            notes.append(f"server.{key}: serverStatus has no '{key}' section")
    if figures["uptime_seconds"] is None:
        notes.append("server.uptime_seconds: serverStatus has no 'uptime'")
    return figures, notes


# --- replication -----------------------------------------------------------------------------


def _config_members(config_reply: Mapping[str, Any] | None) -> dict[Any, Mapping[str, Any]]:
    if not config_reply:
        return {}
    config = config_reply.get("config", config_reply)
    return {m.get("_id"): m for m in config.get("members", [])}


def member_figures(
    member: Mapping[str, Any], config: Mapping[str, Any] | None, primary_optime: datetime.datetime | None
) -> dict[str, Any]:
    """One member: state, health, votes, flags and its judgement (primary, secondary, arbiter,
    syncing or unhealthy), and, for a healthy data-bearing SECONDARY, its lag."""
    state = member.get("state")
    health = member.get("health")
    arbiter = state == 7 or bool(config and config.get("arbiterOnly"))
    delay = None
    if config:
        delay = _number(config.get("secondaryDelaySecs", config.get("slaveDelay")))
    optime = _utc(member.get("optimeDate"))
    if health != 1 or state not in HEALTHY_STATES | SYNCING_STATES:
        judgement = "unhealthy"
    elif state in SYNCING_STATES:
        judgement = "syncing"
    else:
        judgement = {1: "primary", 2: "secondary", 7: "arbiter"}[state]
    lag = None
    if judgement == "secondary" and not arbiter and optime is not None and primary_optime is not None:
        lag = max(0.0, round((primary_optime - optime).total_seconds(), 3))
    return {
        "id": member.get("_id"),
        "name": member.get("name"),
        "state": state,
        "state_str": STATE_NAMES.get(state, member.get("stateStr")),
        "health": health,
        "judgement": judgement,
        "votes": _number(config.get("votes", 1)) if config else None,
        "priority": _number(config.get("priority", 1)) if config else None,
        "hidden": bool(config.get("hidden")) if config else None,
        "arbiter": arbiter,
        "delay_seconds": (delay or 0) if config else None,
        "self": bool(member.get("self")),
        "optime_date": None if arbiter else _iso(optime),
        "lag_seconds": lag,
        # Lag beyond the configured delay of a delayed member: the part that is not intended.
        "excess_lag_seconds": None if lag is None else max(0.0, round(lag - (delay or 0), 3)),
        "uptime_seconds": _number(member.get("uptime")),
        "last_heartbeat_message": member.get("lastHeartbeatMessage") or None,
    }


def replication_figures(
    hello: Mapping[str, Any],
    status: Mapping[str, Any] | None,
    config: Mapping[str, Any] | None,
    status_error: CommandError | None = None,
    config_error: CommandError | None = None,
) -> tuple[Figures, Notes]:
    """Set name, members with their judgement and lag, has-primary, voting majority, counts of
    unhealthy and syncing members. Without replSetGetStatus, what hello says."""
    notes: Notes = []
    figures: Figures = {
        "replica_set": hello.get("setName"),
        "mongos": hello.get("msg") == "isdbgrid",
        "members": None,
        "primary": hello.get("primary"),
        "has_primary": None,
        "voting_members": None,
        "healthy_voting_members": None,
        "majority_needed": None,
        "voting_majority": None,
        "unhealthy_members": None,
        "syncing_members": None,
        "max_lag_seconds": None,
    }
    if figures["mongos"]:
        notes.append("replication: connected to a mongos; check each shard's replica set directly")
        return figures, notes
    if not figures["replica_set"]:
        notes.append("replication: the server is standalone (hello has no setName); no replication to check")
        return figures, notes
    if hello.get("isWritablePrimary", hello.get("ismaster")):
        figures["primary"] = hello.get("me") or figures["primary"]
    if status is None:
        figures["has_primary"] = bool(hello.get("isWritablePrimary", hello.get("ismaster")) or hello.get("primary"))
        reason = error_note("replSetGetStatus", status_error) if status_error else "replSetGetStatus: no reply"
        notes.append(
            f"replication.members: {reason}; member states, lag and voting majority are unknown, "
            "has_primary comes from hello"
        )
        return figures, notes

    configs = _config_members(config)
    if not configs:
        reason = error_note("replSetGetConfig", config_error) if config_error else "replSetGetConfig: no members"
        notes.append(
            f"replication: {reason}; votes, hidden and arbiter flags are unknown, so the voting majority is not judged"
        )
    raw_members = list(status.get("members", []))
    primaries = [m for m in raw_members if m.get("state") == 1 and m.get("health") == 1]
    primary_optime = _utc(primaries[0].get("optimeDate")) if primaries else None
    members = [member_figures(m, configs.get(m.get("_id")), primary_optime) for m in raw_members]
    figures["members"] = members
    figures["has_primary"] = bool(primaries)
    figures["primary"] = primaries[0].get("name") if primaries else None
    figures["unhealthy_members"] = sum(m["judgement"] == "unhealthy" for m in members)
    figures["syncing_members"] = sum(m["judgement"] == "syncing" for m in members)
    if not primaries:
        notes.append("replication.lag: the set has no primary, so no member's lag can be measured against it")
    lags = [m["lag_seconds"] for m in members if m["lag_seconds"] is not None]
    figures["max_lag_seconds"] = max(lags) if lags else None
    if configs:
        # A majority of all voting members' votes (arbiters vote; hidden members may), counted
        # against the votes of those that are up and in a state that may vote.
        total_votes = sum(_number(c.get("votes", 1)) or 0 for c in configs.values())
        healthy = [m for m in members if m["votes"] and m["health"] == 1 and m["state"] in VOTING_STATES]
        figures["voting_members"] = sum(1 for c in configs.values() if (_number(c.get("votes", 1)) or 0) > 0)
        figures["healthy_voting_members"] = len(healthy)
        figures["majority_needed"] = int(total_votes // 2 + 1)
        figures["voting_majority"] = sum(m["votes"] for m in healthy) >= figures["majority_needed"]
    return figures, notes


# An oplog holding at least this share of its maximum size drops its oldest entries as it grows.
OPLOG_FULL_PERCENT = 90.0


def oplog_window(
    first: Mapping[str, Any] | None, last: Mapping[str, Any] | None, stats: Mapping[str, Any] | None = None
) -> tuple[Figures, Notes]:
    """Hours between the first and last entries of local.oplog.rs (their `ts`), and how full the
    oplog is (collStats). An oplog that has not filled up yet has dropped nothing: a secondary
    can resume from any point since it began, so its window is not yet a limit (`full` False)."""
    start = ts_seconds((first or {}).get("ts"))
    end = ts_seconds((last or {}).get("ts"))
    size, max_size = _number((stats or {}).get("size")), _number((stats or {}).get("maxSize"))
    used = _percent(size, max_size)
    figures: Figures = {
        "first_entry": _iso(datetime.datetime.fromtimestamp(start, datetime.UTC)) if start else None,
        "last_entry": _iso(datetime.datetime.fromtimestamp(end, datetime.UTC)) if end else None,
        "window_hours": None,
        "size_bytes": size,
        "max_size_bytes": max_size,
        "used_percent": used,
        "full": None if used is None else used >= OPLOG_FULL_PERCENT,
    }
    notes: Notes = []
    if figures["full"] is False:
        notes.append(
            f"replication.oplog: the oplog holds {used}% of its maximum size and has dropped no entry yet, "
            "so its window is not a limit yet and is not judged"
        )
    if start is None:
        return figures, ["replication.oplog: local.oplog.rs is missing or empty; the oplog window is unknown"]
    if end is None:
        return figures, [*notes, "replication.oplog: the last entry is unknown, and so is the window"]
    figures["window_hours"] = round((end - start) / 3600.0, 3)
    return figures, notes


# --- WiredTiger cache ------------------------------------------------------------------------


def cache_figures(status: Mapping[str, Any]) -> tuple[Figures, Notes]:
    """Bytes used/max, dirty %, and the hit ratio: 1 - pages read into cache / pages requested."""
    figures: Figures = {key: None for key in CACHE_FIELDS}
    figures.update({"used_percent": None, "dirty_percent": None, "hit_ratio_percent": None})
    cache = (status.get("wiredTiger") or {}).get("cache")
    if not isinstance(cache, Mapping):
        engine = (status.get("storageEngine") or {}).get("name")
        why = f"the storage engine is {engine}" if engine else "serverStatus has no 'wiredTiger' section"
        return figures, [f"cache: {why}; WiredTiger cache figures are unknown"]
    notes: Notes = []
    for key, field in CACHE_FIELDS.items():
        figures[key] = _number(cache.get(field))
        if figures[key] is None:
            notes.append(f"cache.{key}: wiredTiger.cache has no {field!r}")
    figures["used_percent"] = _percent(figures["bytes_in_cache"], figures["max_bytes"])
    figures["dirty_percent"] = _percent(figures["dirty_bytes"], figures["max_bytes"])
    requested, read = figures["pages_requested"], figures["pages_read_into_cache"]
    if requested and read is not None:
        figures["hit_ratio_percent"] = round(100.0 * (1 - read / requested), 2)
    elif requested == 0:
        notes.append("cache.hit_ratio_percent: no page has been requested from the cache yet")
    return figures, notes


# --- slow operations -------------------------------------------------------------------------


def _running_ms(op: Mapping[str, Any]) -> float | None:
    micros = _number(op.get("microsecs_running"))
    if micros is not None:
        return micros / 1000.0
    secs = _number(op.get("secs_running"))
    return None if secs is None else secs * 1000.0


def excluded_because(op: Mapping[str, Any]) -> str | None:
    """Why an in-progress operation is not a client's work that can be slow, or None."""
    command = op.get("command") or {}
    cursor = op.get("cursor") or {}
    if not op.get("active", True):
        return "idle"
    if "currentOp" in command or any("$currentOp" in stage for stage in command.get("pipeline") or []):
        return "own"
    if not op.get("client") and not str(op.get("desc", "")).startswith("conn"):
        return "system"
    if op.get("op") == "none":
        return "system"
    if "maxAwaitTimeMS" in command or cursor.get("tailable") or cursor.get("awaitData"):
        return "waiting"
    if str(op.get("ns", "")).startswith("local.oplog."):
        return "waiting"
    return None


def slow_operations(reply: Mapping[str, Any], threshold_ms: float) -> tuple[Figures, Notes]:
    """Client operations running longer than threshold_ms, from the currentOp command's reply.
    The module's own currentOp, idle connections, internal threads and operations that wait by
    design (awaitable hello, tailable oplog cursors of secondaries) are left out."""
    inprog = reply.get("inprog")
    figures: Figures = {"threshold_ms": threshold_ms, "count": None, "operations": None, "in_progress": None}
    if not isinstance(inprog, list):
        return figures, ["slow_ops: the currentOp reply has no 'inprog' list"]
    figures["in_progress"] = len(inprog)
    if not inprog:
        # MongoDB lists the currentOp command itself; an empty list means the server does not
        # report operations (FerretDB 1.x answers currentOp with an empty list), not that none run.
        return figures, ["slow_ops: currentOp listed no operation, not even itself: the server does not report them"]
    slow = []
    for op in inprog:
        running = _running_ms(op)
        if excluded_because(op) or running is None or running <= threshold_ms:
            continue
        command = op.get("command") or {}
        slow.append(
            {
                "opid": op.get("opid"),
                "op": op.get("op"),
                "ns": op.get("ns"),
                "command": next(iter(command), None),
                "running_ms": round(running, 1),
                "client": op.get("client"),
                "app_name": op.get("appName"),
                "plan_summary": op.get("planSummary"),
                "waiting_for_lock": op.get("waitingForLock"),
            }
        )
    slow.sort(key=lambda o: -o["running_ms"])
    figures["count"] = len(slow)
    figures["operations"] = slow
    return figures, []


# --- databases and indexes -------------------------------------------------------------------


def database_names(list_databases: Mapping[str, Any], wanted: Iterable[str] = ()) -> tuple[list[str], Notes]:
    """The databases to check: the wanted ones, or every non-system database."""
    present = [d["name"] for d in list_databases.get("databases", [])]
    wanted = list(wanted)
    if not wanted:
        return [name for name in present if name not in SYSTEM_DATABASES], []
    notes = [f"databases.{name}: listDatabases does not list it" for name in wanted if name not in present]
    return wanted, notes


def collection_names(list_collections: Mapping[str, Any]) -> list[str]:
    """Collections of a listCollections reply whose indexes count: no views, no system.* ones."""
    batch = (list_collections.get("cursor") or {}).get("firstBatch", [])
    return sorted(
        c["name"] for c in batch if c.get("type", "collection") == "collection" and not c["name"].startswith("system.")
    )


def database_sizes(db_stats: Mapping[str, Any]) -> Figures:
    """Sizes and counts from dbStats (bytes, scale 1)."""
    return {
        "collections": _number(db_stats.get("collections")),
        "objects": _number(db_stats.get("objects")),
        "indexes": _number(db_stats.get("indexes")),
        "data_size_bytes": _number(db_stats.get("dataSize")),
        "storage_size_bytes": _number(db_stats.get("storageSize")),
        "index_size_bytes": _number(db_stats.get("indexSize")),
        "total_size_bytes": _number(db_stats.get("totalSize")),
    }


def unused_indexes(collection: str, index_stats: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Indexes of one collection that $indexStats counts no access to since `since`. The _id
    index is never unused (it cannot be dropped); a TTL index is used by expiry, which $indexStats
    does not count, so it is not listed either."""
    unused = []
    for stat in index_stats:
        name = stat.get("name")
        spec = stat.get("spec") or {}
        ops = _number((stat.get("accesses") or {}).get("ops"))
        if name == "_id_" or ops != 0 or "expireAfterSeconds" in spec:
            continue
        unused.append(
            {
                "collection": collection,
                "name": name,
                "key": dict(stat.get("key") or {}),
                "since": _iso((stat.get("accesses") or {}).get("since")),
            }
        )
    return unused


# --- the whole picture -----------------------------------------------------------------------


def _try(run: Callable[[], Any], what: str, notes: Notes) -> tuple[Any, CommandError | None]:
    try:
        return run(), None
    except CommandError as err:
        notes.append(error_note(what, err))
        return None, err


def gather(
    runner: Runner,
    checks: Iterable[str] = CHECKS,
    *,
    databases: Iterable[str] = (),
    slow_op_threshold_ms: float = 1000,
    oplog_scan_timeout_ms: int = 5000,
) -> Figures:
    """Run the selected checks; returns {node, server, replication, cache, slow_ops, databases,
    notes} with None for every check not selected or not answerable."""
    checks = set(checks)
    notes: Notes = []
    result: Figures = {check: None for check in ("server", "replication", "cache", "slow_ops", "databases")}
    hello, err = _try(lambda: runner.command("admin", {"hello": 1}), "hello", [])
    if err is not None:  # servers before 4.4.2 have only the legacy name
        hello, _err = _try(lambda: runner.command("admin", {"isMaster": 1}), "hello/isMaster", notes)
    hello = hello or {}
    arbiter = bool(hello.get("arbiterOnly"))
    if arbiter:
        notes.append("the server is an arbiter: it holds no data, so the oplog, cache and database checks are skipped")

    status = None
    if checks & {"server", "cache"}:
        status, _err = _try(lambda: runner.command("admin", {"serverStatus": 1}), "serverStatus", notes)
    if "server" in checks and status is not None:
        build, _err = _try(lambda: runner.command("admin", {"buildInfo": 1}), "buildInfo", notes)
        result["server"], more = server_figures(status, build)
        notes += more
    if "cache" in checks and status is not None and not arbiter:
        result["cache"], more = cache_figures(status)
        notes += more

    if "replication" in checks:
        rs_status = rs_config = None
        status_err = config_err = None
        if hello.get("setName"):
            rs_status, status_err = _try(lambda: runner.command("admin", {"replSetGetStatus": 1}), "", [])
            rs_config, config_err = _try(lambda: runner.command("admin", {"replSetGetConfig": 1}), "", [])
        replication, more = replication_figures(hello, rs_status, rs_config, status_err, config_err)
        notes += more
        replication["oplog"] = None
        if hello.get("setName") and not arbiter:
            replication["oplog"] = _oplog(runner, hello, oplog_scan_timeout_ms, notes)
        result["replication"] = replication

    if "slow_ops" in checks:
        reply, _err = _try(lambda: runner.command("admin", {"currentOp": 1}), "currentOp", notes)
        if reply is not None:
            result["slow_ops"], more = slow_operations(reply, slow_op_threshold_ms)
            notes += more

    if checks & {"databases", "indexes"} and not arbiter:
        listing, _err = _try(
            lambda: runner.command("admin", {"listDatabases": 1, "nameOnly": True}), "listDatabases", notes
        )
        if listing is not None:
            names, more = database_names(listing, databases)
            notes += more
            result["databases"] = {
                name: _database(runner, name, "databases" in checks, "indexes" in checks, notes) for name in names
            }
    result["node"] = {
        "me": hello.get("me"),
        "replica_set": hello.get("setName"),
        "writable_primary": bool(hello.get("isWritablePrimary", hello.get("ismaster"))),
        "secondary": bool(hello.get("secondary")),
        "arbiter": arbiter,
    }
    result["notes"] = notes
    return result


def _oplog(runner: Runner, hello: Mapping[str, Any], timeout_ms: int, notes: Notes) -> Figures | None:
    """The oplog's size (collStats), its first entry (natural order: a capped collection keeps
    insertion order, and a scan without sort reads it cheaply) and its last one: hello's
    lastWrite on MongoDB; otherwise the last in natural order, which a server without a reverse
    scan (FerretDB) finds only by reading the whole oplog. That scan is limited to timeout_ms, and
    skipped while the oplog has not filled up, since such a window is not judged."""
    stats, _err = _try(
        lambda: runner.command("local", {"collStats": "oplog.rs"}), "replication.oplog: collStats", notes
    )
    first, err = _try(lambda: runner.find_one("local", "oplog.rs", None, {"ts": 1}), "replication.oplog", notes)
    if err is not None:
        return None
    last_write = ((hello.get("lastWrite") or {}).get("opTime") or {}).get("ts")
    last: Mapping[str, Any] | None = None
    if last_write is not None:
        last = {"ts": last_write}
    elif first is not None and oplog_window(first, None, stats)[0]["full"] is False:
        notes.append(
            "replication.oplog: hello has no lastWrite and the oplog has not filled up, so its last entry "
            "(a scan of the whole oplog on this server) was not looked up"
        )
    elif first is not None:
        last, _err = _try(
            lambda: runner.find_one("local", "oplog.rs", [("$natural", -1)], {"ts": 1}, timeout_ms),
            f"replication.oplog: the last entry (limit {timeout_ms} ms)",
            notes,
        )
    figures, more = oplog_window(first, last, stats)
    notes += more
    return figures


def _database(runner: Runner, name: str, sizes: bool, indexes: bool, notes: Notes) -> Figures:
    figures: Figures = {}
    if sizes:
        stats, _err = _try(lambda: runner.command(name, {"dbStats": 1, "scale": 1}), f"databases.{name}.dbStats", notes)
        figures.update(database_sizes(stats) if stats is not None else database_sizes({}))
    if indexes:
        figures["unused_indexes"] = None
        listing, _err = _try(
            lambda: runner.command(name, {"listCollections": 1, "nameOnly": False}),
            f"databases.{name}.listCollections",
            notes,
        )
        if listing is None:
            return figures
        unused: list[dict[str, Any]] = []
        for collection in collection_names(listing):
            stats, err = _try(
                lambda c=collection: runner.aggregate(name, c, [{"$indexStats": {}}]),
                f"databases.{name}.{collection}: $indexStats",
                notes,
            )
            if err is not None:
                # The same server answers the same way for every collection: stop at the first.
                return figures
            unused += unused_indexes(collection, stats)
        figures["unused_indexes"] = unused
    return figures


def observations(result: Mapping[str, Any], reachable: bool = True) -> dict[str, Any]:
    """The alert catalog's metrics from gather()'s result; a figure that is unknown is None."""
    if not reachable:
        return {"database_up": 0}
    server = result.get("server") or {}
    replication = result.get("replication") or {}
    cache = result.get("cache") or {}
    slow = result.get("slow_ops") or {}
    databases = result.get("databases") or {}
    members = replication.get("members")
    lag = None
    if members is not None and replication.get("has_primary"):
        labels = {"set": replication.get("replica_set")}
        lag = [
            {"labels": {**labels, "member": m["name"]}, "value": m["excess_lag_seconds"]}
            for m in members
            if m["lag_seconds"] is not None
        ]
    unused = [
        {"labels": {"database": name}, "value": len(db["unused_indexes"])}
        for name, db in databases.items()
        if db.get("unused_indexes") is not None
    ]
    oplog = replication.get("oplog") or {}
    has_primary = replication.get("has_primary")
    majority = replication.get("voting_majority")
    return {
        "database_up": 1,
        "db_pool_utilisation_percent": server.get("pool_utilisation_percent"),
        "db_replication_lag_seconds": lag or None,
        "db_replset_has_primary": None if has_primary is None else int(has_primary),
        "db_replset_voting_majority": None if majority is None else int(majority),
        "db_replset_unhealthy_members": replication.get("unhealthy_members"),
        "db_replset_syncing_members": replication.get("syncing_members"),
        "db_oplog_window_hours": oplog.get("window_hours") if oplog.get("full") is not False else None,
        "db_cache_dirty_percent": cache.get("dirty_percent"),
        "db_cache_hit_ratio_percent": cache.get("hit_ratio_percent"),
        "db_slow_operations": slow.get("count"),
        "db_unused_indexes": unused or None,
    }
