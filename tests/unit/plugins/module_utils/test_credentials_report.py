"""module_utils/credentials.py, the parts credential_rotation's task files call as filters: fresh
random secrets, the env values of the switch and the rollback, and the report's rows and lines.
The plan and the secrets are shaped as rotation_plan and rotation_secrets return them."""

from __future__ import annotations

import string

import pytest
from ansible_collections.opsbook.runbooks.plugins.module_utils import credentials as oc

PLAN = [
    {
        "name": "app_mongodb",
        "kind": "mongodb",
        "strategy": "dual_user",
        "env_var": "MONGO_URL",
        "current_user": "app_a",
        "next_user": "app_b",
        "due": True,
    },
    {
        "name": "app_redis",
        "kind": "redis",
        "strategy": "overlap",
        "env_var": "REDIS_URL",
        "current_user": "app",
        "next_user": "app",
        "due": True,
    },
    {
        "name": "api_keys",
        "kind": "api_keys",
        "strategy": "key_list",
        "env_var": "API_KEYS",
        "current_user": None,
        "next_user": None,
        "due": True,
    },
    {
        "name": "app_postgres",
        "kind": "postgres",
        "strategy": "dual_user",
        "env_var": "DATABASE_URL",
        "current_user": "app_a",
        "next_user": "app_b",
        "due": False,
    },
]
NEW = {
    "app_mongodb": {
        "old_value": "mongodb://app_a:old@db/x",
        "new_value": "mongodb://app_b:new@db/x",
        "old_password": "old",
        "new_password": "new",
    },
    "api_keys": {
        "old_value": "k0",
        "new_value": "k0,k1",
        "records": [],
        "counts": {"added": 1, "removed": 0, "kept": 2},
    },
}


def test_random_secrets_one_per_account_from_letters_and_digits() -> None:
    first = oc.random_secrets(PLAN[:3], 32)
    second = oc.random_secrets(PLAN[:3], 32)
    assert set(first) == {"app_mongodb", "app_redis", "api_keys"}
    assert all(len(v) == 32 and set(v) <= set(string.ascii_letters + string.digits) for v in first.values())
    assert first != second
    with pytest.raises(oc.RotationError, match="at least 20"):
        oc.random_secrets(PLAN, 12)


def test_env_values_of_the_switch_and_the_rollback() -> None:
    assert oc.rotation_env_values(NEW, PLAN, "new_value") == {
        "MONGO_URL": "mongodb://app_b:new@db/x",
        "API_KEYS": "k0,k1",
    }
    assert oc.rotation_env_values(NEW, PLAN, "old_value") == {"MONGO_URL": "mongodb://app_a:old@db/x", "API_KEYS": "k0"}
    with pytest.raises(oc.RotationError, match="new_value or old_value"):
        oc.rotation_env_values(NEW, PLAN, "new_password")
    with pytest.raises(oc.RotationError, match="not in the plan"):
        oc.rotation_env_values(NEW, PLAN[1:], "new_value")


def test_report_rows_hold_users_and_counts_never_a_secret() -> None:
    sessions = {"app_mongodb": {"ended": 0, "note": "FerretDB has no killAllSessionsByPattern"}}
    rows = oc.rotation_accounts(PLAN, NEW, "rotated", "2026-12-04T20:00:00Z", sessions, False)
    by_name = {row["account"]: row for row in rows}
    assert by_name["app_mongodb"] == {
        "account": "app_mongodb",
        "kind": "mongodb",
        "strategy": "dual_user",
        "old_user": "app_a",
        "new_user": "app_b",
        "status": "rotated",
        "switched_at": "2026-12-04T20:00:00Z",
        "api_keys": {},
        "sessions": sessions["app_mongodb"],
    }
    assert by_name["api_keys"]["api_keys"] == {"added": 1, "removed": 0, "kept": 2}
    assert by_name["app_redis"]["status"] == "not due" and by_name["app_redis"]["switched_at"] == ""
    assert "new" not in str(rows).replace("new_user", "") and "old" not in str(rows).replace("old_user", "")


def test_report_rows_after_a_rollback_and_in_check_mode() -> None:
    rolled = {row["account"]: row for row in oc.rotation_accounts(PLAN, NEW, "rolled_back", "t", {}, False)}
    assert rolled["app_mongodb"]["status"] == "rolled_back" and rolled["app_mongodb"]["new_user"] == "app_a"
    planned = {row["account"]: row for row in oc.rotation_accounts(PLAN, {}, "planned", "", {}, True)}
    assert planned["app_mongodb"]["status"] == "planned" and planned["app_postgres"]["status"] == "not due"


def test_rotation_line() -> None:
    rows = {
        r["account"]: r
        for r in oc.rotation_accounts(
            PLAN, NEW, "rotated", "2026-12-04T20:00:00Z", {"app_mongodb": {"note": "no session kill"}}, False
        )
    }
    assert oc.rotation_line(rows["app_mongodb"]) == (
        "app_mongodb (mongodb, dual_user): rotated, app_a -> app_b, switched at 2026-12-04T20:00:00Z;"
        " sessions: no session kill"
    )
    assert oc.rotation_line(rows["api_keys"]) == (
        "api_keys (api_keys, key_list): rotated, keys added 1, removed 0, valid 2, switched at 2026-12-04T20:00:00Z"
    )
    assert oc.rotation_line(rows["app_postgres"]) == "app_postgres (postgres, dual_user): not due, app_a -> app_a"
