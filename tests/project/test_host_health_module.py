"""The host_health module run on this host through ansible-playbook (its figures from /proc text:
tests/unit/plugins/module_utils/test_host_health.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import run_module


def test_module_reads_this_host(tmp_path: Path) -> None:
    result = run_module(tmp_path, "host_health", {"cpu_sample_seconds": 0.1}, check=True)
    assert not result.get("failed"), result
    statvfs = os.statvfs("/")
    used = statvfs.f_blocks - statvfs.f_bfree
    assert result["disks"][0]["mountpoint"] == "/"
    assert result["observations"]["system_disk_usage_percent"] == pytest.approx(
        100 * used / (used + statvfs.f_bavail), abs=0.5
    )
    assert 0 < result["observations"]["memory_usage_percent"] < 100
    assert result["cpu"]["cores"] == os.cpu_count() and result["changed"] is False


def test_module_refuses_a_negative_sample(tmp_path: Path) -> None:
    result = run_module(tmp_path, "host_health", {"cpu_sample_seconds": -1})
    assert result["failed"] and "must not be negative" in result["msg"]
