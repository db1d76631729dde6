"""The example inventories are a contract: each runs as shipped, with only addresses, ports and
secrets changed. Each runs here through its overlay (tests/integration/overlays/NAME: its host
names mapped onto the fleet's hosts, addresses and ports changed): the health check, then backup
and backup_verify. Services an example names that the fleet does not run are reported down, as
they should be; what the fleet runs is checked up, and no check is left undone."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from conftest import FLEET_REPORTS, PORTS, REPO, STATE, fleet_ssh, port_open, require_fleet, run_fleet

pytestmark = pytest.mark.fleet
OVERLAYS = Path(__file__).parent / "overlays"
CACHE_BIN = Path(os.environ.get("OPSBOOK_CACHE") or Path.home() / ".cache" / "opsbook") / "bin"


def require_kubernetes() -> None:
    if not port_open(PORTS["kube_apiserver"]):
        pytest.skip("the sandbox's Kubernetes control plane is not up (make sandbox-up K8S=1)")


# Per example: its databases the fleet runs (checked up through the overlay's addresses), whether
# it runs over SSH on fleet hosts (prepare_hosts.yml first), and the application files its file
# sets back up, made on the mapped host as a user's server has them.
EXAMPLES: dict[str, dict[str, Any]] = {
    "ecommerce-compose": {
        "up": {"postgres", "postgres-ai", "redis", "ai-gateway"},
        # The fleet's nginx has the fleet's certificate, for shop.fleet.opsbook.test: checked at
        # lb1's address against that name it answers (the fleet's application has no page at /).
        "answers": {"nginx": "HTTP 404"},
        "ssh": True,
        "files": ("app1", "/opt/ecommerce", [".env", "deploy/docker/compose/base.yml"]),
        # Seed 004's databases, on the fleet's two PostgreSQL servers, as the shop's server has them.
        "databases": [(5432, "ecommerce"), (5433, "ecommerce_ai")],
        "verified": ["postgres", "postgres-ai", "files"],
    },
    "face-recognition-compose": {
        "up": {"mongodb", "redis", "face-recognition", "rag-engine"},
        "ssh": True,
        "files": ("app1", "/opt/face-recognition", [".env", "docker-compose.yml"]),
        "verified": ["mongodb", "files"],
    },
    "eyewearml-kubernetes": {
        "up": {"mongodb", "redis"},
        "ssh": False,
        "files": None,
        "verified": ["mongodb"],
        # Its Deployments, in the sandbox's control plane; kwok simulates pods, not containers, so
        # there are no logs to read (docs/kubernetes.md): the health check leaves them out.
        "workload": OVERLAYS / "eyewearml-kubernetes" / "workload.yml",
        "health_args": [
            "-e",
            '{"health_check_checks": ["host", "http", "tcp", "mongodb", "redis", "containers", "backups"]}',
        ],
    },
}


def inventory(name: str) -> list[str]:
    return ["-i", str(REPO / "inventories" / "examples" / name), "-i", str(OVERLAYS / name)]


def run(name: str, playbook: str, *args: str) -> Any:
    result = run_fleet(playbook, *inventory(name), *args, inventory=None)
    assert result.returncode == 0, result.stdout[-6000:]
    return result


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_example_runs_health_check_backup_and_verify_on_the_fleet(name: str) -> None:
    require_fleet()
    example = EXAMPLES[name]
    if example["files"]:
        host, root, paths = example["files"]
        for path in paths:
            fleet_ssh(
                host, f"sudo mkdir -p {Path(root, path).parent} && echo 'APP=1' | sudo tee {root}/{path} >/dev/null"
            )
    for port, database in example.get("databases", []):
        psql = f"sudo -u postgres psql -X -q -p {port}"
        exists = fleet_ssh("pg1", f"{psql} -tAc \"SELECT 1 FROM pg_database WHERE datname = '{database}'\"").stdout
        if exists.strip() != "1":
            fleet_ssh("pg1", f"{psql} -c 'CREATE DATABASE {database}'")
            table = "CREATE TABLE orders AS SELECT g AS id, g * 1.5 AS total FROM generate_series(1, 500) g"
            fleet_ssh("pg1", f"{psql} -d {database} -c '{table}'")
    if example.get("workload"):
        require_kubernetes()
        kubeconfig = STATE / "kubernetes" / "admin.kubeconfig"
        applied = subprocess.run(
            [str(CACHE_BIN / "kubectl"), "--kubeconfig", str(kubeconfig), "apply", "-f", str(example["workload"])],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert applied.returncode == 0, applied.stderr
    if example["ssh"]:
        run(name, "prepare_hosts.yml")
    health = run(name, "health_check.yml", *example.get("health_args", []))
    reports = sorted(FLEET_REPORTS.glob("*-health_check"))
    report = json.loads((reports[-1] / "report.json").read_text())
    assert report["broken_checks"] == [], report["broken_checks"]
    up = {s["name"] for s in report["services"] if s["up"]}
    assert example["up"] <= up, (
        f"{name}: expected up {sorted(example['up'])}, up: {sorted(up)}\n{health.stdout[-3000:]}"
    )
    details = {s["name"]: s["detail"] for s in report["services"]}
    for service, answer in example.get("answers", {}).items():
        assert details[service].startswith(answer), details[service]
    # A missing backup reads as such, never as a number of hours.
    assert "1000000" not in health.stdout
    run(name, "backup.yml")
    verified = run(name, "backup_verify.yml")
    for target in example["verified"]:
        assert f"{target}: 2" in verified.stdout, f"{name}: {target} not verified\n{verified.stdout[-3000:]}"
    assert "FAILED" not in verified.stdout
