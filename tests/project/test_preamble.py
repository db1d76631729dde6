"""The shared preamble stops a playbook before any change when the inventory lacks the platform's
shape, and names what to fix."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import run_playbook

GOOD_SERVICE = "{name: api, health_check: {type: http, url: 'http://127.0.0.1/'}, criticality: critical}"


def write_inventory(tmp_path: Path, platform_vars: str) -> Path:
    inv = tmp_path / "hosts.yml"
    inv.write_text(
        "all:\n  hosts:\n    h1:\n      ansible_connection: local\n"
        "      ansible_python_interpreter: '{{ ansible_playbook_python }}'\n"
        f"  vars:\n{platform_vars}"
    )
    return inv


@pytest.mark.parametrize(
    ("platform_vars", "complaint"),
    [
        ("    opsbook_services: []\n", "opsbook_platform_type"),
        ("    opsbook_platform_type: swarm\n    opsbook_services: []\n", "compose or kubernetes"),
        (
            f"    opsbook_platform_type: compose\n    opsbook_services: [{GOOD_SERVICE}, {GOOD_SERVICE}]\n",
            "unique name",
        ),
        (
            "    opsbook_platform_type: compose\n"
            "    opsbook_services: [{name: api, health_check: {type: tcp}, criticality: urgent}]\n",
            "criticality",
        ),
    ],
    ids=["no-platform-type", "unknown-platform", "duplicate-service", "bad-criticality"],
)
def test_preamble_rejects_a_malformed_inventory(tmp_path: Path, platform_vars: str, complaint: str) -> None:
    inv = write_inventory(tmp_path, platform_vars)
    result = run_playbook("-i", str(inv), "playbooks/_preamble.yml")
    assert result.returncode != 0
    assert complaint in result.stdout + result.stderr


def test_preamble_accepts_a_well_formed_inventory(tmp_path: Path) -> None:
    inv = write_inventory(tmp_path, f"    opsbook_platform_type: compose\n    opsbook_services: [{GOOD_SERVICE}]\n")
    result = run_playbook("-i", str(inv), "playbooks/_preamble.yml")
    assert result.returncode == 0, result.stdout + result.stderr
