# Copyright: opsbook contributors
# Apache License 2.0 (see LICENSE in the repository root)
"""Filters of the account_lockdown role and the emergency role's security incident procedure;
the logic lives in module_utils/accounts.py."""

from __future__ import annotations

from ansible_collections.opsbook.runbooks.plugins.module_utils import accounts as acc
from ansible_collections.opsbook.runbooks.plugins.plugin_utils.filters import filter_module

FilterModule = filter_module(
    acc.AccountsError,
    {
        "mongodb_user_refs": acc.account_refs,
        "mongodb_user_keys": acc.mongodb_user_keys,
    },
)
