# Copyright: opsbook contributors
# Apache License 2.0 (see LICENSE in the repository root)
"""What opsbook's filter plugins share: turning the plain functions' own input errors into
Ansible filter errors, so a bad input stops the task with the function's message. Controller
side only, hence plugin_utils rather than module_utils: it imports ansible.errors, which modules
cannot (filters import it; no module does)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
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


def filter_module(
    error: type[Exception] | tuple[type[Exception], ...], filters: Mapping[str, Callable[..., Any]]
) -> type:
    """The FilterModule class Ansible loads from a filter plugin file: `filters`, the plain
    functions by their names in the collection (opsbook.runbooks.<name>), each wrapped by
    filter_errors(error)."""
    wrap = filter_errors(error)
    wrapped = {name: wrap(func) for name, func in filters.items()}

    class FilterModule:
        """The filters of this file, by their names in the collection (opsbook.runbooks.<name>)."""

        def filters(self) -> dict[str, Any]:
            return dict(wrapped)

    return FilterModule
