#!/usr/bin/python
# Copyright: opsbook contributors
# Apache License 2.0 (see LICENSE in the repository root)
"""Set, prove, retire and end the sessions of a MongoDB, PostgreSQL or Redis login, for credential rotation."""

from __future__ import annotations

DOCUMENTATION = r"""
module: credential_user
short_description: Set, prove and retire the password of a MongoDB, PostgreSQL or Redis user
description:
  - The steps of a credential rotation on one database user, the same way on MongoDB (and
    FerretDB), PostgreSQL and Redis.
  - O(state=query) reports whether the user exists. O(state=present) makes O(password) one of the
    user's passwords (the only one, except with O(keep_other_passwords) on Redis), creating the
    user with the rights of O(like) when it is missing and O(like) is given. O(state=verified) logs
    in as the user with O(password) and fails when that does not work. O(state=retired) replaces
    every password of the user with an unknown one (on Redis it removes them all), so nobody can log in
    as it any more. O(state=password_removed) removes O(password) from a Redis user's passwords.
    O(state=sessions_killed) ends the user's sessions (PostgreSQL C(pg_terminate_backend), Redis
    C(CLIENT KILL), MongoDB C(killAllSessionsByPattern), which FerretDB lacks, as the result says).
  - Passwords never reach the server in clear where it can take a hash instead. PostgreSQL gets a
    SCRAM-SHA-256 verifier, Redis a SHA-256 hash (C(#hash), C(!hash)). MongoDB's C(updateUser) takes
    the password itself, over the authenticated connection.
  - O(state=present) is idempotent; it first logs in with O(password) and changes nothing when
    that works.
version_added: "0.1.0"
author: opsbook contributors (@opsbook)
extends_documentation_fragment:
  - opsbook.runbooks.attributes
options:
  kind:
    description: The server.
    type: str
    choices: [mongodb, postgres, redis]
    required: true
  name:
    description: The user.
    type: str
    required: true
  state:
    description: What to do (see the description).
    type: str
    choices: [query, present, verified, retired, password_removed, sessions_killed]
    default: query
  password:
    description: The password to set, prove or remove. Never logged.
    type: str
  keep_other_passwords:
    description:
      - Redis only, with O(state=present), add O(password) to the user's passwords instead of
        replacing them (the overlap of a rotation).
    type: bool
    default: false
  like:
    description:
      - With O(state=present), create a missing user with the rights of this existing one
        (on MongoDB its roles, on PostgreSQL membership in it, on Redis its command, key and channel rules).
      - Empty means a missing user is an error.
    type: str
    default: ""
  database:
    description:
      - MongoDB - the user's authentication database. PostgreSQL - the database O(state=verified) connects to.
    type: str
    default: ""
  sessions_older_than:
    description:
      - With O(state=sessions_killed), end only sessions open for at least this many seconds (those opened
        before a switch); unset ends them all. Not supported by MongoDB's command.
    type: int
  login_host:
    description: Server host.
    type: str
    default: 127.0.0.1
  login_port:
    description: Server port (default - the server's usual port).
    type: int
  login_user:
    description: Administrative user that manages the users.
    type: str
    required: true
  login_password:
    description: Its password. Never logged.
    type: str
    required: true
  login_database:
    description: MongoDB - the administrative user's authentication database. PostgreSQL - the database to connect to.
    type: str
  connect_timeout:
    description: Seconds to wait for the server.
    type: int
    default: 5
requirements:
  - pymongo >= 4.0 (MongoDB), psycopg2 (PostgreSQL), redis >= 4.0 (Redis)
attributes:
  check_mode:
    support: full
    details: Reads and logs in as usual; reports what would change without changing it.
  diff_mode:
    support: none
"""

EXAMPLES = r"""
- name: Set a new password on the user the application does not use
  opsbook.runbooks.credential_user:
    kind: mongodb
    name: app_b
    database: shop
    like: app_a
    state: present
    password: "{{ new_password }}"
    login_user: opsbook_admin
    login_password: "{{ vault_mongodb_admin_password }}"
  no_log: true

- name: Prove it by logging in with it
  opsbook.runbooks.credential_user:
    kind: mongodb
    name: app_b
    database: shop
    state: verified
    password: "{{ new_password }}"
    login_user: opsbook_admin
    login_password: "{{ vault_mongodb_admin_password }}"
  no_log: true

- name: Add a second password to a Redis user for the overlap
  opsbook.runbooks.credential_user:
    kind: redis
    name: app
    state: present
    keep_other_passwords: true
    password: "{{ new_password }}"
    login_port: 6379
    login_user: opsbook_admin
    login_password: "{{ vault_redis_admin_password }}"
  no_log: true

- name: End the PostgreSQL sessions opened before the switch
  opsbook.runbooks.credential_user:
    kind: postgres
    name: app_a
    state: sessions_killed
    sessions_older_than: 60
    login_user: postgres
    login_password: "{{ vault_postgres_admin_password }}"
"""

RETURN = r"""
exists:
  description: Whether the user exists (after the task).
  returned: always
  type: bool
  sample: true
created:
  description: Whether the user was (or in check mode would be) created.
  returned: state is present
  type: bool
  sample: false
sessions_killed:
  description: How many sessions were (or would be) ended; for MongoDB, whether the command ran.
  returned: state is sessions_killed
  type: raw
  sample: 2
sessions_note:
  description: What happened to the sessions, in words.
  returned: state is sessions_killed
  type: str
  sample: "the server has no killAllSessionsByPattern (FerretDB): connections already authenticated stay open"
"""

import traceback
from typing import Any

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.opsbook.runbooks.plugins.module_utils.credentials import RotationError
from ansible_collections.opsbook.runbooks.plugins.module_utils.users import (
    DEFAULT_PORT,
    KINDS,
    LIBRARIES,
    StepFailedError,
    UsersError,
    credential_refusal,
    credential_step,
    credential_users,
)

STATES = ["query", "present", "verified", "retired", "password_removed", "sessions_killed"]
ARGUMENT_SPEC: dict[str, dict[str, Any]] = {
    "kind": {"type": "str", "required": True, "choices": list(KINDS)},
    "name": {"type": "str", "required": True},
    "state": {"type": "str", "default": "query", "choices": STATES},
    "password": {"type": "str", "no_log": True},
    "keep_other_passwords": {"type": "bool", "default": False, "no_log": False},
    "like": {"type": "str", "default": ""},
    "database": {"type": "str", "default": ""},
    "sessions_older_than": {"type": "int"},
    "login_host": {"type": "str", "default": "127.0.0.1"},
    "login_port": {"type": "int"},
    "login_user": {"type": "str", "required": True},
    "login_password": {"type": "str", "required": True, "no_log": True},
    "login_database": {"type": "str"},
    "connect_timeout": {"type": "int", "default": 5},
}


def main() -> None:
    module = AnsibleModule(
        argument_spec=ARGUMENT_SPEC,
        required_if=[["state", state, ["password"]] for state in ("present", "verified", "password_removed")],
        supports_check_mode=True,
    )
    p = module.params
    library, import_error = LIBRARIES[p["kind"]]
    if import_error:
        module.fail_json(msg=missing_required_lib(library), exception=import_error)
    refusal = credential_refusal(p)
    if refusal:
        module.fail_json(msg=refusal)
    p["login_port"] = p["login_port"] or DEFAULT_PORT[p["kind"]]
    users = None
    try:
        users = credential_users(p)
        result = credential_step(users, p, module.check_mode)
    except StepFailedError as err:
        module.fail_json(msg=str(err), **err.result)
    except (UsersError, RotationError) as err:
        module.fail_json(msg=f"{p['kind']} user {p['name']}: {err}")
    except Exception as err:
        module.fail_json(
            msg=f"{p['kind']} on {p['login_host']}:{p['login_port']}, user {p['name']}, state {p['state']}: "
            f"{type(err).__name__}: {err}",
            exception=traceback.format_exc(),
        )
    finally:
        if users is not None:
            users.close()
    module.exit_json(**result)


if __name__ == "__main__":
    main()
