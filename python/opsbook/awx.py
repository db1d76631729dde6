"""AWX / Automation Controller job templates, generated from the runbooks.

One template per runbook: its name and description come from the playbook's header, its survey
questions (types, choices, defaults) from the argument specs of the roles the playbook uses, with
the defaults and per-runbook overrides of ``awx/job_templates.yml``. A new playbook gets its
template without any change here. ``python -m opsbook.awx`` prints the definitions as JSON;
playbooks/awx_configure.yml applies them with the awx.awx collection.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from opsbook.errors import OpsbookError
from opsbook.project import Playbook, Project, load_yaml
from opsbook.specs import PLATFORM_PREFIXES, PlaybookSpec, playbook_spec

__all__ = ["TEMPLATE_FIELDS", "AwxConfigError", "Question", "name_prefix", "render_templates", "survey_variables"]

CONFIG_PATH = "awx/job_templates.yml"
# Job template fields the defaults and overrides may set; awx_configure.yml passes each of them.
TEMPLATE_FIELDS = frozenset(
    {
        "job_type",
        "verbosity",
        "timeout",
        "allow_simultaneous",
        "ask_limit_on_launch",
        "ask_job_type_on_launch",
        "ask_tags_on_launch",
        "ask_variables_on_launch",
        "ask_inventory_on_launch",
        "ask_credential_on_launch",
    }
)
_QUESTION_KEYS = frozenset({"variable", "question_name", "question_description", "required", "default", "choices"})


class AwxConfigError(OpsbookError):
    """awx/job_templates.yml asks for something the runbooks do not have."""


@dataclass(frozen=True)
class Question:
    """Where a survey variable comes from: a role option (with its spec) or a play prompt."""

    variable: str
    spec: Mapping[str, Any]
    source: str


def _description(spec: Mapping[str, Any]) -> str:
    text = spec.get("description", "")
    if isinstance(text, list):
        text = " ".join(str(line) for line in text)
    return " ".join(str(text).split())[:500]


def _prompts(project: Project, book: Playbook) -> dict[str, Mapping[str, Any]]:
    """The ``vars_prompt`` entries of the playbook's plays (confirmation gates)."""
    prompts: dict[str, Mapping[str, Any]] = {}
    plays = load_yaml(book.path) or []
    for play in plays if isinstance(plays, list) else []:
        for prompt in (play.get("vars_prompt") or []) if isinstance(play, dict) else []:
            if isinstance(prompt, dict) and isinstance(prompt.get("name"), str):
                prompts[prompt["name"]] = prompt
    return prompts


def _header_inputs(project: Project, spec: PlaybookSpec) -> dict[str, Question]:
    """Inputs the header documents as ``name=value`` that no role spec declares and that the
    playbook really reads (a confirmation gate such as ``confirm=yes``). The values shown become
    the choices; a confirmation is a required choice of its one value, as the gate asks."""
    book = spec.playbook
    found: dict[str, Question] = {}
    for name in sorted(spec.header_vars):
        if name in spec.options or name.startswith(PLATFORM_PREFIXES):
            continue
        if not project.reads(book, name):
            continue
        examples = re.findall(rf"\b{re.escape(name)}=([\w|.:-]+)", book.header)
        confirmation = name == "confirm" or name.endswith("_confirm")
        # Alternatives written a|b|c are the choices; a single example is only an example.
        alternatives = sorted({v for example in examples if "|" in example for v in example.split("|") if v})
        values = sorted(set(examples)) if confirmation else alternatives
        option: dict[str, Any] = {
            "type": "str",
            "choices": values,
            "required": confirmation,
            "description": f"Input of {book.filename} (see its header)"
            + ("; the run stops before any change unless it is " + " or ".join(values) if confirmation else ""),
        }
        found[name] = Question(name, option, "header")
    return found


def survey_variables(
    project: Project, spec: PlaybookSpec, prompts: Mapping[str, Mapping[str, Any]]
) -> dict[str, Question]:
    """Every variable a survey of this playbook may ask: role options, play prompts and the
    header's inputs that the playbook reads."""
    found = _header_inputs(project, spec)
    found |= {
        name: Question(
            name, {"type": "str", "default": p.get("default", ""), "description": p.get("prompt", "")}, "prompt"
        )
        for name, p in prompts.items()
    }
    for name, (role, option) in spec.options.items():
        found[name] = Question(name, option, f"role {role.role}")
    return found


def _default_survey(spec: PlaybookSpec, available: Mapping[str, Question]) -> list[dict[str, Any]]:
    """Without an override: the roles' required options, the prompts, and the header's inputs."""
    wanted: list[str] = [name for name, q in available.items() if q.source in ("prompt", "header")]
    wanted += [name for name, (_role, option) in spec.options.items() if option.get("required")]
    wanted += sorted(name for name in spec.header_vars if name in available and not name.startswith(PLATFORM_PREFIXES))
    questions = []
    for name in dict.fromkeys(wanted):
        spec_type = available[name].spec.get("type", "str")
        if spec_type in ("list", "dict") and not available[name].spec.get("choices"):
            continue  # not expressible as a survey question; ask_variables_on_launch covers it
        questions.append({"variable": name})
    return questions


def _literal(default: Any) -> Any:
    """A spec default as a survey can show it: None for one that is a Jinja expression (a role
    default that falls back on an inventory variable, such as ``{{ opsbook_backup_dir | default(...) }}``),
    which only Ansible can work out; the role's own default then applies."""
    if isinstance(default, str) and "{{" in default:
        return None
    if isinstance(default, list) and any(isinstance(item, str) and "{{" in item for item in default):
        return None
    return default


def _question(book: Playbook, entry: Mapping[str, Any], available: Mapping[str, Question]) -> dict[str, Any]:
    unknown = set(entry) - _QUESTION_KEYS
    if unknown:
        raise AwxConfigError(f"{CONFIG_PATH}: {book.name}: unknown survey keys {sorted(unknown)}")
    variable = str(entry.get("variable", ""))
    if variable not in available:
        raise AwxConfigError(
            f"{CONFIG_PATH}: {book.name}: survey variable {variable!r} is not an option of the roles "
            f"{book.filename} uses nor one of its prompts"
        )
    source = available[variable]
    spec = source.spec
    spec_type = str(spec.get("type", "str"))
    choices = [c for c in entry.get("choices", spec.get("choices") or []) if c not in ("", None)]
    if spec_type in ("list", "dict") and not (spec_type == "list" and choices):
        raise AwxConfigError(
            f"{CONFIG_PATH}: {book.name}: {variable} is a {spec_type} without choices and cannot be a survey "
            "question; leave it to extra variables"
        )
    default = entry.get("default", _literal(spec.get("default")))
    question: dict[str, Any] = {
        "variable": variable,
        "question_name": str(entry.get("question_name") or variable.replace("_", " ").capitalize()),
        "question_description": str(entry.get("question_description") or _description(spec)),
        "required": bool(entry.get("required", spec.get("required", False))),
    }
    if spec_type == "list":
        question.update(type="multiselect", choices=[str(c) for c in choices])
        question["default"] = "\n".join(str(d) for d in default or [])
    elif spec_type == "bool":
        question.update(type="multiplechoice", choices=["true", "false"])
        question["default"] = "" if default is None else str(bool(default)).lower()
    elif choices:
        question.update(type="multiplechoice", choices=[str(c) for c in choices])
        question["default"] = "" if default in (None, "") else str(default)
    elif spec_type == "int":
        question.update(type="integer", default="" if default is None else int(default))
    elif spec_type == "float":
        question.update(type="float", default="" if default is None else float(default))
    elif spec.get("no_log"):
        question.update(type="password", default="")
    else:
        question.update(type="text", default="" if default is None else str(default))
    if question["type"] in ("multiplechoice",) and question["default"] not in ("", *question["choices"]):
        raise AwxConfigError(f"{CONFIG_PATH}: {book.name}: default of {variable} is not one of its choices")
    return question


def name_prefix(project: Project) -> str:
    """The prefix of every opsbook job template's name."""
    config = load_yaml(project.root / CONFIG_PATH) or {}
    return str((config.get("defaults") or {}).get("name_prefix", "opsbook: "))


def render_templates(project: Project) -> list[dict[str, Any]]:
    """The job template definitions, one per runbook, sorted by name."""
    config = load_yaml(project.root / CONFIG_PATH) or {}
    defaults = dict(config.get("defaults") or {})
    prefix = str(defaults.pop("name_prefix", "opsbook: "))
    overrides: Mapping[str, Any] = config.get("templates") or {}
    exclude = set(config.get("exclude") or [])
    books = {book.name: book for book in project.playbooks()}
    stale = sorted((set(overrides) | exclude) - set(books))
    if stale:
        raise AwxConfigError(f"{CONFIG_PATH} names playbooks that do not exist: {', '.join(stale)}")
    bad = sorted(set(defaults) - TEMPLATE_FIELDS)
    if bad:
        raise AwxConfigError(f"{CONFIG_PATH}: defaults: unknown job template fields {bad}")

    templates = []
    for name, book in sorted(books.items()):
        if name in exclude:
            continue
        override = dict(overrides.get(name) or {})
        survey_override = override.pop("survey", None)
        bad = sorted(set(override) - TEMPLATE_FIELDS)
        if bad:
            raise AwxConfigError(f"{CONFIG_PATH}: {name}: unknown job template fields {bad}")
        spec = playbook_spec(project, book)
        available = survey_variables(project, spec, _prompts(project, book))
        entries = _default_survey(spec, available) if survey_override is None else list(survey_override)
        questions = [_question(book, entry, available) for entry in entries]
        template: dict[str, Any] = {
            "name": f"{prefix}{name}",
            "runbook": name,
            "description": book.purpose,
            "playbook": f"playbooks/{book.filename}",
            **defaults,
            **override,
            "survey_enabled": bool(questions),
            "survey_spec": {"name": f"{name} inputs", "description": book.purpose, "spec": questions},
        }
        templates.append(template)
    return templates


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m opsbook.awx", description="Print the AWX job templates as JSON.")
    parser.add_argument("--project-dir", help="the opsbook repository (default: found from here)")
    args = parser.parse_args(argv)
    try:
        project = Project.discover(args.project_dir)
        templates = render_templates(project)
    except OpsbookError as err:
        sys.stderr.write(f"opsbook.awx: {err}\n")
        return 3
    json.dump({"name_prefix": name_prefix(project), "templates": templates}, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
