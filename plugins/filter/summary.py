# Copyright: opsbook contributors
# Apache License 2.0 (see LICENSE in the repository root)
"""Filters of the evening summary; the logic lives in module_utils/daily_summary.py."""

from __future__ import annotations

from typing import Any

from ansible_collections.opsbook.runbooks.plugins.module_utils import daily_summary as ds
from ansible_collections.opsbook.runbooks.plugins.plugin_utils.filters import filter_errors

_wrap = filter_errors(ds.DailySummaryError)


class FilterModule:
    """The filters of this file, by their names in the collection (opsbook.runbooks.<name>)."""

    def filters(self) -> dict[str, Any]:
        return {
            "summary_observations": _wrap(ds.summary_observations),
            "daily_summary": _wrap(ds.daily_summary),
        }
