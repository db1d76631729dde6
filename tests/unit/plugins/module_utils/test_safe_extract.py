"""Unpacking a files backup on a Python without tarfile's "data" filter (Debian 12's 3.11.2):
members that would land outside the destination are refused before anything is written."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest
from ansible_collections.opsbook.runbooks.plugins.module_utils import backup_restore
from ansible_collections.opsbook.runbooks.plugins.module_utils.backup import BackupError


def archive(tmp_path: Path, *members: tuple[str, bytes | None, str | None]) -> Path:
    path = tmp_path / "set.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        for name, data, link in members:
            info = tarfile.TarInfo(name)
            if link is not None:
                info.type, info.linkname = tarfile.SYMTYPE, link
                tar.addfile(info)
            else:
                info.size = len(data or b"")
                tar.addfile(info, io.BytesIO(data or b""))
    return path


@pytest.mark.parametrize("with_filter", [True, False])
def test_plain_members_are_extracted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, with_filter: bool) -> None:
    if not with_filter:
        monkeypatch.delattr(tarfile, "data_filter", raising=False)
    path = archive(tmp_path, ("srv/app/.env", b"A=1\n", None), ("srv/app/link", None, ".env"))
    dest = tmp_path / "out"
    dest.mkdir()
    with tarfile.open(path) as tar:
        backup_restore.safe_extract(tar, tar.getmembers(), str(dest))
    assert (dest / "srv/app/.env").read_bytes() == b"A=1\n"


def test_members_outside_the_destination_are_refused_before_writing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delattr(tarfile, "data_filter", raising=False)
    path = archive(tmp_path, ("ok.txt", b"x", None), ("../escape.txt", b"x", None), ("evil", None, "/etc/passwd"))
    dest = tmp_path / "out"
    dest.mkdir()
    with tarfile.open(path) as tar, pytest.raises(BackupError, match="outside"):
        backup_restore.safe_extract(tar, tar.getmembers(), str(dest))
    assert not (tmp_path / "escape.txt").exists() and not (dest / "ok.txt").exists()
    with tarfile.open(path) as tar:
        assert backup_restore.unsafe_members(tar.getmembers(), str(dest)) == ["../escape.txt", "evil"]


def test_every_member_is_inside_the_root_directory(tmp_path: Path) -> None:
    """restore_files_dest=/ puts files back where they were: nothing is outside '/'."""
    path = archive(tmp_path, ("srv/opsbook/app.env", b"A=1\n", None), ("srv/opsbook/link", None, "app.env"))
    with tarfile.open(path) as tar:
        assert backup_restore.unsafe_members(tar.getmembers(), "/") == []
