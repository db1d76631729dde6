"""``opsbook.run`` and ``opsbook.run_async``: a typed facade over ansible_runner.

Each run gets a private data directory (0700, on tmpfs when available) that is removed when the
run ends, and an artifact directory ``<project>/artifacts/<ident>`` (events, status, rc, the
command with its environment redacted); the last ``keep_artifacts`` are kept. Non-secret variables
go to a 0600 vars file in the private directory; secrets go through opsbook.secrets and never
reach runner. Results are built from runner's events.
"""

from __future__ import annotations

import inspect
import json
import logging
import math
import os
import queue
import shlex
import shutil
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, ParamSpec

import ansible_runner

from opsbook import proctree
from opsbook.errors import InvalidInput, RunnerError
from opsbook.project import Playbook, Project
from opsbook.results import Event, EventCollector, RunResult, RunStatus
from opsbook.secrets import SecretVars, private_tempdir, scrub
from opsbook.specs import playbook_spec

__all__ = ["RunHandle", "run", "run_async"]

log = logging.getLogger(__name__)

EventCallback = Callable[[Event], None]
DEFAULT_KEEP_ARTIFACTS = 20
# How often runner's loop checks for cancel and timeout (its default is 5 s).
_POLL_SECONDS = 0.2
_MAX_EVENT_RES = 50_000_000
_SAFE_ENV_PREFIXES = ("ANSIBLE_", "RUNNER_", "LC_", "OPSBOOK_RUN_ID")
_SAFE_ENV_NAMES = frozenset(
    {"PATH", "HOME", "USER", "LOGNAME", "LANG", "PWD", "SHELL", "VIRTUAL_ENV", "AWX_ISOLATED_DATA_DIR", "MAX_EVENT_RES"}
)
_RUNNER_STATUS = {
    "successful": RunStatus.SUCCESSFUL,
    "failed": RunStatus.FAILED,
    "timeout": RunStatus.TIMEOUT,
    "canceled": RunStatus.CANCELED,
}
_END = object()
_P = ParamSpec("_P")


def _resolve_inventory(project: Project, inventory: str | Path) -> Path:
    path = Path(inventory).expanduser()
    for candidate in [path] if path.is_absolute() else [project.root / path, Path.cwd() / path]:
        if candidate.exists():
            return candidate.resolve()
    raise InvalidInput("inventory", f"{inventory} does not exist (relative paths are read from {project.root})")


def _tags(tags: str | Sequence[str] | None) -> str | None:
    if tags is None:
        return None
    items = [tags] if isinstance(tags, str) else list(tags)
    joined = ",".join(str(item).strip() for item in items if str(item).strip())
    if not joined:
        raise InvalidInput("tags", "empty tag list")
    return joined


def tool_path() -> str:
    """The PATH runs get, as the Makefile sets it: this Python's bin directory (the venv's
    ansible-playbook), then opsbook's tool cache (mongodump, mongorestore), then $PATH."""
    path = [str(Path(sys.executable).parent)]
    tools = Path(os.environ.get("OPSBOOK_CACHE") or Path.home() / ".cache" / "opsbook") / "bin"
    if tools.is_dir():
        path.append(str(tools))
    path.append(os.environ.get("PATH", os.defpath))
    return os.pathsep.join(path)


def run_environment(project: Project, ident: str) -> dict[str, str]:
    """What ansible-playbook needs beyond the caller's environment: the project's ansible.cfg,
    the venv's tools first on PATH, host key checking as ansible.cfg says (runner would turn it
    off), no colours in event text, and the run's process marker."""
    host_key_checking = project.config("defaults", "host_key_checking", "true")
    env = {
        "ANSIBLE_HOST_KEY_CHECKING": os.environ.get("ANSIBLE_HOST_KEY_CHECKING", host_key_checking),
        "ANSIBLE_NOCOLOR": "1",
        # Runner's callback drops a task result longer than MAX_EVENT_RES characters (700 000 by
        # default) from its event; keep results whole up to 50 MB.
        "MAX_EVENT_RES": os.environ.get("MAX_EVENT_RES", str(_MAX_EVENT_RES)),
        "PATH": tool_path(),
        proctree.MARKER: ident,
    }
    if project.ansible_cfg.is_file():
        env["ANSIBLE_CONFIG"] = str(project.ansible_cfg)
    if project.collections_root is not None:
        # The installed collection (no ansible.cfg of its own): where it is installed is searched
        # first, then whatever the caller's configuration names.
        known = os.environ.get("ANSIBLE_COLLECTIONS_PATH", "")
        env["ANSIBLE_COLLECTIONS_PATH"] = os.pathsep.join(p for p in (str(project.collections_root), known) if p)
    return env


def _redact_command_artifact(artifact_dir: Path) -> None:
    """Runner records the whole environment of the run in ``artifacts/<ident>/command``; keep the
    variable names and only the values known not to be secret."""
    path = artifact_dir / "command"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    env = data.get("env") or {}
    data["env"] = {
        key: value if key in _SAFE_ENV_NAMES or key.startswith(_SAFE_ENV_PREFIXES) else "<redacted>"
        for key, value in env.items()
    }
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(data, handle)
    tmp.replace(path)


class RunHandle:
    """A run in progress. ``events()`` streams its events, ``cancel()`` stops it (the whole
    process tree within 5 s), ``wait()`` returns its RunResult."""

    def __init__(
        self,
        *,
        project: Project,
        playbook: Playbook,
        ident: str,
        runner_kwargs: dict[str, Any],
        private_dir: Path,
        artifact_dir: Path,
        report_root: Path,
        secrets: SecretVars | None,
        check: bool,
        timeout: float | None,
        on_event: EventCallback | None,
    ) -> None:
        self.project = project
        self.playbook = playbook
        self.ident = ident
        self.private_data_dir = private_dir
        self.artifact_dir = artifact_dir
        self._runner_kwargs = runner_kwargs
        self._report_root = report_root
        self._secrets = secrets
        self._scrub_strings = secrets.strings if secrets else frozenset()
        self._check = check
        self._timeout = timeout
        self._on_event = on_event
        self._collector = EventCollector()
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._cancel = threading.Event()
        self._timed_out = False
        self._done = threading.Event()
        self._result: RunResult | None = None
        self._error: BaseException | None = None
        self._started_wall = time.time()
        self._started = time.monotonic()
        self._thread = threading.Thread(target=self._main, name=f"opsbook-run-{ident}", daemon=True)

    def _start(self) -> None:
        self._thread.start()

    # Runner callbacks (runner's thread) -------------------------------------------------------

    def _event_handler(self, raw: dict[str, Any]) -> bool:
        scrub(raw, self._scrub_strings)
        event = Event.from_runner(raw)
        self._collector.add(event)
        if self._on_event is not None:
            try:
                self._on_event(event)
            except Exception:
                log.exception("on_event callback failed for event %s", event.type)
        self._queue.put(event)
        return True

    def _status_handler(self, status: Mapping[str, Any], runner_config: Any = None) -> None:
        if status.get("status") == "running":
            _redact_command_artifact(self.artifact_dir)

    def _cancel_callback(self) -> bool:
        if self._cancel.is_set():
            return True
        if self._timeout is not None and time.monotonic() - self._started > self._timeout:
            self._timed_out = True
            return True
        return False

    # The run ------------------------------------------------------------------------------------

    def _main(self) -> None:
        runner_status = "failed"
        rc: int | None = None
        try:
            runner = ansible_runner.run(
                **self._runner_kwargs,
                event_handler=self._event_handler,
                status_handler=self._status_handler,
                cancel_callback=self._cancel_callback,
            )
            runner_status = str(runner.status)
            rc = runner.rc if isinstance(runner.rc, int) else None
        except Exception as err:
            self._error = err
        finally:
            stopped = self._cancel.is_set() or self._timed_out or self._error is not None
            if stopped:
                left = proctree.terminate(self.ident)
                if left:
                    log.error("run %s: processes %s survived cancel", self.ident, left)
            self._cleanup()
            try:
                self._result = self._build_result(runner_status, rc)
            except Exception as err:
                self._error = self._error or err
            self._done.set()
            self._queue.put(_END)

    def _cleanup(self) -> None:
        if self._secrets is not None:
            self._secrets.close()
        shutil.rmtree(self.private_data_dir, ignore_errors=True)

    def _build_result(self, runner_status: str, rc: int | None) -> RunResult:
        status = _RUNNER_STATUS.get(runner_status, RunStatus.FAILED)
        if self._timed_out:
            status = RunStatus.TIMEOUT
        report, report_path = self._collector.find_report(self._report_root, self._started_wall)
        if report is not None:
            report = scrub(report, self._scrub_strings)
        return RunResult(
            playbook=self.playbook.name,
            ident=self.ident,
            status=status,
            rc=rc,
            duration=time.monotonic() - self._started,
            check=self._check,
            hosts=dict(self._collector.hosts),
            failed_tasks=tuple(self._collector.failed_tasks),
            report=report,
            report_path=report_path,
            artifact_dir=self.artifact_dir if self.artifact_dir.is_dir() else None,
        )

    # Public API ---------------------------------------------------------------------------------

    def events(self) -> Iterator[Event]:
        """Every event of the run, as it happens; ends when the run ends. One consumer only."""
        while True:
            item = self._queue.get()
            if item is _END:
                self._queue.put(_END)
                return
            assert isinstance(item, Event)
            yield item

    def cancel(self) -> None:
        """Ask the run to stop; runner kills ansible-playbook's process group within a fraction of
        a second and opsbook then stops any process of the run still alive."""
        self._cancel.set()

    def done(self) -> bool:
        return self._done.is_set()

    def wait(self, timeout: float | None = None) -> RunResult:
        """Block until the run ends and return its result. Raises TimeoutError if it has not
        ended within ``timeout`` seconds (the run goes on), RunnerError if runner failed."""
        if not self._done.wait(timeout):
            raise TimeoutError(f"run {self.ident} still running after {timeout} s")
        if self._result is None or (self._error is not None and not self._collector.count):
            raise RunnerError(f"ansible-runner failed for {self.playbook.filename}: {self._error}") from self._error
        return self._result


def _check_options(
    *, timeout: float | None, keep_artifacts: int, limit: str | None, vault_password_file: str | Path | None
) -> Path | None:
    """Check the run's plain options; returns the vault password file, resolved, if one is given."""
    if timeout is not None and (not math.isfinite(timeout) or timeout <= 0):
        raise InvalidInput("timeout", f"must be a positive number of seconds, got {timeout}")
    if keep_artifacts < 1:
        raise InvalidInput("keep_artifacts", f"must be at least 1, got {keep_artifacts}")
    if limit is not None and not limit.strip():
        raise InvalidInput("limit", "empty host pattern")
    vault_file = Path(vault_password_file).expanduser().resolve() if vault_password_file else None
    if vault_file is not None and not vault_file.is_file():
        raise InvalidInput("vault_password_file", f"{vault_password_file} is not a file")
    return vault_file


def _check_variables(
    project: Project, book: Playbook, extravars: Mapping[str, Any] | None, secrets: Mapping[str, Any] | None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The variables and the secrets, checked against the playbook's role argument specs."""
    spec = playbook_spec(project, book)
    checked_vars = spec.validate(extravars or {})
    checked_secrets = spec.validate(secrets or {}, secret=True)
    both = sorted(set(checked_vars) & set(checked_secrets))
    if both:
        raise InvalidInput(both[0], "given both as a variable and as a secret")
    return checked_vars, checked_secrets


def _vars_file_args(private: Path, checked_vars: Mapping[str, Any]) -> list[str]:
    """Write the non-secret variables to a 0600 file in the private directory; its -e arguments."""
    if not checked_vars:
        return []
    vars_file = private / "extravars.json"
    fd = os.open(vars_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as vars_out:
        json.dump(checked_vars, vars_out)
    return ["-e", f"@{vars_file}"]


def _runner_settings(project: Project, ident: str) -> dict[str, Any]:
    """The arguments of ansible_runner.run that every run has (its environment, quiet, no stdout
    copy), to which run_async adds the run's own."""
    return {
        "project_dir": str(project.root),
        "envvars": run_environment(project, ident),
        "quiet": True,
        "suppress_env_files": True,
        # Keep the fact cache ansible.cfg configures instead of one per run in the artifacts.
        "fact_cache_type": "ansible.cfg",
        # Events carry everything; no stdout copy on disk (it would escape scrubbing).
        "settings": {"pexpect_timeout": _POLL_SECONDS, "suppress_output_file": True},
    }


def run_async(
    playbook: str,
    *,
    inventory: str | Path,
    extravars: Mapping[str, Any] | None = None,
    limit: str | None = None,
    tags: str | Sequence[str] | None = None,
    check: bool = False,
    timeout: float | None = None,
    secrets: Mapping[str, Any] | None = None,
    on_event: EventCallback | None = None,
    project_dir: str | Path | None = None,
    vault_password_file: str | Path | None = None,
    artifacts_dir: str | Path | None = None,
    keep_artifacts: int = DEFAULT_KEEP_ARTIFACTS,
    verbosity: int = 0,
) -> RunHandle:
    """Start a runbook and return at once. Inputs are checked first (InvalidInput,
    PlaybookNotFound), so nothing starts when one is wrong. See ``run`` for the arguments."""
    project = Project.discover(project_dir)
    book = project.playbook(playbook)
    inventory_path = _resolve_inventory(project, inventory)
    vault_file = _check_options(
        timeout=timeout, keep_artifacts=keep_artifacts, limit=limit, vault_password_file=vault_password_file
    )
    checked_vars, checked_secrets = _check_variables(project, book, extravars, secrets)
    tag_list = _tags(tags)

    ident = f"{time.strftime('%Y%m%dT%H%M%S')}-{book.name}-{uuid.uuid4().hex[:8]}"
    artifacts_root = Path(artifacts_dir).resolve() if artifacts_dir else project.root / "artifacts"
    artifacts_root.mkdir(mode=0o700, parents=True, exist_ok=True)
    report_dir = checked_vars.get("opsbook_report_dir")
    report_root = project.root / str(report_dir) if report_dir else project.root / "reports"

    private = private_tempdir("opsbook-run-")
    secret_vars: SecretVars | None = None
    try:
        cmdline = _vars_file_args(private, checked_vars)
        if checked_secrets:
            secret_vars = SecretVars(checked_secrets, directory=private)
            cmdline += secret_vars.cmdline()
        if vault_file is not None:
            cmdline += ["--vault-id", str(vault_file)]
        if check:
            cmdline.append("--check")
        runner_kwargs = {
            **_runner_settings(project, ident),
            "private_data_dir": str(private),
            "playbook": str(book.path),
            "inventory": str(inventory_path),
            "limit": limit,
            "tags": tag_list,
            "cmdline": shlex.join(cmdline) if cmdline else None,
            "artifact_dir": str(artifacts_root),
            "ident": ident,
            "rotate_artifacts": keep_artifacts,
            "verbosity": verbosity or None,
        }
        handle = RunHandle(
            project=project,
            playbook=book,
            ident=ident,
            runner_kwargs=runner_kwargs,
            private_dir=private,
            artifact_dir=artifacts_root / ident,
            report_root=report_root,
            secrets=secret_vars,
            check=check,
            timeout=timeout,
            on_event=on_event,
        )
    except BaseException:
        if secret_vars is not None:
            secret_vars.close()
        shutil.rmtree(private, ignore_errors=True)
        raise
    log.info("starting %s as run %s", book.filename, ident)
    handle._start()
    return handle


def _waiting(start: Callable[_P, RunHandle]) -> Callable[_P, RunResult]:
    """A function that starts a run with `start`, waits for it and returns its RunResult; with
    the same arguments as `start`. Ctrl-C while waiting cancels the run, waits for it to stop and
    re-raises."""

    def run(*args: _P.args, **kwargs: _P.kwargs) -> RunResult:
        handle = start(*args, **kwargs)
        try:
            return handle.wait()
        except KeyboardInterrupt:
            handle.cancel()
            handle.wait()
            raise

    run.__signature__ = inspect.signature(start).replace(return_annotation=RunResult)  # type: ignore[attr-defined]
    return run


run = _waiting(run_async)
run.__doc__ = """Run a runbook and return its RunResult.

    playbook: a name from ``opsbook list`` (``smoke``, ``smoke.yml``).
    inventory: an inventory path, relative to the repository or absolute.
    extravars: variables, checked against the playbook's role argument specs before anything runs.
    limit, tags, check: as ansible-playbook's ``--limit``, ``--tags``, ``--check``.
    timeout: seconds; the run is then stopped (status ``timeout``).
    secrets: variables that never touch runner's files, environment or any command line.
    on_event: called in the runner's thread with each Event.
    project_dir: the repository (default: discovered, see Project.discover).
    vault_password_file: for inventories with vault-encrypted variables.
    artifacts_dir, keep_artifacts: where the per-run artifacts go (default ``<project>/artifacts``),
    and how many runs to keep.
    verbosity: 1 to 4, as ansible-playbook's ``-v`` to ``-vvvv`` (no_log results stay hidden).
    """
