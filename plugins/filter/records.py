# Copyright: opsbook contributors
# Apache License 2.0 (see LICENSE in the repository root)
"""Filters that reshape records between tasks; the logic lives in module_utils/records.py."""

from __future__ import annotations

from typing import Any

from ansible_collections.opsbook.runbooks.plugins.module_utils import records as rec
from ansible_collections.opsbook.runbooks.plugins.plugin_utils.filters import filter_errors

_wrap = filter_errors(rec.RecordsError)


class FilterModule:
    """The filters of this file, by their names in the collection (opsbook.runbooks.<name>)."""

    def filters(self) -> dict[str, Any]:
        return {
            "by_item": _wrap(rec.by_item),
            "pluck": _wrap(rec.pluck),
            "table_rows": _wrap(rec.table_rows),
            "prefix_keys": _wrap(rec.prefix_keys),
        }
