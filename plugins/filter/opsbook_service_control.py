# Copyright: opsbook contributors
# Apache License 2.0 (see LICENSE in the repository root)
"""Filters of the service_control role; the logic lives in module_utils/opsbook_service_control.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import ansible.module_utils

PLUGINS = Path(__file__).resolve().parents[1]
# Ansible gives the project's module_utils to modules only; controller plugins share the same
# plain functions by importing them from the same place.
if str(PLUGINS / "module_utils") not in ansible.module_utils.__path__:
    ansible.module_utils.__path__.append(str(PLUGINS / "module_utils"))

from ansible.module_utils import opsbook_service_control as sc
from ansible.module_utils.opsbook_filters import filter_errors

_wrap = filter_errors(sc.ServiceControlError)


class FilterModule:
    """opsbook_env_file_update, opsbook_env_file_parse, opsbook_compose_status, opsbook_k8s_status,
    opsbook_image_override, opsbook_previous_image, opsbook_attach_logs, opsbook_k8s_env, opsbook_k8s_log_entry,
    opsbook_unsettled."""

    def filters(self) -> dict[str, Any]:
        return {
            "opsbook_env_file_update": _wrap(sc.env_file_update),
            "opsbook_env_file_parse": _wrap(sc.env_file_parse),
            "opsbook_compose_status": _wrap(sc.compose_status),
            "opsbook_k8s_status": _wrap(sc.k8s_status),
            "opsbook_image_override": _wrap(sc.image_override),
            "opsbook_previous_image": _wrap(sc.previous_image),
            "opsbook_attach_logs": _wrap(sc.attach_logs),
            "opsbook_k8s_env": _wrap(sc.k8s_env),
            "opsbook_k8s_log_entry": _wrap(sc.k8s_log_entry),
            "opsbook_unsettled": _wrap(sc.unsettled),
        }
