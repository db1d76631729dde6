# Copyright: opsbook contributors
# Apache License 2.0 (see LICENSE in the repository root)
"""The alert catalog, with an inventory's overrides applied and validated."""

from __future__ import annotations

DOCUMENTATION = r"""
name: catalog
short_description: The opsbook alert catalog with the inventory's overrides, validated
description:
  - Reads C(roles/alerting/files/catalog.yml) of this collection (or O(path)), applies O(overrides)
    and O(extra_entries) and validates the result, so a malformed entry fails the task with a
    message naming it.
  - Returns one dictionary, the catalog, for M(opsbook.runbooks.alert_check),
    M(opsbook.runbooks.mongodb_health) and the alerting role's renderers.
version_added: "0.1.0"
author: opsbook contributors (@opsbook)
extends_documentation_fragment:
  - opsbook.runbooks.alert_catalog
options:
  path:
    description: A catalog file to read instead of the shipped one.
    type: path
"""

EXAMPLES = r"""
- name: Check figures against the catalog with the inventory's overrides
  opsbook.runbooks.alert_check:
    catalog: >-
      {{ lookup('opsbook.runbooks.catalog', overrides=alerting_overrides, extra_entries=alerting_extra_entries) }}
    observations: {cpu_usage_percent: 91}
"""

RETURN = r"""
_raw:
  description: The validated catalog (one dictionary with severities, routing, metrics and entries).
  type: list
  elements: dict
"""

from pathlib import Path
from typing import Any

import yaml
from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase
from ansible_collections.opsbook.runbooks.plugins.module_utils.catalog import CatalogError, merge

# The catalog the collection ships (the alerting role reads the same file).
SHIPPED = Path(__file__).resolve().parents[2] / "roles" / "alerting" / "files" / "catalog.yml"


class LookupModule(LookupBase):
    def run(self, terms: list[Any], variables: dict[str, Any] | None = None, **kwargs: Any) -> list[dict[str, Any]]:
        self.set_options(var_options=variables, direct=kwargs)
        path = Path(self.get_option("path") or SHIPPED)
        try:
            catalog = yaml.safe_load(path.read_text())
            return [merge(catalog, self.get_option("overrides"), self.get_option("extra_entries"))]
        except (OSError, yaml.YAMLError) as err:
            raise AnsibleLookupError(f"cannot read the alert catalog {path}: {err}") from err
        except CatalogError as err:
            raise AnsibleLookupError(str(err)) from err
