#!/usr/bin/python
# Copyright: opsbook contributors
# Apache License 2.0 (see LICENSE in the repository root)
"""Apply grandfather-father-son retention to the backups under an opsbook backup root."""

from __future__ import annotations

DOCUMENTATION = r"""
module: backup_retention
short_description: Delete the backups that grandfather-father-son retention no longer keeps
description:
  - Per target and tier, keeps the newest complete backup of each period of the last O(keep_daily)
    days, O(keep_weekly) ISO weeks and O(keep_monthly) months; keeps every V(oplog) and V(manual)
    backup of the last O(keep_oplog) and O(keep_manual) days.
  - Never deletes a target's newest verified backup nor its O(keep_min) newest complete backups.
    Never touches a directory that is not a complete backup (no marker, partial, being written);
    with O(stale_partial_hours), removes partial directories that no writer holds and that are older.
  - Deletes the marker first, so an interrupted delete never leaves something that looks like a backup.
  - In check mode it is a dry run, and RV(delete) lists what would go.
version_added: "0.1.0"
author: opsbook contributors (@opsbook)
extends_documentation_fragment:
  - opsbook.runbooks.backup.catalog
  - opsbook.runbooks.attributes
options:
  keep_daily:
    description: Days of V(daily) backups to keep (the newest of each day). V(0) keeps them all.
    type: int
    default: 7
  keep_weekly:
    description: ISO weeks of V(weekly) backups to keep (the newest of each week). V(0) keeps them all.
    type: int
    default: 5
  keep_monthly:
    description: Months of V(monthly) backups to keep (the newest of each month). V(0) keeps them all.
    type: int
    default: 12
  keep_oplog:
    description: Days of V(oplog) captures to keep (all of them). V(0) keeps them all.
    type: int
    default: 7
  keep_manual:
    description: Days of V(manual) backups to keep (all of them). V(0) keeps them all.
    type: int
    default: 0
  keep_min:
    description: Newest complete backups of each target kept whatever their age.
    type: int
    default: 1
  stale_partial_hours:
    description: Remove abandoned partial directories older than this many hours. Unset keeps them for inspection.
    type: float
attributes:
  check_mode:
    support: full
    details: A dry run listing what would be deleted.
  diff_mode:
    support: none
"""

EXAMPLES = r"""
- name: Apply the seeds' retention (daily 7, weekly 5, monthly 12)
  opsbook.runbooks.backup_retention:
    root: /var/backups/opsbook
    keep_daily: 7
    keep_weekly: 5
    keep_monthly: 12

- name: List what would be deleted
  opsbook.runbooks.backup_retention:
    root: /var/backups/opsbook
  check_mode: true
"""

RETURN = r"""
keep:
  description: Backups kept, each with the reason.
  returned: always
  type: list
  elements: dict
  sample: [{target: mongodb, tier: daily, id: 20250111T020000Z, reason: "newest daily backup of 2025-01-11 (keep 7)"}]
delete:
  description: Backups deleted (would be, in check mode), each with the reason.
  returned: always
  type: list
  elements: dict
  sample: [{target: mongodb, tier: daily, id: 20250101T020000Z, reason: "daily backup older than 7 periods"}]
removed_partials:
  description: Abandoned partial directories removed (would be, in check mode).
  returned: always
  type: list
  elements: str
  sample: [/var/backups/opsbook/mongodb/daily/20250110T020000Z.partial]
incomplete:
  description: Directories that are not backups, left alone, with the reason.
  returned: always
  type: list
  elements: dict
  sample: [{path: /var/backups/opsbook/mongodb/daily/20250112T020000Z.partial, reason: being written, active: true}]
"""

import shutil
import traceback

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.opsbook.runbooks.plugins.module_utils.backup import (
    BackupError,
    catalog_argument_spec,
    delete_backup,
    list_backups,
    plan_retention,
    stale_partials,
)


def main() -> None:
    module = AnsibleModule(
        argument_spec=catalog_argument_spec(
            keep_daily={"type": "int", "default": 7},
            keep_weekly={"type": "int", "default": 5},
            keep_monthly={"type": "int", "default": 12},
            keep_oplog={"type": "int", "default": 7},
            keep_manual={"type": "int", "default": 0},
            keep_min={"type": "int", "default": 1},
            stale_partial_hours={"type": "float"},
        ),
        supports_check_mode=True,
    )
    p = module.params
    tiers = ("daily", "weekly", "monthly", "oplog", "manual")
    bad = [f"keep_{t}={p[f'keep_{t}']}" for t in tiers if p[f"keep_{t}"] < 0]
    if bad or p["keep_min"] < 1:
        module.fail_json(msg=f"keep_<tier> must be >= 0 (0 keeps all) and keep_min >= 1; got {bad or p['keep_min']}")
    keep = {t: p[f"keep_{t}"] for t in tiers if p[f"keep_{t}"] > 0}
    try:
        catalog = list_backups(p["root"], p["targets"])
        plan = plan_retention(catalog, keep, keep_min=p["keep_min"])
        partials = []
        if p["stale_partial_hours"] is not None:
            partials = [r["path"] for r in stale_partials(catalog, p["stale_partial_hours"])]
        if not module.check_mode:
            for record in plan["delete"]:
                delete_backup(record, p["root"])
            for path in partials:
                shutil.rmtree(path)
    except (BackupError, OSError) as err:
        module.fail_json(msg=f"Retention under {p['root']} failed: {err}", exception=traceback.format_exc())
    module.exit_json(
        changed=bool(plan["delete"] or partials),
        keep=plan["keep"],
        delete=plan["delete"],
        removed_partials=partials,
        incomplete=catalog["incomplete"],
    )


if __name__ == "__main__":
    main()
