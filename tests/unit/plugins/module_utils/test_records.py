"""module_utils/records.py: registered loop results keyed by item, one field of each service
record, and report table rows, on data shaped like Ansible's registered results."""

from __future__ import annotations

import pytest
from ansible_collections.opsbook.runbooks.plugins.module_utils.records import (
    RecordsError,
    by_item,
    dig,
    pluck,
    table_rows,
)

# What `register:` holds for a looped community.postgresql.postgresql_query (two databases, the
# second looped over the results of an earlier loop, so its item is itself a result).
PG_RESULTS = [
    {"item": "opsbook_app", "changed": False, "query_result": [{"name": "public.orders", "dead_rows": 120}]},
    {"item": "shop", "changed": False, "query_result": []},
]
COLLSTATS = [
    {"item": "orders", "result": {"ns": "opsbook_app.orders", "count": 50, "size": 4096}, "changed": False},
    {"item": "users", "result": {"ns": "opsbook_app.users", "count": 3, "size": 512}, "changed": False},
]


def test_by_item_keys_each_result_by_its_item() -> None:
    assert by_item(PG_RESULTS, "query_result") == {
        "opsbook_app": [{"name": "public.orders", "dead_rows": 120}],
        "shop": [],
    }
    assert by_item(COLLSTATS, "result.count") == {"orders": 50, "users": 3}


def test_by_item_follows_a_dotted_key_into_nested_items() -> None:
    nested = [{"item": {"item": "opsbook_app", "query_result": [{"installed": True}]}, "query_result": [{"calls": 9}]}]
    assert by_item(nested, "query_result", "item.item") == {"opsbook_app": [{"calls": 9}]}


def test_by_item_works_for_any_records_with_a_key() -> None:
    apps = [{"host": "app-1", "services": {"api": {}}}, {"host": "app-2", "services": {}}]
    assert by_item(apps, "services", "host") == {"app-1": {"api": {}}, "app-2": {}}


def test_by_item_without_the_field_fails_or_takes_the_default() -> None:
    skipped = [*COLLSTATS, {"item": "logs", "skipped": True, "changed": False}]
    with pytest.raises(RecordsError, match=r"'result\.count'"):
        by_item(skipped, "result.count")
    assert by_item(skipped, "result.count", default=None)["logs"] is None


def test_by_item_refuses_an_item_that_is_not_a_name() -> None:
    with pytest.raises(RecordsError, match="not a name"):
        by_item([{"item": {"name": "api"}, "log_lines": []}], "log_lines")


def test_dig_and_pluck() -> None:
    status = {
        "api": {"state": "running", "health": "healthy", "image": "opsbook/app:1.1"},
        "worker": {"state": "exited", "health": "none"},
    }
    assert pluck(status, "image") == {"api": "opsbook/app:1.1", "worker": None}
    assert pluck(status, "image", "") == {"api": "opsbook/app:1.1", "worker": ""}
    assert dig({"a": {"b": 0}}, "a.b") == 0
    assert dig({"a": 1}, "a.b", "none") == "none"


def test_table_rows_follow_the_columns() -> None:
    rows = [
        {"account": "app_mongodb", "kind": "mongodb", "status": "rotated", "switched_at": "2026-12-04T20:00:00Z"},
        {"account": "api_keys", "kind": "api_keys", "status": "not due"},
    ]
    assert table_rows(rows, ["account", "status", "switched_at"]) == [
        ["app_mongodb", "rotated", "2026-12-04T20:00:00Z"],
        ["api_keys", "not due", None],
    ]
