#!/usr/bin/python
# Copyright: opsbook contributors
# Apache License 2.0 (see LICENSE in the repository root)
"""Back up sets of files (configuration, uploads, logs) into a sealed opsbook backup."""

from __future__ import annotations

DOCUMENTATION = r"""
module: files_backup
short_description: Back up sets of files (configuration, uploads, logs) into a sealed, checksummed backup
description:
  - Each set becomes C(<name>.tar.gz) (mode V(tar), as seed 001 archives configuration and logs) or a
    directory tree C(<name>/) copied with C(rsync -a) (mode V(rsync), as seed 001 copies uploads),
    hard-linking files unchanged since the previous complete backup of the same target
    (C(--link-dest)), so daily copies of large upload trees cost only what changed.
  - Every file of the backup is listed in the manifest with its size and SHA-256; a set's member
    count is in C(counts).
  - With O(age_recipients), tar sets are encrypted with age (configuration holds secrets, such as env files);
    rsync sets cannot be encrypted and are refused.
version_added: "0.1.0"
author: opsbook contributors (@opsbook)
extends_documentation_fragment:
  - opsbook.runbooks.backup
  - opsbook.runbooks.attributes
options:
  sets:
    description: The file sets.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: Name of the set (file or directory name in the backup).
        type: str
        required: true
      paths:
        description:
          - Absolute paths of files or directories; shell globs (V(/opt/app/.env*)) are expanded.
          - For V(rsync), exactly one directory.
        type: list
        elements: path
        required: true
      mode:
        description: V(tar) for a gzip-compressed archive, V(rsync) for a copied tree.
        type: str
        default: tar
        choices: [tar, rsync]
      exclude:
        description: Patterns passed to tar or rsync as C(--exclude).
        type: list
        elements: str
        default: []
      missing:
        description: What a path that matches nothing does, V(fail) or V(skip).
        type: str
        default: fail
        choices: [fail, skip]
attributes:
  check_mode:
    support: full
    details: In check mode nothing is copied; the module reports what it would write.
  diff_mode:
    support: none
"""

EXAMPLES = r"""
- name: Back up configuration, uploads and logs
  opsbook.runbooks.files_backup:
    root: /var/backups/opsbook
    target: files
    sets:
      - {name: config, paths: [/opt/app/.env, /opt/app/docker-compose.yml, /opt/app/k8s]}
      - {name: uploads, paths: [/opt/app/data/uploads], mode: rsync}
      - {name: logs, paths: [/opt/app/logs], missing: skip}
"""

RETURN = r"""
path:
  description: The sealed backup directory.
  returned: changed
  type: str
  sample: /var/backups/opsbook/files/daily/20250111T020000Z
id:
  description: The backup's id.
  returned: changed
  type: str
  sample: 20250111T020000Z
manifest:
  description: The manifest written; C(counts) has the number of files per set, C(sets) each set's sources.
  returned: changed
  type: dict
  sample: {kind: files, counts: {config: 3, uploads: 1200}}
skipped_for:
  description: With O(skip_if_newer_than_minutes), the recent backup that made this run write nothing.
  returned: when nothing was written because a recent backup exists
  type: str
  sample: /var/backups/opsbook/files/daily/20250111T020000Z
"""

import glob
import os
from pathlib import Path

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.opsbook.runbooks.plugins.module_utils.backup import (
    BackupError,
    BackupWriter,
    encryption_details,
    list_backups,
    run_and_exit,
    skip_if_recent,
    tool_version,
    writer_argument_spec,
)
from ansible_collections.opsbook.runbooks.plugins.module_utils.backup_tools import run_to_file, run_tool, tail


def resolve_paths(spec: dict) -> list[str]:
    """The set's existing paths after glob expansion; BackupError for a missing one unless skipped."""
    found: list[str] = []
    for pattern in spec["paths"]:
        if not os.path.isabs(pattern):
            raise BackupError(f"set {spec['name']}: path {pattern} is not absolute")
        matches = sorted(glob.glob(pattern, include_hidden=True))
        if not matches and spec["missing"] == "fail":
            raise BackupError(f"set {spec['name']}: {pattern} does not exist (set missing: skip to allow that)")
        found += matches
    return found


def count_files(paths: list[str]) -> int:
    total = 0
    for path in paths:
        if os.path.isdir(path):
            total += sum(len(files) for _d, _s, files in os.walk(path))
        else:
            total += 1
    return total


def previous_tree(root: str, target: str, name: str) -> str | None:
    for record in list_backups(root, [target])["backups"]:
        candidate = Path(record["path"]) / name
        if candidate.is_dir():
            return str(candidate)
    return None


def backup(p: dict, check_mode: bool) -> dict:
    names = [s["name"] for s in p["sets"]]
    if len(set(names)) != len(names):
        raise BackupError(f"set names must be unique, got {names}")
    for spec in p["sets"]:
        if spec["mode"] == "rsync" and p["age_recipients"]:
            raise BackupError(f"set {spec['name']}: rsync sets cannot be encrypted; use mode tar")
    resolved = {s["name"]: resolve_paths(s) for s in p["sets"]}
    for spec in p["sets"]:
        if spec["mode"] == "rsync" and (
            len(resolved[spec["name"]]) != 1 or not os.path.isdir(resolved[spec["name"]][0])
        ):
            raise BackupError(f"set {spec['name']}: rsync sets take exactly one directory")
    skipped = skip_if_recent(p)
    if skipped:
        return skipped
    if check_mode:
        return {
            "changed": True,
            "msg": f"would back up {', '.join(f'{k} ({len(v)} paths)' for k, v in resolved.items())}",
        }
    counts, sets, warnings = {}, {}, []
    with BackupWriter(p["root"], p["target"], p["tier"], "files") as writer:
        for spec in p["sets"]:
            paths = resolved[spec["name"]]
            excludes = [f"--exclude={e}" for e in spec["exclude"]]
            if spec["mode"] == "tar":
                name = f"{spec['name']}.tar.gz" + (".age" if p["age_recipients"] else "")
                relative = [path.lstrip("/") for path in paths]
                argv = ["tar", "--create", "--gzip", "--file=-", "--directory=/", *excludes, "--", *relative]
                if not relative:
                    argv = ["tar", "--create", "--gzip", "--file=-", "--files-from=/dev/null"]
                try:
                    run_to_file(argv, writer.path(name), age_recipients=p["age_recipients"])
                except BackupError as err:
                    # GNU tar exits 1 when a file changed while it was read (live logs): a warning.
                    if "(exit 1)" not in str(err) or "tar failed" not in str(err):
                        raise
                    warnings.append(f"set {spec['name']}: {err}")
            else:
                name = spec["name"]
                dest = writer.path(name)
                argv = ["rsync", "-a", "--delete", *excludes]
                link = previous_tree(p["root"], p["target"], name)
                if link:
                    argv.append(f"--link-dest={link}")
                rc, out = run_tool([*argv, paths[0].rstrip("/") + "/", str(dest) + "/"])
                if rc != 0:
                    raise BackupError(f"rsync of set {spec['name']} failed (exit {rc}): {tail(out)}")
                os.chmod(dest, 0o700)
            counts[spec["name"]] = count_files(paths)
            sets[spec["name"]] = {"mode": spec["mode"], "file": name, "paths": paths}
        result = writer.sealed(
            {
                "tool": {"name": "tar/rsync", "version": tool_version("tar")},
                "sets": sets,
                "counts": counts,
                "warnings": warnings,
                "encryption": encryption_details(p["age_recipients"]),
            }
        )
    return {**result, "warnings": warnings}


def main() -> None:
    module = AnsibleModule(
        argument_spec=writer_argument_spec(
            sets={
                "type": "list",
                "elements": "dict",
                "required": True,
                "options": {
                    "name": {"type": "str", "required": True},
                    "paths": {"type": "list", "elements": "path", "required": True},
                    "mode": {"type": "str", "default": "tar", "choices": ["tar", "rsync"]},
                    "exclude": {"type": "list", "elements": "str", "default": []},
                    "missing": {"type": "str", "default": "fail", "choices": ["fail", "skip"]},
                },
            },
        ),
        supports_check_mode=True,
    )
    p = module.params
    run_and_exit(module, backup, f"File backup to {p['root']}/{p['target']} failed, nothing was kept")


if __name__ == "__main__":
    main()
