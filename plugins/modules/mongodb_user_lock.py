#!/usr/bin/python
# Copyright: opsbook contributors
# Apache License 2.0 (see LICENSE in the repository root)
"""Disable a MongoDB user by replacing its password with an unknown random one, or re-enable it."""

from __future__ import annotations

DOCUMENTATION = r"""
module: mongodb_user_lock
short_description: Disable a MongoDB user by replacing its password with an unknown one, or re-enable it
description:
  - MongoDB has no switch that turns a user off. Revoking roles would do on MongoDB, but
    FerretDB has no roles (every authenticated user may do everything), so this module uses the
    one mechanism both honour. O(state=disabled) replaces the user's password with 48 random bytes
    that are never stored or shown, so no one can log in as the user; the user, its roles and
    its other settings are kept. It then asks the server to kill the user's sessions
    (C(killAllSessionsByPattern)); FerretDB lacks that command, which the result reports.
  - The user is recorded in O(registry) (a 0600 JSON file on the managed host), which makes a
    rerun a no-op and tells O(state=enabled) what to re-enable. Re-enabling sets O(password), a
    new password; a compromised account's old password is never restored.
  - Refuses to disable the user it logs in as.
version_added: "0.1.0"
author: opsbook contributors (@opsbook)
extends_documentation_fragment:
  - opsbook.runbooks.mongodb
  - opsbook.runbooks.attributes
options:
  name:
    description: The user to disable or re-enable.
    type: str
    required: true
  database:
    description: The user's authentication database.
    type: str
    default: admin
  state:
    description: C(disabled) or C(enabled).
    type: str
    choices: [disabled, enabled]
    default: disabled
  password:
    description: With O(state=enabled), the user's new password. Never logged.
    type: str
  registry:
    description: JSON file recording the users this module disabled, and when.
    type: path
    required: true
  reason:
    description: Why the user is disabled (an incident id), kept in the registry.
    type: str
    default: ""
  kill_sessions:
    description: With O(state=disabled), also kill the user's sessions where the server can.
    type: bool
    default: true
attributes:
  check_mode:
    support: full
    details: Reports what would change without changing the user or the registry.
  diff_mode:
    support: none
"""

EXAMPLES = r"""
- name: Disable a compromised MongoDB user
  opsbook.runbooks.mongodb_user_lock:
    name: reporting
    database: shop
    registry: /var/lib/opsbook/incidents/disabled-mongodb-users.json
    reason: INC-20250111-01
    login_user: opsbook_admin
    login_password: "{{ vault_mongodb_admin_password }}"

- name: Re-enable it with a new password
  opsbook.runbooks.mongodb_user_lock:
    name: reporting
    database: shop
    state: enabled
    password: "{{ vault_mongodb_reporting_password }}"
    registry: /var/lib/opsbook/incidents/disabled-mongodb-users.json
    login_user: opsbook_admin
    login_password: "{{ vault_mongodb_admin_password }}"
"""

RETURN = r"""
action:
  description: What was done, C(disabled), C(enabled) or C(none).
  returned: success
  type: str
  sample: disabled
sessions_killed:
  description: Whether the server killed the user's sessions.
  returned: when a user was disabled
  type: bool
  sample: false
sessions_note:
  description: What happened to the user's sessions, in words.
  returned: when a user was disabled
  type: str
  sample: "the server has no killAllSessionsByPattern (FerretDB): connections already authenticated stay open"
record:
  description: The user's entry in the registry.
  returned: when the user is disabled
  type: dict
  sample: {user: reporting, database: shop, disabled_at: "2025-01-11T02:00:00Z", reason: INC-20250111-01}
"""

import os
import tempfile
import traceback
from typing import Any

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.opsbook.runbooks.plugins.module_utils.accounts import (
    registry_dump,
    registry_load,
)
from ansible_collections.opsbook.runbooks.plugins.module_utils.mongodb import (
    PYMONGO_IMPORT_ERROR,
    PyMongoError,
    mongodb_argument_spec,
    mongodb_client,
)
from ansible_collections.opsbook.runbooks.plugins.module_utils.users import (
    MongoUsers,
    UserNotFoundError,
    mongodb_lock,
    mongodb_lock_noop,
    mongodb_lock_plan,
)


def read_registry(module: AnsibleModule, path: str) -> dict[str, Any]:
    """The registry in `path`, empty when the file does not exist yet."""
    try:
        with open(path) as handle:
            return registry_load(handle.read())
    except FileNotFoundError:
        return registry_load(None)
    except ValueError as err:
        module.fail_json(msg=f"The registry {path} is unreadable: {err}")


def write_registry(module: AnsibleModule, path: str, registry: dict[str, Any]) -> None:
    """Write the registry atomically with mode 0600."""
    directory = os.path.dirname(path) or "."
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".opsbook-registry-")
    with os.fdopen(fd, "w") as handle:
        handle.write(registry_dump(registry))
    os.chmod(tmp, 0o600)
    module.atomic_move(tmp, path)
    # atomic_move gives a new file the default mode; the registry stays private.
    os.chmod(path, 0o600)


def main() -> None:
    module = AnsibleModule(
        argument_spec=mongodb_argument_spec(
            name={"type": "str", "required": True},
            database={"type": "str", "default": "admin"},
            state={"type": "str", "default": "disabled", "choices": ["disabled", "enabled"]},
            password={"type": "str", "no_log": True},
            registry={"type": "path", "required": True},
            reason={"type": "str", "default": ""},
            kill_sessions={"type": "bool", "default": True},
        ),
        required_if=[["state", "enabled", ["password"]]],
        required_together=[["login_user", "login_password"]],
        supports_check_mode=True,
    )
    if PYMONGO_IMPORT_ERROR:
        module.fail_json(msg=missing_required_lib("pymongo"), exception=PYMONGO_IMPORT_ERROR)
    p = module.params
    registry = read_registry(module, p["registry"])
    try:
        plan = mongodb_lock_plan(registry, p)
    except ValueError as err:
        module.fail_json(msg=str(err))
    if plan == "noop":
        module.exit_json(**mongodb_lock_noop(registry, p))

    users = None
    try:
        users = MongoUsers(mongodb_client(p), p["database"])
        result = mongodb_lock(
            users,
            registry,
            plan,
            p,
            check=module.check_mode,
            save_registry=lambda data: write_registry(module, p["registry"], data),
        )
    except UserNotFoundError as err:
        module.fail_json(msg=str(err))
    except PyMongoError as err:
        module.fail_json(
            msg=f"Changing MongoDB user {p['name']} in {p['database']} failed: {err}",
            exception=traceback.format_exc(),
        )
    finally:
        if users is not None:
            users.close()
    module.exit_json(**result)


if __name__ == "__main__":
    main()
