"""The service_control role's Kubernetes paths against the sandbox's real API server
(inventories/local-kubernetes; pods simulated by kwok, so they have no logs). Skips naming the
control plane when it is not up, or when its Deployments are not rolled out."""

from __future__ import annotations

import json
import re

import pytest
from conftest import run_playbook

INVENTORY = ("-i", "inventories/local-kubernetes")
PLAYBOOK = "tests/integration/playbooks/service_control.yml"


def control(**variables: object) -> dict:
    result = run_playbook(*INVENTORY, PLAYBOOK, "-e", json.dumps(variables))
    assert result.returncode == 0, result.stdout[-3000:]
    match = re.search(r"SERVICE_CONTROL_RESULT (.*?) END", result.stdout.replace("\n        ", " "), re.S)
    assert match, result.stdout[-2000:]
    return json.loads(match[1])


@pytest.fixture
def cluster(require):
    require("kube_apiserver")
    status = control(service_control_action="status")
    if not all(s["healthy"] for s in status.values()):
        pytest.skip(
            "the sandbox's Kubernetes Deployments are not rolled out (kwok nodes not ready?): "
            + ", ".join(f"{n} {s['ready_replicas']}/{s['replicas']}" for n, s in status.items())
        )
    return status


def test_scale_up_and_back(cluster) -> None:
    before = cluster["worker"]["replicas"]
    try:
        scaled = control(
            service_control_action="scale", service_control_services=["worker"], service_control_replicas=5
        )
        assert scaled["worker"]["replicas"] == 5 and scaled["worker"]["ready_replicas"] == 5
    finally:
        back = control(
            service_control_action="scale", service_control_services=["worker"], service_control_replicas=before
        )
    assert back["worker"]["replicas"] == before and back["worker"]["healthy"]


def test_read_only_patch_rolls_out_and_back(cluster) -> None:
    revision = int(cluster["api"]["revision"])
    try:
        on = control(service_control_action="set_env", service_control_services=["api"],
                     service_control_env={"READ_ONLY_MODE": True})  # fmt: skip
        assert on["api"]["env"]["READ_ONLY_MODE"] == "true" and on["api"]["healthy"]
        assert int(on["api"]["revision"]) == revision + 1
    finally:
        off = control(service_control_action="set_env", service_control_services=["api"],
                      service_control_env={"READ_ONLY_MODE": False})  # fmt: skip
    assert off["api"]["env"]["READ_ONLY_MODE"] == "false" and off["api"]["healthy"]


def test_rollout_restart_waits_for_the_new_replicaset(cluster) -> None:
    revision = int(cluster["worker"]["revision"])
    restarted = control(service_control_action="restart", service_control_services=["worker"])
    assert int(restarted["worker"]["revision"]) == revision + 1 and restarted["worker"]["healthy"]


def test_logs_of_simulated_pods_are_reported_plainly(cluster) -> None:
    logs = control(service_control_action="logs", service_control_services=["api"], service_control_log_lines=5)
    assert logs["api"]["logs"] or logs["api"]["logs_unavailable"]
