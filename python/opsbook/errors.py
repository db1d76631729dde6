"""The exceptions opsbook raises. Catch ``OpsbookError`` for all of them."""

from __future__ import annotations


class OpsbookError(Exception):
    """Base class of every error opsbook raises."""


class ProjectNotFound(OpsbookError):  # noqa: N818 - the names the API promises
    """No opsbook repository (a directory with ``ansible.cfg`` and ``playbooks/``) was found."""


class PlaybookNotFound(OpsbookError, LookupError):  # noqa: N818 - the names the API promises
    """The named playbook is not one of the project's ``playbooks/*.yml`` runbooks."""

    def __init__(self, name: str, available: list[str]) -> None:
        self.name = name
        self.available = available
        super().__init__(f"no runbook named {name!r}; available: {', '.join(available) or 'none'}")


class InvalidInput(OpsbookError, ValueError):  # noqa: N818 - the names the API promises
    """An input (extra variable, secret, inventory, option) is wrong; ``key`` names it."""

    def __init__(self, key: str, message: str) -> None:
        self.key = key
        super().__init__(f"{key}: {message}")


class RunnerError(OpsbookError):
    """ansible-runner could not start or follow the run (not a failed play: see RunResult)."""
