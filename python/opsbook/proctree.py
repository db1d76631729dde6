"""Find and stop every process a run started on this machine.

Each run exports ``OPSBOOK_RUN_ID=<ident>`` to ansible-playbook; every process it starts (forks,
module interpreters, the commands they run, even ones that left the process group with setsid)
inherits it. Cancel and timeout stop exactly the processes carrying their run's marker: SIGTERM,
then SIGKILL for those still alive after a short grace. Linux only (/proc).
"""

from __future__ import annotations

import logging
import os
import signal
import time
from pathlib import Path

__all__ = ["MARKER", "marked_processes", "terminate"]

log = logging.getLogger(__name__)

MARKER = "OPSBOOK_RUN_ID"
_PROC = Path("/proc")


def _is_zombie(pid: int) -> bool:
    try:
        stat = (_PROC / str(pid) / "stat").read_text()
    except OSError:
        return True
    # The state follows the command name, which is in parentheses and may contain spaces.
    return stat.rsplit(")", 1)[-1].split()[0] in ("Z", "X")


def marked_processes(ident: str) -> list[int]:
    """Live processes (not zombies) whose environment carries ``OPSBOOK_RUN_ID=<ident>``."""
    needle = f"{MARKER}={ident}".encode() + b"\0"
    own = os.getpid()
    found = []
    for entry in _PROC.iterdir():
        if not entry.name.isdigit() or int(entry.name) == own:
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if (environ + b"\0").find(needle) != -1 and not _is_zombie(int(entry.name)):
            found.append(int(entry.name))
    return sorted(found)


def _signal_all(pids: list[int], sig: signal.Signals) -> None:
    for pid in pids:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            continue
        except PermissionError as err:
            log.warning("cannot signal process %s: %s", pid, err)


def terminate(ident: str, *, grace: float = 1.5, limit: float = 4.0) -> list[int]:
    """Stop the run's processes: SIGTERM, SIGKILL after ``grace`` seconds, and wait up to
    ``limit`` seconds in all. Returns the pids still alive (empty when everything stopped)."""
    deadline = time.monotonic() + limit
    killed = False
    pids = marked_processes(ident)
    if pids:
        log.debug("run %s: sending SIGTERM to %s", ident, pids)
        _signal_all(pids, signal.SIGTERM)
    term_sent = time.monotonic()
    while pids and time.monotonic() < deadline:
        time.sleep(0.1)
        pids = marked_processes(ident)
        if pids and not killed and time.monotonic() - term_sent >= grace:
            log.debug("run %s: sending SIGKILL to %s", ident, pids)
            _signal_all(pids, signal.SIGKILL)
            killed = True
    if pids:
        log.warning("run %s: processes %s are still alive after %.1f s", ident, pids, limit)
    return pids
