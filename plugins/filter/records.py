# Copyright: opsbook contributors
# Apache License 2.0 (see LICENSE in the repository root)
"""Filters that reshape records between tasks; the logic lives in module_utils/records.py."""

from __future__ import annotations

from ansible_collections.opsbook.runbooks.plugins.module_utils import records as rec
from ansible_collections.opsbook.runbooks.plugins.plugin_utils.filters import filter_module

FilterModule = filter_module(
    rec.RecordsError,
    {
        "by_item": rec.by_item,
        "pluck": rec.pluck,
        "table_rows": rec.table_rows,
        "prefix_keys": rec.prefix_keys,
    },
)
