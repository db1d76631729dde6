# Copyright: opsbook contributors
# Apache License 2.0 (see LICENSE in the repository root)
"""Filters of the service_control role; the logic lives in module_utils/opsbook_service_control.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import ansible.module_utils
from ansible.errors import AnsibleFilterError

PLUGINS = Path(__file__).resolve().parents[1]
# Ansible gives the project's module_utils to modules only; controller plugins share the same
# plain functions by importing them from the same place.
if str(PLUGINS / "module_utils") not in ansible.module_utils.__path__:
    ansible.module_utils.__path__.append(str(PLUGINS / "module_utils"))

from ansible.module_utils import opsbook_service_control as sc


def _wrap(func: Any) -> Any:
    def filter_(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except sc.ServiceControlError as err:
            raise AnsibleFilterError(str(err)) from err

    filter_.__name__ = func.__name__
    filter_.__doc__ = func.__doc__
    return filter_


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
