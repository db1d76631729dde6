#!/usr/bin/python
# Copyright: opsbook contributors
# Apache License 2.0 (see LICENSE in the repository root)
"""Whether a host has what opsbook's runbooks run on it: libraries, commands, space, reach."""

from __future__ import annotations

DOCUMENTATION = r"""
module: host_requirements_info
short_description: Check a host for the Python libraries, commands, free space and services opsbook's runbooks need
description:
  - Runs on the managed host, with the interpreter the runbooks' modules use there, and reports
    for each requirement whether it is met and, when not, what to fix.
  - Python libraries are imported as the modules import them and their versions compared with a
    minimum. Commands are found on C(PATH) (or at a given path), run with their version option
    and compared with a minimum. Paths get the free space of their filesystem. Endpoints are
    TCP connections from this host, so they show whether it reaches the services it checks.
  - Used by the host_requirements role after it installed the packages, and by C(opsbook doctor).
version_added: "0.2.0"
author: opsbook contributors (@opsbook)
extends_documentation_fragment:
  - opsbook.runbooks.attributes
  - opsbook.runbooks.attributes.info_module
options:
  python:
    description: Python libraries by import name, each with the oldest version that works (V(0) for any).
    type: dict
    default: {}
  commands:
    description: Commands to find and run.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: The command's name, also its name in the result.
        type: str
        required: true
      path:
        description: Its path, when it is not looked up on C(PATH).
        type: path
      version_args:
        description: Arguments that make it print its version.
        type: list
        elements: str
        default: [--version]
      minimum:
        description: The oldest version that works.
        type: str
  paths:
    description: Directories whose filesystem must have free space (they need not exist yet).
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description: The directory.
        type: path
        required: true
      min_free_mb:
        description: Free megabytes wanted.
        type: float
        default: 0
  endpoints:
    description: Services this host must reach, each as C(name), C(host) and C(port).
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: The service's name in the result.
        type: str
        required: true
      host:
        description: Its address.
        type: str
        required: true
      port:
        description: Its TCP port.
        type: int
        required: true
  timeout:
    description: Seconds each endpoint connection may take.
    type: float
    default: 5
"""

EXAMPLES = r"""
- name: Check what the backup runbooks need on the database host
  opsbook.runbooks.host_requirements_info:
    python: {pymongo: "3.11", boto3: "1.20"}
    commands:
      - {name: mongodump, path: /usr/local/bin/mongodump, version_args: [--version]}
    paths:
      - {path: /var/backups/opsbook, min_free_mb: 1024}
    endpoints:
      - {name: mongodb, host: 127.0.0.1, port: 27017}
  register: requirements
"""

RETURN = r"""
interpreter:
  description: The Python interpreter the module ran with, and its version.
  returned: always
  type: dict
  sample: {path: /usr/bin/python3, version: 3.11.2}
python:
  description: Each library's result.
  returned: always
  type: dict
  sample: {pymongo: {found: true, version: 3.11.0, minimum: "3.11", ok: true, error: null}}
commands:
  description: Each command's result.
  returned: always
  type: dict
  sample:
    mongodump: {found: true, path: /usr/local/bin/mongodump, version: 100.10.0, minimum: null, ok: true, error: null}
paths:
  description: Each path's result.
  returned: always
  type: dict
  sample: {/var/backups/opsbook: {exists: true, free_mb: 51200.0, min_free_mb: 1024, ok: true, error: null}}
endpoints:
  description: Each endpoint's result.
  returned: always
  type: dict
  sample: {mongodb: {ok: true, error: null}}
user:
  description: The user the module ran as (root when the runbooks' privilege escalation works).
  returned: always
  type: dict
  sample: {uid: 0, name: root}
problems:
  description: One line per requirement that is not met, saying what to fix; empty when all are.
  returned: always
  type: list
  elements: str
  sample:
    - "Python library pymongo is missing (ModuleNotFoundError: No module named 'pymongo'): install its Debian package"
"""

import os
import platform
import pwd
import sys

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.opsbook.runbooks.plugins.module_utils.host_requirements import (
    check_command,
    check_endpoint,
    check_path,
    check_python,
    problems,
)


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "python": {"type": "dict", "default": {}},
            "commands": {
                "type": "list",
                "elements": "dict",
                "default": [],
                "options": {
                    "name": {"type": "str", "required": True},
                    "path": {"type": "path"},
                    "version_args": {"type": "list", "elements": "str", "default": ["--version"]},
                    "minimum": {"type": "str"},
                },
            },
            "paths": {
                "type": "list",
                "elements": "dict",
                "default": [],
                "options": {"path": {"type": "path", "required": True}, "min_free_mb": {"type": "float", "default": 0}},
            },
            "endpoints": {
                "type": "list",
                "elements": "dict",
                "default": [],
                "options": {
                    "name": {"type": "str", "required": True},
                    "host": {"type": "str", "required": True},
                    "port": {"type": "int", "required": True},
                },
            },
            "timeout": {"type": "float", "default": 5},
        },
        supports_check_mode=True,
    )
    p = module.params
    results = {
        "python": {name: check_python(name, str(minimum)) for name, minimum in p["python"].items()},
        "commands": {
            c["name"]: check_command(c["name"], c["path"], c["version_args"], c["minimum"]) for c in p["commands"]
        },
        "paths": {d["path"]: check_path(d["path"], d["min_free_mb"]) for d in p["paths"]},
        "endpoints": {e["name"]: check_endpoint(e["host"], e["port"], p["timeout"]) for e in p["endpoints"]},
    }
    module.exit_json(
        changed=False,
        interpreter={"path": sys.executable, "version": platform.python_version()},
        user={"uid": os.geteuid(), "name": pwd.getpwuid(os.geteuid()).pw_name},
        problems=problems(results),
        **results,
    )


if __name__ == "__main__":
    main()
