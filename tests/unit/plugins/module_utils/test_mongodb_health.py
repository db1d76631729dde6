"""mongodb_health's judgement, on replies shaped like real MongoDB output (fixtures/mongodb/:
MongoDB 7.0 replica sets and a standalone built from the documented serverStatus, replSetGetStatus,
replSetGetConfig, currentOp, $indexStats and dbStats fields, and FerretDB 1.24's replies recorded
from the server), evaluated against the shipped alert catalog."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import yaml
from ansible_collections.opsbook.runbooks.plugins.module_utils.catalog import evaluate, validate
from ansible_collections.opsbook.runbooks.plugins.module_utils.mongodb_health import (
    CHECKS,
    CommandError,
    cache_figures,
    excluded_because,
    gather,
    member_figures,
    observations,
    oplog_window,
    replication_figures,
    server_figures,
    slow_operations,
    unused_indexes,
)
from ansible_collections.opsbook.runbooks.plugins.module_utils.report import status_of
from ansible_collections.opsbook.runbooks.tests.unit.helpers import COLLECTION
from ansible_collections.opsbook.runbooks.tests.unit.plugins.module_utils.fake_mongodb import FakeServer, replies
from bson import Timestamp

CATALOG = validate(yaml.safe_load((COLLECTION / "roles" / "alerting" / "files" / "catalog.yml").read_text()))


def health(name: str, checks: tuple[str, ...] = CHECKS, **kwargs: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """gather() on a fixture, and the observations it yields."""
    server = FakeServer(name, **kwargs.pop("changes", {}))
    result = gather(server, checks, **kwargs)
    return result, observations(result)


def alerts_by_name(observed: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    fired: dict[str, list[dict[str, Any]]] = {}
    for alert in evaluate(CATALOG, observed):
        fired.setdefault(alert["name"], []).append(alert)
    return fired


def members_by_name(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {m["name"]: m for m in result["replication"]["members"]}


# --- replica sets ----------------------------------------------------------------------------


def test_hidden_non_voting_member_and_arbiter_make_a_healthy_set() -> None:
    result, observed = health("replset_hidden_arbiter", ("replication",))
    rs = result["replication"]
    members = members_by_name(result)
    # Four members, three votes: not "an even number of servers" (community.mongodb issue 302).
    assert len(members) == 4
    assert (rs["voting_members"], rs["healthy_voting_members"], rs["majority_needed"]) == (3, 3, 2)
    assert rs["voting_majority"] is True and rs["has_primary"] is True and rs["primary"] == "db1:27017"
    assert members["db3:27017"]["hidden"] is True and members["db3:27017"]["votes"] == 0
    assert members["db3:27017"]["judgement"] == "secondary" and members["db3:27017"]["lag_seconds"] == 0.0
    assert members["db4:27017"]["judgement"] == "arbiter" and members["db4:27017"]["arbiter"] is True
    assert members["db4:27017"]["lag_seconds"] is None and members["db4:27017"]["optime_date"] is None
    assert members["db2:27017"]["lag_seconds"] == 0.5
    assert (rs["unhealthy_members"], rs["syncing_members"]) == (0, 0)
    # Lag is measured for the secondary and the hidden one, never for the arbiter or the primary.
    assert {s["labels"]["member"] for s in observed["db_replication_lag_seconds"]} == {"db2:27017", "db3:27017"}
    assert rs["oplog"]["window_hours"] == 52.0
    fired = alerts_by_name(observed)
    assert not {"MongoNoPrimary", "MongoVotingMajorityLost", "MongoMemberUnhealthy", "ReplicationLagHigh"} & set(fired)
    assert "MongoOplogWindowShort" not in fired


def test_lagging_secondaries_non_voting_and_delayed_members() -> None:
    result, observed = health("replset_lagging", ("replication",))
    members = members_by_name(result)
    assert members["db2:27017"]["lag_seconds"] == 2.5
    assert members["db3:27017"]["lag_seconds"] == 45.0
    # A non-voting member still replicates: its lag counts.
    assert members["db4:27017"]["votes"] == 0 and members["db4:27017"]["lag_seconds"] == 12.0
    # A delayed member is behind on purpose: its full lag is reported, only the excess is judged.
    assert members["db5:27017"]["delay_seconds"] == 3600 and members["db5:27017"]["lag_seconds"] == 3605.0
    assert members["db5:27017"]["excess_lag_seconds"] == 5.0
    assert result["replication"]["max_lag_seconds"] == 3605.0
    lag_alerts = {a["labels"]["member"]: a for a in alerts_by_name(observed)["ReplicationLagHigh"]}
    assert {m: a["level"] for m, a in lag_alerts.items()} == {
        "db2:27017": "warning",
        "db3:27017": "critical",
        "db4:27017": "critical",
        "db5:27017": "warning",
    }
    assert lag_alerts["db3:27017"]["value"] == 45.0 and lag_alerts["db3:27017"]["labels"]["set"] == "rs0"
    assert result["replication"]["voting_majority"] is True and result["replication"]["voting_members"] == 3


def test_startup2_and_recovering_members_are_syncing_not_lagging_nor_converged() -> None:
    result, observed = health("replset_syncing", ("replication",))
    members = members_by_name(result)
    rs = result["replication"]
    assert members["db3:27017"]["state_str"] == "STARTUP2" and members["db3:27017"]["judgement"] == "syncing"
    assert members["db4:27017"]["state_str"] == "RECOVERING" and members["db4:27017"]["judgement"] == "syncing"
    # The STARTUP2 member's optime is the epoch: no 54-year lag, and no lag for RECOVERING either.
    assert members["db3:27017"]["lag_seconds"] is None and members["db4:27017"]["lag_seconds"] is None
    assert (rs["syncing_members"], rs["unhealthy_members"]) == (2, 0)
    # Both may vote, as may the arbiter: 5 of 5 votes.
    assert (rs["healthy_voting_members"], rs["majority_needed"], rs["voting_majority"]) == (5, 3, True)
    fired = alerts_by_name(observed)
    assert [(a["level"], a["severity"], a["value"]) for a in fired["MongoMemberSyncing"]] == [("warning", "P3", 2)]
    assert "ReplicationLagHigh" not in fired and "MongoMemberUnhealthy" not in fired


def test_a_set_without_primary_keeps_its_majority_but_cannot_measure_lag() -> None:
    result, observed = health("replset_no_primary", ("replication",))
    rs = result["replication"]
    assert rs["has_primary"] is False and rs["primary"] is None
    assert (rs["healthy_voting_members"], rs["voting_majority"], rs["unhealthy_members"]) == (2, True, 1)
    assert members_by_name(result)["db1:27017"]["judgement"] == "unhealthy"
    assert observed["db_replication_lag_seconds"] is None
    assert any("no primary" in note for note in result["notes"])
    fired = alerts_by_name(observed)
    assert [(a["severity"], a["level"]) for a in fired["MongoNoPrimary"]] == [("P0", "critical")]
    assert [a["level"] for a in fired["MongoMemberUnhealthy"]] == ["warning"]
    assert "MongoVotingMajorityLost" not in fired
    assert status_of(evaluate(CATALOG, observed)) == "critical"


def test_lost_voting_majority_is_not_saved_by_a_healthy_non_voting_member() -> None:
    result, observed = health("replset_majority_lost", ("replication",))
    rs = result["replication"]
    members = members_by_name(result)
    assert members["db4:27017"]["judgement"] == "secondary" and members["db4:27017"]["votes"] == 0
    assert members["db3:27017"]["arbiter"] is True and members["db3:27017"]["judgement"] == "unhealthy"
    assert (rs["voting_members"], rs["healthy_voting_members"], rs["majority_needed"]) == (3, 1, 2)
    assert rs["voting_majority"] is False and rs["unhealthy_members"] == 2
    fired = alerts_by_name(observed)
    assert fired["MongoVotingMajorityLost"][0]["severity"] == "P0"
    assert fired["MongoMemberUnhealthy"][0]["level"] == "critical"
    assert "MongoNoPrimary" in fired


def test_member_state_is_judged_by_code_and_health_not_by_state_string() -> None:
    down = {"_id": 0, "name": "db1:27017", "health": 0.0, "state": 8, "stateStr": "(not reachable/healthy)"}
    assert member_figures(down, {"votes": 1}, None)["judgement"] == "unhealthy"
    assert member_figures(down, {"votes": 1}, None)["state_str"] == "DOWN"
    # A secondary whose heartbeats fail is unhealthy even if its last known state was SECONDARY.
    stale = {"_id": 1, "name": "db2:27017", "health": 0.0, "state": 2, "stateStr": "SECONDARY"}
    assert member_figures(stale, {"votes": 1}, None)["judgement"] == "unhealthy"
    rollback = {"_id": 2, "name": "db3:27017", "health": 1.0, "state": 9, "stateStr": "ROLLBACK"}
    assert member_figures(rollback, {"votes": 1}, None)["judgement"] == "syncing"


def test_without_replica_set_config_votes_are_unknown_and_majority_is_not_guessed() -> None:
    r = replies("replset_hidden_arbiter")
    figures, notes = replication_figures(
        r["admin.hello"], r["admin.replSetGetStatus"], None, config_error=CommandError("not authorized", "Unauthorized")
    )
    assert figures["voting_majority"] is None and figures["has_primary"] is True
    assert figures["members"][0]["votes"] is None
    assert any("clusterMonitor" in note for note in notes)


def test_standalone_has_no_replication_figures() -> None:
    result, observed = health("standalone")
    assert result["replication"]["replica_set"] is None and result["replication"]["members"] is None
    assert result["replication"]["oplog"] is None
    assert any("standalone" in note for note in result["notes"])
    for metric in ("db_replset_has_primary", "db_replset_voting_majority", "db_oplog_window_hours"):
        assert observed[metric] is None, metric
    # 870 of 1000 connections in use.
    assert result["server"]["pool_utilisation_percent"] == 87.0
    fired = alerts_by_name(observed)
    assert [(a["level"], a["severity"]) for a in fired["DatabasePoolSaturated"]] == [("warning", "P2")]
    assert not {"MongoNoPrimary", "MongoVotingMajorityLost"} & set(fired)


def test_oplog_window_from_first_and_last_timestamps() -> None:
    figures, notes = oplog_window({"ts": Timestamp(1714600800, 1)}, {"ts": Timestamp(1714604400, 9)})
    assert figures["window_hours"] == 1.0 and not notes
    assert figures["first_entry"] == "2024-05-01T22:00:00Z"
    figures, notes = oplog_window(None, None)
    assert figures["window_hours"] is None and "missing or empty" in notes[0]


def test_short_oplog_window_alerts() -> None:
    last = replies("replset_hidden_arbiter")["admin.hello"]["lastWrite"]["opTime"]["ts"]
    first = {"ts": Timestamp(last.time - 1800, 1)}
    _result, observed = health("replset_hidden_arbiter", ("replication",), changes={"local.oplog.rs.$natural:1": first})
    assert observed["db_oplog_window_hours"] == 0.5
    assert alerts_by_name(observed)["MongoOplogWindowShort"][0]["severity"] == "P1"


# --- server, cache, slow operations, databases -------------------------------------------------


def test_server_figures_from_mongodb_server_status() -> None:
    r = replies("replset_hidden_arbiter")
    figures, notes = server_figures(r["admin.serverStatus"], r["admin.buildInfo"])
    assert not notes
    assert figures["version"] == "7.0.12" and figures["storage_engine"] == "wiredTiger"
    assert figures["connections"] == {"current": 412, "available": 50788, "total_created": 9120, "active": 37}
    assert figures["pool_utilisation_percent"] == round(100 * 412 / 51200, 2)
    assert figures["opcounters"]["query"] == 88000 and figures["asserts"]["user"] == 41


def test_cache_figures_used_dirty_and_hit_ratio() -> None:
    figures, notes = cache_figures(replies("replset_hidden_arbiter")["admin.serverStatus"])
    assert not notes
    assert figures["used_percent"] == 80.0
    assert figures["dirty_percent"] == 12.0
    # 182 000 pages read into the cache of 2 450 000 requested.
    assert figures["hit_ratio_percent"] == round(100 * (1 - 182000 / 2450000), 2)
    observed = observations({"cache": figures})
    fired = alerts_by_name(observed)
    assert [(a["name"], a["level"]) for a in fired["MongoCacheDirtyHigh"]] == [("MongoCacheDirtyHigh", "warning")]
    assert "MongoCacheHitRatioLow" not in fired


def test_low_cache_hit_ratio_alerts() -> None:
    status = replies("replset_hidden_arbiter")["admin.serverStatus"]
    status["wiredTiger"]["cache"]["pages read into cache"] = 1_500_000
    figures, _notes = cache_figures(status)
    assert figures["hit_ratio_percent"] == round(100 * (1 - 1_500_000 / 2_450_000), 2)
    assert alerts_by_name(observations({"cache": figures}))["MongoCacheHitRatioLow"][0]["level"] == "critical"


def test_slow_operations_leave_out_own_idle_system_and_waiting_ones() -> None:
    reply = replies("replset_hidden_arbiter")["admin.currentOp"]
    reasons = {op["desc"]: excluded_because(op) for op in reply["inprog"]}
    assert reasons == {
        "conn9120": "own",
        "conn4411": None,
        "conn4500": None,
        "conn4502": None,
        "conn88": "waiting",
        "conn12": "waiting",
        "conn300": "idle",
        "WTCheckpointThread": "system",
    }
    figures, notes = slow_operations(reply, 1000)
    assert not notes and figures["in_progress"] == 8
    assert [(o["opid"], o["ns"], o["command"], o["running_ms"]) for o in figures["operations"]] == [
        (4411, "shop.orders", "find", 12345.7),
        (4500, "shop.orders", "aggregate", 2500.3),
    ]
    assert figures["operations"][0]["plan_summary"] == "COLLSCAN" and figures["operations"][0]["app_name"] == "api"
    # The 50 ms update counts once the threshold is below it.
    assert slow_operations(reply, 40)[0]["count"] == 3
    assert slow_operations(reply, 20000)[0]["count"] == 0
    fired = alerts_by_name(observations({"slow_ops": figures}))
    assert [(a["level"], a["value"]) for a in fired["MongoSlowOperations"]] == [("warning", 2)]


def test_empty_current_op_means_unknown_not_zero() -> None:
    figures, notes = slow_operations({"inprog": [], "ok": 1.0}, 1000)
    assert figures["count"] is None and "not even itself" in notes[0]


def test_unused_indexes_by_exact_name_without_id_and_ttl() -> None:
    r = replies("replset_hidden_arbiter")
    assert [i["name"] for i in unused_indexes("orders", r["shop.orders.$indexStats"])] == ["legacy_sku_1"]
    assert unused_indexes("customers", r["shop.customers.$indexStats"]) == [
        {
            "collection": "customers",
            "name": "name_text",
            "key": {"_fts": "text", "_ftsx": 1},
            "since": "2024-04-22T10:00:00Z",
        }
    ]


def test_the_whole_picture_of_a_primary() -> None:
    server = FakeServer("replset_hidden_arbiter")
    result = gather(server, CHECKS, slow_op_threshold_ms=1000)
    observed = observations(result)
    # Every non-system database, its sizes and unused indexes; views and system.* collections skipped.
    assert sorted(result["databases"]) == ["accounts", "shop"]
    assert "shop.pending_orders.$indexStats" not in server.asked
    assert "shop.system.profile.$indexStats" not in server.asked
    shop = result["databases"]["shop"]
    assert shop["data_size_bytes"] == 73400320 and shop["index_size_bytes"] == 8388608 and shop["collections"] == 3
    assert [(i["collection"], i["name"]) for i in shop["unused_indexes"]] == [
        ("customers", "name_text"),
        ("orders", "legacy_sku_1"),
    ]
    assert result["databases"]["accounts"]["unused_indexes"] == []
    assert observed["db_unused_indexes"] == [
        {"labels": {"database": "accounts"}, "value": 0},
        {"labels": {"database": "shop"}, "value": 2},
    ]
    assert result["node"] == {
        "me": "db1:27017",
        "replica_set": "rs0",
        "writable_primary": True,
        "secondary": False,
        "arbiter": False,
    }
    assert result["notes"] == []
    assert observed["database_up"] == 1 and observed["db_slow_operations"] == 2
    alerts = evaluate(CATALOG, observed)
    assert {a["name"] for a in alerts} == {"MongoCacheDirtyHigh", "MongoSlowOperations", "MongoUnusedIndexes"}
    assert status_of(alerts) == "warning"


def test_checks_select_what_runs() -> None:
    server = FakeServer("replset_hidden_arbiter")
    result = gather(server, ["databases"])
    assert result["server"] is None and result["replication"] is None and result["slow_ops"] is None
    assert "unused_indexes" not in result["databases"]["shop"]
    assert not any("$indexStats" in key or "currentOp" in key or "serverStatus" in key for key in server.asked)


def test_selected_databases_only() -> None:
    empty = {"db": "missing", "collections": 0, "objects": 0, "ok": 1.0}
    result, _observed = health(
        "replset_hidden_arbiter", ("databases",), databases=["accounts", "missing"], changes={"missing.dbStats": empty}
    )
    assert sorted(result["databases"]) == ["accounts", "missing"]
    assert any("databases.missing" in note for note in result["notes"])


def test_arbiter_skips_data_checks() -> None:
    hello = replies("replset_hidden_arbiter")["admin.hello"]
    hello.update(arbiterOnly=True, isWritablePrimary=False, me="db4:27017")
    result, _observed = health(
        "replset_hidden_arbiter", ("server", "replication", "cache", "databases"), changes={"admin.hello": hello}
    )
    assert result["cache"] is None and result["databases"] is None and result["replication"]["oplog"] is None
    assert result["server"]["version"] == "7.0.12" and result["node"]["arbiter"] is True
    assert any("arbiter" in note for note in result["notes"])


def test_unreachable_server_raises_database_down() -> None:
    observed = observations({}, reachable=False)
    assert observed == {"database_up": 0}
    alerts = evaluate(CATALOG, observed)
    assert [(a["name"], a["severity"], a["level"]) for a in alerts] == [("DatabaseDown", "P0", "critical")]
    assert status_of(alerts) == "critical"


# --- FerretDB 1.24, from its recorded replies ----------------------------------------------------


def test_ferretdb_missing_figures_are_null_with_notes() -> None:
    result, observed = health("ferretdb_1_24")
    server, notes = result["server"], "\n".join(result["notes"])
    assert server["version"] == "7.0.42" and server["process"] == "ferretdb"
    assert server["connections"] is None and server["pool_utilisation_percent"] is None
    assert server["opcounters"] is None and server["asserts"] is None
    for missing in (
        "connections",
        "opcounters",
        "asserts",
        "wiredTiger",
        "replSetGetStatus",
        "$indexStats",
        "currentOp",
    ):
        assert missing in notes, missing
    assert result["cache"]["dirty_percent"] is None and result["cache"]["hit_ratio_percent"] is None
    # hello says it is the writable primary of rs0; member states are unknown.
    assert result["replication"]["has_primary"] is True and result["replication"]["members"] is None
    assert result["replication"]["oplog"]["window_hours"] is not None
    assert result["slow_ops"]["count"] is None
    assert result["databases"]["shop"]["unused_indexes"] is None
    assert result["databases"]["shop"]["objects"] == 8
    assert observed["database_up"] == 1 and observed["db_replset_has_primary"] == 1
    for metric in ("db_pool_utilisation_percent", "db_cache_dirty_percent", "db_slow_operations", "db_unused_indexes"):
        assert observed[metric] is None, metric
    alerts = evaluate(CATALOG, observed)
    # The recorded oplog covers minutes, which is a short window.
    assert {a["name"] for a in alerts} == {"MongoOplogWindowShort"}


@pytest.mark.parametrize("reply", [{}, {"ok": 1.0, "inprog": "x"}])
def test_malformed_current_op_is_a_note(reply: dict[str, Any]) -> None:
    figures, notes = slow_operations(reply, 1000)
    assert figures["count"] is None and notes


def test_an_oplog_that_has_not_filled_up_is_not_judged_by_its_window() -> None:
    stats = replies("replset_hidden_arbiter")["local.collStats"]
    stats["size"] = stats["maxSize"] * 0.25
    result, observed = health("replset_hidden_arbiter", ("replication",), changes={"local.collStats": stats})
    oplog = result["replication"]["oplog"]
    assert oplog["window_hours"] == 52.0 and oplog["full"] is False and oplog["used_percent"] == 25.0
    assert observed["db_oplog_window_hours"] is None
    assert any("dropped no entry" in note for note in result["notes"])


def test_an_oplog_without_size_figures_is_judged_by_its_window() -> None:
    error = {"$error": {"ok": 0.0, "errmsg": "not authorized on local", "code": 13, "codeName": "Unauthorized"}}
    result, observed = health("replset_hidden_arbiter", ("replication",), changes={"local.collStats": error})
    assert result["replication"]["oplog"]["full"] is None and observed["db_oplog_window_hours"] == 52.0


def test_a_last_oplog_entry_too_slow_to_find_is_a_note() -> None:
    timeout = {
        "$error": {"ok": 0.0, "errmsg": "operation exceeded time limit", "code": 50, "codeName": "MaxTimeMSExpired"}
    }
    result, observed = health("ferretdb_1_24", ("replication",), changes={"local.oplog.rs.$natural:-1": timeout})
    oplog = result["replication"]["oplog"]
    assert oplog["first_entry"] and oplog["last_entry"] is None and oplog["window_hours"] is None
    assert oplog["full"] is True and observed["db_oplog_window_hours"] is None
    assert any("the last entry" in note and "longer than allowed" in note for note in result["notes"])
    assert result["replication"]["has_primary"] is True


def test_without_last_write_a_not_full_oplog_is_not_scanned() -> None:
    stats = replies("ferretdb_1_24")["local.collStats"]
    stats["size"] = 12288
    server = FakeServer("ferretdb_1_24", **{"local.collStats": stats})
    result = gather(server, ["replication"])
    assert "local.oplog.rs.$natural:-1" not in server.asked
    assert result["replication"]["oplog"]["full"] is False and result["replication"]["oplog"]["window_hours"] is None
    assert any("was not looked up" in note for note in result["notes"])


def test_the_pymongo_edge_turns_refusals_into_notes_and_lets_a_lost_server_through() -> None:
    from ansible_collections.opsbook.runbooks.plugins.modules import mongodb_health
    from pymongo.errors import AutoReconnect, OperationFailure

    def fails(err: Exception) -> Callable[[], Any]:
        def call() -> Any:
            raise err

        return call

    runner = mongodb_health.PyMongoRunner(None)
    reply = {"ok": 0.0, "errmsg": "no such command: 'replSetGetStatus'", "code": 59, "codeName": "CommandNotFound"}
    refusal = OperationFailure("x", 59, reply)
    with pytest.raises(CommandError) as caught:
        runner._call(fails(refusal))
    assert caught.value.code_name == "CommandNotFound" and "replSetGetStatus" in str(caught.value)
    # Losing the server half-way is not a refused command: it goes up to be reported as unreachable.
    with pytest.raises(AutoReconnect):
        runner._call(fails(AutoReconnect("db1:27017: connection closed")))
