"""Point-in-time recovery on a real server: a full backup with --oplog, oplog captures, and a
restore to a timestamp between them, on a FerretDB of this test's own (it writes an oplog but has
no applyOps, so the opsbook replayer applies the entries; docs/backup.md says what that covers)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from bson.timestamp import Timestamp
from test_backup_faults import BIN, Ferret, run_module


@pytest.fixture(scope="module")
def ferret(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ferret]:
    if not (BIN / "ferretdb").exists() or not (BIN / "mongodump").exists():
        pytest.skip(f"FerretDB and mongo-tools are not built in {BIN} (run `make install`)")
    server = Ferret(tmp_path_factory.mktemp("ferretdb-pitr"), oplog=True)
    server.start()
    yield server
    server.stop()


def newest_ts(ferret: Ferret) -> Timestamp:
    with ferret.client() as client:
        return client.local["oplog.rs"].find_one({}, sort=[("ts", -1)])["ts"]


def test_restore_to_a_point_in_time(tmp_path: Path, ferret: Ferret) -> None:
    root = tmp_path / "backups"
    login = {**ferret.login(), "root": str(root)}
    tools = {"mongodump_path": str(BIN / "mongodump")}
    with ferret.client() as client:
        shop = client.shop
        shop.orders.insert_many([{"_id": i, "status": "new"} for i in range(20)])
        shop.orders.create_index("status", name="status_1")
        base = run_module(tmp_path, "mongodb_backup", {**login, **tools, "target": "mongodb", "oplog": "always"})
        assert base.get("changed") and base["manifest"]["oplog"]["start"], base.get("msg")

        # Minutes 1-15: inserts, an update and a delete, then the first capture.
        shop.orders.insert_many([{"_id": i, "status": "new"} for i in range(20, 30)])
        shop.orders.update_one({"_id": 3}, {"$set": {"status": "paid"}})
        shop.orders.delete_one({"_id": 4})
        first = run_module(tmp_path, "mongodb_oplog_capture", {**login, **tools})
        assert first["changed"] and first["oplog"]["entries"] >= 12, first

        # The moment to recover to, then the mistake, then the second capture.
        target = newest_ts(ferret)
        time.sleep(1.1)
        shop.orders.update_many({}, {"$set": {"status": "cancelled"}})
        shop.orders.delete_many({"_id": {"$lt": 10}})
        second = run_module(tmp_path, "mongodb_oplog_capture", {**login, **tools})
        assert second["changed"] and second["oplog"]["after"] == first["oplog"]["end"]
        idle = run_module(tmp_path, "mongodb_oplog_capture", {**login, **tools})
        assert idle["changed"] is False, "nothing new, nothing written"

        limit = f"{target.time}:{target.inc + 1}"  # everything up to and including `target`
        args = {**login, "target": "mongodb", "oplog_limit": limit, "mongorestore_path": str(BIN / "mongorestore")}
        checked = run_module(tmp_path, "backup_restore", args, check=True)
        assert not checked.get("failed") and shop.orders.count_documents({"status": "cancelled"}) == 20
        restored = run_module(tmp_path, "backup_restore", args)
        assert not restored.get("failed"), restored.get("msg")
        pitr = restored["restore"]["pitr"]
        assert pitr["engine"] == "opsbook" and pitr["segments"] == [first["id"], second["id"]]
        docs = {d["_id"]: d["status"] for d in shop.orders.find()}
        assert sorted(docs) == [i for i in range(30) if i != 4]
        assert docs[3] == "paid" and set(docs.values()) == {"new", "paid"}
        assert "status_1" in {i["name"] for i in shop.orders.list_indexes()}

        # A point after the last capture cannot be reached: refused before anything changes.
        late = run_module(tmp_path, "backup_restore", {**args, "oplog_limit": f"{int(time.time()) + 3600}:0"})
        assert late["failed"] and "before the requested time" in late["msg"]
        assert shop.orders.count_documents({}) == 29


def test_a_gap_in_the_captures_is_refused(tmp_path: Path, ferret: Ferret) -> None:
    import shutil

    root = tmp_path / "backups"
    login = {**ferret.login(), "root": str(root)}
    tools = {"mongodump_path": str(BIN / "mongodump")}
    with ferret.client() as client:
        run_module(tmp_path, "mongodb_backup", {**login, **tools, "target": "mongodb", "oplog": "always"})
        segments = []
        for n in range(3):
            client.gap.items.insert_one({"_id": n})
            segments.append(run_module(tmp_path, "mongodb_oplog_capture", {**login, **tools}))
            time.sleep(1.1)
        shutil.rmtree(segments[1]["path"])
        end = segments[2]["oplog"]["end"]
        args = {
            **login,
            "target": "mongodb",
            "oplog_limit": f"{end['t']}:{end['i']}",
            "mongorestore_path": str(BIN / "mongorestore"),
        }
        refused = run_module(tmp_path, "backup_restore", args, check=True)
        assert refused["failed"] and "have a gap" in refused["msg"], refused["msg"]
