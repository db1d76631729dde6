# Copyright: opsbook contributors
# Apache License 2.0 (see LICENSE in the repository root)
"""The alert catalog's inventory overrides, taken alike by the catalog lookup and the alert_check
module (both apply them with plugins/module_utils/catalog.py's merge())."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  overrides:
    description:
      - "Changes to catalog entries by name, such as C({HighCpuUsage: {warning: 70}})."
    type: dict
    default: {}
  extra_entries:
    description: Further catalog entries.
    type: list
    elements: dict
    default: []
"""
