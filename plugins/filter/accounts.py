# Copyright: opsbook contributors
# Apache License 2.0 (see LICENSE in the repository root)
"""Filters of the account_lockdown role and the emergency role's security incident procedure;
the logic lives in module_utils/accounts.py."""

from __future__ import annotations

from typing import Any

from ansible_collections.opsbook.runbooks.plugins.module_utils import accounts as acc
from ansible_collections.opsbook.runbooks.plugins.plugin_utils.filters import filter_errors

_wrap = filter_errors(acc.AccountsError)


class FilterModule:
    """The filters of this file, by their names in the collection (opsbook.runbooks.<name>)."""

    def filters(self) -> dict[str, Any]:
        return {
            "mongodb_user_refs": _wrap(acc.account_refs),
            "mongodb_user_keys": _wrap(acc.mongodb_user_keys),
        }
