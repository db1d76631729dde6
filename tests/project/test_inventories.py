"""Every shipped inventory parses, has the groups the runbooks use, and describes its services the
way the preamble requires; example secrets are vault-encrypted, never plain."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import REPO, ansible_inventory

GROUPS = {"app", "lb", "monitoring", "redis"}
DATABASE_GROUPS = {"mongodb", "postgres"}
EXAMPLES = sorted(p for p in (REPO / "inventories" / "examples").iterdir() if p.is_dir())
CRITICALITY = {"critical", "high", "medium", "low"}


@pytest.fixture(scope="module")
def vault_password_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("vault") / "pass"
    path.write_text("opsbook-example\n")
    path.chmod(0o600)
    return path


def check_shape(inv: dict) -> None:
    assert set(inv) >= GROUPS, f"missing groups: {GROUPS - set(inv)}"
    assert DATABASE_GROUPS & set(inv), "no mongodb or postgres group"
    hostvars = inv["_meta"]["hostvars"]
    assert hostvars, "inventory has no hosts"
    any_host = next(iter(hostvars.values()))
    assert any_host["opsbook_platform_type"] in {"compose", "kubernetes"}
    services = any_host["opsbook_services"]
    names = [s["name"] for s in services]
    assert len(names) == len(set(names)), f"duplicate service names: {names}"
    for svc in services:
        assert svc["criticality"] in CRITICALITY, svc
        assert "type" in svc["health_check"], svc


def test_local_inventory_describes_the_sandbox() -> None:
    inv = ansible_inventory(REPO / "inventories" / "local")
    check_shape(inv)
    assert set(inv) >= DATABASE_GROUPS
    hv = inv["_meta"]["hostvars"]["sandbox-mongodb"]
    assert hv["ansible_connection"] == "local"
    assert {s["name"] for s in hv["opsbook_services"]} >= {
        "api",
        "worker",
        "mongodb",
        "postgres",
        "redis",
        "nginx",
    }


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_inventory(path: Path, vault_password_file: Path) -> None:
    inv = ansible_inventory(path, "--vault-password-file", str(vault_password_file))
    check_shape(inv)
    hv = next(iter(inv["_meta"]["hostvars"].values()))
    assert any(k.startswith("vault_") for k in hv), "the example's vault.yml did not load"


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_secrets_are_encrypted(path: Path) -> None:
    for f in path.rglob("*.yml"):
        text = f.read_text()
        if f.name == "vault.yml":
            assert text.startswith("$ANSIBLE_VAULT;"), f"{f} is not vault-encrypted"
        else:
            assert "example-" not in text and "password:" not in text.replace("_password:", ""), (
                f"{f} holds a secret outside vault.yml"
            )
