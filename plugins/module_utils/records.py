# Copyright: opsbook contributors
# Apache License 2.0 (see LICENSE in the repository root)
"""Reshaping the records roles pass between tasks: the registered results of a loop keyed by
their item, one field of each record of a mapping, and a table's rows from a list of records.

Plain functions over data, so unit tests call them without Ansible; plugins/filter/records.py
exposes them as filters (opsbook.runbooks.by_item, .pluck, .table_rows)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

_MISSING = object()


class RecordsError(ValueError):
    """Records the function cannot reshape; the message names what is wrong."""


def dig(record: Any, path: str, default: Any = _MISSING) -> Any:
    """The value at a dotted `path` of nested mappings (``result.count``), or `default` when a
    step is missing (RecordsError without a default)."""
    value = record
    for step in path.split(".") if path else []:
        if isinstance(value, Mapping) and step in value:
            value = value[step]
        elif default is not _MISSING:
            return default
        else:
            raise RecordsError(f"{path!r}: no {step!r} in {str(value)[:200]}")
    return value


def by_item(
    results: Sequence[Mapping[str, Any]], field: str, key: str = "item", default: Any = _MISSING
) -> dict[Any, Any]:
    """{item: field} from the ``results`` list a looped task registers: ``key`` and ``field``
    are dotted paths into each result (``item.name``, ``result.count``). A result without the
    field gets `default`, or raises RecordsError when none is given."""
    out: dict[Any, Any] = {}
    for result in results:
        name = dig(result, key)
        if isinstance(name, (dict, list)):
            raise RecordsError(f"{key!r} of a result is not a name: {str(name)[:200]}")
        out[name] = dig(result, field, default)
    return out


def pluck(records: Mapping[str, Mapping[str, Any]], field: str, default: Any = None) -> dict[str, Any]:
    """{name: record[field]} for a mapping of records such as service_control_result; a record
    without the field gets `default`."""
    return {name: dig(record, field, default) for name, record in records.items()}


def table_rows(records: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> list[list[Any]]:
    """The rows of a report table: per record, its value of each column (None where missing)."""
    return [[record.get(column) for column in columns] for record in records]


def prefix_keys(mapping: Mapping[str, Any], prefix: str) -> dict[str, Any]:
    """The mapping with `prefix` before every key (one server's results among several)."""
    return {f"{prefix}{key}": value for key, value in mapping.items()}
