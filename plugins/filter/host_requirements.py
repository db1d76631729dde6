# Copyright: opsbook contributors
# Apache License 2.0 (see LICENSE in the repository root)
"""Filters of the host_requirements role; the logic lives in module_utils/host_requirements.py."""

from __future__ import annotations

from ansible_collections.opsbook.runbooks.plugins.module_utils import host_requirements as hr
from ansible_collections.opsbook.runbooks.plugins.plugin_utils.filters import filter_module

FilterModule = filter_module(
    ValueError,
    {
        "host_requirements_plan": hr.plan,
        "dpkg_missing": hr.dpkg_missing,
        "checker_endpoints": hr.checker_endpoints,
    },
)
