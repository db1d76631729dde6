"""The node_maintenance role's logic: which pods a drain evicts, leaves or refuses, which
PodDisruptionBudgets cover them, why pods were not evicted, and when Deployments are available.
The objects are shaped like the Kubernetes API's replies (what kubernetes.core.k8s_info returns)."""

from __future__ import annotations

from typing import Any

import pytest
from ansible_collections.opsbook.runbooks.plugins.module_utils import node_maintenance as nm


def pod(
    name: str,
    *,
    namespace: str = "opsbook",
    node: str = "n1",
    labels: dict[str, str] | None = None,
    owner: str | None = "ReplicaSet",
    owner_name: str = "",
    phase: str = "Running",
    volumes: list[dict[str, Any]] | None = None,
    annotations: dict[str, str] | None = None,
    terminating: bool = False,
) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": namespace, "labels": labels or {}}
    if owner:
        meta["ownerReferences"] = [{"kind": owner, "name": owner_name or f"{name}-owner", "controller": True}]
    if annotations:
        meta["annotations"] = annotations
    if terminating:
        meta["deletionTimestamp"] = "2026-11-23T10:00:00Z"
    return {
        "metadata": meta,
        "spec": {"nodeName": node, "volumes": volumes or [{"name": "token", "projected": {}}]},
        "status": {"phase": phase},
    }


def pdb(name: str, selector: dict[str, Any] | None, allowed: int, *, namespace: str = "opsbook") -> dict[str, Any]:
    return {
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"selector": selector, "minAvailable": 2},
        "status": {"disruptionsAllowed": allowed, "currentHealthy": 3 if allowed else 2, "desiredHealthy": 2},
    }


API = {"app.kubernetes.io/name": "api"}


@pytest.mark.parametrize(
    ("selector", "labels", "expected"),
    [
        ({"matchLabels": {"a": "1"}}, {"a": "1", "b": "2"}, True),
        ({"matchLabels": {"a": "1"}}, {"a": "2"}, False),
        ({"matchExpressions": [{"key": "a", "operator": "In", "values": ["1", "2"]}]}, {"a": "2"}, True),
        ({"matchExpressions": [{"key": "a", "operator": "In", "values": ["1"]}]}, {}, False),
        ({"matchExpressions": [{"key": "a", "operator": "NotIn", "values": ["1"]}]}, {}, True),
        ({"matchExpressions": [{"key": "a", "operator": "NotIn", "values": ["1"]}]}, {"a": "1"}, False),
        ({"matchExpressions": [{"key": "a", "operator": "Exists"}]}, {"a": ""}, True),
        ({"matchExpressions": [{"key": "a", "operator": "DoesNotExist"}]}, {"a": ""}, False),
        ({}, {"x": "y"}, True),  # policy/v1: an empty selector selects every pod of the namespace
        (None, {"x": "y"}, False),
    ],
)
def test_selector_matches(selector: dict[str, Any] | None, labels: dict[str, str], expected: bool) -> None:
    assert nm.selector_matches(selector, labels) is expected


def test_selector_rejects_unknown_operator() -> None:
    with pytest.raises(nm.NodeMaintenanceError, match="Gt"):
        nm.selector_matches({"matchExpressions": [{"key": "a", "operator": "Gt", "values": ["1"]}]}, {"a": "2"})


def test_pdbs_for_pod_only_in_the_pods_namespace() -> None:
    budgets = [pdb("api", {"matchLabels": API}, 1), pdb("api", {"matchLabels": API}, 0, namespace="other")]
    found = nm.pdbs_for_pod(pod("api-1", labels=API), budgets)
    assert found == [{"name": "opsbook/api", "disruptions_allowed": 1, "current_healthy": 3, "desired_healthy": 2}]


def test_drain_plan_sorts_pods_like_kubectl_drain() -> None:
    pods = [
        pod("api-1", labels=API),
        pod("ds-1", owner="DaemonSet", namespace="kube-system"),
        pod("static", owner="Node", annotations={nm.MIRROR_ANNOTATION: "x"}, namespace="kube-system"),
        pod("done", owner="Job", phase="Succeeded"),
        pod("cache", volumes=[{"name": "tmp", "emptyDir": {}}]),
        pod("bare", owner=None),
    ]
    plan = nm.drain_plan("n1", pods, [pdb("api", {"matchLabels": API}, 0)])
    assert [p["pod"] for p in plan["evict"]] == ["opsbook/api-1", "opsbook/done"]
    assert plan["evict"][0]["pdbs"][0]["name"] == "opsbook/api"
    assert plan["pdb_blocked"] == ["opsbook/api-1"]
    assert {p["pod"] for p in plan["skip"]} == {"kube-system/ds-1", "kube-system/static"}
    refused = {p["pod"]: p["allow_with"] for p in plan["refuse"]}
    assert refused == {"opsbook/cache": "delete_emptydir_data", "opsbook/bare": "force"}


def test_drain_plan_options_allow_what_is_refused_by_default() -> None:
    pods = [
        pod("ds-1", owner="DaemonSet"),
        pod("cache", volumes=[{"name": "tmp", "emptyDir": {}}]),
        pod("bare", owner=None),
    ]
    strict = nm.drain_plan("n1", pods, [], ignore_daemonsets=False)
    assert {p["pod"]: p["allow_with"] for p in strict["refuse"]}["opsbook/ds-1"] == "ignore_daemonsets"
    lenient = nm.drain_plan("n1", pods, [], delete_emptydir_data=True, force=True)
    assert [p["pod"] for p in lenient["evict"]] == ["opsbook/cache", "opsbook/bare"]
    assert lenient["refuse"] == []


def test_drain_plan_ignores_pods_of_other_nodes() -> None:
    plan = nm.drain_plan("n1", [pod("a", node="n2"), pod("b")], [])
    assert [p["pod"] for p in plan["evict"]] == ["opsbook/b"]


def test_eviction_groups_one_per_owner_with_shared_labels() -> None:
    api = {"app.kubernetes.io/name": "api", "pod-template-hash": "abc"}
    pods = [
        pod("api-1", labels={**api, "extra": "1"}, owner_name="rs-api"),
        pod("w-1", labels={"app": "worker"}, owner_name="rs-worker"),
        pod("bare", owner=None),
        pod("api-2", labels={**api, "extra": "2"}, owner_name="rs-api"),
    ]
    groups = nm.eviction_groups(nm.drain_plan("n1", pods, [], force=True))
    assert groups == [
        {
            "owner": "ReplicaSet/rs-api",
            "pods": ["opsbook/api-1", "opsbook/api-2"],
            "selectors": ["app.kubernetes.io/name=api", "pod-template-hash=abc"],
        },
        {"owner": "ReplicaSet/rs-worker", "pods": ["opsbook/w-1"], "selectors": ["app=worker"]},
        # No labels: a node-wide drain, so it comes last.
        {"owner": "pod/opsbook/bare", "pods": ["opsbook/bare"], "selectors": []},
    ]


def test_drain_outcome_names_the_blocking_budget() -> None:
    budgets = [pdb("api", {"matchLabels": API}, 0)]
    plan = nm.drain_plan("n1", [pod("api-1", labels=API), pod("worker-1"), pod("slow")], budgets)
    remaining = [pod("api-1", labels=API), pod("slow", terminating=True)]
    outcome = nm.drain_outcome(plan, remaining, budgets)
    assert outcome["evicted"] == ["opsbook/worker-1"]
    reasons = {p["pod"]: p["reason"] for p in outcome["not_evicted"]}
    assert reasons["opsbook/api-1"] == "PodDisruptionBudget opsbook/api allows no disruption (2 healthy, 2 required)"
    assert reasons["opsbook/slow"].startswith("evicted, still terminating")


def test_drain_outcome_timeout_without_budget() -> None:
    plan = nm.drain_plan("n1", [pod("a")], [])
    outcome = nm.drain_outcome(plan, [pod("a")], [])
    assert outcome["not_evicted"][0]["reason"] == "not evicted before the drain timeout"


def test_node_summary() -> None:
    node = {
        "metadata": {"name": "n1"},
        "spec": {
            "unschedulable": True,
            "taints": [{"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}],
        },
        "status": {"conditions": [{"type": "Ready", "status": "True"}], "nodeInfo": {"kubeletVersion": "kwok-v0.8.0"}},
    }
    summary = nm.node_summary(node)
    assert summary["ready"] is True
    assert summary["unschedulable"] is True
    assert summary["taints"] == ["node.kubernetes.io/unschedulable:NoSchedule"]
    assert nm.node_summary({"metadata": {"name": "n2"}})["ready_status"] == "Unknown"


def test_deployment_readiness() -> None:
    def dep(name: str, replicas: int, updated: int, available: int, generation: int = 2, observed: int = 2) -> dict:
        return {
            "metadata": {"name": name, "namespace": "opsbook", "generation": generation},
            "spec": {"replicas": replicas},
            "status": {"updatedReplicas": updated, "availableReplicas": available, "observedGeneration": observed},
        }

    records = nm.deployment_readiness(
        [dep("ok", 3, 3, 3), dep("short", 3, 3, 2), dep("stale", 3, 3, 3, observed=1), dep("zero", 0, 0, 0)]
    )
    assert {r["deployment"]: r["available"] for r in records} == {
        "opsbook/ok": True,
        "opsbook/short": False,
        "opsbook/stale": False,
        "opsbook/zero": True,
    }


def test_objects_without_metadata_are_refused() -> None:
    with pytest.raises(nm.NodeMaintenanceError, match=r"metadata\.name"):
        nm.drain_plan("n1", [{"spec": {}}], [])
