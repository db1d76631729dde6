"""The rendered Prometheus rules, tested by `promtool test rules` with the cases in tests/promtool/:
every rendered rule must have a case where it fires and one where it does not, so a catalog entry
added without tests fails here."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
import yaml
from ansible_collections.opsbook.runbooks.plugins.module_utils.catalog import prometheus_rules, validate
from conftest import REPO

CATALOG = validate(yaml.safe_load((REPO / "roles" / "alerting" / "files" / "catalog.yml").read_text()))
CASES = sorted((REPO / "tests" / "promtool").glob("*.yml"))
VALUE_TEMPLATE = "{{ $value | humanize }}"

pytestmark = pytest.mark.skipif(
    shutil.which("promtool") is None, reason="promtool (Debian package prometheus) is not installed"
)


def rendered_rules() -> dict[str, dict[str, Any]]:
    return {rule["alert"]: rule for group in prometheus_rules(CATALOG)["groups"] for rule in group["rules"]}


def expected_annotations(rule: dict[str, Any], given: dict[str, str], where: str) -> dict[str, str]:
    """The rule's static annotations, with the value the case states in place of its template."""
    annotations = {}
    for key, text in rule["annotations"].items():
        if text == VALUE_TEMPLATE:
            assert "value" in given, f"{where}: state the expected value in exp_annotations: {{value: ...}}"
            annotations[key] = str(given["value"])
        else:
            assert "{{" not in text, f"{where}: annotation {key} of {rule['alert']} is a template this test cannot fill"
            annotations[key] = text
    return annotations


def prepared(case: Path, rules_file: Path, rules: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """A case file pointed at the rendered rules, its expected annotations filled in."""
    doc = yaml.safe_load(case.read_text())
    doc["rule_files"] = [str(rules_file)]
    for group in doc["tests"]:
        for test in group.get("alert_rule_test", []):
            where = f"{case.name}: {test['alertname']} at {test['eval_time']}"
            assert test["alertname"] in rules, f"{where}: no rendered rule has that name"
            for alert in test.get("exp_alerts") or []:
                alert["exp_annotations"] = expected_annotations(
                    rules[test["alertname"]], alert.get("exp_annotations") or {}, where
                )
    return doc


def coverage(cases: list[Path]) -> dict[str, set[str]]:
    """For each alert name, which kinds of case exist: 'fires' and/or 'silent'."""
    kinds: dict[str, set[str]] = defaultdict(set)
    for case in cases:
        for group in yaml.safe_load(case.read_text())["tests"]:
            for test in group.get("alert_rule_test", []):
                kinds[test["alertname"]].add("fires" if test.get("exp_alerts") else "silent")
    return kinds


def test_every_rendered_rule_has_a_firing_and_a_silent_case() -> None:
    kinds = coverage(CASES)
    missing = [
        f"{name}: no case where it {'fires' if kind == 'fires' else 'stays silent'}"
        for name in rendered_rules()
        for kind in ("fires", "silent")
        if kind not in kinds.get(name, set())
    ]
    assert not missing, "add promtool cases in tests/promtool/ for:\n  " + "\n  ".join(missing)


def test_coverage_check_notices_a_new_entry_without_cases() -> None:
    catalog = {**CATALOG, "entries": [*CATALOG["entries"], {**CATALOG["entries"][0], "name": "BrandNewAlert"}]}
    names = {rule["alert"] for group in prometheus_rules(validate(catalog))["groups"] for rule in group["rules"]}
    assert {"BrandNewAlert", "BrandNewAlertWarning"} <= names
    assert "BrandNewAlert" not in coverage(CASES)


def test_rendered_rules_pass_promtool_test_rules(tmp_path: Path) -> None:
    rules = rendered_rules()
    rules_file = tmp_path / "opsbook.rules.yml"
    rules_file.write_text(yaml.safe_dump(prometheus_rules(CATALOG), sort_keys=False))
    files = []
    for case in CASES:
        target = tmp_path / case.name
        target.write_text(yaml.safe_dump(prepared(case, rules_file, rules), sort_keys=False))
        files.append(str(target))
    assert files, "no promtool cases found in tests/promtool/"
    result = subprocess.run(
        ["promtool", "test", "rules", *files], capture_output=True, text=True, timeout=300, check=False
    )
    # promtool prints every file's result; keep the failures readable.
    failures = re.sub(r"(?m)^\s*Unit Testing:.*\n\s*SUCCESS\n", "", result.stdout)
    assert result.returncode == 0, failures + result.stderr
