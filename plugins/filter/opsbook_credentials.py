# Copyright: opsbook contributors
# Apache License 2.0 (see LICENSE in the repository root)
"""Filters of the credential_rotation role; the logic lives in module_utils/opsbook_credentials.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import ansible.module_utils

PLUGINS = Path(__file__).resolve().parents[1]
# Controller plugins share the modules' plain functions by importing them from module_utils.
if str(PLUGINS / "module_utils") not in ansible.module_utils.__path__:
    ansible.module_utils.__path__.append(str(PLUGINS / "module_utils"))

from ansible.module_utils import opsbook_credentials as oc
from ansible.module_utils.opsbook_filters import filter_errors

_wrap = filter_errors(oc.RotationError)


class FilterModule:
    """opsbook_rotation_plan, opsbook_rotation_secrets, opsbook_rotation_store, opsbook_url_user,
    opsbook_rotation_describe."""

    def filters(self) -> dict[str, Any]:
        return {
            "opsbook_rotation_plan": _wrap(oc.rotation_plan),
            "opsbook_rotation_secrets": _wrap(oc.rotation_secrets),
            "opsbook_rotation_store": _wrap(oc.rotation_store),
            "opsbook_url_user": _wrap(oc.url_user),
            "opsbook_rotation_describe": _wrap(oc.describe_user),
        }
