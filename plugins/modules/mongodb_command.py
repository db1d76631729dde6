#!/usr/bin/python
# Copyright: opsbook contributors
# Apache License 2.0 (see LICENSE in the repository root)
"""Run one read-only MongoDB command and return its reply."""

from __future__ import annotations

DOCUMENTATION = r"""
module: mongodb_command
short_description: Run a read-only MongoDB command and return its reply
description:
  - Runs one command from a fixed list of read-only commands (server, database, collection and
    replica set information, C(validate)) and returns the server's reply as JSON-safe data.
  - For a health verdict with thresholds and alerts, use M(opsbook.runbooks.mongodb_health).
  - Unlike community.mongodb.mongodb_info, it sends exactly the one command asked for, so it
    works against servers that lack others (FerretDB has no C(rolesInfo)).
version_added: "0.1.0"
author: opsbook contributors (@opsbook)
extends_documentation_fragment:
  - opsbook.runbooks.mongodb
  - opsbook.runbooks.attributes
  - opsbook.runbooks.attributes.info_module
options:
  command:
    description: The command to run.
    type: str
    required: true
    choices: [buildInfo, collStats, currentOp, dbStats, hello, hostInfo, listCollections,
              listDatabases, ping, replSetGetConfig, replSetGetStatus, serverStatus, usersInfo, validate]
  database:
    description: Database to run the command in.
    type: str
    default: admin
  target:
    description:
      - Value of the command's first field, such as the collection name for C(collStats) and
        C(validate) or the user name for C(usersInfo). Defaults to C(1).
    type: str
  arguments:
    description: Further fields of the command document.
    type: dict
    default: {}
"""

EXAMPLES = r"""
- name: Ask the server for its version
  opsbook.runbooks.mongodb_command:
    login_user: opsbook_admin
    login_password: "{{ vault_mongodb_admin_password }}"
    command: buildInfo
  register: build

- name: Validate a collection
  opsbook.runbooks.mongodb_command:
    login_user: opsbook_admin
    login_password: "{{ vault_mongodb_admin_password }}"
    database: shop
    command: validate
    target: orders
    arguments: {full: false}
"""

RETURN = r"""
result:
  description: The server's reply, converted to JSON-safe values (dates as ISO strings, ObjectIds as strings).
  returned: success
  type: dict
  sample: {"version": "7.0.42", "ok": 1.0}
command:
  description: The command document that was sent, without credentials.
  returned: always
  type: dict
  sample: {"validate": "orders", "full": false}
"""

import json
import traceback
from typing import Any

from ansible_collections.opsbook.runbooks.plugins.module_utils.mongodb import (
    PyMongoError,
    mongodb_client,
    mongodb_module,
)

READ_ONLY_COMMANDS = [
    "buildInfo", "collStats", "currentOp", "dbStats", "hello", "hostInfo", "listCollections",
    "listDatabases", "ping", "replSetGetConfig", "replSetGetStatus", "serverStatus", "usersInfo", "validate",
]  # fmt: skip


def command_document(command: str, target: str | None, arguments: dict[str, Any]) -> dict[str, Any]:
    """The command document: the command's own field first, as MongoDB requires."""
    document: dict[str, Any] = {command: target if target is not None else 1}
    document.update({k: v for k, v in arguments.items() if k != command})
    return document


def json_safe(value: Any) -> Any:
    """Convert a BSON reply into values Ansible can serialise (relaxed Extended JSON)."""
    from bson import json_util

    return json.loads(json_util.dumps(value, json_options=json_util.RELAXED_JSON_OPTIONS))


def main() -> None:
    module = mongodb_module(
        command={"type": "str", "required": True, "choices": READ_ONLY_COMMANDS},
        database={"type": "str", "default": "admin"},
        target={"type": "str"},
        arguments={"type": "dict", "default": {}},
    )

    p = module.params
    document = command_document(p["command"], p["target"], p["arguments"])
    client = None
    try:
        client = mongodb_client(p)
        reply = client[p["database"]].command(document)
    except PyMongoError as err:
        module.fail_json(
            msg=f"MongoDB command {p['command']} on database {p['database']} failed: {err}",
            command=document,
            exception=traceback.format_exc(),
        )
    finally:
        if client is not None:
            client.close()
    module.exit_json(changed=False, command=document, result=json_safe(reply))


if __name__ == "__main__":
    main()
