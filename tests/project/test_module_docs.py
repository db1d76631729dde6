"""Every module documents its return values. validate-modules (`make sanity`) checks the rest of
what `ansible-doc` shows: options against the argument spec, descriptions, examples; a missing
RETURN is only a warning there."""

from __future__ import annotations

import functools
import json
import subprocess
from typing import Any

import pytest
from conftest import REPO, VENV_BIN, ansible_env

MODULES = sorted(f"opsbook.runbooks.{p.stem}" for p in (REPO / "plugins" / "modules").glob("*.py"))


@functools.cache
def ansible_doc() -> dict[str, Any]:
    """Every module's documentation as `ansible-doc --json` renders it, in one run."""
    result = subprocess.run(
        [str(VENV_BIN / "ansible-doc"), "--json", *MODULES],
        cwd=REPO,
        env=ansible_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.mark.parametrize("module", MODULES)
def test_module_documents_its_return_values(module: str) -> None:
    assert module in ansible_doc(), f"ansible-doc does not find {module}"
    assert ansible_doc()[module]["return"]
