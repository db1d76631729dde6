#!/usr/bin/env python3
"""bench/runner: the same playbook through opsbook.run and through plain ansible-playbook,
interleaved in one run on the sandbox inventory, and the ratio of their median wall times (and,
steadier on a busy machine, of their CPU times: this process and all its children).

    .venv/bin/python bench/runner/run.py [--playbook health_check] [--rounds 5] [--inventory inventories/local]

Default playbook: health_check.yml when it exists, else smoke.yml. Each round runs both, in
alternating order, so load from other work on the machine hits both alike. Target: ratio <= 1.10.
Exit status 1 when a run fails or the ratio is above --target.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import opsbook
from opsbook.runner import run_environment

REPO = Path(__file__).resolve().parents[2]


def cpu() -> float:
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


def plain(playbook: Path, inventory: str) -> tuple[float, float]:
    env = {**os.environ, **run_environment(opsbook.Project(REPO), "bench-plain")}
    env.pop("OPSBOOK_RUN_ID", None)
    started, cpu_started = time.monotonic(), cpu()
    proc = subprocess.run(
        ["ansible-playbook", "-i", inventory, str(playbook)],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        check=False,
    )
    elapsed, cpu_used = time.monotonic() - started, cpu() - cpu_started
    if proc.returncode != 0:
        sys.exit(f"ansible-playbook {playbook.name} failed (rc {proc.returncode}): {proc.stderr[-2000:]}")
    return elapsed, cpu_used


def wrapped(name: str, inventory: str) -> tuple[float, float]:
    started, cpu_started = time.monotonic(), cpu()
    result = opsbook.run(name, inventory=inventory)
    elapsed, cpu_used = time.monotonic() - started, cpu() - cpu_started
    if not result.ok:
        sys.exit(f"opsbook.run({name}) {result.status}: {result.failed_tasks}")
    return elapsed, cpu_used


def main() -> int:
    default = "health_check" if (REPO / "playbooks" / "health_check.yml").is_file() else "smoke"
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--playbook", default=default)
    parser.add_argument("--inventory", default="inventories/local")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--target", type=float, default=1.10)
    args = parser.parse_args()
    book = opsbook.Project(REPO).playbook(args.playbook)

    # One warm-up of each (fact cache, imports, page cache), not counted.
    plain(book.path, args.inventory)
    wrapped(book.name, args.inventory)
    plain_times: list[tuple[float, float]] = []
    wrapped_times: list[tuple[float, float]] = []
    for index in range(args.rounds):
        order = [("plain", plain_times), ("opsbook", wrapped_times)]
        for kind, times in order if index % 2 == 0 else reversed(order):
            times.append(plain(book.path, args.inventory) if kind == "plain" else wrapped(book.name, args.inventory))
        print(
            f"round {index + 1}: ansible-playbook {plain_times[-1][0]:.2f} s (CPU {plain_times[-1][1]:.2f} s), "
            f"opsbook.run {wrapped_times[-1][0]:.2f} s (CPU {wrapped_times[-1][1]:.2f} s)",
            flush=True,
        )

    wall = [statistics.median(t[0] for t in times) for times in (plain_times, wrapped_times)]
    cpu_used = [statistics.median(t[1] for t in times) for times in (plain_times, wrapped_times)]
    ratio = wall[1] / wall[0]
    print(
        f"{book.filename} on {args.inventory}, {args.rounds} interleaved rounds: "
        f"ansible-playbook median {wall[0]:.2f} s (CPU {cpu_used[0]:.2f} s), "
        f"opsbook.run median {wall[1]:.2f} s (CPU {cpu_used[1]:.2f} s); "
        f"wall ratio {ratio:.3f} (target <= {args.target:.2f}), CPU ratio {cpu_used[1] / cpu_used[0]:.3f}"
    )
    return 0 if ratio <= args.target else 1


if __name__ == "__main__":
    sys.exit(main())
