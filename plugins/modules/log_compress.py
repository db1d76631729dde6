#!/usr/bin/python
# Copyright: opsbook contributors
# Apache License 2.0 (see LICENSE in the repository root)
"""Compress log files older than a number of days with gzip."""

from __future__ import annotations

DOCUMENTATION = r"""
module: log_compress
short_description: Compress log files older than a number of days with gzip
description:
  - Seed 001's weekly C(find logs/ -name "*.log" -mtime +7 -exec gzip {} \;) as an idempotent
    module; every file under O(paths) whose name ends in O(suffix) and that was last modified
    more than O(age_days) days ago becomes C(<file>.gz) with the same mode and times, and the
    original is removed only once the compressed copy is written and synced.
  - Newer files are not touched, and compressed files no longer end in O(suffix), so a second run
    changes nothing.
  - An existing C(<file>.gz) is never overwritten; that file is reported in RV(skipped).
  - Age is counted in exact hours (older than O(age_days) times 24 hours), where find rounds down
    to whole days.
version_added: "0.1.0"
author: opsbook contributors (@opsbook)
extends_documentation_fragment:
  - opsbook.runbooks.attributes
options:
  paths:
    description: Directories searched recursively; symbolic links are not followed.
    type: list
    elements: path
    required: true
  age_days:
    description: Compress files last modified more than this many days ago.
    type: float
    default: 7
  suffix:
    description: Only files whose name ends with this.
    type: str
    default: .log
  missing_ok:
    description: A directory of O(paths) that does not exist is a note, not a failure.
    type: bool
    default: true
attributes:
  check_mode:
    support: full
    details: Lists what would be compressed and changes nothing.
  diff_mode:
    support: none
"""

EXAMPLES = r"""
- name: Compress application logs older than 7 days
  opsbook.runbooks.log_compress:
    paths: [/srv/app/logs]
    age_days: 7
"""

RETURN = r"""
compressed:
  description: The files compressed (in check mode, that would be), with their new names.
  returned: always
  type: list
  elements: dict
  sample: [{path: /srv/app/logs/app-2025-01-02.log, gz: /srv/app/logs/app-2025-01-02.log.gz, bytes: 1048576}]
skipped:
  description: Old files left alone, and why.
  returned: always
  type: list
  elements: dict
  sample: [{path: /srv/app/logs/a.log, reason: /srv/app/logs/a.log.gz already exists}]
kept:
  description: How many matching files are newer than O(age_days) and were not touched.
  returned: always
  type: int
  sample: 3
notes:
  description: Directories that do not exist.
  returned: always
  type: list
  elements: str
  sample: ["/srv/app/logs: no such directory"]
"""

import os
import time
import traceback

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.opsbook.runbooks.plugins.module_utils.maintenance import (
    MaintenanceError,
    gzip_file,
    logs_to_compress,
    walk_files,
)


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "paths": {"type": "list", "elements": "path", "required": True},
            "age_days": {"type": "float", "default": 7},
            "suffix": {"type": "str", "default": ".log"},
            "missing_ok": {"type": "bool", "default": True},
        },
        supports_check_mode=True,
    )
    p = module.params
    if p["age_days"] < 0:
        module.fail_json(msg="age_days must not be negative")
    if not p["suffix"] or p["suffix"].endswith(".gz"):
        module.fail_json(msg="suffix must name uncompressed files, such as .log")
    files, notes = walk_files(p["paths"], p["suffix"])
    if notes and not p["missing_ok"]:
        module.fail_json(msg="; ".join(notes))
    old = logs_to_compress(files, time.time(), p["age_days"], p["suffix"])
    compressed, skipped = [], []
    for path in old:
        if os.path.exists(f"{path}.gz"):
            skipped.append({"path": path, "reason": f"{path}.gz already exists"})
            continue
        size = os.path.getsize(path)
        if not module.check_mode:
            try:
                gzip_file(path)
            except (OSError, MaintenanceError) as err:
                module.fail_json(
                    msg=f"could not compress {path}: {err}",
                    exception=traceback.format_exc(),
                    changed=bool(compressed),
                    compressed=compressed,
                    skipped=skipped,
                )
        compressed.append({"path": path, "gz": f"{path}.gz", "bytes": size})
    module.exit_json(
        changed=bool(compressed), compressed=compressed, skipped=skipped, kept=len(files) - len(old), notes=notes
    )


if __name__ == "__main__":
    main()
