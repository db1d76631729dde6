# Copyright: opsbook contributors
# Apache License 2.0 (see LICENSE in the repository root)
"""Filters of the credential_rotation role; the logic lives in module_utils/credentials.py."""

from __future__ import annotations

from ansible_collections.opsbook.runbooks.plugins.module_utils import credentials as oc
from ansible_collections.opsbook.runbooks.plugins.plugin_utils.filters import filter_module

FilterModule = filter_module(
    oc.RotationError,
    {
        "rotation_plan": oc.rotation_plan,
        "rotation_secrets": oc.rotation_secrets,
        "rotation_store": oc.rotation_store,
        "url_user": oc.url_user,
        "rotation_describe": oc.describe_user,
        "rotation_random": oc.random_secrets,
        "rotation_env_values": oc.rotation_env_values,
        "rotation_accounts": oc.rotation_accounts,
        "rotation_line": oc.rotation_line,
    },
)
