"""files_write: several files in one call, atomically, idempotently, nothing in check mode."""

from __future__ import annotations

import stat
from pathlib import Path

from conftest import run_module

FILES = [{"name": "a.json", "content": "{}\n"}, {"name": "b.md", "content": "# b\n", "mode": "0600"}]


def test_writes_each_file_with_its_mode_then_changes_nothing(tmp_path: Path) -> None:
    target = tmp_path / "out"
    first = run_module(tmp_path, "files_write", {"path": str(target), "files": FILES})
    assert first["changed"] and first["written"] == ["a.json", "b.md"]
    assert (target / "a.json").read_text() == "{}\n" and (target / "b.md").read_text() == "# b\n"
    assert stat.S_IMODE((target / "a.json").stat().st_mode) == 0o640
    assert stat.S_IMODE((target / "b.md").stat().st_mode) == 0o600
    again = run_module(tmp_path, "files_write", {"path": str(target), "files": FILES})
    assert not again["changed"] and again["written"] == []
    assert sorted(p.name for p in target.iterdir()) == ["a.json", "b.md"], "no temporary file is left behind"


def test_check_mode_writes_nothing(tmp_path: Path) -> None:
    result = run_module(tmp_path, "files_write", {"path": str(tmp_path / "out"), "files": FILES}, check=True)
    assert result["changed"] and not (tmp_path / "out").exists()


def test_a_name_with_a_directory_part_is_refused(tmp_path: Path) -> None:
    files = [{"name": "../escape", "content": "x"}]
    result = run_module(tmp_path, "files_write", {"path": str(tmp_path / "out"), "files": files})
    assert result["failed"] and "must not contain a directory part" in result["msg"]
    assert not (tmp_path / "escape").exists()
