# Copyright: opsbook contributors
# Apache License 2.0 (see LICENSE in the repository root)
"""Filters of the service_control role; the logic lives in module_utils/service_control.py."""

from __future__ import annotations

from ansible_collections.opsbook.runbooks.plugins.module_utils import service_control as sc
from ansible_collections.opsbook.runbooks.plugins.plugin_utils.filters import filter_module

FilterModule = filter_module(
    sc.ServiceControlError,
    {
        "env_file_update": sc.env_file_update,
        "env_file_parse": sc.env_file_parse,
        "compose_status": sc.compose_status,
        "k8s_status": sc.k8s_status,
        "image_override": sc.image_override,
        "previous_image": sc.previous_image,
        "attach_logs": sc.attach_logs,
        "k8s_env": sc.k8s_env,
        "k8s_log_entry": sc.k8s_log_entry,
        "unsettled": sc.unsettled,
        "k8s_secret_data": sc.k8s_secret_data,
        "k8s_string_data": sc.k8s_string_data,
        "image_targets": sc.image_targets,
        "k8s_attach_logs": sc.k8s_attach_logs,
        "status_line": sc.status_line,
    },
)
