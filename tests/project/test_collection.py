"""The collection's metadata agrees with the project's: galaxy.yml's dependencies are the
collections collections/requirements.yml lists for AWX and ansible-builder, and the unit tests'
requirements (tests/unit/requirements.txt, which ansible-test installs) are pinned as
requirements.txt pins them."""

from __future__ import annotations

import re

import yaml
from conftest import REPO


def pins(text: str) -> dict[str, str]:
    """name==version lines of a pip requirements file, by lower-case name (extras dropped)."""
    found = {}
    for line in text.splitlines():
        match = re.match(r"^([A-Za-z0-9_.-]+)(?:\[[^\]]*\])?==(\S+)", line.strip())
        if match:
            found[match[1].lower()] = match[2]
    return found


def test_galaxy_dependencies_are_the_collection_requirements() -> None:
    galaxy = yaml.safe_load((REPO / "galaxy.yml").read_text())
    requirements = yaml.safe_load((REPO / "collections" / "requirements.yml").read_text())
    assert galaxy["dependencies"] == {c["name"]: c["version"] for c in requirements["collections"]}


def test_unit_test_requirements_are_pinned_as_the_project_pins_them() -> None:
    project = pins((REPO / "requirements.txt").read_text())
    unit_lines = [
        line.strip()
        for line in (REPO / "tests" / "unit" / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    unit = pins("\n".join(unit_lines))
    assert unit, "tests/unit/requirements.txt pins nothing"
    assert sorted(unit) == sorted(re.split(r"[=<>\[ ]", line)[0].lower() for line in unit_lines), "pin every line"
    assert {name: project.get(name) for name in unit} == unit
