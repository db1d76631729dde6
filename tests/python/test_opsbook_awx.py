"""AWX as code: the job templates generated from the runbooks, and the execution environment.

Every runbook has a template that points at an existing playbook; every survey variable exists in
that playbook's role argument specs (or is an input its header documents and its plays read, such
as confirm=yes); question types, choices and defaults match the specs; every field is an option of
awx.awx.job_template. ``ansible-builder create`` builds the execution environment's context
offline, with the pins of requirements.txt and the collections of collections/requirements.yml."""

from __future__ import annotations

import functools
import re
import subprocess
from pathlib import Path
from typing import Any

import ansible_collections.awx.awx.plugins.modules.job_template as job_template_module
import pytest
import yaml
from conftest import REPO, VENV_BIN
from opsbook.awx import AwxConfigError, render_templates
from opsbook.project import Project
from opsbook.specs import PlaybookSpec, playbook_spec

PROJECT = Project(REPO)
SURVEY_TYPES = {"text", "textarea", "password", "integer", "float", "multiplechoice", "multiselect"}
JOB_TEMPLATE_OPTIONS = yaml.safe_load(job_template_module.DOCUMENTATION)["options"]
NOT_TEMPLATE_FIELDS = {"runbook"}


@pytest.fixture(scope="module")
def templates() -> list[dict[str, Any]]:
    return render_templates(PROJECT)


@functools.cache
def spec_of(runbook: str) -> PlaybookSpec:
    return playbook_spec(PROJECT, PROJECT.playbook(runbook))


def test_every_runbook_has_exactly_one_template(templates: list[dict[str, Any]]) -> None:
    config = yaml.safe_load((REPO / "awx" / "job_templates.yml").read_text())
    excluded = set(config.get("exclude") or [])
    runbooks = {p.stem for p in (REPO / "playbooks").glob("*.yml") if not p.name.startswith("_")} - excluded
    names = [t["runbook"] for t in templates]
    assert len(names) == len(set(names))
    missing = sorted(runbooks - set(names))
    assert not missing, f"runbooks without a job template: {missing}"


def test_every_template_points_at_an_existing_playbook(templates: list[dict[str, Any]]) -> None:
    for template in templates:
        path = REPO / template["playbook"]
        assert path.is_file(), f"{template['name']}: {template['playbook']} does not exist"
        assert template["playbook"] == f"playbooks/{template['runbook']}.yml"
        assert template["description"], f"{template['playbook']} has no purpose line in its header"


def test_every_survey_variable_exists_in_the_playbook(templates: list[dict[str, Any]]) -> None:
    for template in templates:
        book = PROJECT.playbook(template["runbook"])
        spec = spec_of(template["runbook"])
        for question in template["survey_spec"]["spec"]:
            variable = question["variable"]
            if variable in spec.options:
                continue
            # Otherwise a header input (confirm=yes) the playbook really reads.
            assert variable in spec.header_vars, f"{template['name']}: {variable} is in no role argument spec"
            assert reads(book.path, spec, variable), f"{template['name']}: {variable} is never read by {book.filename}"


def reads(playbook: Path, spec: PlaybookSpec, variable: str) -> bool:
    """The variable appears in a Jinja expression or condition of the playbook or its roles' tasks."""
    files = [playbook] + [p for role in spec.roles for p in role.path.parent.parent.glob("tasks/*.yml")]
    pattern = re.compile(rf"(\{{\{{[^}}]*\b{variable}\b|(when|that):.*\b{variable}\b|^\s*-\s.*\b{variable}\b)")
    return any(
        pattern.search(line)
        for path in files
        for line in path.read_text().splitlines()
        if not line.lstrip().startswith("#")
    )


def test_survey_questions_match_the_specs(templates: list[dict[str, Any]]) -> None:
    for template in templates:
        spec = spec_of(template["runbook"])
        assert template["survey_enabled"] == bool(template["survey_spec"]["spec"])
        for question in template["survey_spec"]["spec"]:
            where = f"{template['name']}: {question['variable']}"
            assert question["type"] in SURVEY_TYPES, where
            assert isinstance(question["required"], bool), where
            assert question["question_name"], where
            option = spec.options.get(question["variable"], (None, {}))[1]
            if question["type"] in ("multiplechoice", "multiselect"):
                assert question["choices"] and all(isinstance(c, str) for c in question["choices"]), where
                if option.get("choices"):
                    assert set(question["choices"]) <= {str(c) for c in option["choices"]}, where
                defaults = (
                    question["default"].split("\n") if question["type"] == "multiselect" else [question["default"]]
                )
                assert all(d in ("", *question["choices"]) for d in defaults), where
            if option.get("type") == "int":
                assert question["type"] == "integer", where
            if option.get("type") == "bool":
                assert question["choices"] == ["true", "false"], where
            if option.get("no_log"):
                assert question["type"] == "password", where
            if "default" in option and option.get("type") in ("str", None) and not option.get("no_log"):
                assert question["default"] == ("" if option["default"] is None else str(option["default"])), where


def test_health_check_survey_is_typed_from_its_role_spec(templates: list[dict[str, Any]]) -> None:
    if not (REPO / "playbooks" / "health_check.yml").is_file():
        pytest.skip("playbooks/health_check.yml is not in this checkout")
    [template] = [t for t in templates if t["runbook"] == "health_check"]
    questions = {q["variable"]: q for q in template["survey_spec"]["spec"]}
    assert questions["health_check_fail_on"]["type"] == "multiplechoice"
    assert "P1" in questions["health_check_fail_on"]["choices"]
    assert questions["health_check_push_alerts"]["default"] == "false"


def test_template_fields_are_job_template_options(templates: list[dict[str, Any]]) -> None:
    for template in templates:
        for key, value in template.items():
            if key in NOT_TEMPLATE_FIELDS:
                continue
            assert key in JOB_TEMPLATE_OPTIONS, f"{template['name']}: {key} is not an awx.awx.job_template option"
            wanted = JOB_TEMPLATE_OPTIONS[key].get("type", "str")
            python_type = {"str": str, "int": int, "bool": bool, "dict": dict, "list": list}[wanted]
            assert isinstance(value, python_type), f"{template['name']}: {key} should be {wanted}"
            if "choices" in JOB_TEMPLATE_OPTIONS[key]:
                assert value in JOB_TEMPLATE_OPTIONS[key]["choices"], f"{template['name']}: {key}={value}"


def test_awx_configure_passes_every_template_field(templates: list[dict[str, Any]]) -> None:
    """awx_configure.yml's job_template task sets each field the rendered templates carry."""
    plays = yaml.safe_load((REPO / "playbooks" / "awx_configure.yml").read_text())
    tasks = [t for play in plays for t in play.get("tasks", []) for t in [t, *t.get("block", [])]]
    [task] = [t for t in tasks if "awx.awx.job_template" in t and t["awx.awx.job_template"].get("state") == "present"]
    passed = set(task["awx.awx.job_template"])
    for template in templates:
        assert set(template) - NOT_TEMPLATE_FIELDS <= passed


def test_stale_overrides_are_refused(tmp_path: Path) -> None:
    (tmp_path / "playbooks").mkdir()
    (tmp_path / "awx").mkdir()
    (tmp_path / "ansible.cfg").write_text("[defaults]\n")
    (tmp_path / "playbooks" / "one.yml").write_text("---\n# one.yml: do one thing.\n- hosts: all\n  tasks: []\n")
    config = tmp_path / "awx" / "job_templates.yml"
    config.write_text("templates:\n  gone: {}\n")
    with pytest.raises(AwxConfigError, match="do not exist: gone"):
        render_templates(Project(tmp_path))
    config.write_text("templates:\n  one:\n    survey:\n      - variable: one_missing\n")
    with pytest.raises(AwxConfigError, match="one_missing"):
        render_templates(Project(tmp_path))
    config.write_text("templates:\n  one:\n    becomes_admin: true\n")
    with pytest.raises(AwxConfigError, match="becomes_admin"):
        render_templates(Project(tmp_path))
    config.write_text("templates: {}\n")
    [template] = render_templates(Project(tmp_path))
    assert template["name"] == "opsbook: one" and template["description"] == "do one thing."


def _pins(text: str) -> dict[str, str]:
    pins = {}
    for line in text.splitlines():
        match = re.match(r"^([A-Za-z0-9_.\[\]-]+)==([^\s#]+)", line.strip())
        if match:
            pins[re.sub(r"\[.*\]", "", match[1]).lower()] = match[2]
    return pins


def test_ansible_builder_create_works_offline(tmp_path: Path) -> None:
    context = tmp_path / "context"
    built = subprocess.run(
        [str(VENV_BIN / "ansible-galaxy"), "collection", "build", "--force", "--output-path", str(REPO / "dist")],
        cwd=REPO, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert built.returncode == 0, built.stdout + built.stderr
    proc = subprocess.run(
        [
            str(VENV_BIN / "ansible-builder"),
            "create",
            "--file",
            str(REPO / "execution-environment.yml"),
            "--context",
            str(context),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={
            "PATH": f"{VENV_BIN}:/usr/bin:/bin",
            "HOME": str(tmp_path),
            "no_proxy": "*",
            "https_proxy": "http://0.0.0.0:9",
        },
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    [containerfile] = [p for p in (context / "Containerfile", context / "Dockerfile") if p.is_file()]
    text = containerfile.read_text()
    assert 'ARG ANSIBLE_INSTALL_REFS="ansible-core==' in text
    assert "ansible-galaxy collection install" in text
    assert "mongodb-database-tools" in text
    # opsbook.runbooks itself, from its artifact.
    assert list((context / "_build" / "opsbook").glob("opsbook-runbooks-*.tar.gz"))
    assert "ansible-galaxy collection install --no-deps /tmp/opsbook/opsbook-runbooks-" in text
    # The collections are exactly the project's.
    built = yaml.safe_load((context / "_build" / "requirements.yml").read_text())
    assert built == yaml.safe_load((REPO / "collections" / "requirements.yml").read_text())
    # Every Python pin agrees with requirements.txt, the one place versions are pinned.
    wanted = _pins((REPO / "requirements.txt").read_text())
    ee_pins = _pins((context / "_build" / "requirements.txt").read_text())
    refs = re.search(r'ARG ANSIBLE_INSTALL_REFS="([^"]+)"', text)
    assert refs is not None
    ee_pins |= _pins(refs[1].replace(" ", "\n"))
    assert ee_pins, "no pinned Python package in the execution environment"
    for name, version in ee_pins.items():
        assert wanted.get(name) == version, f"{name}=={version} in the EE, {wanted.get(name)} in requirements.txt"
    bindep = (context / "_build" / "bindep.txt").read_text()
    assert "postgresql [platform:rpm]" in bindep


SPEC = """\
argument_specs:
  main:
    short_description: Demo
    options:
      demo_mode: {type: str, choices: [fast, safe], default: safe, description: How to run.}
      demo_count: {type: int, default: 3, description: How many.}
      demo_enabled: {type: bool, default: true, description: Whether.}
      demo_token: {type: str, required: true, no_log: true, description: The token.}
      demo_targets: {type: list, elements: str, choices: [a, b, c], default: [a], description: Targets.}
      demo_hosts: {type: list, elements: str, default: [], description: Hosts.}
"""


def test_surveys_are_typed_from_role_specs_prompts_and_header(tmp_path: Path) -> None:
    (tmp_path / "ansible.cfg").write_text("[defaults]\n")
    (tmp_path / "awx").mkdir()
    (tmp_path / "playbooks").mkdir()
    (tmp_path / "roles" / "demo" / "meta").mkdir(parents=True)
    (tmp_path / "roles" / "demo" / "tasks").mkdir()
    (tmp_path / "roles" / "demo" / "meta" / "argument_specs.yml").write_text(SPEC)
    (tmp_path / "roles" / "demo" / "tasks" / "main.yml").write_text(
        "---\n- name: Gate\n  ansible.builtin.assert:\n    that: confirm | default('') == 'yes'\n"
    )
    (tmp_path / "playbooks" / "demo.yml").write_text(
        "---\n# demo.yml: a destructive demo.\n# Inputs: -e confirm=yes, -e demo_mode=fast|safe, -e demo_only_said=1\n"
        "- name: Demo\n  hosts: all\n  vars_prompt:\n    - name: demo_reason\n      prompt: Why?\n      default: none\n"
        "  roles: [demo]\n"
    )
    config = tmp_path / "awx" / "job_templates.yml"
    config.write_text("templates: {}\n")
    [generated] = render_templates(Project(tmp_path))
    questions = {q["variable"]: q for q in generated["survey_spec"]["spec"]}
    # Generated: the prompt, the read header confirmation, the required option, the header's role option.
    assert set(questions) == {"demo_reason", "confirm", "demo_token", "demo_mode"}
    assert questions["confirm"] | {"question_description": ""} == {
        "variable": "confirm",
        "question_name": "Confirm",
        "question_description": "",
        "required": True,
        "type": "multiplechoice",
        "choices": ["yes"],
        "default": "",
    }
    assert questions["demo_token"]["type"] == "password" and questions["demo_token"]["required"] is True
    assert questions["demo_mode"]["choices"] == ["fast", "safe"] and questions["demo_mode"]["default"] == "safe"
    assert questions["demo_reason"]["type"] == "text" and questions["demo_reason"]["default"] == "none"

    config.write_text(
        "templates:\n  demo:\n    timeout: 60\n    survey:\n"
        "      - {variable: demo_count}\n      - {variable: demo_enabled}\n"
        "      - {variable: demo_targets, question_name: Where}\n"
    )
    [overridden] = render_templates(Project(tmp_path))
    assert overridden["timeout"] == 60
    count, enabled, targets = overridden["survey_spec"]["spec"]
    assert (count["type"], count["default"]) == ("integer", 3)
    assert (enabled["type"], enabled["choices"], enabled["default"]) == ("multiplechoice", ["true", "false"], "true")
    assert (targets["type"], targets["choices"], targets["default"]) == ("multiselect", ["a", "b", "c"], "a")
    assert targets["question_name"] == "Where"
    config.write_text("templates:\n  demo:\n    survey:\n      - {variable: demo_hosts}\n")
    with pytest.raises(AwxConfigError, match="demo_hosts is a list without choices"):
        render_templates(Project(tmp_path))
