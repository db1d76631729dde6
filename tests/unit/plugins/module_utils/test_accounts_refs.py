"""module_utils/accounts.py: the MongoDB users an operator names for a lockdown, as
"name@database" strings or {name, database} mappings, turned into the forms the lockdown uses."""

from __future__ import annotations

import pytest
from ansible_collections.opsbook.runbooks.plugins.module_utils.accounts import (
    AccountsError,
    account_refs,
    mongodb_user_keys,
)


def test_account_refs_from_strings_and_mappings() -> None:
    users = ["reporting@opsbook_app", {"name": "etl", "database": "warehouse"}, "ops", {"name": "audit"}]
    assert account_refs(users) == [
        {"name": "reporting", "database": "opsbook_app"},
        {"name": "etl", "database": "warehouse"},
        {"name": "ops", "database": "admin"},
        {"name": "audit", "database": "admin"},
    ]
    assert account_refs("reporting@opsbook_app, ops") == [
        {"name": "reporting", "database": "opsbook_app"},
        {"name": "ops", "database": "admin"},
    ]
    assert account_refs([]) == []


def test_account_refs_refuse_a_user_without_a_name() -> None:
    with pytest.raises(AccountsError, match="name@database"):
        account_refs(["@opsbook_app"])
    with pytest.raises(AccountsError, match="needs a name"):
        account_refs([{"database": "opsbook_app"}])


def test_mongodb_user_keys() -> None:
    assert mongodb_user_keys([{"name": "reporting", "database": "opsbook_app"}, {"name": "ops"}]) == [
        "reporting@opsbook_app",
        "ops@admin",
    ]
