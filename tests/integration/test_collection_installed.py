"""The built collection, installed into a clean collections directory, runs a runbook by its FQCN
against the sandbox, with no help from the checkout (no ansible.cfg of the project, no
.collections link); and python/opsbook finds the playbooks and role specs in the installed layout
and runs one from there."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from conftest import REPO, VENV_BIN
from opsbook import Project, run


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("collection")
    env = {**os.environ, "ANSIBLE_CONFIG": str(REPO / "ansible.cfg")}
    build = subprocess.run(
        [str(VENV_BIN / "ansible-galaxy"), "collection", "build", "--output-path", str(tmp / "dist"), str(REPO)],
        capture_output=True, text=True, check=False, env=env,
    )  # fmt: skip
    assert build.returncode == 0, build.stdout + build.stderr
    [artifact] = (tmp / "dist").glob("opsbook-runbooks-*.tar.gz")
    install = subprocess.run(
        [str(VENV_BIN / "ansible-galaxy"), "collection", "install", "--force", "--no-deps",
         "-p", str(tmp / "collections"), str(artifact)],
        capture_output=True, text=True, check=False, env={**env, "ANSIBLE_GALAXY_COLLECTIONS_PATH_WARNING": "false"},
    )  # fmt: skip
    assert install.returncode == 0, install.stdout + install.stderr
    return tmp / "collections"


def clean_env(collections: Path, tmp: Path) -> dict[str, str]:
    """An environment that knows only the installed collection (and the pinned `ansible`
    package's collections in site-packages): a configuration of its own, in an empty directory."""
    config = tmp / "ansible.cfg"
    config.write_text(f"[defaults]\ncollections_path = {collections}\n")
    keep = ("HOME", "LANG", "OPSBOOK_SANDBOX_STATE", "OPSBOOK_CACHE", "DOCKER_HOST")
    env = {k: v for k, v in os.environ.items() if k in keep}
    return {**env, "ANSIBLE_CONFIG": str(config), "PATH": f"{VENV_BIN}:/usr/bin:/bin", "ANSIBLE_NOCOLOR": "1"}


def test_the_installed_collection_runs_a_runbook_by_its_fqcn(installed: Path, tmp_path: Path, require) -> None:
    for service in ("ferretdb", "postgres", "redis", "nginx_https", "app_api"):
        require(service)
    result = subprocess.run(
        [str(VENV_BIN / "ansible-playbook"), "-i", str(REPO / "inventories" / "local"), "opsbook.runbooks.smoke"],
        cwd=tmp_path, env=clean_env(installed, tmp_path), capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "/ansible_collections/opsbook/runbooks/" in result.stdout or "answers" in result.stdout
    assert str(REPO / ".collections") not in result.stdout


def test_opsbook_finds_and_runs_the_installed_layout(installed: Path, require) -> None:
    require("ferretdb")
    project = Project.discover(installed / "ansible_collections" / "opsbook" / "runbooks")
    assert project.installed and not (project.root / "ansible.cfg").exists()
    books = {book.name for book in project.playbooks()}
    assert {"health_check", "smoke", "prepare_hosts", "backup"} <= books
    assert project.role_path("opsbook.runbooks.health_check") == project.root / "roles" / "health_check"
    result = run("smoke", inventory=REPO / "inventories" / "local", project_dir=project.root, timeout=600)
    assert result.status == "successful", result.failed_tasks
