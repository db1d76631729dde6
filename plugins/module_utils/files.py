# Copyright: opsbook contributors
# Apache License 2.0 (see LICENSE in the repository root)
"""Atomic file writes shared by opsbook's modules: a reader sees the old file or the new one,
never half of one, and a private file is never readable by others, not even for a moment."""

from __future__ import annotations

import os
import tempfile


def fsync_dir(path: str | os.PathLike[str]) -> None:
    """Make a rename in the directory durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path: str | os.PathLike[str], data: bytes | str, mode: int = 0o600) -> None:
    """Write data to a new file with `mode` in the same directory (created with that mode, so a
    0600 secret is never world-readable), fsync it, rename it over `path` and fsync the directory."""
    path = os.fspath(path)
    directory = os.path.dirname(path) or "."
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{os.path.basename(path)}.")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data.encode() if isinstance(data, str) else data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    fsync_dir(directory)
