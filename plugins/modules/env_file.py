#!/usr/bin/python
# Copyright: opsbook contributors
# Apache License 2.0 (see LICENSE in the repository root)
"""Read or set secret variables in a Compose env file, atomically, 0600, keeping the previous file."""

from __future__ import annotations

DOCUMENTATION = r"""
module: env_file
short_description: Read or set secret variables in a Compose env file, atomically, keeping the previous file
description:
  - O(state=read) returns the file's variables (register it under C(no_log)).
  - O(state=present) sets O(values) in the file. Other lines, comments and order are kept. The new
    file is written 0600 next to the old one and renamed over it, so the application never reads
    a half-written file; the replaced file is kept as C(<path>.previous) (0600) for a rollback.
  - Unlike M(ansible.builtin.copy) with C(content), the values never pass through a temporary file
    on the controller; with pipelining they reach the module on its standard input only.
version_added: "0.1.0"
author: opsbook contributors (@opsbook)
extends_documentation_fragment:
  - opsbook.runbooks.attributes
options:
  path:
    description: The env file.
    type: path
    required: true
  state:
    description: C(read) the file or set O(values) in it (C(present)).
    type: str
    choices: [read, present]
    default: read
  values:
    description: With O(state=present), the variables to set (scalars). Never logged.
    type: dict
  keep_previous:
    description: Keep the replaced file as C(<path>.previous).
    type: bool
    default: true
attributes:
  check_mode:
    support: full
    details: Reports whether the file would change; writes nothing.
  diff_mode:
    support: none
"""

EXAMPLES = r"""
- name: Read the application's env file
  opsbook.runbooks.env_file:
    path: /srv/app/app.env
  register: app_env
  no_log: true

- name: Point the application at the new user
  opsbook.runbooks.env_file:
    path: /srv/app/app.env
    state: present
    values:
      MONGO_URL: "{{ new_mongo_url }}"
  no_log: true
"""

RETURN = r"""
env:
  description: The file's variables; they hold secrets, so register under no_log.
  returned: state is read
  type: dict
  sample: {READ_ONLY_MODE: "false"}
changed_keys:
  description: The names of the variables whose value changed (never the values).
  returned: state is present
  type: list
  elements: str
  sample: [MONGO_URL]
previous:
  description: Where the replaced file was kept.
  returned: when the file was replaced and keep_previous is true
  type: str
  sample: /srv/app/app.env.previous
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.opsbook.runbooks.plugins.module_utils.files import write_atomic
from ansible_collections.opsbook.runbooks.plugins.module_utils.service_control import (
    ServiceControlError,
    env_file_parse,
    env_file_update,
)


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "path": {"type": "path", "required": True},
            "state": {"type": "str", "default": "read", "choices": ["read", "present"]},
            "values": {"type": "dict", "no_log": True},
            "keep_previous": {"type": "bool", "default": True},
        },
        required_if=[["state", "present", ["values"]]],
        supports_check_mode=True,
    )
    p = module.params
    try:
        with open(p["path"]) as handle:
            content = handle.read()
    except OSError as err:
        module.fail_json(msg=f"Cannot read the env file {p['path']}: {err.strerror}; check opsbook_compose_env_file")
    current = env_file_parse(content)
    if p["state"] == "read":
        module.exit_json(changed=False, env=current)
    try:
        updated = env_file_update(content, p["values"])
    except ServiceControlError as err:
        module.fail_json(msg=str(err))
    changed_keys = sorted(k for k, v in p["values"].items() if current.get(k) != env_file_parse(updated).get(k))
    result = {"changed": updated != content, "changed_keys": changed_keys}
    if result["changed"] and not module.check_mode:
        try:
            if p["keep_previous"]:
                write_atomic(p["path"] + ".previous", content)
                result["previous"] = p["path"] + ".previous"
            write_atomic(p["path"], updated)
        except OSError as err:
            module.fail_json(msg=f"Writing the env file {p['path']} failed: {err}", **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
