#!/usr/bin/python
# Copyright: opsbook contributors
# Apache License 2.0 (see LICENSE in the repository root)
"""Write several small files into one directory in one module call, each atomically."""

from __future__ import annotations

DOCUMENTATION = r"""
module: files_write
short_description: Write several files into one directory in one call, each atomically
description:
  - Creates the directory when needed and writes each file through a temporary file in the same
    directory that is renamed into place, so a reader never sees half a file.
  - One module call for all files, so a report of JSON, Markdown and HTML costs one task instead of
    one M(ansible.builtin.copy) per file (each of which runs several modules).
  - A file whose content and mode are already as asked is left alone (not changed).
version_added: "0.1.0"
author: opsbook contributors (@opsbook)
extends_documentation_fragment:
  - opsbook.runbooks.attributes
options:
  path:
    description: The directory.
    type: path
    required: true
  mode:
    description: Mode of the directory when it is created, as a quoted octal string.
    type: str
    default: "0750"
  files:
    description: The files to write.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: File name inside O(path) (no directory part).
        type: str
        required: true
      content:
        description: The text to write.
        type: str
        required: true
      mode:
        description: Mode of the file, as a quoted octal string.
        type: str
        default: "0640"
attributes:
  check_mode:
    support: full
    details: In check mode nothing is written; C(changed) says whether something would be.
  diff_mode:
    support: none
"""

EXAMPLES = r"""
- name: Write a report in three formats
  opsbook.runbooks.files_write:
    path: /var/lib/opsbook/reports/20250111T090000Z-health_check
    files:
      - {name: report.json, content: "{{ report | to_nice_json }}"}
      - {name: report.md, content: "{{ lookup('ansible.builtin.template', 'report.md.j2') }}"}
"""

RETURN = r"""
written:
  description: Names of the files that were (or in check mode would be) written.
  returned: always
  type: list
  elements: str
  sample: [report.json, report.md]
path:
  description: The directory.
  returned: always
  type: str
  sample: /var/lib/opsbook/reports/20250111T090000Z-health_check
"""

import os
import traceback

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_bytes
from ansible_collections.opsbook.runbooks.plugins.module_utils.files import write_atomic


def up_to_date(path: str, data: bytes, mode: int) -> bool:
    try:
        with open(path, "rb") as handle:
            same = handle.read() == data
        return same and (os.stat(path).st_mode & 0o7777) == mode
    except FileNotFoundError:
        return False


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "path": {"type": "path", "required": True},
            "mode": {"type": "str", "default": "0750"},
            "files": {
                "type": "list",
                "elements": "dict",
                "required": True,
                "options": {
                    "name": {"type": "str", "required": True},
                    "content": {"type": "str", "required": True},
                    "mode": {"type": "str", "default": "0640"},
                },
            },
        },
        supports_check_mode=True,
    )
    p = module.params
    try:
        dir_mode = int(p["mode"], 8)
        modes = {f["name"]: int(f["mode"], 8) for f in p["files"]}
    except ValueError:
        module.fail_json(msg='modes must be octal strings such as "0640"')
    bad = [f["name"] for f in p["files"] if not f["name"] or os.sep in f["name"] or f["name"] in (".", "..")]
    if bad:
        module.fail_json(msg=f"file names must not contain a directory part: {bad}")

    changes = [
        f["name"]
        for f in p["files"]
        if not up_to_date(os.path.join(p["path"], f["name"]), to_bytes(f["content"]), modes[f["name"]])
    ]
    if changes and not module.check_mode:
        try:
            os.makedirs(p["path"], mode=dir_mode, exist_ok=True)
            for f in p["files"]:
                if f["name"] in changes:
                    write_atomic(os.path.join(p["path"], f["name"]), to_bytes(f["content"]), modes[f["name"]])
        except OSError as err:
            module.fail_json(msg=f"cannot write into {p['path']}: {err}", exception=traceback.format_exc())
    module.exit_json(changed=bool(changes), written=changes, path=p["path"])


if __name__ == "__main__":
    main()
