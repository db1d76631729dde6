# Copyright: opsbook contributors
# Apache License 2.0 (see LICENSE in the repository root)
"""Filters of the node_maintenance role; the logic lives in module_utils/node_maintenance.py."""

from __future__ import annotations

from ansible_collections.opsbook.runbooks.plugins.module_utils import node_maintenance as nm
from ansible_collections.opsbook.runbooks.plugins.plugin_utils.filters import filter_module

FilterModule = filter_module(
    nm.NodeMaintenanceError,
    {
        "drain_plan": nm.drain_plan,
        "eviction_groups": nm.eviction_groups,
        "drain_outcome": nm.drain_outcome,
        "node_summary": nm.node_summary,
        "deployment_readiness": nm.deployment_readiness,
    },
)
