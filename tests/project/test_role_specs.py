"""Every role's defaults/main.yml and meta/argument_specs.yml say the same: an option whose spec
has a default has that default in defaults/main.yml, and every variable of defaults/main.yml that
the spec documents has the spec's default. A role documented in two places that disagree is a role
whose manual lies in one of them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
ROLES = sorted(path.parent.parent for path in (REPO / "roles").glob("*/meta/argument_specs.yml"))


def load(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8")) if path.is_file() else None


def spec_options(role: Path) -> dict[str, dict[str, Any]]:
    """The options of every entry point of the role (an option is the same variable in each)."""
    options: dict[str, dict[str, Any]] = {}
    for entry in (load(role / "meta" / "argument_specs.yml") or {}).get("argument_specs", {}).values():
        for name, spec in ((entry or {}).get("options") or {}).items():
            options.setdefault(name, spec or {})
    return options


def test_every_role_with_defaults_has_argument_specs() -> None:
    without = [
        role.name for role in sorted((REPO / "roles").iterdir()) if (role / "defaults" / "main.yml").is_file()
        and not (role / "meta" / "argument_specs.yml").is_file()
    ]  # fmt: skip
    assert without == []


@pytest.mark.parametrize("role", ROLES, ids=[role.name for role in ROLES])
def test_defaults_equal_argument_spec_defaults(role: Path) -> None:
    defaults = load(role / "defaults" / "main.yml") or {}
    options = spec_options(role)
    wrong = []
    for name, spec in options.items():
        if "default" in spec and name not in defaults:
            wrong.append(f"{name}: the spec has default {spec['default']!r}, defaults/main.yml has none")
        elif "default" in spec and defaults[name] != spec["default"]:
            wrong.append(f"{name}: spec default {spec['default']!r} != defaults/main.yml {defaults[name]!r}")
    for name, value in defaults.items():
        if name in options and "default" not in options[name] and not options[name].get("required"):
            wrong.append(f"{name}: defaults/main.yml has {value!r}, the spec documents no default")
    assert wrong == [], f"{role.name}:\n" + "\n".join(wrong)


@pytest.mark.parametrize("role", ROLES, ids=[role.name for role in ROLES])
def test_no_option_is_both_required_and_defaulted(role: Path) -> None:
    """Ansible refuses such a spec when the role runs ("required and default are mutually
    exclusive"): an entry point that requires an option gives it no default."""
    both = [
        f"{entry_name}: {name}"
        for entry_name, entry in (
            (load(role / "meta" / "argument_specs.yml") or {}).get("argument_specs") or {}
        ).items()
        for name, spec in ((entry or {}).get("options") or {}).items()
        if (spec or {}).get("required") and "default" in (spec or {})
    ]
    assert both == [], f"{role.name}: required options with a default: {both}"
