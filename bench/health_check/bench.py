#!/usr/bin/env python3
"""bench/health_check: the daily health check over 10 and 50 hosts, against a bare playbook.

Hosts are containers of the sandbox's base image (opsbook/base:bookworm, sshd with key login)
on the sandbox's Docker engine, reached over SSH like any inventory host. For each host count the
two playbooks run alternately, ROUNDS times each, in the same run (these machines are noisy):

  baseline      one ansible.builtin.ping and one ansible.builtin.command per host
  health_check  playbooks/health_check.yml (host figures on every host, evaluation against the
                alert catalog, the report written)

and the script prints the median wall and CPU time of each and their ratios. Targets (issue 3): 50 hosts
in under 30 s, ratio under 2.0. Run it with the sandbox up (`make sandbox-up`):

    .venv/bin/python bench/health_check/bench.py [--hosts 10 50] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
STATE = Path(os.environ.get("OPSBOOK_SANDBOX_STATE") or REPO / ".sandbox")
DOCKER = ["docker", "-H", f"unix://{STATE / 'run' / 'docker.sock'}"]
IMAGE = "opsbook/base:bookworm"
PREFIX = "opsbook-bench-hc-"
VENV_BIN = Path(sys.executable).parent

BASELINE = """
- name: Baseline
  hosts: bench
  gather_facts: false
  tasks:
    - name: Ping
      ansible.builtin.ping:
    - name: Run a command
      ansible.builtin.command: uptime
      changed_when: false
"""


def docker(*args: str, capture: bool = True) -> str:
    run = subprocess.run([*DOCKER, *args], capture_output=capture, text=True, check=True)
    return run.stdout.strip() if capture else ""


def start_hosts(count: int, workdir: Path) -> dict[str, str]:
    """Start `count` containers with the bench's public key; return {name: ip}."""
    key = workdir / "id_ed25519"
    if not key.exists():
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    authorized = workdir / "authorized_keys"
    shutil.copy(f"{key}.pub", authorized)
    authorized.chmod(0o644)
    hosts = {}
    for index in range(count):
        name = f"{PREFIX}{index:02d}"
        docker(
            "run", "-d", "--name", name, "--hostname", name, "-v", f"{authorized}:/root/.ssh/authorized_keys:ro", IMAGE
        )
        hosts[name] = docker("inspect", "-f", "{{.NetworkSettings.IPAddress}}", name)
    return hosts


def wait_for_ssh(hosts: dict[str, str], timeout: float = 120) -> None:
    """Wait until every container's sshd accepts connections (it makes its host keys first)."""
    deadline = time.monotonic() + timeout
    pending = dict(hosts)
    while pending:
        for name, ip in list(pending.items()):
            with socket.socket() as s:
                s.settimeout(0.5)
                if s.connect_ex((ip, 22)) == 0:
                    del pending[name]
        if pending and time.monotonic() > deadline:
            sys.exit(f"sshd did not start in {', '.join(pending)}")
        time.sleep(0.2)


def stop_hosts() -> None:
    names = docker("ps", "-aq", "--filter", f"name={PREFIX}").split()
    if names:
        docker("rm", "-f", *names)


def write_inventory(hosts: dict[str, str], workdir: Path) -> Path:
    inventory = {
        "all": {
            "vars": {
                "ansible_user": "root",
                "ansible_ssh_private_key_file": str(workdir / "id_ed25519"),
                # Throw-away containers with new host keys each run.
                "ansible_ssh_common_args": "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null",
                "ansible_python_interpreter": "/usr/bin/python3",
                "opsbook_platform_name": "bench",
                "opsbook_platform_type": "compose",
                "opsbook_services": [],
                "opsbook_report_dir": str(workdir / "reports"),
            },
            "children": {"bench": {"hosts": {n: {"ansible_host": ip} for n, ip in hosts.items()}}},
        }
    }
    path = workdir / "inventory.json"
    path.write_text(json.dumps(inventory))
    return path


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(playbook: Path, inventory: Path) -> tuple[float, float]:
    """Wall time and the CPU time of ansible-playbook and all its children (steadier when other
    work shares the machine)."""
    env = {**os.environ, "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"), "ANSIBLE_HOST_KEY_CHECKING": "False"}
    cpu = children_cpu()
    start = time.monotonic()
    run = subprocess.run(
        [str(VENV_BIN / "ansible-playbook"), "-i", str(inventory), str(playbook)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.monotonic() - start
    if run.returncode != 0:
        sys.exit(f"{playbook.name} failed:\n{run.stdout[-3000:]}\n{run.stderr[-2000:]}")
    return elapsed, children_cpu() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hosts", type=int, nargs="+", default=[10, 50])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    health = REPO / "playbooks" / "health_check.yml"
    rows = []
    with tempfile.TemporaryDirectory(prefix="opsbook-bench-") as tmp:
        workdir = Path(tmp)
        baseline = workdir / "baseline.yml"
        baseline.write_text(BASELINE)
        try:
            for count in args.hosts:
                stop_hosts()
                hosts = start_hosts(count, workdir)
                wait_for_ssh(hosts)
                inventory = write_inventory(hosts, workdir)
                timed(baseline, inventory)  # warm-up: sshd up, SSH control sockets open
                runs: dict[str, list[tuple[float, float]]] = {"baseline": [], "health_check": []}
                for _ in range(args.rounds):
                    runs["baseline"].append(timed(baseline, inventory))
                    runs["health_check"].append(timed(health, inventory))
                wall = {k: statistics.median(w for w, _ in v) for k, v in runs.items()}
                cpu = {k: statistics.median(c for _, c in v) for k, v in runs.items()}
                rows.append((count, wall, cpu, runs))
                print(
                    f"{count:3d} hosts: baseline {wall['baseline']:6.1f} s, health check {wall['health_check']:6.1f} s,"
                    f" wall ratio {wall['health_check'] / wall['baseline']:4.2f},"
                    f" CPU ratio {cpu['health_check'] / cpu['baseline']:4.2f}",
                    flush=True,
                )
        finally:
            stop_hosts()
    print(
        "\n| hosts | baseline (ping + command): wall / CPU | health check: wall / CPU | wall ratio | CPU ratio |"
        "\n|---|---|---|---|---|"
    )
    for count, wall, cpu, _runs in rows:
        print(
            f"| {count} | {wall['baseline']:.1f} s / {cpu['baseline']:.1f} s"
            f" | {wall['health_check']:.1f} s / {cpu['health_check']:.1f} s"
            f" | {wall['health_check'] / wall['baseline']:.2f} | {cpu['health_check'] / cpu['baseline']:.2f} |"
        )
    print(
        f"\nrounds per figure: {args.rounds} (median); all runs (wall, CPU): " + json.dumps({r[0]: r[3] for r in rows})
    )


if __name__ == "__main__":
    main()
