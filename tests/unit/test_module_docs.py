"""Every module's DOCUMENTATION parses, so `ansible-doc MODULE` is a usable manual, and its
options match the module's argument spec."""

from __future__ import annotations

import json
import subprocess

import pytest
from conftest import REPO, VENV_BIN, ansible_env

MODULES = sorted(p.stem for p in (REPO / "plugins" / "modules").glob("*.py"))


@pytest.mark.parametrize("module", MODULES)
def test_ansible_doc_renders(module: str) -> None:
    result = subprocess.run(
        [str(VENV_BIN / "ansible-doc"), "--json", module],
        cwd=REPO,
        env=ansible_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)[module]
    assert doc["doc"]["short_description"] and doc["examples"].strip() and doc["return"]
    assert all("description" in option for option in doc["doc"]["options"].values())
