#!/usr/bin/python
# Copyright: opsbook contributors
# Apache License 2.0 (see LICENSE in the repository root)
"""The health picture of a MongoDB deployment and the alerts it implies, in one call."""

from __future__ import annotations

DOCUMENTATION = r"""
module: mongodb_health
short_description: Health figures of a MongoDB server or replica set, judged against the alert catalog
description:
  - Reads the server's own figures (C(hello), C(serverStatus), C(buildInfo), C(replSetGetStatus),
    C(replSetGetConfig), the first and last entries of C(local.oplog.rs), the C(currentOp) command,
    C(listDatabases), C(dbStats), C(listCollections) and C($indexStats)) and returns a structured
    health picture with the alerts it implies.
  - "C(server): version, uptime, connections current/available and pool utilisation
    (current / (current + available)), opcounters, asserts."
  - "C(replication): set name, each member's state, health, votes, priority, hidden and arbiter
    flags and a judgement: C(primary), C(secondary), C(arbiter), C(syncing) (STARTUP2, RECOVERING,
    ROLLBACK: up but catching up, not lagging) or C(unhealthy) (health 0, DOWN, UNKNOWN, STARTUP,
    REMOVED). Lag is the primary's C(optimeDate) minus the member's, for healthy data-bearing
    members in SECONDARY state, hidden and non-voting ones included; arbiters have no lag. The
    voting majority compares the votes of healthy members in a voting state (arbiters vote; hidden
    members may) with a majority of all configured votes, so a hidden C(votes: 0) member does not
    make the set look even and a STARTUP2 member does not pass as a secondary (the mistakes of
    community.mongodb's mongodb_status, its issues 302 and 210). The oplog window is the time
    between the first and last entries' C(ts) of C(local.oplog.rs), in hours; it is judged only
    once the oplog holds 90 % of its maximum size (C(collStats)), since an oplog that has not
    filled up has dropped nothing and its window grows with every write."
  - "C(cache): WiredTiger bytes in the cache against the configured maximum, tracked dirty bytes in
    percent of the maximum, and the hit ratio 1 - pages read into cache / pages requested from the
    cache, in percent (both counters since the server started)."
  - "C(slow_ops): client operations of the C(currentOp) command running longer than
    O(slow_op_threshold_ms). Its own C(currentOp), idle connections, internal threads, awaitable
    C(hello) and tailable oplog cursors of secondaries are left out."
  - "C(databases): sizes and counts from C(dbStats) for each database of O(databases).
    C(indexes): per database, the indexes C($indexStats) counts no access to, by collection and
    exact name (never C(_id_); TTL indexes are used by expiry, which C($indexStats) does not count,
    so they are not listed)."
  - A figure or command the server does not have comes back as C(null) with a line in RV(notes),
    never as a failure. FerretDB 1.24, for instance, has no C(connections), C(opcounters),
    C(asserts) or C(wiredTiger) in C(serverStatus), no C(replSetGetStatus), no C($indexStats), and
    answers C(currentOp) with an empty list (which MongoDB never does, since it lists the
    C(currentOp) command itself), so those are null.
  - The figures become observations keyed by the alert catalog's metric names (RV(observations))
    and are evaluated against O(catalog); RV(alerts) and RV(status) follow from the catalog's
    thresholds only.
  - "A server that cannot be reached is a health state, not a module failure by default: the module
    returns RV(status) C(critical) with the catalog's DatabaseDown alert (C(database_up) 0), so a
    health check reports it and carries on. O(fail_on_unreachable) makes it fail instead. A login
    that is refused, a malformed catalog or bad options always fail, with a message."
version_added: "0.1.0"
author: opsbook contributors (@opsbook)
extends_documentation_fragment:
  - opsbook.runbooks.mongodb
  - opsbook.runbooks.attributes
  - opsbook.runbooks.attributes.info_module
options:
  catalog:
    description:
      - The alert catalog with the inventory's overrides, as the P(opsbook.runbooks.catalog#lookup)
        lookup returns it. Thresholds come only from here. It is validated first; a malformed entry
        fails the task with a message naming it.
    type: dict
    required: true
  checks:
    description: Which checks to run.
    type: list
    elements: str
    choices: [server, replication, cache, slow_ops, indexes, databases]
    default: [server, replication, cache, slow_ops, indexes, databases]
  databases:
    description:
      - Databases for the C(databases) and C(indexes) checks. Empty means every database except
        C(admin), C(config) and C(local).
    type: list
    elements: str
    default: []
  slow_op_threshold_ms:
    description:
      - An operation of C(currentOp) running longer than this many milliseconds is slow. MongoDB's
        profiler calls 100 ms slow; a snapshot of operations in flight needs a longer bar, or it
        counts ordinary queries caught mid-way.
    type: int
    default: 1000
  oplog_scan_timeout_ms:
    description:
      - How long the server may take to find the oplog's last entry when C(hello) does not give it
        (MongoDB's C(lastWrite) does; FerretDB has none and reads the whole oplog in reverse
        natural order). Past it, the window is null with a note. The scan is skipped while the
        oplog has not filled up, since such a window is not judged.
    type: int
    default: 5000
  fail_on_unreachable:
    description:
      - Fail the task when the server cannot be reached, instead of returning status C(critical)
        with the DatabaseDown alert.
    type: bool
    default: false
notes:
  - The user needs the C(clusterMonitor) role on MongoDB (C(serverStatus), C(replSetGetStatus),
    C(replSetGetConfig), C(currentOp), C($indexStats)) and read access to C(local) for the oplog
    window. A command the user may not run is a note, not a failure.
  - Connect to a data-bearing member. Arbiters hold no users, so a login to an arbiter is refused;
    the module then says so. Without a login, an arbiter answers the server and replication checks
    and the data checks are skipped.
  - C($indexStats) counts accesses on the member the module is connected to, since that member
    started or the index was created (RV(databases) gives C(since)); check every member before
    dropping an index.
  - Lag of a delayed member is reported in full (C(lag_seconds)); its observation is the lag beyond
    the configured C(secondaryDelaySecs) (C(excess_lag_seconds)).
seealso:
  - module: opsbook.runbooks.alert_check
  - module: opsbook.runbooks.mongodb_command
"""

EXAMPLES = r"""
- name: Check the replica set against the alert catalog with the inventory's overrides
  opsbook.runbooks.mongodb_health:
    login_host: "{{ opsbook_mongodb_host }}"
    login_port: "{{ opsbook_mongodb_port }}"
    login_user: "{{ opsbook_mongodb_login_user }}"
    login_password: "{{ opsbook_mongodb_login_password }}"
    catalog: "{{ lookup('opsbook.runbooks.catalog', overrides=alerting_overrides | default({})) }}"
  register: mongodb

- name: Show what fired
  ansible.builtin.debug:
    msg: "{{ mongodb.status }}: {{ mongodb.alerts | map(attribute='message') | list }}"

- name: Only replication and the oplog window, through a replica set URI
  opsbook.runbooks.mongodb_health:
    uri: "mongodb://db1,db2,db3/?replicaSet=rs0"
    login_user: monitor
    login_password: "{{ vault_mongodb_monitor_password }}"
    checks: [replication]
    catalog: "{{ lookup('opsbook.runbooks.catalog') }}"

- name: Unused indexes and sizes of two databases; fail if the server is down
  opsbook.runbooks.mongodb_health:
    login_user: monitor
    login_password: "{{ vault_mongodb_monitor_password }}"
    checks: [databases, indexes]
    databases: [shop, accounts]
    fail_on_unreachable: true
    catalog: "{{ lookup('opsbook.runbooks.catalog') }}"
"""

RETURN = r"""
status:
  description: C(critical) when any alert is at its critical level, C(warning) when any fires, else C(ok).
  returned: always
  type: str
  sample: warning
alerts:
  description:
    - The alerts the observations raise against the catalog, most urgent first (see
      M(opsbook.runbooks.alert_check)).
  returned: always
  type: list
  elements: dict
  sample:
    - name: ReplicationLagHigh
      level: critical
      severity: P1
      value: 45.0
      threshold: 10
      comparison: ">"
      labels: {set: rs0, member: "db3:27017"}
      receivers: [pager, slack-alerts]
      message: "ReplicationLagHigh: db_replication_lag_seconds is 45.0s, critical when > 10"
worst_severity:
  description: The most urgent severity among the alerts, or null.
  returned: always
  type: str
  sample: P1
reachable:
  description: Whether the server answered.
  returned: always
  type: bool
  sample: true
observations:
  description:
    - Values by alert-catalog metric; null when unknown (not evaluated). C(db_replication_lag_seconds)
      has one sample per lag-measured member, C(db_unused_indexes) one per database.
    - When the server is unreachable, only C(database_up) (0).
  returned: always
  type: dict
  sample:
    database_up: 1
    db_pool_utilisation_percent: 12.5
    db_replication_lag_seconds: [{labels: {set: rs0, member: "db2:27017"}, value: 0.0}]
    db_replset_has_primary: 1
    db_replset_voting_majority: 1
    db_replset_unhealthy_members: 0
    db_replset_syncing_members: 0
    db_oplog_window_hours: 52.4
    db_cache_dirty_percent: 1.2
    db_cache_hit_ratio_percent: 99.1
    db_slow_operations: 0
    db_unused_indexes: [{labels: {database: shop}, value: 1}]
checks:
  description: The checks that ran.
  returned: always
  type: list
  elements: str
  sample: [server, replication, cache, slow_ops, indexes, databases]
node:
  description: What the server the module is connected to says of itself (C(hello)).
  returned: when reachable
  type: dict
  sample: {me: "db1:27017", replica_set: rs0, writable_primary: true, secondary: false, arbiter: false}
server:
  description: Server figures; null when the check did not run or serverStatus failed.
  returned: when reachable
  type: dict
  sample:
    host: db1
    process: mongod
    version: 7.0.12
    uptime_seconds: 864000
    storage_engine: wiredTiger
    connections: {current: 64, available: 51136, total_created: 9120, active: 7}
    pool_utilisation_percent: 0.12
    opcounters: {insert: 1200, query: 88000, update: 5400, delete: 12, getmore: 3100, command: 250000}
    asserts: {regular: 0, warning: 0, msg: 0, user: 41, tripwire: 0, rollovers: 0}
replication:
  description:
    - Replica set figures; C(members) is null when replSetGetStatus is not available, and the
      voting figures are null without replSetGetConfig. C(oplog) has the window in hours.
  returned: when reachable
  type: dict
  sample:
    replica_set: rs0
    mongos: false
    primary: "db1:27017"
    has_primary: true
    voting_members: 3
    healthy_voting_members: 3
    majority_needed: 2
    voting_majority: true
    unhealthy_members: 0
    syncing_members: 0
    max_lag_seconds: 0.0
    members:
      - {id: 0, name: "db1:27017", state: 1, state_str: PRIMARY, health: 1, judgement: primary, votes: 1,
         priority: 2, hidden: false, arbiter: false, delay_seconds: 0, self: true,
         optime_date: "2024-05-02T10:00:00Z", lag_seconds: null, excess_lag_seconds: null,
         uptime_seconds: 864000, last_heartbeat_message: null}
    oplog: {first_entry: "2024-04-30T06:00:00Z", last_entry: "2024-05-02T10:00:00Z", window_hours: 52.0,
            size_bytes: 53596146432, max_size_bytes: 53687091200, used_percent: 99.83, full: true}
cache:
  description: WiredTiger cache figures; null when the check did not run or serverStatus failed.
  returned: when reachable
  type: dict
  sample:
    bytes_in_cache: 1610612736
    max_bytes: 3221225472
    dirty_bytes: 32212254
    pages_read_into_cache: 120000
    pages_requested: 15000000
    used_percent: 50.0
    dirty_percent: 1.0
    hit_ratio_percent: 99.2
slow_ops:
  description: Slow operations; C(count) and C(operations) are null when the server does not report operations.
  returned: when reachable
  type: dict
  sample:
    threshold_ms: 1000
    in_progress: 9
    count: 1
    operations:
      - {opid: 4411, op: query, ns: shop.orders, command: find, running_ms: 12345.7, client: "10.0.0.5:53412",
         app_name: api, plan_summary: COLLSCAN, waiting_for_lock: false}
databases:
  description:
    - Per database, the sizes and counts of dbStats (C(databases) check) and the unused indexes
      (C(indexes) check; null when C($indexStats) is not available).
  returned: when reachable
  type: dict
  sample:
    shop:
      collections: 4
      objects: 120000
      indexes: 9
      data_size_bytes: 73400320
      storage_size_bytes: 31457280
      index_size_bytes: 8388608
      total_size_bytes: 39845888
      unused_indexes:
        - {collection: orders, name: legacy_sku_1, key: {legacy_sku: 1}, since: "2024-04-22T08:00:00Z"}
notes:
  description: What could not be read, and why; each begins with the figure or check it concerns.
  returned: always
  type: list
  elements: str
  sample: ["cache: serverStatus has no 'wiredTiger' section; WiredTiger cache figures are unknown"]
"""

import json
import traceback
from collections.abc import Mapping
from typing import Any

from ansible_collections.opsbook.runbooks.plugins.module_utils.catalog import (
    CatalogError,
    evaluate,
    validate,
    worst_severity,
)
from ansible_collections.opsbook.runbooks.plugins.module_utils.mongodb import (
    ConnectionFailure,
    OperationFailure,
    PyMongoError,
    client_kwargs,
    mongodb_client,
    mongodb_module,
)
from ansible_collections.opsbook.runbooks.plugins.module_utils.mongodb_health import (
    CHECKS,
    CommandError,
    gather,
    observations,
)
from ansible_collections.opsbook.runbooks.plugins.module_utils.report import status_of


class PyMongoRunner:
    """The commands gather() needs, on a connected client. A refused command becomes CommandError
    (a note); losing the connection is not a command's fault, so ConnectionFailure goes up."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def _call(self, call: Any) -> Any:
        try:
            return call()
        except OperationFailure as err:
            details = err.details or {}
            raise CommandError(details.get("errmsg") or str(err), details.get("codeName")) from err
        except ConnectionFailure:
            raise
        except PyMongoError as err:
            raise CommandError(str(err), type(err).__name__) from err

    def command(self, database: str, document: Mapping[str, Any]) -> dict[str, Any]:
        return self._call(lambda: self.client[database].command(dict(document)))

    def find_one(
        self,
        database: str,
        collection: str,
        sort: list[tuple[str, int]] | None,
        projection: Mapping[str, Any],
        max_time_ms: int | None = None,
    ) -> dict[str, Any] | None:
        collection_ = self.client[database][collection]
        return self._call(lambda: collection_.find_one({}, dict(projection), sort=sort, max_time_ms=max_time_ms))

    def aggregate(self, database: str, collection: str, pipeline: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return self._call(lambda: list(self.client[database][collection].aggregate(pipeline)))


def json_safe(value: Any) -> Any:
    """Values Ansible can serialise (relaxed Extended JSON), whatever a server put in a reply."""
    from bson import json_util

    return json.loads(json_util.dumps(value, json_options=json_util.RELAXED_JSON_OPTIONS))


def arbiter_without_users(params: dict[str, Any]) -> bool:
    """Whether the server is an arbiter (hello needs no login): arbiters hold no users."""
    import pymongo

    kwargs = {k: v for k, v in client_kwargs(params).items() if k not in ("username", "password", "authSource")}
    client = pymongo.MongoClient(**kwargs)
    try:
        return bool(client.admin.command("hello").get("arbiterOnly"))
    except PyMongoError:
        return False
    finally:
        client.close()


def main() -> None:
    module = mongodb_module(
        catalog={"type": "dict", "required": True},
        checks={"type": "list", "elements": "str", "choices": list(CHECKS), "default": list(CHECKS)},
        databases={"type": "list", "elements": "str", "default": []},
        slow_op_threshold_ms={"type": "int", "default": 1000},
        oplog_scan_timeout_ms={"type": "int", "default": 5000},
        fail_on_unreachable={"type": "bool", "default": False},
    )
    p = module.params
    for option in ("slow_op_threshold_ms", "oplog_scan_timeout_ms"):
        if p[option] < 0:
            module.fail_json(msg=f"{option} must not be negative, not {p[option]}")
    try:
        catalog = validate(p["catalog"])
    except CatalogError as err:
        module.fail_json(msg=f"catalog: {err}")
    server = "the uri's server" if p["uri"] else f"{p['login_host']}:{p['login_port']}"
    result: dict[str, Any] = {"changed": False, "checks": [c for c in CHECKS if c in p["checks"]], "notes": []}

    client = None
    try:
        client = mongodb_client(p)
        figures = gather(
            PyMongoRunner(client),
            p["checks"],
            databases=p["databases"],
            slow_op_threshold_ms=p["slow_op_threshold_ms"],
            oplog_scan_timeout_ms=p["oplog_scan_timeout_ms"],
        )
    except ConnectionFailure as err:
        if p["fail_on_unreachable"]:
            module.fail_json(msg=f"MongoDB at {server} cannot be reached: {err}", exception=traceback.format_exc())
        result.update(reachable=False, notes=[f"the server did not answer: {err}"])
        figures = None
    except OperationFailure as err:
        msg = f"MongoDB at {server} refused the command: {err}"
        if err.code == 18:  # AuthenticationFailed
            msg = f"MongoDB at {server} refused the login of {p['login_user']} (auth database {p['login_database']})"
            if arbiter_without_users(p):
                msg += (
                    ": the server is an arbiter, which holds no users; point the module at a data-bearing"
                    " member (its replication figures include the arbiter) or connect without login_user"
                )
        module.fail_json(msg=msg, exception=traceback.format_exc())
    except PyMongoError as err:
        module.fail_json(msg=f"MongoDB at {server}: {err}", exception=traceback.format_exc())
    finally:
        if client is not None:
            client.close()

    if figures is not None:
        result.update(reachable=True, **json_safe(figures))
    result["observations"] = observations(figures or {}, reachable=figures is not None)
    try:
        alerts = evaluate(catalog, result["observations"])
    except (TypeError, ValueError) as err:
        module.fail_json(msg=f"an observation is not a number: {err}", exception=traceback.format_exc(), **result)
    result.update(alerts=alerts, status=status_of(alerts), worst_severity=worst_severity(alerts))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
