# Copyright: opsbook contributors
# Apache License 2.0 (see LICENSE in the repository root)
"""What opsbook's filter plugins share: turning the plain functions' own input errors into
Ansible filter errors, so a bad input stops the task with the function's message. Controller
side only, hence plugin_utils rather than module_utils: it imports ansible.errors, which modules
cannot (filters import it; no module does)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ansible.errors import AnsibleFilterError


def filter_errors(
    error: type[Exception] | tuple[type[Exception], ...],
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """wrap = filter_errors(ServiceControlError); wrap(func) raises AnsibleFilterError with the
    message of `error` (or of any of a tuple of errors), keeping func's name and docstring for
    ansible-doc and tracebacks."""

    def wrap(func: Callable[..., Any]) -> Callable[..., Any]:
        def filter_(*args: Any, **kwargs: Any) -> Any:
            try:
                return func(*args, **kwargs)
            except error as err:
                raise AnsibleFilterError(str(err)) from err

        filter_.__name__ = func.__name__
        filter_.__doc__ = func.__doc__
        return filter_

    return wrap
