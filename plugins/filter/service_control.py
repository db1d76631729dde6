# Copyright: opsbook contributors
# Apache License 2.0 (see LICENSE in the repository root)
"""Filters of the service_control role; the logic lives in module_utils/service_control.py."""

from __future__ import annotations

from typing import Any

from ansible_collections.opsbook.runbooks.plugins.module_utils import service_control as sc
from ansible_collections.opsbook.runbooks.plugins.plugin_utils.filters import filter_errors

_wrap = filter_errors(sc.ServiceControlError)


class FilterModule:
    """The filters of this file, by their names in the collection (opsbook.runbooks.<name>)."""

    def filters(self) -> dict[str, Any]:
        return {
            "env_file_update": _wrap(sc.env_file_update),
            "env_file_parse": _wrap(sc.env_file_parse),
            "compose_status": _wrap(sc.compose_status),
            "k8s_status": _wrap(sc.k8s_status),
            "image_override": _wrap(sc.image_override),
            "previous_image": _wrap(sc.previous_image),
            "attach_logs": _wrap(sc.attach_logs),
            "k8s_env": _wrap(sc.k8s_env),
            "k8s_log_entry": _wrap(sc.k8s_log_entry),
            "unsettled": _wrap(sc.unsettled),
            "k8s_secret_data": _wrap(sc.k8s_secret_data),
            "k8s_string_data": _wrap(sc.k8s_string_data),
            "image_targets": _wrap(sc.image_targets),
            "k8s_attach_logs": _wrap(sc.k8s_attach_logs),
            "status_line": _wrap(sc.status_line),
        }
