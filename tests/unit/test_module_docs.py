"""Every module's DOCUMENTATION parses, so `ansible-doc MODULE` is a usable manual, and its
options (with those of its doc fragments) match the module's argument spec."""

from __future__ import annotations

import functools
import importlib
import json
import subprocess
from typing import Any

import pytest
from conftest import REPO, VENV_BIN, ansible_env

MODULES = sorted(p.stem for p in (REPO / "plugins" / "modules").glob("*.py"))


@functools.cache
def ansible_doc(module: str) -> dict[str, Any]:
    """The module's documentation as `ansible-doc --json` renders it (doc fragments merged); one
    ansible-doc run per module serves both tests."""
    result = subprocess.run(
        [str(VENV_BIN / "ansible-doc"), "--json", module],
        cwd=REPO,
        env=ansible_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)[module]


@pytest.mark.parametrize("module", MODULES)
def test_ansible_doc_renders(module: str) -> None:
    doc = ansible_doc(module)
    assert doc["doc"]["short_description"] and doc["examples"].strip() and doc["return"]
    assert all("description" in option for option in doc["doc"]["options"].values())


class SpecCapturedError(Exception):
    """Raised by the stand-in AnsibleModule with the keyword arguments main() gave it."""


def argument_spec(module: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The argument spec main() builds, caught at AnsibleModule(...) before anything runs."""

    def capture(**kwargs: Any) -> None:
        raise SpecCapturedError(kwargs["argument_spec"])

    code = importlib.import_module(module)
    monkeypatch.setattr(code, "AnsibleModule", capture)
    with pytest.raises(SpecCapturedError) as caught:
        code.main()
    return caught.value.args[0]


def mismatches(spec: dict[str, Any], options: dict[str, Any], where: str = "") -> list[str]:
    found = [f"{where}{name}: documented but not in the spec" for name in sorted(set(options) - set(spec))]
    found += [f"{where}{name}: in the spec but not documented" for name in sorted(set(spec) - set(options))]
    for name in sorted(set(spec) & set(options)):
        declared, documented = spec[name], options[name]
        for field, missing in (("type", "str"), ("required", False), ("default", None), ("choices", None)):
            if declared.get(field, missing) != documented.get(field, missing):
                found.append(
                    f"{where}{name}.{field}: spec {declared.get(field, missing)!r}, "
                    f"doc {documented.get(field, missing)!r}"
                )
        if declared.get("elements") != documented.get("elements"):
            found.append(
                f"{where}{name}.elements: spec {declared.get('elements')!r}, doc {documented.get('elements')!r}"
            )
        if "options" in declared or "suboptions" in documented:
            found += mismatches(declared.get("options") or {}, documented.get("suboptions") or {}, f"{where}{name}.")
    return found


@pytest.mark.parametrize("module", MODULES)
def test_documented_options_match_the_argument_spec(module: str, monkeypatch: pytest.MonkeyPatch) -> None:
    options = ansible_doc(module)["doc"].get("options") or {}
    assert mismatches(argument_spec(module, monkeypatch), options) == []
