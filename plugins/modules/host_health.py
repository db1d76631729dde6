#!/usr/bin/python
# Copyright: opsbook contributors
# Apache License 2.0 (see LICENSE in the repository root)
"""Memory, CPU, load and disk figures of a host in one call, for the daily health check."""

from __future__ import annotations

DOCUMENTATION = r"""
module: host_health
short_description: Memory, CPU, load and disk usage of a host, as alert-catalog observations
description:
  - Reads C(/proc/meminfo), C(/proc/stat), C(/proc/loadavg), C(/proc/mounts) and C(statvfs) of
    every data-holding filesystem, in one module call, for the morning check's C(df -h) and C(free -h)
    (seeds 001 and 004) without the cost of full fact gathering.
  - Returns the figures and, under C(observations), the values the alert catalog's host entries
    (HighCpuUsage, HighMemoryUsage, SystemDiskSpaceLow, DataDiskSpaceLow) are evaluated on.
  - Memory used is total minus C(MemAvailable), as C(free) counts it. CPU is the busy share of
    all cores over O(cpu_sample_seconds). Disk usage is counted as C(df) does (blocks reserved
    for root are not available).
  - The system disk is the filesystem mounted at C(/); every other real filesystem (ext4, xfs,
    btrfs, zfs, nfs, …; not tmpfs, proc or container overlay layers) is a data disk, or, when
    O(data_paths) are given, the filesystems holding those paths.
version_added: "0.1.0"
author: opsbook contributors (@opsbook)
extends_documentation_fragment:
  - opsbook.runbooks.attributes
  - opsbook.runbooks.attributes.info_module
options:
  cpu_sample_seconds:
    description: How long to sample C(/proc/stat) for the CPU figure.
    type: float
    default: 0.5
  data_paths:
    description:
      - Paths on the data disks (database directories, uploads, backups). Only the filesystems
        holding them count as data disks.
    type: list
    elements: path
    default: []
notes:
  - Linux only. In a container, memory and CPU figures are those of the host kernel.
"""

EXAMPLES = r"""
- name: Read the host's figures
  opsbook.runbooks.host_health:
  register: host

- name: Count only the filesystems of the database and the backups as data disks
  opsbook.runbooks.host_health:
    data_paths: [/var/lib/mongodb, /var/backups/opsbook]
"""

RETURN = r"""
memory:
  description: Memory figures.
  returned: always
  type: dict
  sample: {total_bytes: 25165824000, available_bytes: 21474836480, used_percent: 14.7, swap_used_percent: null}
cpu:
  description: Busy share of all cores over the sample, and the number of cores.
  returned: always
  type: dict
  sample: {used_percent: 12.5, cores: 2}
load:
  description: Load averages and the 1-minute load per core.
  returned: always
  type: dict
  sample: {1m: 0.52, 5m: 0.61, 15m: 0.7, per_core_1m: 0.26}
disks:
  description: One entry per data-holding filesystem, C(/) first.
  returned: always
  type: list
  elements: dict
  sample:
    - {mountpoint: /, fstype: ext4, size_bytes: 270582939648, used_bytes: 12884901888,
       available_bytes: 85899345920, used_percent: 13.0, inodes_used_percent: 4.1}
uptime_seconds:
  description: Seconds since the host booted.
  returned: always
  type: float
  sample: 86400.5
observations:
  description: Values by alert-catalog metric, for M(opsbook.runbooks.alert_check).
  returned: always
  type: dict
  sample:
    cpu_usage_percent: 12.5
    memory_usage_percent: 14.7
    system_disk_usage_percent: 13.0
    data_disk_usage_percent: [{labels: {mountpoint: /srv}, value: 41.2}]
"""

import traceback

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.opsbook.runbooks.plugins.module_utils.host import collect


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "cpu_sample_seconds": {"type": "float", "default": 0.5},
            "data_paths": {"type": "list", "elements": "path", "default": []},
        },
        supports_check_mode=True,
    )
    if module.params["cpu_sample_seconds"] < 0:
        module.fail_json(msg="cpu_sample_seconds must not be negative")
    try:
        figures = collect(module.params["cpu_sample_seconds"], module.params["data_paths"])
    except (OSError, ValueError) as err:
        module.fail_json(msg=f"cannot read the host's figures: {err}", exception=traceback.format_exc())
    module.exit_json(changed=False, **figures)


if __name__ == "__main__":
    main()
