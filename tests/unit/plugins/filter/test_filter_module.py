"""plugin_utils/filters.py: the FilterModule class every filter file builds with filter_module."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.opsbook.runbooks.plugins.filter import records
from ansible_collections.opsbook.runbooks.plugins.plugin_utils.filters import filter_module


class ShapeError(ValueError):
    pass


def double(value: int) -> int:
    """Twice the value."""
    if not isinstance(value, int):
        raise ShapeError(f"double takes a number, got {value!r}")
    return value * 2


def test_filter_module_names_the_functions_and_keeps_their_docs() -> None:
    filters = filter_module(ShapeError, {"opsbook_double": double})().filters()
    assert list(filters) == ["opsbook_double"]
    assert filters["opsbook_double"](21) == 42
    assert filters["opsbook_double"].__name__ == "double" and filters["opsbook_double"].__doc__ == "Twice the value."


def test_the_functions_errors_become_filter_errors_with_their_message() -> None:
    filters = filter_module(ShapeError, {"opsbook_double": double})().filters()
    with pytest.raises(AnsibleFilterError, match="double takes a number, got 'x'"):
        filters["opsbook_double"]("x")


def test_a_filter_file_lists_its_filters() -> None:
    assert sorted(records.FilterModule().filters()) == ["by_item", "pluck", "prefix_keys", "table_rows"]
