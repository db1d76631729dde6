#!/usr/bin/python
# Copyright: opsbook contributors
# Apache License 2.0 (see LICENSE in the repository root)
"""Switch a Redis ACL user off (or on again) and kill its connections."""

from __future__ import annotations

DOCUMENTATION = r"""
module: redis_acl_user
short_description: Switch a Redis ACL user off or on and kill its connections
description:
  - O(state=disabled) runs C(ACL SETUSER name off), so new logins as the user fail, and
    C(CLIENT KILL USER name), so its open connections close. The user's passwords, keys and
    command rules are kept; O(state=enabled) switches it on again.
  - With O(persist=true) and a server that keeps its users in an ACL file, C(ACL SAVE) writes the
    change there so a restart does not undo it.
  - Refuses to disable the user it logs in as. O(login_user) needs the C(@admin) and C(@connection) commands.
version_added: "0.1.0"
author: opsbook contributors (@opsbook)
extends_documentation_fragment:
  - opsbook.runbooks.redis
  - opsbook.runbooks.attributes
options:
  name:
    description: The ACL user.
    type: str
    required: true
  state:
    description: C(disabled) (off, connections killed) or C(enabled) (on).
    type: str
    choices: [disabled, enabled]
    default: disabled
  kill_sessions:
    description: With O(state=disabled), also close the user's open connections.
    type: bool
    default: true
  persist:
    description: Run C(ACL SAVE) after a change when the server has an ACL file.
    type: bool
    default: true
attributes:
  check_mode:
    support: full
    details: Reports what would change, counting the connections that would be closed.
  diff_mode:
    support: none
"""

EXAMPLES = r"""
- name: Disable a compromised Redis user and close its connections
  opsbook.runbooks.redis_acl_user:
    name: reporting
    login_user: opsbook_admin
    login_password: "{{ vault_redis_admin_password }}"

- name: Switch it on again after its password was rotated
  opsbook.runbooks.redis_acl_user:
    name: reporting
    state: enabled
    login_user: opsbook_admin
    login_password: "{{ vault_redis_admin_password }}"
"""

RETURN = r"""
enabled:
  description: Whether the user is switched on after the task.
  returned: success
  type: bool
  sample: false
sessions_killed:
  description: How many connections of the user were (or in check mode would be) closed.
  returned: success
  type: int
  sample: 2
persisted:
  description: Whether ACL SAVE wrote the change to the server's ACL file.
  returned: success
  type: bool
  sample: true
"""

import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.opsbook.runbooks.plugins.module_utils.redis import (
    REDIS_IMPORT_ERROR,
    RedisError,
    redis_argument_spec,
    redis_client,
)
from ansible_collections.opsbook.runbooks.plugins.module_utils.users import RedisUsers, UserNotFoundError, redis_switch


def main() -> None:
    module = AnsibleModule(
        argument_spec=redis_argument_spec(
            name={"type": "str", "required": True},
            state={"type": "str", "default": "disabled", "choices": ["disabled", "enabled"]},
            kill_sessions={"type": "bool", "default": True},
            persist={"type": "bool", "default": True},
        ),
        supports_check_mode=True,
    )
    if REDIS_IMPORT_ERROR:
        module.fail_json(msg=missing_required_lib("redis"), exception=REDIS_IMPORT_ERROR)
    p = module.params
    if p["state"] == "disabled" and p["name"] == p["login_user"]:
        module.fail_json(msg=f"{p['name']} is the user this task logs in as; disabling it would lock opsbook out")
    users = None
    try:
        users = RedisUsers(redis_client(p))
        result = redis_switch(
            users,
            p["name"],
            enabled=p["state"] == "enabled",
            kill_sessions=p["kill_sessions"],
            persist=p["persist"],
            check=module.check_mode,
        )
    except UserNotFoundError as err:
        module.fail_json(msg=str(err))
    except RedisError as err:
        module.fail_json(
            msg=f"Redis ACL change of {p['name']} on {p['login_host']}:{p['login_port']} failed: {err}",
            exception=traceback.format_exc(),
        )
    finally:
        if users is not None:
            users.close()
    module.exit_json(**result)


if __name__ == "__main__":
    main()
