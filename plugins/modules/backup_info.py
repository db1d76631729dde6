#!/usr/bin/python
# Copyright: opsbook contributors
# Apache License 2.0 (see LICENSE in the repository root)
"""List the complete backups under a backup root, with their manifests."""

from __future__ import annotations

DOCUMENTATION = r"""
module: backup_info
short_description: List the complete backups under an opsbook backup root, with their manifests
description:
  - Reads the backup catalog that opsbook's backup roles write (layout in docs/backup.md) and
    returns every complete backup, newest first, with its manifest, plus a summary per target
    (newest backup, newest verified backup) and the directories that are not backups.
  - A backup is complete only when its completion marker and a readable manifest are present.
    Partial directories (a run in progress or a failed one) and directories without a marker are
    listed under RV(incomplete) and never under RV(backups).
  - Verification, retention, restore, offsite copies, the daily health check and the evening
    summary all decide what exists through this one function.
version_added: "0.1.0"
author: opsbook contributors (@opsbook)
extends_documentation_fragment:
  - opsbook.runbooks.backup.catalog
  - opsbook.runbooks.attributes
  - opsbook.runbooks.attributes.info_module
options:
  tiers:
    description: Only these tiers (V(daily), V(weekly), V(monthly), V(oplog), V(manual)). Empty means all.
    type: list
    elements: str
    default: []
  checksums:
    description:
      - Check every file of every complete backup against its manifest's size and SHA-256.
        Backups with a problem are returned under RV(corrupt) instead of RV(backups).
      - Reads all the data; leave it off for a quick listing.
    type: bool
    default: false
  max_age_hours:
    description:
      - When set, RV(stale_targets) lists the targets whose newest complete backup is older than
        this, or that have none among O(targets).
    type: float
"""

EXAMPLES = r"""
- name: List the backups of the sandbox
  opsbook.runbooks.backup_info:
    root: "{{ opsbook_backup_dir }}"
  register: __backups

- name: Report backup freshness for the daily health check
  opsbook.runbooks.backup_info:
    root: "{{ opsbook_backup_dir }}"
    targets: [mongodb, postgres, files]
    max_age_hours: 26
  register: __fresh
  failed_when: __fresh.stale_targets | length > 0

- name: Check every file of the newest MongoDB backups
  opsbook.runbooks.backup_info:
    root: /var/backups/opsbook
    targets: [mongodb]
    checksums: true
"""

RETURN = r"""
backups:
  description: Complete backups, newest first. C(manifest) is the whole manifest.json.
  returned: always
  type: list
  elements: dict
  sample:
    - target: mongodb
      tier: daily
      id: 20250111T020000Z
      path: /var/backups/opsbook/mongodb/daily/20250111T020000Z
      kind: mongodb
      started_at: "2025-01-11T02:00:00Z"
      completed_at: "2025-01-11T02:03:10Z"
      completed_epoch: 1736560990.2
      size_bytes: 104857600
      encrypted: false
      verified: true
      verification: {result: ok, verified_at: "2025-01-11T03:00:00Z", verified_epoch: 1736564400.0,
                     restore_seconds: 41.2}
      manifest: {format: 1, kind: mongodb, files: [{name: dump.archive.gz, size: 104857600, sha256: "9f86d0..."}]}
targets:
  description: Per target, the number of complete backups and the newest and newest verified ones.
  returned: always
  type: dict
  sample:
    mongodb: {count: 7, latest: 20250111T020000Z, latest_completed_epoch: 1736560990.2,
              latest_verified: 20250110T020000Z, latest_verified_epoch: 1736478000.0}
incomplete:
  description: Directories that are not backups, with the reason; C(active) is true while a writer holds the lock.
  returned: always
  type: list
  elements: dict
  sample:
    - target: mongodb
      tier: daily
      id: 20250112T020000Z
      path: /var/backups/opsbook/mongodb/daily/20250112T020000Z.partial
      reason: "partial: the run that wrote it did not finish"
      active: false
corrupt:
  description: With O(checksums), complete backups whose files do not match their manifest, with C(problems).
  returned: always
  type: list
  elements: dict
  sample:
    - target: files
      id: 20250111T020000Z
      problems: ["config.tar.gz: SHA-256 does not match the manifest (corrupted)"]
prometheus:
  description: The node_exporter textfile metrics of the catalog (last success and verification per target).
  returned: always
  type: str
  sample: "opsbook_backup_last_success_timestamp_seconds{target=\"mongodb\"} 1736560990\n"
stale_targets:
  description: With O(max_age_hours), the targets without a complete backup that recent.
  returned: always
  type: list
  elements: str
  sample: [postgres]
"""

import time
import traceback

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.opsbook.runbooks.plugins.module_utils.backup import (
    BackupError,
    catalog_argument_spec,
    list_backups,
    prometheus_text,
)


def stale_targets(summary: dict, targets: list[str], max_age_hours: float, now: float) -> list[str]:
    """Targets (the listed ones, or every target found) whose newest backup is too old."""
    names = targets or sorted(summary)
    limit = now - max_age_hours * 3600
    return [t for t in names if t not in summary or (summary[t]["latest_completed_epoch"] or 0) < limit]


def main() -> None:
    module = AnsibleModule(
        argument_spec=catalog_argument_spec(
            tiers={"type": "list", "elements": "str", "default": []},
            checksums={"type": "bool", "default": False},
            max_age_hours={"type": "float"},
        ),
        supports_check_mode=True,
    )
    p = module.params
    try:
        catalog = list_backups(p["root"], p["targets"], p["tiers"], checksums=p["checksums"])
    except (OSError, BackupError) as err:
        module.fail_json(
            msg=f"Cannot read the backup catalog under {p['root']}: {err}", exception=traceback.format_exc()
        )
    stale = []
    if p["max_age_hours"] is not None:
        stale = stale_targets(catalog["targets"], p["targets"], p["max_age_hours"], time.time())
    module.exit_json(changed=False, stale_targets=stale, prometheus=prometheus_text(catalog), **catalog)


if __name__ == "__main__":
    main()
