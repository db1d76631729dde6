#!/usr/bin/python
# Copyright: opsbook contributors
# Apache License 2.0 (see LICENSE in the repository root)
"""MongoDB upkeep: collection sizes, retention deletes in batches, compact on secondaries."""

from __future__ import annotations

DOCUMENTATION = r"""
module: mongodb_maintenance
short_description: MongoDB upkeep - collection sizes, retention deletes in batches, compact on secondaries
description:
  - Reads the size of every database and collection (C(dbStats), C(collStats)).
  - "Deletes documents older than a retention from the configured collections (seed 003's
    C(db.logs.deleteMany({timestamp: {$lt: new Date(Date.now() - 30 days)}}))), first counting
    them (the dry run), then in batches of C(_id)s so that no single delete holds the server for
    long. In check mode only the count runs."
  - Runs C(compact) on the listed collections when the member is a secondary (seed 003 compacts
    one secondary at a time, so run the play with C(serial) 1 over the members), or on the primary
    or a standalone server with O(compact_allow_primary). On FerretDB compact is a no-op.
  - The index usage report is M(opsbook.runbooks.mongodb_health)'s C(indexes) check; this module
    does not repeat it.
version_added: "0.1.0"
author: opsbook contributors (@opsbook)
extends_documentation_fragment:
  - opsbook.runbooks.mongodb
  - opsbook.runbooks.attributes
options:
  sizes:
    description: Read database and collection sizes.
    type: bool
    default: true
  databases:
    description: Databases whose sizes are read; empty for every non-system database.
    type: list
    elements: str
    default: []
  retention:
    description: Collections whose old documents are deleted.
    type: list
    elements: dict
    default: []
    suboptions:
      database:
        description: Database of the collection.
        type: str
        required: true
      collection:
        description: The collection.
        type: str
        required: true
      field:
        description: The date field compared with the cutoff.
        type: str
        default: timestamp
      days:
        description: Documents older than this many days are deleted.
        type: int
        required: true
      batch_size:
        description: Documents deleted per batch.
        type: int
        default: 1000
  max_batches:
    description: Stop a collection's deletion after this many batches (0 for no limit); the rest goes next run.
    type: int
    default: 0
  compact:
    description: Collections to compact, as C(database.collection).
    type: list
    elements: str
    default: []
  compact_allow_primary:
    description: Also compact on a primary or a standalone server (it blocks writes to the collection while it runs).
    type: bool
    default: false
attributes:
  check_mode:
    support: full
    details: Sizes and the retention counts are read; nothing is deleted or compacted.
  diff_mode:
    support: none
requirements: [pymongo]
"""

EXAMPLES = r"""
- name: Delete log documents older than 30 days and compact on secondaries
  opsbook.runbooks.mongodb_maintenance:
    login_host: 127.0.0.1
    login_port: 27017
    login_user: opsbook_admin
    login_password: "{{ vault_mongodb_admin_password }}"
    retention:
      - {database: app, collection: logs, field: timestamp, days: 30, batch_size: 1000}
    compact: [app.users]
"""

RETURN = r"""
sizes:
  description: Per database, dbStats sizes and each collection's size, storage size, count and index size (bytes).
  returned: when O(sizes)
  type: dict
  sample:
    app:
      data_size_bytes: 73400320
      storage_size_bytes: 31457280
      collections:
        logs: {size_bytes: 1048576, storage_size_bytes: 524288, count: 2000, index_size_bytes: 65536}
retention:
  description: One result per rule; C(matched) is the dry-run count, C(deleted) what was deleted.
  returned: always
  type: list
  elements: dict
  sample:
    - {database: app, collection: logs, field: timestamp, older_than: "2025-01-01T02:00:00Z",
       matched: 1200, deleted: 1200, batches: 2, complete: true}
compact:
  description: Whether compact ran here, why, and per collection the bytes freed.
  returned: always
  type: dict
  sample: {ran: true, reason: the member is a secondary, member: "db2:27017",
           collections: [{name: app.users, bytes_freed: 0, ok: true}]}
notes:
  description: What could not be read, and why.
  returned: always
  type: list
  elements: str
  sample: ["databases.app.logs: collStats: not authorized"]
"""

import datetime
import json
import traceback
from typing import Any

from ansible_collections.opsbook.runbooks.plugins.module_utils.maintenance import (
    MaintenanceError,
    apply_retention,
    check_retention_rules,
    compact_decision,
)
from ansible_collections.opsbook.runbooks.plugins.module_utils.mongodb import (
    OperationFailure,
    PyMongoError,
    mongodb_client,
    mongodb_module,
)
from ansible_collections.opsbook.runbooks.plugins.module_utils.mongodb_health import (
    collection_names,
    database_names,
    database_sizes,
)


def read_sizes(client: Any, wanted: list[str], notes: list[str]) -> dict[str, Any]:
    names, more = database_names(client.admin.command({"listDatabases": 1, "nameOnly": True}), wanted)
    notes += more
    sizes: dict[str, Any] = {}
    for name in names:
        db = client[name]
        try:
            figures = database_sizes(db.command({"dbStats": 1, "scale": 1}))
            listing = db.command({"listCollections": 1, "nameOnly": False})
        except OperationFailure as err:
            notes.append(f"databases.{name}: {err}")
            continue
        collections = {}
        for collection in collection_names(listing):
            try:
                stats = db.command({"collStats": collection})
            except OperationFailure as err:
                notes.append(f"databases.{name}.{collection}: collStats: {err}")
                continue
            collections[collection] = {
                "size_bytes": stats.get("size"),
                "storage_size_bytes": stats.get("storageSize"),
                "count": stats.get("count"),
                "index_size_bytes": stats.get("totalIndexSize"),
            }
        sizes[name] = {**figures, "collections": collections}
    return sizes


def option_problem(p: dict[str, Any]) -> str | None:
    """What is wrong with the compact and max_batches options, if anything."""
    bad = [name for name in p["compact"] if "." not in name.strip(".")]
    if bad:
        return f"compact: name collections as database.collection; got {', '.join(bad)}"
    if p["max_batches"] < 0:
        return "max_batches must not be negative"
    return None


def apply_rules(
    client: Any,
    rules: list[dict[str, Any]],
    now: datetime.datetime,
    result: dict[str, Any],
    p: dict[str, Any],
    check_mode: bool,
) -> None:
    """Apply each retention rule in turn, appending its outcome to result["retention"] as it goes
    (so that a failure reports what was already done)."""
    for rule in rules:
        coll = client[rule["database"]][rule["collection"]]
        outcome = apply_retention(
            rule,
            now,
            count=coll.count_documents,
            find_ids=lambda query, limit, c=coll: [d["_id"] for d in c.find(query, {"_id": 1}).limit(limit)],
            delete_ids=lambda ids, c=coll, r=rule: (
                c.delete_many(
                    {"_id": {"$in": ids}, **{r["field"]: {"$lt": now - datetime.timedelta(days=r["days"])}}}
                ).deleted_count
            ),
            dry_run=check_mode,
            max_batches=p["max_batches"],
        )
        result["retention"].append(outcome)
        result["changed"] = result["changed"] or outcome["deleted"] > 0 or (check_mode and outcome["matched"] > 0)


def run_compact(client: Any, result: dict[str, Any], p: dict[str, Any], check_mode: bool) -> None:
    """Compact the listed collections when this member may (compact_decision), into result["compact"]."""
    hello = client.admin.command("hello")
    ran, reason = compact_decision(hello, p["compact_allow_primary"])
    result["compact"] = {"ran": False, "reason": reason, "member": hello.get("me"), "collections": []}
    if ran and check_mode:
        result["compact"]["reason"] = f"{reason}; check mode: not run"
    elif ran:
        result["compact"]["ran"] = True
        for name in p["compact"]:
            database, collection = name.split(".", 1)
            reply = client[database].command({"compact": collection})
            freed = reply.get("bytesFreed", 0) or 0
            result["compact"]["collections"].append({"name": name, "bytes_freed": freed, "ok": bool(reply.get("ok"))})
            result["changed"] = result["changed"] or freed > 0


def main() -> None:
    module = mongodb_module(
        sizes={"type": "bool", "default": True},
        databases={"type": "list", "elements": "str", "default": []},
        retention={
            "type": "list",
            "elements": "dict",
            "default": [],
            "options": {
                "database": {"type": "str", "required": True},
                "collection": {"type": "str", "required": True},
                "field": {"type": "str", "default": "timestamp"},
                "days": {"type": "int", "required": True},
                "batch_size": {"type": "int", "default": 1000},
            },
        },
        max_batches={"type": "int", "default": 0},
        compact={"type": "list", "elements": "str", "default": []},
        compact_allow_primary={"type": "bool", "default": False},
    )
    p = module.params
    try:
        rules = check_retention_rules(p["retention"])
    except MaintenanceError as err:
        module.fail_json(msg=str(err))
    problem = option_problem(p)
    if problem:
        module.fail_json(msg=problem)

    result: dict[str, Any] = {"changed": False, "retention": [], "compact": {"ran": False}, "notes": []}
    now = datetime.datetime.now(datetime.UTC)
    client = None
    try:
        client = mongodb_client(p)
        if p["sizes"]:
            result["sizes"] = read_sizes(client, p["databases"], result["notes"])
        apply_rules(client, rules, now, result, p, module.check_mode)
        if p["compact"]:
            run_compact(client, result, p, module.check_mode)
    except OperationFailure as err:
        module.fail_json(msg=f"MongoDB refused a command: {err}", exception=traceback.format_exc(), **result)
    except PyMongoError as err:
        module.fail_json(
            msg=f"MongoDB at {p['login_host']}:{p['login_port']}: {err}", exception=traceback.format_exc(), **result
        )
    finally:
        if client is not None:
            client.close()
    from bson import json_util

    module.exit_json(**json.loads(json_util.dumps(result, json_options=json_util.RELAXED_JSON_OPTIONS)))


if __name__ == "__main__":
    main()
