"""The backup catalog: what counts as a backup, checksums, retention and metrics (no services)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from ansible_collections.opsbook.runbooks.plugins.module_utils.backup import (
    MARKER,
    BackupError,
    BackupWriter,
    backup_ref,
    delete_backup,
    find_backup,
    id_epoch,
    list_backups,
    lock_held,
    plan_retention,
    prometheus_text,
    record_verification,
    run_and_exit,
    run_mongodb_and_exit,
    skip_if_recent,
    stale_partials,
)
from ansible_collections.opsbook.runbooks.tests.unit.helpers import COLLECTIONS_PATH

DAY = 86400.0


def make_backup(root: Path, target: str = "mongodb", tier: str = "daily", now: float | None = None, payload=b"data"):
    with BackupWriter(root, target, tier, "test", now=now) as writer:
        writer.path("dump.bin").write_bytes(payload)
        manifest = writer.seal({"counts": {"db.c": 1}})
    return writer.final, manifest


def test_sealed_backup_is_listed_with_checksums_and_private_modes(tmp_path: Path) -> None:
    path, manifest = make_backup(tmp_path)
    catalog = list_backups(tmp_path, checksums=True)
    assert [b["id"] for b in catalog["backups"]] == [manifest["id"]]
    assert catalog["backups"][0]["problems"] == []
    assert manifest["files"][0]["size"] == 4 and len(manifest["files"][0]["sha256"]) == 64
    assert (path / MARKER).is_file() and not path.with_name(path.name + ".partial").exists()
    assert oct(path.stat().st_mode & 0o777) == "0o700"
    assert oct((path / "dump.bin").stat().st_mode & 0o777) in ("0o600", "0o644")  # written by the test
    assert oct((path / "manifest.json").stat().st_mode & 0o777) == "0o600"
    assert catalog["targets"]["mongodb"]["count"] == 1


def test_failed_write_leaves_nothing(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError), BackupWriter(tmp_path, "mongodb", "daily", "test") as writer:
        writer.path("dump.bin").write_bytes(b"half")
        raise RuntimeError("mongodump died")
    catalog = list_backups(tmp_path)
    assert catalog["backups"] == [] and catalog["incomplete"] == []


def test_missing_marker_and_partial_are_not_backups(tmp_path: Path) -> None:
    path, _manifest = make_backup(tmp_path, now=time.time() - 10)
    (path / MARKER).unlink()
    partial = tmp_path / "mongodb" / "daily" / "20200101T000000Z.partial"
    partial.mkdir()
    catalog = list_backups(tmp_path)
    assert catalog["backups"] == []
    reasons = sorted(i["reason"] for i in catalog["incomplete"])
    assert reasons[0].startswith("no completion marker") and reasons[1].startswith("partial")
    with pytest.raises(BackupError, match="not usable: no completion marker"):
        find_backup(catalog, "mongodb", path.name)
    with pytest.raises(BackupError, match="no complete backup of target 'mongodb'"):
        find_backup(catalog, "mongodb")


def test_flipped_byte_is_corrupt(tmp_path: Path) -> None:
    path, _manifest = make_backup(tmp_path, payload=b"abcdef")
    data = bytearray((path / "dump.bin").read_bytes())
    data[2] ^= 0x01
    (path / "dump.bin").write_bytes(bytes(data))
    catalog = list_backups(tmp_path, checksums=True)
    assert catalog["backups"] == []
    assert "SHA-256 does not match" in catalog["corrupt"][0]["problems"][0]
    assert list_backups(tmp_path)["backups"], "without checksums the listing is by marker only"


def test_lock_of_a_running_writer_is_seen_and_released_when_killed(tmp_path: Path) -> None:
    child_code = (
        "import sys, time; sys.path.insert(0, sys.argv[2]);"
        "from ansible_collections.opsbook.runbooks.plugins.module_utils import backup as b;"
        "w = b.BackupWriter(sys.argv[1], 'mongodb', 'daily', 'test'); w.open(); print(w.partial, flush=True);"
        "time.sleep(60)"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", child_code, str(tmp_path), str(COLLECTIONS_PATH)], stdout=subprocess.PIPE, text=True
    )
    try:
        partial = proc.stdout.readline().strip()
        assert lock_held(partial)
        catalog = list_backups(tmp_path)
        assert catalog["incomplete"][0]["active"] is True
        assert stale_partials(catalog, 0, now=time.time() + 3600) == []
    finally:
        proc.kill()
        proc.wait()
    assert not lock_held(partial)
    catalog = list_backups(tmp_path)
    assert catalog["incomplete"][0]["active"] is False
    assert [p["path"] for p in stale_partials(catalog, 0, now=time.time() + 3600)] == [partial]


def test_verification_is_recorded_and_summarised(tmp_path: Path) -> None:
    path, _manifest = make_backup(tmp_path)
    record_verification(path, {"result": "ok", "verified_epoch": 1234.0, "restore_seconds": 1.5})
    catalog = list_backups(tmp_path)
    assert catalog["backups"][0]["verified"] is True
    assert catalog["targets"]["mongodb"]["latest_verified_epoch"] == 1234.0
    text = prometheus_text(catalog)
    assert 'opsbook_backup_last_verified_timestamp_seconds{target="mongodb"} 1234' in text
    assert 'opsbook_backup_last_success_timestamp_seconds{target="mongodb"}' in text
    assert json.loads((path / "manifest.json").read_text())["verification_history"][0]["result"] == "ok"


def _catalog(records: list[tuple[str, str, float, bool]]) -> dict:
    backups = []
    for target, tier, epoch, verified in records:
        backup_id = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(epoch))
        backups.append(
            {
                "target": target,
                "tier": tier,
                "id": backup_id,
                "path": f"/b/{target}/{tier}/{backup_id}",
                "completed_at": backup_id,
                "completed_epoch": epoch,
                "verified": verified,
                "verification": {"result": "ok", "verified_epoch": epoch + 60} if verified else None,
            }
        )
    backups.sort(key=lambda r: r["completed_epoch"], reverse=True)
    return {"backups": backups, "incomplete": [], "corrupt": []}


def test_retention_keeps_one_per_period_and_the_newest_verified() -> None:
    now = id_epoch("20250131T120000Z")
    daily = [("mongodb", "daily", now - d * DAY, d == 20) for d in range(30)]
    extra_same_day = [("mongodb", "daily", now - 0.5 * 3600, False)]
    plan = plan_retention(_catalog(daily + extra_same_day), {"daily": 7}, now=now)
    kept = {r["id"]: r["reason"] for r in plan["keep"]}
    assert len(kept) == 8  # 7 days + the verified one from 20 days ago
    assert "newest verified" in kept[time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now - 20 * DAY))]
    assert len(plan["delete"]) == 31 - 8


def test_retention_never_empties_a_target_and_respects_unlimited_tiers() -> None:
    now = id_epoch("20250131T120000Z")
    plan = plan_retention(_catalog([("pg", "monthly", now - 400 * DAY, False)]), {"monthly": 1}, now=now)
    assert plan["delete"] == [] and "newest backups of pg" in plan["keep"][0]["reason"]
    plan = plan_retention(_catalog([("f", "manual", now - d * DAY, False) for d in range(5)]), {}, now=now)
    assert len(plan["keep"]) == 5


def test_weekly_and_monthly_periods() -> None:
    now = id_epoch("20250131T120000Z")
    weekly = [("m", "weekly", now - d * DAY, False) for d in range(0, 70, 3)]
    plan = plan_retention(_catalog(weekly), {"weekly": 5}, now=now)
    assert len(plan["keep"]) == 5
    monthly = [("m", "monthly", now - d * DAY, False) for d in range(0, 400, 10)]
    plan = plan_retention(_catalog(monthly), {"monthly": 12}, now=now)
    assert len({r["id"][:6] for r in plan["keep"]}) == 12


def test_delete_backup_removes_marker_first_and_refuses_outside_root(tmp_path: Path) -> None:
    path, _manifest = make_backup(tmp_path)
    record = list_backups(tmp_path)["backups"][0]
    with pytest.raises(BackupError, match="refusing"):
        delete_backup(record, tmp_path / "elsewhere")
    delete_backup(record, tmp_path)
    assert not path.exists()


def test_names_are_checked(tmp_path: Path) -> None:
    with pytest.raises(BackupError, match="not a valid name"):
        BackupWriter(tmp_path, "../etc", "daily", "test")


def test_two_backups_in_the_same_second_get_different_ids(tmp_path: Path) -> None:
    now = time.time()
    first, _manifest = make_backup(tmp_path, now=now)
    second, _manifest = make_backup(tmp_path, now=now)
    assert first != second and len(list_backups(tmp_path)["backups"]) == 2


def test_skip_if_recent_names_the_recent_backup(tmp_path: Path) -> None:
    path, manifest = make_backup(tmp_path)
    params = {"root": str(tmp_path), "target": "mongodb", "tier": "daily", "skip_if_newer_than_minutes": 60}
    assert skip_if_recent(params) == {
        "changed": False,
        "skipped_for": str(path),
        "msg": f"backup {manifest['id']} is recent enough",
    }
    assert skip_if_recent({**params, "skip_if_newer_than_minutes": 0}) is None
    assert skip_if_recent({**params, "tier": "weekly"}) is None


class ModuleExitError(Exception):
    pass


class FakeModule:
    """The part of AnsibleModule that run_and_exit uses; exit_json and fail_json end the run."""

    def __init__(self, check_mode: bool = False) -> None:
        self.params = {"root": "/backups"}
        self.check_mode = check_mode
        self.warnings: list[str] = []
        self.result: dict = {}

    def warn(self, warning: str) -> None:
        self.warnings.append(warning)

    def exit_json(self, **result) -> None:
        self.result = result
        raise ModuleExitError()

    def fail_json(self, **result) -> None:
        self.result = {"failed": True, **result}
        raise ModuleExitError()


def test_run_and_exit_returns_the_result_and_turns_warnings_into_task_warnings() -> None:
    module = FakeModule(check_mode=True)
    seen = []

    def work(params: dict, check_mode: bool) -> dict:
        seen.append((params, check_mode))
        return {"changed": True, "id": "x", "warnings": ["tar: file changed as we read it"]}

    with pytest.raises(ModuleExitError):
        run_and_exit(module, work, "Backup failed")
    assert seen == [({"root": "/backups"}, True)]
    assert module.result == {"changed": True, "id": "x"}
    assert module.warnings == ["tar: file changed as we read it"]


class ClientError(Exception):
    pass


@pytest.mark.parametrize("error", [BackupError("disk full"), OSError("disk full"), ClientError("disk full")])
def test_run_and_exit_fails_with_the_message_and_traceback(error: Exception) -> None:
    def work(params: dict, check_mode: bool) -> dict:
        raise error

    module = FakeModule()
    with pytest.raises(ModuleExitError):
        run_and_exit(module, work, "Backup to /backups failed, nothing was kept", errors=(ClientError,))
    assert module.result["failed"]
    assert module.result["msg"] == "Backup to /backups failed, nothing was kept: disk full"
    assert "disk full" in module.result["exception"]


def test_run_and_exit_lets_other_errors_through() -> None:
    def work(params: dict, check_mode: bool) -> dict:
        raise KeyError("bug")

    with pytest.raises(KeyError):
        run_and_exit(FakeModule(), work, "Backup failed")


def test_run_and_exit_names_a_missing_library_before_running() -> None:
    def work(params: dict, check_mode: bool) -> dict:
        raise AssertionError("must not run without its library")

    module = FakeModule()
    with pytest.raises(ModuleExitError):
        run_and_exit(
            module, work, "Backup failed", library="pymongo", import_error="Traceback: No module named pymongo"
        )
    assert module.result["failed"] and "pymongo" in module.result["msg"]
    assert module.result["exception"] == "Traceback: No module named pymongo"


def test_prometheus_text_has_each_metric_once_with_its_targets() -> None:
    catalog = {
        "targets": {
            "postgres": {"latest_completed_epoch": 1736560800.4, "latest_verified_epoch": None, "count": 2},
            "mongodb": {"latest_completed_epoch": 1736560900.0, "latest_verified_epoch": 1736561000.0, "count": 1},
        }
    }
    assert prometheus_text(catalog) == (
        "# HELP opsbook_backup_last_success_timestamp_seconds Completion time of the newest complete backup.\n"
        "# TYPE opsbook_backup_last_success_timestamp_seconds gauge\n"
        'opsbook_backup_last_success_timestamp_seconds{target="mongodb"} 1736560900\n'
        'opsbook_backup_last_success_timestamp_seconds{target="postgres"} 1736560800\n'
        "# HELP opsbook_backup_last_verified_timestamp_seconds Time of the newest successful restore verification.\n"
        "# TYPE opsbook_backup_last_verified_timestamp_seconds gauge\n"
        'opsbook_backup_last_verified_timestamp_seconds{target="mongodb"} 1736561000\n'
        "# HELP opsbook_backup_count Complete backups on disk.\n"
        "# TYPE opsbook_backup_count gauge\n"
        'opsbook_backup_count{target="mongodb"} 1\n'
        'opsbook_backup_count{target="postgres"} 2\n'
    )


def test_sealed_returns_the_writer_result_and_backup_ref_names_the_record(tmp_path: Path) -> None:
    with BackupWriter(tmp_path, "files", "daily", "files") as writer:
        writer.path("config.tar.gz").write_bytes(b"tar")
        result = writer.sealed({"counts": {"config": 1}})
    assert result == {"changed": True, "path": str(writer.final), "id": writer.id, "manifest": result["manifest"]}
    assert result["manifest"]["counts"] == {"config": 1} and (writer.final / MARKER).is_file()
    record = list_backups(tmp_path)["backups"][0]
    assert backup_ref(record) == {"target": "files", "tier": "daily", "id": writer.id, "path": str(writer.final)}


def test_run_mongodb_and_exit_fails_on_a_pymongo_error_or_without_pymongo() -> None:
    from ansible_collections.opsbook.runbooks.plugins.module_utils.mongodb import PYMONGO_IMPORT_ERROR, PyMongoError

    def work(params: dict, check_mode: bool) -> dict:
        raise PyMongoError("connection refused")

    module = FakeModule()
    with pytest.raises(ModuleExitError):
        run_mongodb_and_exit(module, work, "Oplog capture to /backups/mongodb_oplog failed, nothing was kept")
    assert module.result["failed"]
    if PYMONGO_IMPORT_ERROR:
        assert "(pymongo)" in module.result["msg"]
    else:
        assert (
            module.result["msg"]
            == "Oplog capture to /backups/mongodb_oplog failed, nothing was kept: connection refused"
        )
