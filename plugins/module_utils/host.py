# Copyright: opsbook contributors
# Apache License 2.0 (see LICENSE in the repository root)
"""Host figures for the daily health check, read straight from /proc and statvfs: memory, CPU,
load and the usage of every real filesystem. Plain functions that take the files' text, so unit
tests feed them what a kernel writes; `collect()` reads the live host."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from typing import Any

# Filesystems that hold data; everything else in /proc/mounts (proc, sysfs, cgroup, tmpfs,
# overlay layers of containers, …) is not a disk an operator fills up. "/" is always reported.
DISK_FSTYPES = frozenset(
    {"ext2", "ext3", "ext4", "xfs", "btrfs", "zfs", "f2fs", "jfs", "reiserfs", "vfat", "nfs", "nfs4"}
)


def parse_meminfo(text: str) -> dict[str, int]:
    """/proc/meminfo as bytes by field name."""
    values: dict[str, int] = {}
    for line in text.splitlines():
        name, _colon, rest = line.partition(":")
        parts = rest.split()
        if parts and parts[0].isdigit():
            values[name] = int(parts[0]) * (1024 if parts[1:] == ["kB"] else 1)
    return values


def memory_figures(meminfo: dict[str, int]) -> dict[str, Any]:
    """Used memory the way `free` counts it: total minus MemAvailable (page cache is not used)."""
    total = meminfo.get("MemTotal", 0)
    available = meminfo.get("MemAvailable", meminfo.get("MemFree", 0))
    swap_total = meminfo.get("SwapTotal", 0)
    swap_used = swap_total - meminfo.get("SwapFree", 0)
    return {
        "total_bytes": total,
        "available_bytes": available,
        "used_percent": round(100.0 * (total - available) / total, 1) if total else None,
        "swap_used_percent": round(100.0 * swap_used / swap_total, 1) if swap_total else None,
    }


def parse_cpu_times(stat_text: str) -> tuple[int, int]:
    """(busy, total) jiffies from the aggregate `cpu` line of /proc/stat; iowait counts as idle."""
    for line in stat_text.splitlines():
        if line.startswith("cpu "):
            fields = [int(v) for v in line.split()[1:]]
            # user nice system idle iowait irq softirq steal [guest guest_nice: already in user/nice]
            total = sum(fields[:8])
            idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
            return total - idle, total
    raise ValueError("/proc/stat has no aggregate cpu line")


def cpu_percent(before: tuple[int, int], after: tuple[int, int]) -> float | None:
    busy = after[0] - before[0]
    total = after[1] - before[1]
    return round(100.0 * busy / total, 1) if total > 0 else None


def parse_loadavg(text: str) -> list[float]:
    return [float(v) for v in text.split()[:3]]


def parse_mounts(text: str) -> list[tuple[str, str]]:
    """(mountpoint, fstype) of the data-holding filesystems in /proc/mounts, "/" first, each
    filesystem once: a device mounted again (a bind mount) is the same disk, as df counts it."""
    by_device: dict[str, tuple[str, str]] = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) < 3:
            continue
        device, mountpoint, fstype = parts[0], parts[1].replace("\\040", " "), parts[2]
        if mountpoint != "/" and fstype not in DISK_FSTYPES:
            continue
        # Pseudo devices (overlay, a server:/export of nfs) are only the same disk at the same place.
        key = device if device.startswith("/dev/") else f"{device} {mountpoint}"
        known = by_device.get(key)
        if known is None or mountpoint == "/" or (known[0] != "/" and len(mountpoint) < len(known[0])):
            by_device[key] = (mountpoint, fstype)
    return sorted(set(by_device.values()), key=lambda item: (item[0] != "/", item[0]))


def disk_figures(mountpoint: str, fstype: str, statvfs: Callable[[str], os.statvfs_result]) -> dict[str, Any]:
    """Usage of one filesystem as `df` reports it: used / (used + available to unprivileged users)."""
    st = statvfs(mountpoint)
    size = st.f_blocks * st.f_frsize
    used = (st.f_blocks - st.f_bfree) * st.f_frsize
    avail = st.f_bavail * st.f_frsize
    inodes_used = st.f_files - st.f_ffree
    return {
        "mountpoint": mountpoint,
        "fstype": fstype,
        "size_bytes": size,
        "used_bytes": used,
        "available_bytes": avail,
        "used_percent": round(100.0 * used / (used + avail), 1) if used + avail else None,
        "inodes_used_percent": round(100.0 * inodes_used / st.f_files, 1) if st.f_files else None,
    }


def observations(figures: dict[str, Any], data_paths: Iterable[str] = ()) -> dict[str, Any]:
    """Alert-catalog observations: the system disk is "/", every other filesystem (or, when
    data_paths are given, the filesystems holding them) is a data disk."""
    disks = figures["disks"]
    system = [d for d in disks if d["mountpoint"] == "/"]
    wanted = set(data_paths)
    data = [d for d in disks if d["mountpoint"] != "/" and (not wanted or d["mountpoint"] in wanted)]
    return {
        "cpu_usage_percent": figures["cpu"]["used_percent"],
        "memory_usage_percent": figures["memory"]["used_percent"],
        "system_disk_usage_percent": system[0]["used_percent"] if system else None,
        "data_disk_usage_percent": [
            {"labels": {"mountpoint": d["mountpoint"]}, "value": d["used_percent"]}
            for d in data
            if d["used_percent"] is not None
        ]
        or None,
    }


def mountpoint_of(path: str, mountpoints: Iterable[str]) -> str:
    """The mount that holds path (the longest mountpoint that is a prefix of it)."""
    real = os.path.realpath(path)
    best = "/"
    for mp in mountpoints:
        if (real == mp or real.startswith(mp.rstrip("/") + "/")) and len(mp) > len(best):
            best = mp
    return best


def _read(path: str) -> str:
    with open(path, encoding="utf-8") as handle:
        return handle.read()


def collect(cpu_sample_seconds: float = 0.5, data_paths: Iterable[str] = ()) -> dict[str, Any]:
    """Figures of the live host: memory, CPU busy % over the sample, load, disks."""
    before = parse_cpu_times(_read("/proc/stat"))
    start = time.monotonic()
    mounts = parse_mounts(_read("/proc/mounts"))
    disks = [disk_figures(mp, fs, os.statvfs) for mp, fs in mounts]
    memory = memory_figures(parse_meminfo(_read("/proc/meminfo")))
    load = parse_loadavg(_read("/proc/loadavg"))
    remaining = cpu_sample_seconds - (time.monotonic() - start)
    if remaining > 0:
        time.sleep(remaining)
    after = parse_cpu_times(_read("/proc/stat"))
    cores = os.cpu_count() or 1
    data_mounts = sorted({mountpoint_of(p, [d["mountpoint"] for d in disks]) for p in data_paths})
    figures = {
        "memory": memory,
        "cpu": {"used_percent": cpu_percent(before, after), "cores": cores},
        "load": {"1m": load[0], "5m": load[1], "15m": load[2], "per_core_1m": round(load[0] / cores, 2)},
        "disks": disks,
        "uptime_seconds": float(_read("/proc/uptime").split()[0]),
    }
    figures["observations"] = observations(figures, data_mounts)
    return figures
