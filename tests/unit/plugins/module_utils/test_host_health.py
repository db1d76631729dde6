"""host_health's figures, computed from text shaped like what the Linux kernel writes to /proc
(the module run on this host: tests/project/test_host_health_module.py)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from ansible_collections.opsbook.runbooks.plugins.module_utils.host import (
    cpu_percent,
    disk_figures,
    memory_figures,
    mountpoint_of,
    observations,
    parse_cpu_times,
    parse_meminfo,
    parse_mounts,
)

MEMINFO = """MemTotal:       16000000 kB
MemFree:          500000 kB
MemAvailable:    2400000 kB
Buffers:          100000 kB
Cached:          1800000 kB
SwapTotal:       2000000 kB
SwapFree:        1500000 kB
HugePages_Total:       0
"""

MOUNTS = """sysfs /sys sysfs rw,nosuid,nodev,noexec,relatime 0 0
proc /proc proc rw,nosuid,nodev,noexec,relatime 0 0
/dev/vda1 / ext4 rw,relatime 0 0
tmpfs /run tmpfs rw,nosuid,nodev,size=3255880k,mode=755 0 0
/dev/vdb1 /var/lib/mongodb xfs rw,relatime 0 0
overlay /var/lib/docker/overlay2/abc/merged overlay rw,relatime,lowerdir=/x 0 0
/dev/vdc1 /srv/my\\040uploads ext4 rw,relatime 0 0
/dev/vdb1 /var/lib/mongodb xfs rw,relatime 0 0
"""


def test_memory_counts_available_not_free() -> None:
    memory = memory_figures(parse_meminfo(MEMINFO))
    # 16 000 000 kB total, 2 400 000 kB available: 85 % used (free alone would say 96.9 %).
    assert memory["used_percent"] == 85.0
    assert memory["total_bytes"] == 16_000_000 * 1024
    assert memory["swap_used_percent"] == 25.0


def test_memory_without_swap_reports_null_swap() -> None:
    assert memory_figures(parse_meminfo("MemTotal: 100 kB\nMemAvailable: 50 kB\n"))["swap_used_percent"] is None


def test_cpu_busy_share_counts_iowait_as_idle() -> None:
    before = parse_cpu_times("cpu  100 0 100 700 100 0 0 0 0 0\ncpu0 50 0 50 350 50 0 0 0 0 0\n")
    after = parse_cpu_times("cpu  250 0 150 1000 200 0 0 0 0 0\n")
    # busy grew 200 of a total growth of 600 jiffies
    assert cpu_percent(before, after) == pytest.approx(33.3)
    assert cpu_percent(after, after) is None


def test_cpu_without_aggregate_line_is_an_error() -> None:
    with pytest.raises(ValueError, match="no aggregate cpu line"):
        parse_cpu_times("cpu0 1 2 3 4\n")


def test_mounts_keep_real_filesystems_once_root_first() -> None:
    assert parse_mounts(MOUNTS) == [("/", "ext4"), ("/srv/my uploads", "ext4"), ("/var/lib/mongodb", "xfs")]


def test_a_bind_mount_of_a_device_is_the_same_disk() -> None:
    mounts = "/dev/vda1 /work/state ext4 rw 0 0\n/dev/vda1 / ext4 rw 0 0\n/dev/vdb1 /b/deep ext4 rw 0 0\n"
    mounts += "/dev/vdb1 /b ext4 rw 0 0\n"
    assert parse_mounts(mounts) == [("/", "ext4"), ("/b", "ext4")]


def test_root_is_reported_even_on_an_overlay() -> None:
    assert parse_mounts("overlay / overlay rw 0 0\ntmpfs /dev tmpfs rw 0 0\n") == [("/", "overlay")]


def test_disk_usage_is_counted_as_df_does() -> None:
    # 1000 blocks of 4 KiB, 300 free of which 250 are available to users: df says 700/(700+250)
    st = SimpleNamespace(f_blocks=1000, f_bfree=300, f_bavail=250, f_frsize=4096, f_files=100, f_ffree=40)
    disk = disk_figures("/data", "ext4", lambda _path: st)
    assert disk["used_percent"] == pytest.approx(73.7)
    assert disk["size_bytes"] == 4_096_000 and disk["inodes_used_percent"] == 60.0


def test_observations_split_system_and_data_disks() -> None:
    figures = {
        "cpu": {"used_percent": 91.0},
        "memory": {"used_percent": 50.0},
        "disks": [
            {"mountpoint": "/", "used_percent": 95.5},
            {"mountpoint": "/var/lib/mongodb", "used_percent": 81.0},
            {"mountpoint": "/srv", "used_percent": 10.0},
        ],
    }
    obs = observations(figures)
    assert obs["system_disk_usage_percent"] == 95.5
    assert obs["data_disk_usage_percent"] == [
        {"labels": {"mountpoint": "/var/lib/mongodb"}, "value": 81.0},
        {"labels": {"mountpoint": "/srv"}, "value": 10.0},
    ]
    only = observations(figures, ["/var/lib/mongodb"])
    assert [s["labels"]["mountpoint"] for s in only["data_disk_usage_percent"]] == ["/var/lib/mongodb"]
    assert observations({**figures, "disks": figures["disks"][:1]})["data_disk_usage_percent"] is None


def test_mountpoint_of_picks_the_longest_prefix() -> None:
    assert mountpoint_of("/var/lib/mongodb/db", ["/", "/var", "/var/lib/mongodb"]) == "/var/lib/mongodb"
    assert mountpoint_of("/var/lib/mongodbx", ["/", "/var/lib/mongodb"]) == "/"
