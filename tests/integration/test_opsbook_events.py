"""Results come from runner's events, complete on large outputs: a task printing 3 MB and a loop of
300 items arrive whole through opsbook.run, in order, with nothing read from stdout."""

from __future__ import annotations

import sys
from pathlib import Path

import opsbook

LARGE_PLAYBOOK = """\
---
# large.yml: produce a large task result and many loop items.
- name: Produce large outputs
  hosts: all
  gather_facts: false
  tasks:
    - name: Print three megabytes
      ansible.builtin.command:
        argv: ["{python}", "-c", "import sys; sys.stdout.write('x' * 3000000 + 'END')"]
      changed_when: false

    - name: Loop over many items
      ansible.builtin.debug:
        msg: "item {{{{ item }}}}"
      loop: "{{{{ range(300) | list }}}}"

    - name: Fail on purpose after the large outputs
      ansible.builtin.fail:
        msg: the last task's message
"""


def test_large_outputs_arrive_complete_through_events(tmp_path: Path) -> None:
    (tmp_path / "playbooks").mkdir()
    (tmp_path / "playbooks" / "large.yml").write_text(LARGE_PLAYBOOK.format(python=sys.executable))
    (tmp_path / "ansible.cfg").write_text("[defaults]\n[connection]\npipelining = true\n")
    (tmp_path / "hosts.yml").write_text(
        "all:\n  hosts:\n    controller:\n      ansible_connection: local\n"
        f"      ansible_python_interpreter: {sys.executable}\n"
    )
    seen: list[opsbook.Event] = []
    result = opsbook.run(
        "large",
        inventory=tmp_path / "hosts.yml",
        project_dir=tmp_path,
        artifacts_dir=tmp_path / "a",
        on_event=seen.append,
    )
    [big] = [e for e in seen if e.type == "runner_on_ok" and e.task == "Print three megabytes"]
    assert len(big.result["stdout"]) == 3_000_003 and big.result["stdout"].endswith("END")
    items = [e.result["msg"] for e in seen if e.type == "runner_item_on_ok"]
    assert items == [f"item {i}" for i in range(300)]
    assert [e.counter for e in seen] == sorted(e.counter for e in seen)
    assert result.status is opsbook.RunStatus.FAILED
    assert result.hosts["controller"].ok == 2 and result.hosts["controller"].failed == 1
    assert [(t.task, t.message) for t in result.failed_tasks] == [
        ("Fail on purpose after the large outputs", "the last task's message")
    ]
