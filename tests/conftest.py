"""Shared helpers of the project's tests (tests/project, tests/python, tests/integration): where the
repository and the sandbox are, the sandbox's ports and secrets, a way to skip a test that needs a
sandbox service which is not running (naming it), running playbooks and modules with the project's
configuration, and (from tests/unit/helpers.py) a self-signed certificate with a local TLS server
for the TLS checks. Not part of the collection artifact (galaxy.yml's build_ignore): the
collection's unit tests under tests/unit do not use it."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
STATE = Path(os.environ.get("OPSBOOK_SANDBOX_STATE") or REPO / ".sandbox")
VENV_BIN = Path(sys.executable).parent


def _sandbox_ports() -> dict[str, int]:
    """The ports sandbox/lib/common.sh assigns, read from that file (the one place they live)."""
    text = (REPO / "sandbox" / "lib" / "common.sh").read_text()
    return {m[1].lower(): int(m[2]) for m in re.finditer(r"^([A-Z0-9_]+)_PORT=(\d+)$", text, re.M)}


PORTS = _sandbox_ports()

# The checkout is the collection opsbook.runbooks, linked under .collections by `make venv`:
# with that directory on sys.path, tests import its plugins by their collection paths
# (ansible_collections.opsbook.runbooks.plugins.module_utils.catalog), as Ansible and ansible-test do.
COLLECTIONS = REPO / ".collections"
if not (COLLECTIONS / "ansible_collections" / "opsbook" / "runbooks" / "galaxy.yml").is_file():
    raise RuntimeError(f"{COLLECTIONS}/ansible_collections/opsbook/runbooks is missing: run `make venv`")
sys.path.insert(0, str(COLLECTIONS))

# The certificate and TLS server helpers live with the collection's unit tests, which need them too;
# the integration tests import them from here.
from ansible_collections.opsbook.runbooks.tests.unit.helpers import (  # noqa: E402, F401
    free_port,
    self_signed_certificate,
    tls_server,
    wait_port,
)


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex((host, port)) == 0


def secret(name: str) -> str:
    return (STATE / "secrets" / name).read_text().strip()


@pytest.fixture
def require() -> Callable[[str], int]:
    """require("ferretdb") returns the service's port, or skips naming the service."""

    def _require(service: str) -> int:
        port = PORTS[service]
        if not port_open(port):
            pytest.skip(f"sandbox service {service} is not running on 127.0.0.1:{port} (run `make sandbox-up`)")
        return port

    return _require


def ansible_env() -> dict[str, str]:
    env = dict(os.environ)
    env["ANSIBLE_CONFIG"] = str(REPO / "ansible.cfg")
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    env.setdefault("ANSIBLE_NOCOLOR", "1")
    return env


def run_venv(tool: str, *args: str, timeout: int = 600, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    """Run one of the venv's commands (ansible-playbook, opsbook, …) with the project's
    configuration, from the repository root unless told otherwise."""
    return subprocess.run(
        [str(VENV_BIN / tool), *args],
        cwd=cwd,
        env=ansible_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def ansible_inventory(path: Path, *extra: str) -> dict[str, Any]:
    """The inventory at `path` as `ansible-inventory --list` prints it, with the project's configuration."""
    out = subprocess.run(
        [str(VENV_BIN / "ansible-inventory"), "-i", str(path), "--list", *extra],
        cwd=REPO,
        env=ansible_env(),
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout)


def ferretdb_admin_client(port: int = PORTS["ferretdb"]) -> Any:
    """A pymongo client for the sandbox's FerretDB (or one on `port` with its credentials), as its administrator."""
    import pymongo

    return pymongo.MongoClient(
        host="127.0.0.1",
        port=port,
        username="opsbook_admin",
        password=secret("ferretdb_admin"),
        authSource="admin",
        directConnection=True,
        serverSelectionTimeoutMS=5000,
    )


def run_playbook(*args: str, timeout: int = 600) -> subprocess.CompletedProcess[str]:
    """Run ansible-playbook from the repository root with the project's configuration."""
    return run_venv("ansible-playbook", *args, timeout=timeout)


# The fleet (`make sandbox-up FLEET=1`): its inventory, its hosts' addresses (from the inventory,
# the one place they are written) and the throw-away password of its vault.
FLEET_INVENTORY = REPO / "inventories" / "fleet"
FLEET_VAULT_PASSWORD = FLEET_INVENTORY / "vault-password.txt"
# The fleet's runs write their reports apart from the loopback sandbox's, whose tests run beside
# them (make integration): a test reads its own run's newest report.
FLEET_REPORTS = REPO / "reports" / "fleet"


def fleet_hosts() -> dict[str, str]:
    """{host: address} of the fleet inventory."""
    import yaml

    hosts: dict[str, str] = {}
    for group in yaml.safe_load((FLEET_INVENTORY / "hosts.yml").read_text())["all"]["children"].values():
        hosts.update({name: spec["ansible_host"] for name, spec in (group.get("hosts") or {}).items()})
    return hosts


def require_fleet() -> dict[str, str]:
    """The fleet's hosts, or a skip naming the fleet when its hosts do not answer SSH."""
    hosts = fleet_hosts()
    down = [name for name, address in hosts.items() if not port_open(22, address)]
    if down:
        pytest.skip(f"the sandbox's fleet is not up (no SSH on {', '.join(down)}; run `make sandbox-up FLEET=1`)")
    return hosts


def run_fleet(playbook: str, *args: str, inventory: Path | None = FLEET_INVENTORY, timeout: int = 900) -> Any:
    """Run playbooks/<playbook> against the fleet over SSH; with inventory=None, the inventory
    sources are among `args` (an example inventory and its overlay)."""
    sources = ["-i", str(inventory)] if inventory is not None else []
    return run_playbook(
        *sources, "--vault-password-file", str(FLEET_VAULT_PASSWORD),
        "-e", f"opsbook_report_dir={FLEET_REPORTS}", f"playbooks/{playbook}", *args, timeout=timeout,
    )  # fmt: skip


def fleet_ssh(host: str, command: str, *, check: bool = True, timeout: int = 300) -> subprocess.CompletedProcess[str]:
    """Run a shell command on a fleet host as its ops user (sudo inside the command when needed)."""
    run = subprocess.run(
        [
            "ssh", "-i", str(STATE / "fleet" / "ssh" / "id_ed25519"),
            "-o", f"UserKnownHostsFile={STATE / 'fleet' / 'ssh' / 'known_hosts'}", "-o", "BatchMode=yes",
            f"ops@{fleet_hosts()[host]}", command,
        ],
        capture_output=True, text=True, timeout=timeout, check=False,
    )  # fmt: skip
    if check:
        assert run.returncode == 0, f"{host}: {command}: {run.stdout[-2000:]} {run.stderr[-2000:]}"
    return run


def recap(stdout: str) -> dict[str, dict[str, int]]:
    """The PLAY RECAP of an ansible-playbook run: {host: {ok, changed, unreachable, failed, ...}}."""
    counts = {}
    for match in re.finditer(r"^(\S+)\s+:\s+((?:\w+=\d+\s*)+)$", stdout, re.M):
        counts[match[1]] = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", match[2])}
    return counts


def changed_hosts(stdout: str, ignore: tuple[str, ...] = ("localhost",)) -> dict[str, int]:
    """The hosts whose tasks reported a change (the controller, which writes reports, left out)."""
    return {host: c["changed"] for host, c in recap(stdout).items() if c.get("changed") and host not in ignore}


def run_module(tmp_path: Path, module: str, args: dict[str, Any], *, check: bool = False) -> dict[str, Any]:
    """Run one module on localhost through ansible-playbook and return its registered result
    (failed or not). args may hold Jinja expressions, such as a lookup of the alert catalog. A
    short module name is one of the collection's (opsbook.runbooks.<name>)."""
    module = module if "." in module else f"opsbook.runbooks.{module}"
    out = tmp_path / f"{module}-result.json"
    playbook = tmp_path / f"{module}.yml"
    playbook.write_text(
        json.dumps(
            [
                {
                    "hosts": "localhost",
                    "gather_facts": False,
                    "tasks": [
                        {module: "{{ module_args }}", "vars": {"module_args": args}, "register": "result",
                         "ignore_errors": True},
                        {"ansible.builtin.copy": {"content": "{{ result | to_json }}", "dest": str(out),
                                                  "mode": "0600"},
                         "check_mode": False},
                    ],
                }
            ]
        )
    )  # fmt: skip
    run = run_playbook(
        "-i", "localhost,", "-c", "local", "-e", "ansible_python_interpreter={{ ansible_playbook_python }}",
        *(["--check"] if check else []), str(playbook),
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    return json.loads(out.read_text())
