# Copyright: opsbook contributors
# Apache License 2.0 (see LICENSE in the repository root)
"""Filters of the evening summary; the logic lives in module_utils/daily_summary.py."""

from __future__ import annotations

from ansible_collections.opsbook.runbooks.plugins.module_utils import daily_summary as ds
from ansible_collections.opsbook.runbooks.plugins.plugin_utils.filters import filter_module

FilterModule = filter_module(
    ds.DailySummaryError,
    {
        "summary_observations": ds.summary_observations,
        "daily_summary": ds.daily_summary,
    },
)
