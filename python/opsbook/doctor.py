"""``opsbook doctor``: can this machine, and every host of an inventory, run the runbooks?

On the controller: the Python, ansible-core and ansible-runner versions, the collections of
``collections/requirements.yml``, the commands and Python libraries the playbooks' tasks use.
Given an inventory, on every host over its own connection (SSH for a user's servers): that it
answers, that privilege escalation reaches root, the interpreter, the Python libraries and tools
the runbooks run there (by the host's groups), the free space under the backup directory, and that
it reaches each service it is the health check's checker of; each problem says what to fix
(``playbooks/prepare_hosts.yml`` installs what is missing).
"""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import sys
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import ansible_runner
import yaml
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from opsbook.project import Playbook, Project, load_yaml
from opsbook.runner import run_environment, tool_path

__all__ = ["Check", "binaries_of", "check_hosts", "collection_versions", "host_checks", "libraries_of", "run_checks"]

MIN_PYTHON = (3, 11)
ANSIBLE_CORE = SpecifierSet(">=2.19,<2.20")
ANSIBLE_RUNNER = SpecifierSet(">=2.4")
_COMMAND_ACTIONS = frozenset(
    f"{prefix}{action}"
    for prefix in ("", "ansible.builtin.", "ansible.legacy.")
    for action in ("command", "shell", "raw")
)
# Module name prefix -> the Python libraries it imports on the host that runs it.
_MODULE_LIBRARIES: dict[str, tuple[str, ...]] = {
    "community.mongodb.": ("pymongo",),
    "mongodb_": ("pymongo",),
    "community.postgresql.": ("psycopg2",),
    "community.general.redis": ("redis",),
    "community.docker.": ("docker", "requests"),
    "amazon.aws.": ("boto3", "botocore"),
    "kubernetes.core.": ("kubernetes", "yaml"),
    "community.crypto.": ("cryptography",),
}
# Module name prefix -> commands it runs.
_MODULE_BINARIES: dict[str, tuple[str, ...]] = {
    "community.docker.docker_compose_v2": ("docker",),
    "kubernetes.core.helm": ("helm",),
}


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    kind: str = "check"


def _tasks(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, list):
        for item in node:
            yield from _tasks(item)
    elif isinstance(node, dict):
        yield node
        for key in ("block", "rescue", "always", "tasks", "pre_tasks", "post_tasks", "handlers"):
            yield from _tasks(node.get(key))


def _load(path: Path) -> Any:
    """A task or vars file, or None when it does not parse (ansible-playbook will say why)."""
    try:
        return load_yaml(path)
    except yaml.YAMLError:
        return None


def _task_files(project: Project, playbook: Playbook) -> list[Path]:
    files = [playbook.path]
    for role in project.inputs(playbook).roles:
        role_dir = project.role_path(role)
        if role_dir is not None:
            files.extend(sorted((role_dir / "tasks").glob("*.y*ml")))
            files.extend(sorted((role_dir / "handlers").glob("*.y*ml")))
    return files


def _role_defaults(project: Project, playbook: Playbook) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for role in project.inputs(playbook).roles:
        role_dir = project.role_path(role)
        for name in ("defaults/main.yml", "vars/main.yml"):
            path = role_dir / name if role_dir else None
            if path is not None and path.is_file():
                data = _load(path)
                if isinstance(data, dict):
                    values.update(data)
    return values


def _first_word(value: Any, defaults: dict[str, Any]) -> str | None:
    """The command a command/shell task runs, when it can be known without running anything."""
    if isinstance(value, dict):
        argv = value.get("argv")
        value = argv[0] if isinstance(argv, list) and argv else value.get("cmd") or value.get("_raw_params")
    if not isinstance(value, str) or not value.strip():
        return None
    word = value.split()[0]
    if word.startswith("{{") and word.endswith("}}"):
        resolved = defaults.get(word.strip("{} "))
        word = resolved.split()[0] if isinstance(resolved, str) and resolved.strip() else word
    if "{{" in word or "{%" in word or "=" in word:
        return None
    return word


_TOOL_VARIABLE_SUFFIXES = ("_path", "_bin", "_binary", "_executable")
_BARE_COMMAND = re.compile(r"^[\w.+-]+$")
_DEFAULTED_COMMAND = re.compile(r"default\(\s*['\"]([\w.+-]+)['\"]\s*\)")


def _tool_defaults(defaults: dict[str, Any]) -> set[str]:
    """Commands named by role defaults such as ``x_mongodump_path: "{{ y | default('mongodump') }}"``."""
    found: set[str] = set()
    for key, value in defaults.items():
        if not str(key).endswith(_TOOL_VARIABLE_SUFFIXES) or not isinstance(value, str):
            continue
        match = _DEFAULTED_COMMAND.search(value)
        if match:
            found.add(match[1])
        elif _BARE_COMMAND.match(value):
            found.add(value)
    return found


def binaries_of(project: Project, playbook: Playbook) -> set[str]:
    """Commands the playbook runs: the first word of its command/shell tasks (literal or a role
    default), the commands role defaults name (``*_path: mongodump``) and those some modules run."""
    defaults = _role_defaults(project, playbook)
    found: set[str] = _tool_defaults(defaults)
    for path in _task_files(project, playbook):
        for task in _tasks(_load(path)):
            for key, value in task.items():
                if key in _COMMAND_ACTIONS:
                    word = _first_word(value, defaults)
                    if word and word not in ("set", "cd", "test", "[", "echo", "true", "false", "exec"):
                        found.add(word)
                for prefix, binaries in _MODULE_BINARIES.items():
                    if str(key).startswith(prefix):
                        found.update(binaries)
    return found


def libraries_of(project: Project, playbook: Playbook) -> set[str]:
    """Python libraries the playbook's modules import."""
    found: set[str] = set()
    for path in _task_files(project, playbook):
        for task in _tasks(_load(path)):
            for key in task:
                for prefix, libraries in _MODULE_LIBRARIES.items():
                    if str(key).startswith(prefix):
                        found.update(libraries)
    return found


def collection_versions() -> dict[str, str]:
    """Installed collections (``namespace.name`` -> version) on this Python's and the default paths."""
    roots: list[Path] = [Path.home() / ".ansible" / "collections", Path("/usr/share/ansible/collections")]
    spec = importlib.util.find_spec("ansible_collections")
    if spec and spec.submodule_search_locations:
        roots.extend(Path(p).parent for p in spec.submodule_search_locations)
    versions: dict[str, str] = {}
    for root in roots:
        for manifest in root.glob("ansible_collections/*/*/MANIFEST.json"):
            try:
                info = json.loads(manifest.read_text(encoding="utf-8"))["collection_info"]
            except (OSError, ValueError, KeyError):
                continue
            versions.setdefault(f"{info['namespace']}.{info['name']}", str(info["version"]))
    return versions


def _version_check(name: str, installed: str | None, wanted: SpecifierSet) -> Check:
    if installed is None:
        return Check(name, False, f"not installed (wanted {wanted})")
    try:
        ok = Version(installed) in wanted
    except InvalidVersion:
        ok = False
    return Check(name, ok, f"{installed}" + ("" if ok else f" (wanted {wanted})"))


def _package_version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def run_checks(project: Project) -> list[Check]:
    """Every check that needs no inventory."""
    checks = [
        Check(
            "python",
            sys.version_info[:2] >= MIN_PYTHON,
            f"{sys.version.split()[0]} at {sys.executable}",
        ),
        _version_check("ansible-core", _package_version("ansible-core"), ANSIBLE_CORE),
        _version_check("ansible-runner", _package_version("ansible-runner"), ANSIBLE_RUNNER),
    ]
    installed = collection_versions()
    requirements_file = project.root / "collections" / "requirements.yml"
    if requirements_file.is_file():
        requirements = load_yaml(requirements_file) or {}
    else:
        requirements = {}
        checks.append(Check("collections", False, f"{requirements_file} is missing"))
    for entry in requirements.get("collections") or []:
        name = entry["name"] if isinstance(entry, dict) else str(entry)
        raw = str(entry.get("version", "*")) if isinstance(entry, dict) else "*"
        try:
            wanted = SpecifierSet("" if raw == "*" else raw)
        except InvalidSpecifier:
            wanted = SpecifierSet()
        checks.append(_version_check(f"collection {name}", installed.get(name), wanted))

    binaries: dict[str, list[str]] = {}
    libraries: dict[str, list[str]] = {}
    for book in project.playbooks():
        for binary in binaries_of(project, book):
            binaries.setdefault(binary, []).append(book.name)
        for library in libraries_of(project, book):
            libraries.setdefault(library, []).append(book.name)
    for binary, books in sorted(binaries.items()):
        where = shutil.which(binary, path=tool_path())
        checks.append(
            Check(f"command {binary}", where is not None, where or f"not found; needed by {', '.join(books)}")
        )
    for library, books in sorted(libraries.items()):
        present = importlib.util.find_spec(library) is not None
        detail = "importable" if present else f"not importable by {sys.executable}; needed by {', '.join(books)}"
        checks.append(Check(f"python library {library}", present, detail))
    return checks


_HOST_CHECK_PLAY = """
- name: Check what opsbook's runbooks need on every host
  hosts: all
  gather_facts: false
  tasks:
    - name: Check what the runbooks need on this host
      ansible.builtin.include_role:
        name: opsbook.runbooks.host_requirements
        tasks_from: check
"""
_FIX = "run playbooks/prepare_hosts.yml on it"


def host_checks(host: str, res: dict[str, Any]) -> list[Check]:
    """The checks of one host from the host_requirements_info result it returned."""
    user = res.get("user") or {}
    interpreter = res.get("interpreter") or {}
    as_root = user.get("uid") == 0
    checks = [
        Check(
            f"host {host}",
            as_root,
            f"answers; runs modules as {user.get('name', '?')} with Python {interpreter.get('version', '?')} at "
            f"{interpreter.get('path', '?')}"
            + ("" if as_root else "; the runbooks need root through privilege escalation (ansible_become)"),
            kind="host",
        )
    ]
    libraries = res.get("python") or {}
    bad_libraries = [line for line in res.get("problems") or [] if line.startswith("Python library")]
    checks.append(
        Check(
            f"host {host} libraries",
            not bad_libraries,
            "; ".join(bad_libraries) + f" ({_FIX})"
            if bad_libraries
            else ", ".join(f"{name} {info.get('version')}" for name, info in sorted(libraries.items()))
            or "none needed",
            kind="host",
        )
    )
    commands = res.get("commands") or {}
    bad_commands = [f"{name}: {info.get('error')}" for name, info in sorted(commands.items()) if not info.get("ok")]
    checks.append(
        Check(
            f"host {host} tools",
            not bad_commands,
            "; ".join(bad_commands) + f" ({_FIX})"
            if bad_commands
            else ", ".join(f"{name} {info.get('version')}" for name, info in sorted(commands.items())) or "none needed",
            kind="host",
        )
    )
    for path, info in sorted((res.get("paths") or {}).items()):
        wanted = "" if info.get("ok") else f", {info.get('min_free_mb')} MB wanted"
        detail = f"{path}: {info.get('free_mb')} MB free{wanted}"
        checks.append(Check(f"host {host} space", bool(info.get("ok")), detail, kind="host"))
    endpoints = res.get("endpoints") or {}
    if endpoints:
        unreached = [f"{name}: {info.get('error')}" for name, info in sorted(endpoints.items()) if not info.get("ok")]
        checks.append(
            Check(
                f"host {host} reaches",
                not unreached,
                "cannot reach " + "; ".join(unreached) if unreached else ", ".join(sorted(endpoints)),
                kind="host",
            )
        )
    return checks


def check_hosts(
    project: Project, inventory: Path, *, vault_password_file: Path | None = None, timeout: float = 300
) -> list[Check]:
    """Every host of the inventory, over its own connection: the host_requirements role's check
    (tasks_from: check), run as the runbooks run, with privilege escalation as the inventory sets it."""
    ident = f"doctor-{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory(prefix="opsbook-doctor-") as private:
        playbook = Path(private) / "doctor.yml"
        playbook.write_text(_HOST_CHECK_PLAY, encoding="utf-8")
        runner = ansible_runner.run(
            private_data_dir=private,
            project_dir=str(project.root),
            inventory=str(inventory),
            playbook=str(playbook),
            cmdline=f"--vault-id {vault_password_file}" if vault_password_file else None,
            envvars=run_environment(project, ident),
            quiet=True,
            suppress_env_files=True,
            timeout=int(timeout),
            settings={"suppress_output_file": True},
        )
        checks: list[Check] = []
        for event in runner.events:
            data = event.get("event_data") or {}
            host, res = data.get("host"), data.get("res") or {}
            if not host or host == "localhost":
                continue
            if event.get("event") == "runner_on_ok" and "problems" in res:
                checks.extend(host_checks(host, res))
            elif event.get("event") == "runner_on_unreachable":
                checks.append(Check(f"host {host}", False, f"unreachable: {res.get('msg', '')}".strip(), kind="host"))
            elif event.get("event") == "runner_on_failed" and not data.get("ignore_errors"):
                checks.append(Check(f"host {host}", False, str(res.get("msg", "failed")), kind="host"))
    if not checks:
        checks.append(Check("hosts", False, f"no host answered (runner status {runner.status})", kind="host"))
    return sorted(checks, key=lambda check: check.name)
