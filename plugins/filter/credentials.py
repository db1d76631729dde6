# Copyright: opsbook contributors
# Apache License 2.0 (see LICENSE in the repository root)
"""Filters of the credential_rotation role; the logic lives in module_utils/credentials.py."""

from __future__ import annotations

from typing import Any

from ansible_collections.opsbook.runbooks.plugins.module_utils import credentials as oc
from ansible_collections.opsbook.runbooks.plugins.plugin_utils.filters import filter_errors

_wrap = filter_errors(oc.RotationError)


class FilterModule:
    """The filters of this file, by their names in the collection (opsbook.runbooks.<name>)."""

    def filters(self) -> dict[str, Any]:
        return {
            "rotation_plan": _wrap(oc.rotation_plan),
            "rotation_secrets": _wrap(oc.rotation_secrets),
            "rotation_store": _wrap(oc.rotation_store),
            "url_user": _wrap(oc.url_user),
            "rotation_describe": _wrap(oc.describe_user),
            "rotation_random": _wrap(oc.random_secrets),
            "rotation_env_values": _wrap(oc.rotation_env_values),
            "rotation_accounts": _wrap(oc.rotation_accounts),
            "rotation_line": _wrap(oc.rotation_line),
        }
