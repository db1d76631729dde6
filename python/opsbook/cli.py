"""The ``opsbook`` command: ``list``, ``run``, ``doctor``.

Exit codes of ``opsbook run``: 0 success, 2 failed or unreachable hosts, 3 invalid input (unknown
playbook, bad variable, missing inventory), 4 timeout or canceled (Ctrl-C), 1 anything else (a
playbook that does not parse, ansible-runner failing). ``opsbook doctor``: 0 all checks pass,
1 a check failed, 2 a host did not answer.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import stat
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

import yaml

from opsbook import doctor
from opsbook.errors import InvalidInput, OpsbookError, PlaybookNotFound, ProjectNotFound
from opsbook.project import Project
from opsbook.results import Event, RunResult, RunStatus
from opsbook.runner import RunHandle, run_async

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_FAILED_HOSTS = 2
EXIT_INVALID_INPUT = 3
EXIT_STOPPED = 4

__all__ = ["EXIT_FAILED_HOSTS", "EXIT_INVALID_INPUT", "EXIT_OK", "EXIT_STOPPED", "exit_code", "main"]

_LONG_TASK_SECONDS = 1.0
_BAR_WIDTH = 24


def exit_code(result: RunResult) -> int:
    """The exit code ``opsbook run`` returns for a result."""
    if result.status is RunStatus.SUCCESSFUL:
        return EXIT_OK
    if result.status in (RunStatus.TIMEOUT, RunStatus.CANCELED):
        return EXIT_STOPPED
    if result.failed_hosts or result.failed_tasks:
        return EXIT_FAILED_HOSTS
    return EXIT_ERROR


# Inputs --------------------------------------------------------------------------------------------


def _parse_extravars(items: Sequence[str]) -> dict[str, Any]:
    """``-e KEY=VALUE`` (a string, converted by the role spec's type), ``-e @FILE`` (YAML or JSON),
    or ``-e '{"key": ...}'`` (a YAML/JSON mapping)."""
    values: dict[str, Any] = {}
    for item in items:
        if item.startswith("@"):
            path = Path(item[1:]).expanduser()
            try:
                data = yaml.safe_load(path.read_text(encoding="utf-8"))
            except (OSError, yaml.YAMLError) as err:
                raise InvalidInput(item, f"cannot read variables file: {err}") from err
            if not isinstance(data, dict):
                raise InvalidInput(item, "a variables file must hold a mapping")
            values.update(data)
        elif item.lstrip().startswith("{"):
            try:
                data = yaml.safe_load(item)
            except yaml.YAMLError as err:
                raise InvalidInput("-e", f"not a YAML/JSON mapping: {err}") from err
            if not isinstance(data, dict):
                raise InvalidInput("-e", "not a mapping")
            values.update(data)
        else:
            key, sep, value = item.partition("=")
            if not sep or not key:
                raise InvalidInput(item, "expected KEY=VALUE, @FILE or a JSON mapping")
            values[key.strip()] = value
    return values


def _read_secrets(names: Sequence[str], files: Sequence[str], stdin: TextIO) -> dict[str, Any]:
    """``--secret NAME`` asks for the value (no echo; one line of standard input when it is not a
    terminal); ``--secrets-file FILE`` reads a YAML mapping from a file only its owner may read."""
    secrets: dict[str, Any] = {}
    for item in files:
        path = Path(item).expanduser()
        try:
            mode = path.stat().st_mode
        except OSError as err:
            raise InvalidInput("--secrets-file", f"{path}: {err.strerror}") from err
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise InvalidInput("--secrets-file", f"{path} is readable by others; chmod 600 it")
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise InvalidInput("--secrets-file", f"{path} must hold a mapping")
        secrets.update(data)
    for name in names:
        if stdin.isatty():
            secrets[name] = getpass.getpass(f"{name}: ")
        else:
            line = stdin.readline()
            if not line:
                raise InvalidInput(name, "no value on standard input for this secret")
            secrets[name] = line.rstrip("\n")
    return secrets


# Live view ------------------------------------------------------------------------------------------


class LiveView:
    """Shows the play as it runs: on a terminal one redrawn line (play, task, hosts done/total, a
    progress bar and the elapsed time on long tasks); otherwise one line per task. Failures are
    printed as they happen. With verbose (``-v`` and more) each event's own output is printed as
    ansible-playbook prints it at that verbosity, instead of the compact view."""

    def __init__(self, out: TextIO, verbose: int = 0) -> None:
        self.out = out
        self.verbose = verbose
        self.tty = out.isatty()
        self.play = ""
        self.task = ""
        self.task_started = time.monotonic()
        self.run_started = time.monotonic()
        self.started_hosts: set[str] = set()
        self.done_hosts: set[str] = set()
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.ticker = threading.Thread(target=self._tick, daemon=True) if self.tty and not verbose else None

    def __enter__(self) -> LiveView:
        if self.ticker is not None:
            self.ticker.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        if self.ticker is not None:
            self.ticker.join()
            self._write("\r\x1b[K")

    def _write(self, text: str) -> None:
        self.out.write(text)
        self.out.flush()

    def _line(self, text: str) -> None:
        with self.lock:
            self._write(("\r\x1b[K" if self.tty else "") + text + "\n")

    def status_line(self) -> str:
        now = time.monotonic()
        total = len(self.started_hosts)
        done = len(self.done_hosts)
        text = f"[{now - self.run_started:5.0f}s] {self.play} > {self.task}" if self.task else f"{self.play}"
        if total:
            text += f"  hosts {done}/{total}"
        elapsed = now - self.task_started
        if self.task and elapsed >= _LONG_TASK_SECONDS and total:
            filled = round(_BAR_WIDTH * done / total)
            text += f" [{'#' * filled}{'-' * (_BAR_WIDTH - filled)}] {elapsed:.0f}s"
        return text

    def _tick(self) -> None:
        while not self.stop.wait(0.25):
            with self.lock:
                try:
                    columns = os.get_terminal_size(self.out.fileno()).columns
                except OSError:
                    columns = 0
                # A terminal that reports no size (a pty without one) gets a generous line.
                self._write("\r\x1b[K" + self.status_line()[: (columns if columns >= 40 else 160) - 1])

    def update(self, event: Event) -> None:
        if self.verbose:
            if event.stdout:
                self._write(event.stdout + "\n")
            return
        if event.type == "playbook_on_play_start":
            self.play = str(event.data.get("name", "")) or str(event.data.get("pattern", ""))
            if not self.tty:
                self._line(f"PLAY {self.play}")
        elif event.type == "playbook_on_task_start":
            with self.lock:
                self.task = event.task
                self.task_started = time.monotonic()
                self.started_hosts.clear()
                self.done_hosts.clear()
            if not self.tty:
                self._line(f"  task {event.task}")
        elif event.type == "runner_on_start":
            self.started_hosts.add(event.host)
        elif event.finishes_host:
            self.done_hosts.add(event.host)
            self.started_hosts.add(event.host)
            if event.type in ("runner_on_failed", "runner_on_unreachable") and not event.data.get("ignore_errors"):
                what = "UNREACHABLE" if event.type == "runner_on_unreachable" else "FAILED"
                message = str(event.result.get("msg", "")).splitlines()[:1]
                self._line(f"  {what} {event.host}: {event.task}: {message[0] if message else ''}")


def _summary(result: RunResult, out: TextIO) -> None:
    out.write(f"\n{result.playbook}: {result.status} in {result.duration:.1f}s (rc {result.rc})\n")
    if result.hosts:
        width = max(len(name) for name in result.hosts)
        out.write(f"  {'host'.ljust(width)}  ok changed failed unreachable skipped\n")
        for name, stats in sorted(result.hosts.items()):
            out.write(
                f"  {name.ljust(width)}  {stats.ok:>2} {stats.changed:>7} {stats.failed:>6}"
                f" {stats.unreachable:>11} {stats.skipped:>7}\n"
            )
    for task in result.failed_tasks:
        out.write(f"  failed: {task.host}: {task.task}: {task.message.splitlines()[0] if task.message else ''}\n")
    if result.report_path:
        out.write(f"  report: {result.report_path}\n")
    if result.artifact_dir:
        out.write(f"  events: {result.artifact_dir}\n")


# Commands -------------------------------------------------------------------------------------------


def _cmd_list(project: Project, args: argparse.Namespace, out: TextIO) -> int:
    books = project.playbooks()
    if args.json:
        json.dump([{"name": b.name, "purpose": b.purpose, "path": str(b.path)} for b in books], out, indent=2)
        out.write("\n")
        return EXIT_OK
    width = max((len(b.name) for b in books), default=0)
    for book in books:
        out.write(f"{book.name.ljust(width)}  {book.purpose or '(no purpose line in its header)'}\n")
    return EXIT_OK


def _cmd_run(project: Project, args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    extravars = _parse_extravars(args.extra_vars)
    secrets = _read_secrets(args.secret, args.secrets_file, sys.stdin)
    handle: RunHandle = run_async(
        args.playbook,
        inventory=args.inventory,
        extravars=extravars,
        limit=args.limit,
        tags=args.tags,
        check=args.check,
        timeout=args.timeout,
        secrets=secrets or None,
        project_dir=project.root,
        vault_password_file=args.vault_password_file,
        verbosity=min(args.verbose, 4),
    )
    view_out = err if args.json else out
    with LiveView(view_out, verbose=args.verbose) as view:
        try:
            for event in handle.events():
                view.update(event)
        except KeyboardInterrupt:
            view.stop.set()
            err.write("\ncanceling: stopping every process of the run…\n")
            handle.cancel()
            for _event in handle.events():
                pass
    result = handle.wait()
    if args.json:
        json.dump(result.to_dict(), out, indent=2, default=str)
        out.write("\n")
    else:
        _summary(result, out)
    return exit_code(result)


def _cmd_doctor(project: Project, args: argparse.Namespace, out: TextIO) -> int:
    checks = doctor.run_checks(project)
    if args.inventory:
        inventory = Path(args.inventory)
        inventory = inventory if inventory.is_absolute() else project.root / inventory
        if not inventory.exists():
            raise InvalidInput("inventory", f"{args.inventory} does not exist")
        vault = Path(args.vault_password_file).expanduser().resolve() if args.vault_password_file else None
        checks.extend(doctor.check_hosts(project, inventory, vault_password_file=vault))
    width = max(len(check.name) for check in checks)
    for check in checks:
        out.write(f"{'ok  ' if check.ok else 'FAIL'}  {check.name.ljust(width)}  {check.detail}\n")
    failed = [check for check in checks if not check.ok]
    out.write(f"{len(checks) - len(failed)} passed, {len(failed)} failed\n")
    if any(check.kind == "host" for check in failed):
        return EXIT_FAILED_HOSTS
    return EXIT_ERROR if failed else EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="opsbook", description="Run opsbook's operations runbooks.")
    parser.add_argument("--project", help="the opsbook repository (default: found from here)")
    sub = parser.add_subparsers(dest="command", required=True)

    p_list = sub.add_parser("list", help="the runbooks and their purpose")
    p_list.add_argument("--json", action="store_true", help="print JSON")

    p_run = sub.add_parser("run", help="run a runbook")
    p_run.add_argument("playbook", help="a name from `opsbook list`")
    p_run.add_argument("-i", "--inventory", required=True, help="inventory path")
    p_run.add_argument(
        "-e", "--extra-vars", action="append", default=[], metavar="KEY=VALUE|@FILE", help="a variable (repeatable)"
    )
    p_run.add_argument("--secret", action="append", default=[], metavar="NAME", help="ask for a secret variable")
    p_run.add_argument(
        "--secrets-file", action="append", default=[], metavar="FILE", help="secret variables (YAML, mode 0600)"
    )
    p_run.add_argument("-l", "--limit", help="host pattern")
    p_run.add_argument("-t", "--tags", help="comma-separated tags")
    p_run.add_argument("-C", "--check", action="store_true", help="check mode: change nothing")
    p_run.add_argument("--timeout", type=float, help="stop the run after this many seconds")
    p_run.add_argument("--vault-password-file", help="for inventories with vault-encrypted variables")
    p_run.add_argument("--json", action="store_true", help="print the result as JSON (live view on stderr)")
    p_run.add_argument(
        "-v", "--verbose", action="count", default=0, help="more detail, as ansible-playbook's -v ... -vvvv"
    )

    p_doctor = sub.add_parser("doctor", help="check versions, commands, libraries and hosts")
    p_doctor.add_argument("-i", "--inventory", help="also check every host of this inventory over its connection (SSH)")
    p_doctor.add_argument("--vault-password-file", help="for inventories with vault-encrypted variables")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    out, err = sys.stdout, sys.stderr
    try:
        project = Project.discover(args.project)
        if args.command == "list":
            return _cmd_list(project, args, out)
        if args.command == "run":
            return _cmd_run(project, args, out, err)
        return _cmd_doctor(project, args, out)
    except (InvalidInput, PlaybookNotFound) as error:
        err.write(f"opsbook: invalid input: {error}\n")
        return EXIT_INVALID_INPUT
    except ProjectNotFound as error:
        err.write(f"opsbook: {error}\n")
        return EXIT_INVALID_INPUT
    except OpsbookError as error:
        err.write(f"opsbook: {error}\n")
        return EXIT_ERROR
    except KeyboardInterrupt:
        err.write("opsbook: interrupted\n")
        return EXIT_STOPPED


if __name__ == "__main__":
    sys.exit(main())
