"""The opsbook repository: where it is, which runbooks it has, and what each one reads.

A runbook is ``playbooks/NAME.yml`` (files starting with ``_`` are shared pieces, not runbooks).
Its purpose is the first line of its header comment (``# NAME.yml: purpose``). The inputs it
accepts are discovered from the playbook itself: the roles its plays use (``roles:``,
``include_role``/``import_role``, followed through ``import_playbook`` and through the roles' own
task files), the play-level ``vars`` and ``vars_prompt`` names, and the ``name=value`` examples of
its header. Nothing here has to change when a playbook is added.
"""

from __future__ import annotations

import configparser
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml

from opsbook.errors import OpsbookError, PlaybookNotFound, ProjectNotFound

__all__ = ["Playbook", "PlaybookInputs", "Project", "load_yaml"]

_HEADER_RE = re.compile(r"^#\s*(?P<file>[\w.-]+\.ya?ml)\s*:\s*(?P<purpose>.+?)\s*$")
# `-e name=value` and `name=value` examples in a header name inputs the playbook reads.
_HEADER_VAR_RE = re.compile(r"(?<![\w.@/-])([a-z_][a-z0-9_]*)=(?!=)")
_ROLE_ACTIONS = frozenset(
    f"{prefix}{action}"
    for prefix in ("", "ansible.builtin.", "ansible.legacy.")
    for action in ("include_role", "import_role")
)
_TASK_FILE_ACTIONS = frozenset(
    f"{prefix}{action}"
    for prefix in ("", "ansible.builtin.", "ansible.legacy.")
    for action in ("include_tasks", "import_tasks")
)
_PLAYBOOK_IMPORTS = frozenset({"import_playbook", "ansible.builtin.import_playbook", "ansible.legacy.import_playbook"})
_TASK_SECTIONS = ("pre_tasks", "tasks", "post_tasks", "handlers")
_BLOCK_SECTIONS = ("block", "rescue", "always")


class _TolerantLoader(yaml.SafeLoader):
    """A safe YAML loader that reads Ansible's tags (``!vault``, ``!unsafe``) as plain values."""


def _construct_tagged(loader: yaml.SafeLoader, _suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node)
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node)
    return None


_TolerantLoader.add_multi_constructor("!", _construct_tagged)


def load_yaml(path: Path) -> Any:
    """Parse a YAML file with Ansible's tags tolerated; an empty file gives None."""
    with path.open(encoding="utf-8") as handle:
        return yaml.load(handle, Loader=_TolerantLoader)


@dataclass(frozen=True)
class Playbook:
    """One runbook: ``playbooks/<name>.yml``."""

    name: str
    path: Path
    purpose: str
    header: str

    @property
    def filename(self) -> str:
        return self.path.name


@dataclass(frozen=True)
class PlaybookInputs:
    """What a playbook reads: the roles it uses and the variable names it declares itself."""

    roles: tuple[str, ...]
    play_vars: frozenset[str]
    header_vars: frozenset[str]
    unresolved: tuple[str, ...]


def _read_header(path: Path) -> tuple[str, str]:
    """The purpose (first header line after ``# name.yml:``) and the whole comment block."""
    lines: list[str] = []
    with path.open(encoding="utf-8") as handle:
        for raw in handle:
            line = raw.rstrip("\n")
            if not lines and line.strip() in ("---", ""):
                continue
            if not line.startswith("#"):
                break
            lines.append(line)
    purpose = ""
    if lines:
        match = _HEADER_RE.match(lines[0])
        if match and Path(match["file"]).stem == path.stem:
            purpose = match["purpose"]
    return purpose, "\n".join(line.lstrip("#").strip() for line in lines)


def _is_templated(value: object) -> bool:
    return not isinstance(value, str) or "{{" in value or "{%" in value


def _walk_tasks(tasks: object) -> Iterator[dict[str, Any]]:
    """Every task of a task list, descending into blocks."""
    if not isinstance(tasks, list):
        return
    for task in tasks:
        if not isinstance(task, dict):
            continue
        yield task
        for section in _BLOCK_SECTIONS:
            yield from _walk_tasks(task.get(section))


def _role_name(entry: object) -> str | None:
    if isinstance(entry, str):
        return entry
    if isinstance(entry, dict):
        name = entry.get("role", entry.get("name"))
        return name if isinstance(name, str) else None
    return None


def _is_project(path: Path) -> bool:
    if not (path / "playbooks").is_dir():
        return False
    return (path / "ansible.cfg").is_file() or ((path / "MANIFEST.json").is_file() and (path / "roles").is_dir())


def installed_collections() -> list[Path]:
    """Where an installed opsbook.runbooks collection may be: ANSIBLE_COLLECTIONS_PATH's entries,
    then Ansible's default collection paths."""
    roots = [Path(p) for p in os.environ.get("ANSIBLE_COLLECTIONS_PATH", "").split(os.pathsep) if p]
    roots += [Path.home() / ".ansible" / "collections", Path("/usr/share/ansible/collections")]
    return [root.expanduser() / "ansible_collections" / "opsbook" / "runbooks" for root in roots]


@dataclass(frozen=True)
class Project:
    """opsbook's runbooks in one of two layouts: a repository checkout (``ansible.cfg``,
    ``playbooks/``, ``roles/``, ``inventories/``), or the installed collection
    (``.../ansible_collections/opsbook/runbooks`` with ``MANIFEST.json``, ``playbooks/``, ``roles/``),
    as in an AWX execution environment."""

    root: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", Path(self.root))

    @classmethod
    def discover(cls, start: Path | str | None = None) -> Project:
        """Find the repository: ``start`` (or ``$OPSBOOK_PROJECT_DIR``), then the current
        directory and its parents, then the directories above this package (an editable install)."""
        candidates: list[Path] = []
        if start is not None:
            candidates.append(Path(start))
        elif os.environ.get("OPSBOOK_PROJECT_DIR"):
            candidates.append(Path(os.environ["OPSBOOK_PROJECT_DIR"]))
        else:
            cwd = Path.cwd().resolve()
            candidates.extend([cwd, *cwd.parents])
            here = Path(__file__).resolve().parent
            candidates.extend(here.parents)
        if start is None and not os.environ.get("OPSBOOK_PROJECT_DIR"):
            candidates.extend(installed_collections())
        for candidate in candidates:
            if _is_project(candidate):
                return cls(candidate.resolve())
        if start is not None or os.environ.get("OPSBOOK_PROJECT_DIR"):
            raise ProjectNotFound(
                f"{candidates[0]} is neither an opsbook repository (ansible.cfg and playbooks/) nor the installed "
                "collection (MANIFEST.json, playbooks/ and roles/)"
            )
        raise ProjectNotFound(
            "no opsbook repository found from the current directory or the package's location, and no installed "
            "opsbook.runbooks collection; pass project_dir= or set OPSBOOK_PROJECT_DIR"
        )

    @property
    def installed(self) -> bool:
        """Whether this is the installed collection (no ansible.cfg of its own) rather than a checkout."""
        return not self.ansible_cfg.is_file() and (self.root / "MANIFEST.json").is_file()

    @property
    def collections_root(self) -> Path | None:
        """For the installed collection, the directory that holds its ``ansible_collections``."""
        return self.root.parents[2] if self.installed else None

    @property
    def playbooks_dir(self) -> Path:
        return self.root / "playbooks"

    @property
    def roles_dir(self) -> Path:
        return self.root / "roles"

    @property
    def ansible_cfg(self) -> Path:
        return self.root / "ansible.cfg"

    @cached_property
    def _config(self) -> configparser.ConfigParser:
        parser = configparser.ConfigParser(interpolation=None)
        parser.read(self.ansible_cfg, encoding="utf-8")
        return parser

    def config(self, section: str, key: str, default: str = "") -> str:
        """A value of the project's ansible.cfg, as text."""
        return self._config.get(section, key, fallback=default)

    def playbooks(self) -> list[Playbook]:
        """The runbooks: ``playbooks/*.yml`` except the shared ``_*.yml`` pieces, sorted by name."""
        books = []
        for path in sorted(self.playbooks_dir.glob("*.yml")):
            if path.name.startswith("_") or not path.is_file():
                continue
            purpose, header = _read_header(path)
            books.append(Playbook(name=path.stem, path=path, purpose=purpose, header=header))
        return books

    def playbook(self, name: str) -> Playbook:
        """The runbook called ``name`` (``smoke``, ``smoke.yml`` or ``playbooks/smoke.yml``)."""
        stem = Path(name).name
        stem = stem[: -len(".yml")] if stem.endswith(".yml") else stem
        books = self.playbooks()
        for book in books:
            if book.name == stem:
                return book
        raise PlaybookNotFound(name, [book.name for book in books])

    @cached_property
    def collection(self) -> str:
        """The FQCN prefix of the project's own collection (``opsbook.runbooks``), from
        ``galaxy.yml`` in a checkout or ``MANIFEST.json`` in an installed collection."""
        galaxy = self.root / "galaxy.yml"
        if galaxy.is_file():
            info = load_yaml(galaxy) or {}
        else:
            manifest = self.root / "MANIFEST.json"
            info = (
                json.loads(manifest.read_text(encoding="utf-8")).get("collection_info", {})
                if manifest.is_file()
                else {}
            )
        return f"{info.get('namespace', 'opsbook')}.{info.get('name', 'runbooks')}"

    def role_path(self, role: str) -> Path | None:
        """The directory of one of the project's roles, by its FQCN (``opsbook.runbooks.backup``)
        or its short name; None for another collection's role or a missing one."""
        prefix = f"{self.collection}."
        if role.startswith(prefix):
            role = role[len(prefix) :]
        elif "." in role:
            return None
        path = self.roles_dir / role
        return path if path.is_dir() else None

    def reads(self, playbook: Playbook, name: str) -> bool:
        """Whether the playbook or a role it uses reads variable ``name``: mentions it outside
        comments, and not only as ``name=value`` in a message telling the operator what to pass."""
        pattern = re.compile(rf"\b{re.escape(name)}\b(?!=[^=])")
        files = [playbook.path]
        for role in self.inputs(playbook).roles:
            role_dir = self.role_path(role)
            if role_dir is not None:
                files.extend(sorted(role_dir.glob("tasks/*.y*ml")))
                files.extend(sorted(role_dir.glob("handlers/*.y*ml")))
        for path in files:
            code = "\n".join(
                line for line in path.read_text(encoding="utf-8").splitlines() if not line.lstrip().startswith("#")
            )
            if pattern.search(code):
                return True
        return False

    def inputs(self, playbook: Playbook) -> PlaybookInputs:
        """The roles a playbook uses and the variables it declares (see the module docstring)."""
        scanner = _InputScanner(self)
        scanner.scan_playbook(playbook.path)
        return PlaybookInputs(
            roles=tuple(scanner.roles),
            play_vars=frozenset(scanner.play_vars),
            header_vars=frozenset(_HEADER_VAR_RE.findall(playbook.header)),
            unresolved=tuple(scanner.unresolved),
        )


class _InputScanner:
    """Walks a playbook, the playbooks it imports, its roles and their task files, once each,
    collecting the roles used, the play variables and what could not be followed."""

    def __init__(self, project: Project) -> None:
        self.project = project
        self.roles: list[str] = []
        self.play_vars: set[str] = set()
        self.unresolved: list[str] = []
        self.seen_files: set[Path] = set()

    def _first_visit(self, path: Path) -> bool:
        if path in self.seen_files or not path.is_file():
            return False
        self.seen_files.add(path)
        return True

    def add_role(self, name: object, where: Path) -> None:
        if _is_templated(name):
            self.unresolved.append(f"{where.name}: templated role name {name!r}")
            return
        assert isinstance(name, str)
        if name not in self.roles:
            self.roles.append(name)
            self.scan_role(name)

    def scan_tasks(self, tasks: object, base: Path, where: Path) -> None:
        for task in _walk_tasks(tasks):
            for action in _ROLE_ACTIONS.intersection(task):
                args = task[action]
                self.add_role(args.get("name") if isinstance(args, dict) else args, where)
            for action in _TASK_FILE_ACTIONS.intersection(task):
                args = task[action]
                target = args.get("file") if isinstance(args, dict) else args
                if _is_templated(target):
                    continue
                self.scan_task_file(base / str(target), base)

    def scan_task_file(self, path: Path, base: Path) -> None:
        path = path.resolve()
        if not self._first_visit(path):
            return
        try:
            tasks = load_yaml(path)
        except yaml.YAMLError as err:
            self.unresolved.append(f"{path}: not valid YAML, not scanned: {err}")
            return
        self.scan_tasks(tasks, base, path)

    def scan_role(self, name: str) -> None:
        role_dir = self.project.role_path(name)
        if role_dir is None:
            return
        for section in ("tasks", "handlers"):
            for path in sorted((role_dir / section).glob("*.y*ml")):
                self.scan_task_file(path, role_dir / section)

    def scan_playbook(self, path: Path) -> None:
        path = path.resolve()
        if not self._first_visit(path):
            return
        try:
            plays = load_yaml(path) or []
        except yaml.YAMLError as err:
            raise OpsbookError(f"{path} is not valid YAML: {err}") from err
        for play in plays if isinstance(plays, list) else []:
            if isinstance(play, dict):
                self.scan_play(play, path)

    def scan_play(self, play: dict[str, Any], path: Path) -> None:
        for action in _PLAYBOOK_IMPORTS.intersection(play):
            target = play[action]
            if _is_templated(target):
                self.unresolved.append(f"{path.name}: templated import_playbook {target!r}")
                continue
            self.scan_playbook(path.parent / str(target))
        if isinstance(play.get("vars"), dict):
            self.play_vars.update(str(key) for key in play["vars"])
        for prompt in play.get("vars_prompt") or []:
            if isinstance(prompt, dict) and isinstance(prompt.get("name"), str):
                self.play_vars.add(prompt["name"])
        for entry in play.get("roles") or []:
            self.add_role(_role_name(entry), path)
        for section in _TASK_SECTIONS:
            self.scan_tasks(play.get(section), path.parent, path)
