"""Validate a run's variables against the argument specs of the roles its playbook uses.

Ansible checks role argument specs when a role starts, which may be minutes into a run and after
other plays changed things. opsbook checks the same specs (with Ansible's own validator) before
the run starts, so a typo or a wrong type fails at once, naming the variable.

Accepted names:
- an option of a role the playbook uses (``meta/argument_specs.yml``): its type, ``choices`` and
  ``elements`` are checked; ``required`` is not, since the inventory may supply the value;
- a play-level ``vars``/``vars_prompt`` name of the playbook, or a ``name=value`` of its header;
- platform-wide inventory variables: ``opsbook_*`` and Ansible's connection variables
  (``ansible_*``), which a caller may override (a password passed as a secret, for example).
"""

from __future__ import annotations

import difflib
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from opsbook.errors import InvalidInput
from opsbook.project import Playbook, Project, load_yaml

__all__ = ["PlaybookSpec", "RoleSpec", "load_role_spec", "playbook_spec"]

log = logging.getLogger(__name__)

PLATFORM_PREFIXES = ("opsbook_", "ansible_")
# Spec keys Ansible's validator understands; documentation keys are dropped before validating.
_VALIDATOR_KEYS = frozenset(
    {"type", "elements", "choices", "default", "required", "options", "aliases", "no_log", "apply_defaults"}
)
_CONVERTED_TYPES = frozenset({"int", "float", "bool", "list", "dict", "json", "jsonarg", "bytes", "bits"})
_REDACTED = "********"


@dataclass(frozen=True)
class RoleSpec:
    """The options of one role, merged over its entry points (``main``, ``tasks_from`` ones)."""

    role: str
    path: Path
    options: Mapping[str, Mapping[str, Any]]


def load_role_spec(role: str, role_dir: Path) -> RoleSpec | None:
    """Read ``meta/argument_specs.yml`` (or ``argument_specs`` in ``meta/main.yml``); None if absent."""
    for name in ("argument_specs.yml", "argument_specs.yaml", "main.yml", "main.yaml"):
        path = role_dir / "meta" / name
        if not path.is_file():
            continue
        data = load_yaml(path) or {}
        specs = data.get("argument_specs") if isinstance(data, dict) else None
        if not isinstance(specs, dict):
            continue
        options: dict[str, Mapping[str, Any]] = {}
        for entry_point in specs.values():
            for option, spec in ((entry_point or {}).get("options") or {}).items():
                options.setdefault(str(option), spec if isinstance(spec, dict) else {})
        return RoleSpec(role=role, path=path, options=options)
    return None


def _validator_spec(spec: Mapping[str, Any], *, top: bool) -> dict[str, Any]:
    """The part of a role option's spec Ansible's validator uses. At the top level ``required``
    is dropped (the inventory may set the variable) and defaults are never applied."""
    clean: dict[str, Any] = {key: value for key, value in spec.items() if key in _VALIDATOR_KEYS}
    if top:
        clean.pop("required", None)
        clean.pop("default", None)
    if isinstance(clean.get("options"), dict):
        clean["options"] = {
            str(name): _validator_spec(sub if isinstance(sub, dict) else {}, top=False)
            for name, sub in clean["options"].items()
        }
    return clean


def _redact(text: str, value: Any) -> str:
    for secret in _strings(value):
        text = text.replace(secret, _REDACTED)
    return text


def _strings(value: Any) -> list[str]:
    if isinstance(value, Mapping):
        return [s for item in value.values() for s in _strings(item)]
    if isinstance(value, list | tuple | set):
        return [s for item in value for s in _strings(item)]
    if value is None or isinstance(value, bool):
        return []
    text = str(value)
    return [text] if text else []


@dataclass(frozen=True)
class PlaybookSpec:
    """Everything a playbook accepts, with the role option specs used to check values."""

    playbook: Playbook
    roles: tuple[RoleSpec, ...]
    roles_without_spec: tuple[str, ...]
    play_vars: frozenset[str]
    header_vars: frozenset[str]
    options: Mapping[str, tuple[RoleSpec, Mapping[str, Any]]] = field(default_factory=dict)

    def accepts(self, key: str) -> bool:
        return (
            key in self.options or key in self.play_vars or key in self.header_vars or key.startswith(PLATFORM_PREFIXES)
        )

    def known_names(self) -> list[str]:
        return sorted({*self.options, *self.play_vars, *self.header_vars})

    def validate(self, values: Mapping[str, Any], *, secret: bool = False) -> dict[str, Any]:
        """Check ``values`` and return them, strings converted to the type their spec declares
        (``"3"`` for an ``int`` option becomes 3). Raises InvalidInput naming the first bad key;
        with ``secret=True`` no value appears in the message."""
        kind = "secret" if secret else "variable"
        checked: dict[str, Any] = {}
        for key, value in values.items():
            if not isinstance(key, str) or not key.isidentifier():
                raise InvalidInput(str(key), f"{kind} names must be identifiers")
            if not self.accepts(key):
                raise InvalidInput(key, self._unknown_message(key, kind))
            if key not in self.options:
                checked[key] = value
                continue
            role, spec = self.options[key]
            validator = ArgumentSpecValidator({key: _validator_spec(spec, top=True)})
            result = validator.validate({key: value})
            if result.error_messages:
                message = "; ".join(str(m) for m in result.error_messages)
                if secret:
                    message = _redact(message, value)
                raise InvalidInput(key, f"{message} (option of role {role.role}, {role.path})")
            converted = result.validated_parameters.get(key, value)
            keep_original = not isinstance(value, str) or spec.get("type", "str") not in _CONVERTED_TYPES
            checked[key] = value if keep_original else converted
        return checked

    def _unknown_message(self, key: str, kind: str) -> str:
        known = self.known_names()
        close = difflib.get_close_matches(key, known, n=3)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        roles = ", ".join(role.role for role in self.roles) or "none"
        return (
            f"unknown {kind} for {self.playbook.filename}: not an option of its roles ({roles}), "
            f"not one of its play variables, and not an opsbook_*/ansible_* platform variable.{hint}"
        )


def playbook_spec(project: Project, playbook: Playbook) -> PlaybookSpec:
    """Collect the argument specs of every role ``playbook`` uses (see Project.inputs)."""
    inputs = project.inputs(playbook)
    roles: list[RoleSpec] = []
    without: list[str] = []
    options: dict[str, tuple[RoleSpec, Mapping[str, Any]]] = {}
    for name in inputs.roles:
        role_dir = project.role_path(name)
        spec = load_role_spec(name, role_dir) if role_dir else None
        if spec is None:
            without.append(name)
            log.debug("role %s has no argument specs; its variables cannot be checked", name)
            continue
        roles.append(spec)
        for option, option_spec in spec.options.items():
            options.setdefault(option, (spec, option_spec))
    for note in inputs.unresolved:
        (log.warning if "not valid YAML" in note else log.debug)("%s", note)
    return PlaybookSpec(
        playbook=playbook,
        roles=tuple(roles),
        roles_without_spec=tuple(without),
        play_vars=inputs.play_vars,
        header_vars=inputs.header_vars,
        options=options,
    )
