"""opsbook: operations runbooks as Ansible automation, callable from Python.

    import opsbook
    result = opsbook.run("smoke", inventory="inventories/local")
    if not result.ok:
        for task in result.failed_tasks:
            print(task.host, task.task, task.message)

See docs/python.md for the API, the ``opsbook`` command and the AWX job templates.
"""

from __future__ import annotations

import logging

from opsbook.errors import InvalidInput, OpsbookError, PlaybookNotFound, ProjectNotFound, RunnerError
from opsbook.project import Playbook, Project
from opsbook.results import Event, FailedTask, HostStats, RunResult, RunStatus
from opsbook.runner import RunHandle, run, run_async

__version__ = "0.1.0"
__all__ = [
    "Event",
    "FailedTask",
    "HostStats",
    "InvalidInput",
    "OpsbookError",
    "Playbook",
    "PlaybookNotFound",
    "Project",
    "ProjectNotFound",
    "RunHandle",
    "RunResult",
    "RunStatus",
    "RunnerError",
    "__version__",
    "run",
    "run_async",
]

logging.getLogger(__name__).addHandler(logging.NullHandler())
