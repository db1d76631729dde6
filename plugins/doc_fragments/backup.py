# Copyright: opsbook contributors
# Apache License 2.0 (see LICENSE in the repository root)
"""Options shared by opsbook's backup modules, mirrored by the argument-spec builders of
plugins/module_utils/backup.py: DOCUMENTATION (writer_argument_spec) for the writers
mongodb_backup, postgres_backup, files_backup; CATALOG (catalog_argument_spec) for backup_info,
backup_retention, backup_offsite; RESTORE (restore_argument_spec) for backup_verify, backup_restore."""

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

    # extends_documentation_fragment: opsbook.runbooks.backup.catalog
    CATALOG = r"""
options:
  root:
    description: The backup root (C(opsbook_backup_dir) in the inventory; layout in docs/backup.md).
    type: path
    required: true
  targets:
    description: Only these targets (such as V(mongodb), V(postgres), V(files)). Empty means all.
    type: list
    elements: str
    default: []
"""

    # extends_documentation_fragment: opsbook.runbooks.backup.restore (with opsbook.runbooks.mongodb)
    RESTORE = r"""
options:
  root:
    description: The backup root.
    type: path
    required: true
  age_identity_file:
    description: The age identity (private key) file, for encrypted backups.
    type: path
  parallel_collections:
    description: mongorestore C(--numParallelCollections).
    type: int
    default: 4
  insertion_workers:
    description: mongorestore C(--numInsertionWorkersPerCollection); pg_restore C(--jobs).
    type: int
    default: 4
  mongorestore_path:
    description: The mongorestore binary.
    type: path
    default: mongorestore
  pg_restore_path:
    description: The pg_restore binary.
    type: path
    default: pg_restore
notes:
  - The login options reach the MongoDB server for C(mongodb) backups and the PostgreSQL server
    (O(login_port) its port, O(login_user) a role that may create databases) for C(postgres) backups.
"""
