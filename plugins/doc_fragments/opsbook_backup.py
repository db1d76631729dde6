# Copyright: opsbook contributors
# Apache License 2.0 (see LICENSE in the repository root)
"""Options shared by opsbook's backup writers (mongodb_backup, postgres_backup, files_backup)."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  root:
    description: The backup root; the backup goes to C(<root>/<target>/<tier>/<id>/) (see docs/backup.md).
    type: path
    required: true
  target:
    description: Name of what is backed up, the first level under O(root) and the C(target) label of the metrics.
    type: str
    required: true
  tier:
    description: Retention tier of this backup.
    type: str
    default: daily
    choices: [daily, weekly, monthly, manual]
  age_recipients:
    description:
      - Encrypt every data file at rest with C(age) to these recipients (public keys, V(age1...)).
        Empty means no encryption. Restores then need the matching identity file.
    type: list
    elements: str
    default: []
  skip_if_newer_than_minutes:
    description:
      - Write nothing when a complete backup of the same target and tier finished less than this many
        minutes ago (reruns report no change). V(0) always writes a new backup.
    type: int
    default: 0
"""
