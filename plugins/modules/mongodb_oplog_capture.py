#!/usr/bin/python
# Copyright: opsbook contributors
# Apache License 2.0 (see LICENSE in the repository root)
"""Capture the MongoDB oplog since the last capture into a sealed opsbook backup segment."""

from __future__ import annotations

DOCUMENTATION = r"""
module: mongodb_oplog_capture
short_description: Capture the oplog written since the last capture, for point-in-time recovery
description:
  - Dumps the entries of C(local.oplog.rs) newer than the end of the previous complete segment of
    O(target) (the first segment starts at the oplog start of the newest full backup of
    O(base_target), or at the oldest entry) with C(mongodump --query), into a sealed backup of tier
    V(oplog) holding C(oplog.bson) and a manifest with the segment's first and last timestamps.
  - Run it every 15 minutes (the seeds' RPO). Consecutive segments chain; restore_pitr.yml refuses
    a chain with a gap.
  - When nothing was written since the last segment, it writes nothing and reports no change.
version_added: "0.1.0"
author: opsbook contributors (@opsbook)
extends_documentation_fragment:
  - opsbook.runbooks.mongodb
  - opsbook.runbooks.attributes
options:
  root:
    description: The backup root.
    type: path
    required: true
  target:
    description: Target name of the oplog segments.
    type: str
    default: mongodb_oplog
  base_target:
    description: Target of the full MongoDB backups the segments extend.
    type: str
    default: mongodb
  mongodump_path:
    description: The mongodump binary.
    type: path
    default: mongodump
attributes:
  check_mode:
    support: full
    details: In check mode nothing is dumped; the module reports the range it would capture.
  diff_mode:
    support: none
"""

EXAMPLES = r"""
- name: Capture the oplog (every 15 minutes)
  opsbook.runbooks.mongodb_oplog_capture:
    login_host: 127.0.0.1
    login_port: 27017
    login_user: opsbook_admin
    login_password: "{{ vault_mongodb_admin_password }}"
    root: /var/backups/opsbook
  no_log: true
"""

RETURN = r"""
path:
  description: The sealed segment.
  returned: changed
  type: str
  sample: /var/backups/opsbook/mongodb_oplog/oplog/20250111T021500Z
oplog:
  description: The segment's range and entry count; C(after) is the exclusive lower bound.
  returned: always
  type: dict
  sample: {after: {t: 1736560800, i: 3}, start: {t: 1736560801, i: 1}, end: {t: 1736561700, i: 9}, entries: 42}
"""

import json

from ansible_collections.opsbook.runbooks.plugins.module_utils.backup import (
    BackupError,
    BackupWriter,
    list_backups,
    run_mongodb_and_exit,
    tool_version,
)
from ansible_collections.opsbook.runbooks.plugins.module_utils.backup_tools import (
    mongo_tool_connection,
    mongodump_argv,
    private_dir,
    run_tool,
    tail,
    ts_dict,
    ts_tuple,
)
from ansible_collections.opsbook.runbooks.plugins.module_utils.mongodb import (
    mongodb_client,
    mongodb_module,
)


def lower_bound(root: str, target: str, base_target: str) -> tuple[dict | None, bool]:
    """(timestamp, inclusive): where the next segment starts: after the newest segment's end, or
    at the newest full backup's oplog start (inclusive), or None for the whole oplog."""
    segments = list_backups(root, [target])["backups"]
    if segments:
        return max((r["manifest"]["oplog"]["end"] for r in segments), key=ts_tuple), False
    for record in list_backups(root, [base_target])["backups"]:
        if (record["manifest"].get("oplog") or {}).get("start"):
            return record["manifest"]["oplog"]["start"], True
    return None, True


def ts_query(bound: dict | None, inclusive: bool) -> str | None:
    if bound is None:
        return None
    op = "$gte" if inclusive else "$gt"
    return json.dumps({"ts": {op: {"$timestamp": {"t": bound["t"], "i": bound["i"]}}}})


def bson_range(path) -> tuple[dict | None, dict | None, int]:
    """First and last timestamps and the number of entries of a dumped oplog file."""
    import bson

    first = last = None
    count = 0
    with open(path, "rb") as handle:
        for entry in bson.decode_file_iter(handle):
            last = ts_dict(entry["ts"])
            first = first or last
            count += 1
    return first, last, count


class NothingNewError(Exception):
    """No oplog entry since the last capture: the partial segment is dropped."""


def capture(p: dict, check_mode: bool) -> dict:
    """One pass over the oplog on the server (mongodump --query); the range is read from the dump.
    (FerretDB scans the whole oplog for every query, so fewer queries is much faster there.)"""
    from bson.timestamp import Timestamp

    bound, inclusive = lower_bound(p["root"], p["target"], p["base_target"])
    client = mongodb_client(p)
    try:
        if "oplog.rs" not in client["local"].list_collection_names():
            raise BackupError("the server keeps no oplog (local.oplog.rs); point-in-time recovery is not possible")
        oldest = client["local"]["oplog.rs"].find_one({}, projection={"ts": 1})  # natural order: the oldest
        if check_mode:
            query = {} if bound is None else {"ts": {"$gte" if inclusive else "$gt": Timestamp(bound["t"], bound["i"])}}
            pending = client["local"]["oplog.rs"].find_one(query, projection={"ts": 1})
    finally:
        client.close()
    if bound and not inclusive and oldest and ts_tuple(ts_dict(oldest["ts"])) > ts_tuple(bound):
        raise BackupError(
            f"the oplog's oldest entry {ts_dict(oldest['ts'])} is newer than the last capture's end {bound}: "
            "entries were lost (the oplog is too small for the capture interval); take a full backup"
        )
    info: dict = {"after": bound if not inclusive else None}
    if check_mode:
        if pending is None:
            return {"changed": False, "oplog": {**info, "end": bound, "entries": 0}, "msg": "no new oplog entries"}
        return {"changed": True, "oplog": info, "msg": f"would capture the entries after {bound}"}
    try:
        with BackupWriter(p["root"], p["target"], "oplog", "oplog") as writer, private_dir() as tmp:
            out_dir = tmp / "out"
            argv = mongodump_argv(
                p["mongodump_path"],
                mongo_tool_connection(p, tmp, "mongodump.yml"),
                archive="-",
                gzip=False,
                databases=["local"],
                collection="oplog.rs",
                query=ts_query(bound, inclusive),
                parallel_collections=1,
            )
            argv = [a for a in argv if a != "--archive"] + [f"--out={out_dir}"]
            rc, log = run_tool(argv)
            if rc != 0:
                raise BackupError(f"mongodump of the oplog failed (exit {rc}): {tail(log, 3)}")
            (out_dir / "local" / "oplog.rs.bson").rename(writer.path("oplog.bson"))
            first, last, entries = bson_range(writer.path("oplog.bson"))
            if entries == 0:
                raise NothingNewError()
            info.update({"start": first, "end": last, "entries": entries})
            manifest = writer.seal(
                {
                    "tool": {"name": "mongodump", "version": tool_version(p["mongodump_path"])},
                    "source": f"{p['login_host']}:{p['login_port']}",
                    "oplog": {**info, "file": "oplog.bson"},
                    "counts": {"local.oplog.rs": entries},
                    "encryption": None,
                }
            )
    except NothingNewError:
        return {
            "changed": False,
            "oplog": {**info, "start": None, "end": bound, "entries": 0},
            "msg": "no new oplog entries",
        }
    return {"changed": True, "path": str(writer.final), "id": writer.id, "oplog": manifest["oplog"]}


def main() -> None:
    module = mongodb_module(
        root={"type": "path", "required": True},
        target={"type": "str", "default": "mongodb_oplog"},
        base_target={"type": "str", "default": "mongodb"},
        mongodump_path={"type": "path", "default": "mongodump"},
    )
    p = module.params
    run_mongodb_and_exit(module, capture, f"Oplog capture to {p['root']}/{p['target']} failed, nothing was kept")


if __name__ == "__main__":
    main()
