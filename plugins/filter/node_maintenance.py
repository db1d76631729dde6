# Copyright: opsbook contributors
# Apache License 2.0 (see LICENSE in the repository root)
"""Filters of the node_maintenance role; the logic lives in module_utils/node_maintenance.py."""

from __future__ import annotations

from typing import Any

from ansible_collections.opsbook.runbooks.plugins.module_utils import node_maintenance as nm
from ansible_collections.opsbook.runbooks.plugins.plugin_utils.filters import filter_errors

_wrap = filter_errors(nm.NodeMaintenanceError)


class FilterModule:
    """The filters of this file, by their names in the collection (opsbook.runbooks.<name>)."""

    def filters(self) -> dict[str, Any]:
        return {
            "drain_plan": _wrap(nm.drain_plan),
            "eviction_groups": _wrap(nm.eviction_groups),
            "drain_outcome": _wrap(nm.drain_outcome),
            "node_summary": _wrap(nm.node_summary),
            "deployment_readiness": _wrap(nm.deployment_readiness),
        }
