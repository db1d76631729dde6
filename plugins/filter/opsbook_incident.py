# Copyright: opsbook contributors
# Apache License 2.0 (see LICENSE in the repository root)
"""Filters of the incident, forensics and emergency playbooks; the logic lives in
module_utils/opsbook_incident.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import ansible.module_utils

PLUGINS = Path(__file__).resolve().parents[1]
# Ansible gives the project's module_utils to modules only; controller plugins share the same
# plain functions by importing them from the same place.
if str(PLUGINS / "module_utils") not in ansible.module_utils.__path__:
    ansible.module_utils.__path__.append(str(PLUGINS / "module_utils"))

from ansible.module_utils import opsbook_incident as inc
from ansible.module_utils.opsbook_filters import filter_errors

_wrap = filter_errors(inc.IncidentError)


class FilterModule:
    """opsbook_severity, opsbook_incident_assess, opsbook_compare_counts, opsbook_rollback_criteria,
    opsbook_invalid_addresses, opsbook_redact_inspect."""

    def filters(self) -> dict[str, Any]:
        return {
            "opsbook_severity": _wrap(inc.severity),
            "opsbook_incident_assess": _wrap(inc.assess),
            "opsbook_compare_counts": _wrap(inc.compare_counts),
            "opsbook_rollback_criteria": _wrap(inc.rollback_criteria),
            "opsbook_invalid_addresses": _wrap(inc.invalid_addresses),
            "opsbook_redact_inspect": _wrap(inc.redact_inspect),
        }
