# Copyright: opsbook contributors
# Apache License 2.0 (see LICENSE in the repository root)
"""Filters of the node_maintenance role; the logic lives in module_utils/opsbook_node_maintenance.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import ansible.module_utils

PLUGINS = Path(__file__).resolve().parents[1]
# Ansible gives the project's module_utils to modules only; controller plugins share the same
# plain functions by importing them from the same place.
if str(PLUGINS / "module_utils") not in ansible.module_utils.__path__:
    ansible.module_utils.__path__.append(str(PLUGINS / "module_utils"))

from ansible.module_utils import opsbook_node_maintenance as nm
from ansible.module_utils.opsbook_filters import filter_errors

_wrap = filter_errors(nm.NodeMaintenanceError)


class FilterModule:
    """opsbook_drain_plan, opsbook_eviction_groups, opsbook_drain_outcome, opsbook_node_summary,
    opsbook_deployment_readiness."""

    def filters(self) -> dict[str, Any]:
        return {
            "opsbook_drain_plan": _wrap(nm.drain_plan),
            "opsbook_eviction_groups": _wrap(nm.eviction_groups),
            "opsbook_drain_outcome": _wrap(nm.drain_outcome),
            "opsbook_node_summary": _wrap(nm.node_summary),
            "opsbook_deployment_readiness": _wrap(nm.deployment_readiness),
        }
