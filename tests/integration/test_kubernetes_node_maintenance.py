"""playbooks/node_maintenance.yml against the sandbox's Kubernetes control plane: check mode and a
missing confirmation change nothing, a drain evicts through the eviction API and the platform's
Deployment comes back whole on the other nodes, a PodDisruptionBudget that allows no disruption
is respected and its pod reported, uncordon makes the node schedulable, reruns change nothing.
Every test leaves the nodes schedulable. Skips, naming the control plane, when it is not running."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import run_playbook
from kubernetes_sandbox import (
    INVENTORY,
    NAMESPACE,
    control_plane_client,
    deployment_available,
    wait_for,
)

pytestmark = pytest.mark.timeout(600)
PLAYBOOK = "playbooks/node_maintenance.yml"


@pytest.fixture(scope="module")
def k8s() -> Iterator[Any]:
    with control_plane_client() as client:
        yield client


@pytest.fixture
def core(k8s: Any) -> Iterator[Any]:
    """The CoreV1Api; afterwards every kwok node is schedulable again and the demo API whole."""
    from kubernetes import client

    api = client.CoreV1Api(k8s)
    try:
        yield api
    finally:
        for node in api.list_node(label_selector="type=kwok").items:
            if node.spec.unschedulable:
                api.patch_node(node.metadata.name, {"spec": {"unschedulable": False}})
        apps = client.AppsV1Api(k8s)
        wait_for("opsbook-api to be available again", lambda: deployment_available(apps, NAMESPACE, "opsbook-api"))


def maintenance(tmp_path: Path, *args: str, check: bool = False) -> Any:
    extra = ["--check"] if check else []
    return run_playbook(
        "-i", str(INVENTORY), PLAYBOOK, "-e", f"opsbook_report_dir={tmp_path}", *extra, *args, timeout=540
    )


REPORT_TASKS = {"Write the report as JSON and Markdown"}


def changed_tasks(result: Any) -> set[str]:
    """Names of the tasks that reported a change (each run writes a new report directory)."""
    changed, task = set(), ""
    for line in result.stdout.splitlines():
        if line.startswith("TASK ["):
            task = line.split("] ", 1)[0].split(" : ", 1)[-1].removeprefix("TASK [")
        elif line.startswith("changed:"):
            changed.add(task)
    return changed


def output(result: Any) -> str:
    return result.stdout[-6000:] + result.stderr[-3000:]


def pods_on(core: Any, node: str) -> dict[str, str]:
    """uid -> namespace/name of the live pods bound to the node."""
    pods = core.list_pod_for_all_namespaces(field_selector=f"spec.nodeName={node}").items
    return {
        p.metadata.uid: f"{p.metadata.namespace}/{p.metadata.name}" for p in pods if not p.metadata.deletion_timestamp
    }


def api_pod_node(core: Any) -> str:
    """A node that runs an opsbook-api pod."""
    pods = core.list_namespaced_pod(NAMESPACE, label_selector="app.kubernetes.io/name=opsbook-api").items
    return sorted(p.spec.node_name for p in pods if p.spec.node_name)[0]


def report(tmp_path: Path) -> dict[str, Any]:
    found = sorted(tmp_path.glob("*-node_maintenance-*/report.json"))
    assert found, f"no report under {tmp_path}"
    assert (found[-1].parent / "report.md").is_file()
    return json.loads(found[-1].read_text())


def test_check_mode_shows_the_plan_and_changes_nothing(core: Any, tmp_path: Path) -> None:
    node = api_pod_node(core)
    before = pods_on(core, node)
    result = maintenance(tmp_path, "-e", f"node={node}", "-e", "confirm=yes", check=True)
    assert result.returncode == 0, output(result)
    assert "Pods to evict" in result.stdout
    assert f"{NAMESPACE}/opsbook-api-" in result.stdout
    assert not core.read_node(node).spec.unschedulable
    assert pods_on(core, node) == before
    assert not list(tmp_path.iterdir()), "check mode wrote a report"


def test_drain_without_confirmation_changes_nothing(core: Any, tmp_path: Path) -> None:
    node = api_pod_node(core)
    before = pods_on(core, node)
    result = maintenance(tmp_path, "-e", f"node={node}")
    assert result.returncode != 0
    assert "Not confirmed, nothing changed" in result.stdout
    assert "confirm=yes" in result.stdout
    assert not core.read_node(node).spec.unschedulable
    assert pods_on(core, node) == before


def test_unknown_node_fails_before_any_change(core: Any, tmp_path: Path) -> None:
    result = maintenance(tmp_path, "-e", "node=no-such-node", "-e", "confirm=yes")
    assert result.returncode != 0
    assert "There is no node no-such-node" in result.stdout
    assert "kwok-node-1" in result.stdout  # the message lists the cluster's nodes


def test_drain_then_uncordon(core: Any, k8s: Any, tmp_path: Path) -> None:
    from kubernetes import client

    apps = client.AppsV1Api(k8s)
    node = api_pod_node(core)
    planned = set(pods_on(core, node).values())
    result = maintenance(tmp_path / "drain", "-e", f"node={node}", "-e", "confirm=yes", "-e", "drain_timeout=60")
    assert result.returncode == 0, output(result)
    assert {"Cordon the node", "Evict the node's pods through the eviction API"} <= changed_tasks(result)
    assert core.read_node(node).spec.unschedulable
    assert pods_on(core, node) == {}, "pods are left on the drained node"
    # The evicted API pod came back on another node: the Deployment is whole.
    assert deployment_available(apps, NAMESPACE, "opsbook-api")
    api_nodes = {
        p.spec.node_name
        for p in core.list_namespaced_pod(NAMESPACE, label_selector="app.kubernetes.io/name=opsbook-api").items
    }
    assert node not in api_nodes
    drained = report(tmp_path / "drain")
    assert drained["status"] == "ok"
    assert set(drained["evicted"]) == planned
    assert drained["not_evicted"] == []
    assert drained["node_after"]["unschedulable"] is True

    again = maintenance(tmp_path / "again", "-e", f"node={node}", "-e", "confirm=yes")
    assert again.returncode == 0, output(again)
    assert changed_tasks(again) <= REPORT_TASKS, output(again)

    back = maintenance(tmp_path / "uncordon", "-e", f"node={node}", "-e", "action=uncordon")
    assert back.returncode == 0, output(back)
    assert not core.read_node(node).spec.unschedulable
    assert report(tmp_path / "uncordon")["status"] == "ok"

    rerun = maintenance(tmp_path / "rerun", "-e", f"node={node}", "-e", "action=uncordon")
    assert rerun.returncode == 0, output(rerun)
    assert changed_tasks(rerun) <= REPORT_TASKS, output(rerun)


@pytest.fixture
def blocked_pod(core: Any, k8s: Any) -> Iterator[tuple[str, str]]:
    """A pod pinned to kwok-node-3 whose PodDisruptionBudget allows no disruption, in a namespace
    of its own (deleted afterwards): (node, namespace/pod)."""
    from kubernetes import client

    apps, policy = client.AppsV1Api(k8s), client.PolicyV1Api(k8s)
    node, ns, labels = "kwok-node-3", f"drain-test-{uuid.uuid4().hex[:8]}", {"app": "pinned"}
    core.create_namespace({"metadata": {"name": ns}})
    try:
        apps.create_namespaced_deployment(
            ns,
            {
                "metadata": {"name": "pinned"},
                "spec": {
                    "replicas": 1,
                    "selector": {"matchLabels": labels},
                    "template": {
                        "metadata": {"labels": labels},
                        "spec": {
                            "nodeSelector": {"kubernetes.io/hostname": node},
                            "containers": [{"name": "main", "image": "opsbook/app:1.0"}],
                        },
                    },
                },
            },
        )
        policy.create_namespaced_pod_disruption_budget(
            ns, {"metadata": {"name": "pinned"}, "spec": {"maxUnavailable": 0, "selector": {"matchLabels": labels}}}
        )
        wait_for("the pinned pod", lambda: deployment_available(apps, ns, "pinned"))
        wait_for(
            "the budget to count the pinned pod",
            lambda: policy.read_namespaced_pod_disruption_budget("pinned", ns).status.current_healthy == 1,
        )
        pod = core.list_namespaced_pod(ns, label_selector="app=pinned").items[0]
        yield node, f"{ns}/{pod.metadata.name}"
    finally:
        core.delete_namespace(ns)


def test_drain_respects_a_budget_and_reports_the_pod(core: Any, blocked_pod: tuple[str, str], tmp_path: Path) -> None:
    node, pinned = blocked_pod
    others = set(pods_on(core, node).values()) - {pinned}
    result = maintenance(
        tmp_path,
        "-e",
        f"node={node}",
        "-e",
        "confirm=yes",
        "-e",
        "drain_timeout=10",
        "-e",
        "node_maintenance_retry_delay=2",
    )
    assert result.returncode != 0, output(result)
    assert f"Pods that could not be evicted: {pinned}: PodDisruptionBudget" in " ".join(result.stdout.split())
    assert "allows no disruption" in result.stdout
    # The budget held: the pod is still there; the node stays cordoned; the other pods were evicted.
    remaining = set(pods_on(core, node).values())
    assert remaining == {pinned}
    assert core.read_node(node).spec.unschedulable
    failed = report(tmp_path)
    assert failed["status"] == "failed"
    assert [p["pod"] for p in failed["not_evicted"]] == [pinned]
    assert set(failed["evicted"]) == others
