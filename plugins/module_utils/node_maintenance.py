# Copyright: opsbook contributors
# Apache License 2.0 (see LICENSE in the repository root)
"""Plain functions behind the node_maintenance role: which pods a drain of a Kubernetes node
evicts, which it leaves and why, which PodDisruptionBudgets cover them, and, after the drain,
which pods could not be evicted and the reason. They take and return data shaped like the
Kubernetes API's (what kubernetes.core.k8s_info returns), so unit tests call them without Ansible
or a cluster."""

from __future__ import annotations

from typing import Any

MIRROR_ANNOTATION = "kubernetes.io/config.mirror"


class NodeMaintenanceError(Exception):
    """Input that is not shaped like the Kubernetes objects these functions expect."""


def _meta(obj: dict[str, Any]) -> dict[str, Any]:
    meta = obj.get("metadata")
    if not isinstance(meta, dict) or "name" not in meta:
        raise NodeMaintenanceError(f"not a Kubernetes object (no metadata.name): {str(obj)[:200]}")
    return meta


def _ref(obj: dict[str, Any]) -> str:
    meta = _meta(obj)
    return f"{meta.get('namespace', '')}/{meta['name']}" if meta.get("namespace") else meta["name"]


def selector_matches(selector: dict[str, Any] | None, labels: dict[str, str] | None) -> bool:
    """True when a label selector (matchLabels and matchExpressions, as in a PodDisruptionBudget)
    selects an object with these labels. As in Kubernetes' policy/v1, an empty selector ({})
    selects every pod of the namespace and a missing one selects none."""
    if selector is None:
        return False
    labels = labels or {}
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        if op == "In":
            ok = key in labels and labels[key] in values
        elif op == "NotIn":
            ok = key not in labels or labels[key] not in values
        elif op == "Exists":
            ok = key in labels
        elif op == "DoesNotExist":
            ok = key not in labels
        else:
            raise NodeMaintenanceError(f"unknown label selector operator {op!r} in {expr}")
        if not ok:
            return False
    return True


def pdbs_for_pod(pod: dict[str, Any], pdbs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The PodDisruptionBudgets of the pod's namespace that select it, each summarised as
    name, disruptions_allowed, current_healthy and desired_healthy (from its status)."""
    meta = _meta(pod)
    found = []
    for pdb in pdbs:
        pmeta = _meta(pdb)
        if pmeta.get("namespace") != meta.get("namespace"):
            continue
        if not selector_matches((pdb.get("spec") or {}).get("selector"), meta.get("labels")):
            continue
        status = pdb.get("status") or {}
        found.append(
            {
                "name": _ref(pdb),
                "disruptions_allowed": int(status.get("disruptionsAllowed", 0)),
                "current_healthy": int(status.get("currentHealthy", 0)),
                "desired_healthy": int(status.get("desiredHealthy", 0)),
            }
        )
    return found


def _pod_record(pod: dict[str, Any], pdbs: list[dict[str, Any]]) -> dict[str, Any]:
    meta = _meta(pod)
    owners = meta.get("ownerReferences") or []
    return {
        "pod": _ref(pod),
        "namespace": meta.get("namespace", ""),
        "name": meta["name"],
        "owner": f"{owners[0].get('kind')}/{owners[0].get('name')}" if owners else None,
        "labels": dict(meta.get("labels") or {}),
        "phase": (pod.get("status") or {}).get("phase", "Unknown"),
        "terminating": bool(meta.get("deletionTimestamp")),
        "pdbs": pdbs_for_pod(pod, pdbs),
    }


def drain_plan(
    node: str,
    pods: list[dict[str, Any]],
    pdbs: list[dict[str, Any]],
    *,
    ignore_daemonsets: bool = True,
    delete_emptydir_data: bool = False,
    force: bool = False,
) -> dict[str, Any]:
    """What draining `node` would do to `pods` (the pods bound to it), with the rules of
    `kubectl drain` and kubernetes.core.k8s_drain: mirror pods and (with ignore_daemonsets)
    DaemonSet pods stay; finished pods are removed; pods with emptyDir volumes need
    delete_emptydir_data and pods no controller manages need force, else the drain refuses.

    Returns evict (pods to evict, each with the PodDisruptionBudgets that cover it), skip (pods
    left, with the reason), refuse (pods that stop the drain, with the reason and the option that
    would allow it) and pdb_blocked (pods whose budget allows no disruption right now)."""
    evict: list[dict[str, Any]] = []
    skip: list[dict[str, Any]] = []
    refuse: list[dict[str, Any]] = []
    for pod in pods:
        meta = _meta(pod)
        if (pod.get("spec") or {}).get("nodeName") not in (None, node):
            continue
        record = _pod_record(pod, pdbs)
        owners = meta.get("ownerReferences") or []
        volumes = (pod.get("spec") or {}).get("volumes") or []
        if MIRROR_ANNOTATION in (meta.get("annotations") or {}):
            skip.append({**record, "reason": "mirror pod (static pod of the kubelet): the API cannot evict it"})
        elif record["phase"] in ("Succeeded", "Failed"):
            evict.append(record)
        elif any(o.get("kind") == "DaemonSet" for o in owners):
            if ignore_daemonsets:
                skip.append({**record, "reason": "DaemonSet pod: its controller keeps one on every node"})
            else:
                refuse.append({**record, "reason": "DaemonSet pod", "allow_with": "ignore_daemonsets"})
        elif any("emptyDir" in v for v in volumes) and not delete_emptydir_data:
            refuse.append(
                {
                    **record,
                    "reason": "uses an emptyDir volume, whose data a drain deletes",
                    "allow_with": "delete_emptydir_data",
                }
            )
        elif not owners and not force:
            refuse.append(
                {**record, "reason": "no controller manages it: it would not come back", "allow_with": "force"}
            )
        else:
            evict.append(record)
    blocked = [p for p in evict if any(b["disruptions_allowed"] < 1 for b in p["pdbs"])]
    return {
        "node": node,
        "evict": evict,
        "skip": skip,
        "refuse": refuse,
        "pdb_blocked": [p["pod"] for p in blocked],
    }


def eviction_groups(plan: dict[str, Any]) -> list[dict[str, Any]]:
    """The plan's pods to evict, grouped by owner (the pods of one ReplicaSet, Job...), each group
    with the label selectors (k=v) its pods share, for kubernetes.core.k8s_drain's pod_selectors.

    k8s_drain evicts a node's pods in order and stops at the first eviction the API refuses, so a
    pod whose PodDisruptionBudget allows no disruption would keep every pod after it on the node.
    Draining one group at a time lets the others go while a blocked group is retried. A group
    whose pods share no label gets no selector: its drain covers the whole node, so it comes last."""
    groups: dict[str, dict[str, Any]] = {}
    for record in plan.get("evict", []):
        key = record["owner"] or f"pod/{record['pod']}"
        group = groups.setdefault(key, {"owner": key, "pods": [], "labels": dict(record["labels"])})
        group["pods"].append(record["pod"])
        group["labels"] = {k: v for k, v in group["labels"].items() if record["labels"].get(k) == v}
    result = [
        {"owner": g["owner"], "pods": g["pods"], "selectors": [f"{k}={v}" for k, v in sorted(g["labels"].items())]}
        for g in groups.values()
    ]
    return sorted(result, key=lambda g: (not g["selectors"], g["owner"]))


def drain_outcome(plan: dict[str, Any], remaining: list[dict[str, Any]], pdbs: list[dict[str, Any]]) -> dict[str, Any]:
    """After a drain: the planned pods that are gone (evicted) and those still bound to the node
    (not_evicted), each with the reason an operator can act on: a PodDisruptionBudget that
    allows no disruption (named, with its healthy counts), a pod still terminating, or an eviction
    that was not reached before the timeout."""
    still = {_ref(p): p for p in remaining}
    evicted, not_evicted = [], []
    for planned in plan.get("evict", []):
        pod = still.get(planned["pod"])
        if pod is None:
            evicted.append(planned["pod"])
            continue
        record = _pod_record(pod, pdbs)
        blocking = [b for b in record["pdbs"] if b["disruptions_allowed"] < 1]
        if record["terminating"]:
            reason = "evicted, still terminating (its grace period has not run out)"
        elif blocking:
            reason = "; ".join(
                f"PodDisruptionBudget {b['name']} allows no disruption "
                f"({b['current_healthy']} healthy, {b['desired_healthy']} required)"
                for b in blocking
            )
        else:
            reason = "not evicted before the drain timeout"
        not_evicted.append({**record, "reason": reason})
    return {"evicted": evicted, "not_evicted": not_evicted}


def node_summary(node: dict[str, Any]) -> dict[str, Any]:
    """Name, Ready condition, schedulability, taints and kubelet version of a Node object."""
    meta = _meta(node)
    status = node.get("status") or {}
    ready = next((c.get("status") for c in status.get("conditions") or [] if c.get("type") == "Ready"), "Unknown")
    return {
        "name": meta["name"],
        "ready": ready == "True",
        "ready_status": ready,
        "unschedulable": bool((node.get("spec") or {}).get("unschedulable", False)),
        "taints": [
            f"{t.get('key')}{'=' + t['value'] if t.get('value') else ''}:{t.get('effect')}"
            for t in (node.get("spec") or {}).get("taints") or []
        ],
        "kubelet_version": (status.get("nodeInfo") or {}).get("kubeletVersion", ""),
    }


def deployment_readiness(deployments: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One record per Deployment: its desired, updated and available replicas, and available
    (true once the controller has seen the latest spec and every desired replica is updated and
    available, as `kubectl rollout status` judges it)."""
    records = []
    for dep in deployments:
        meta = _meta(dep)
        spec, status = dep.get("spec") or {}, dep.get("status") or {}
        desired = int(spec.get("replicas", 1))
        updated = int(status.get("updatedReplicas", 0))
        available = int(status.get("availableReplicas", 0))
        observed = int(status.get("observedGeneration", 0)) >= int(meta.get("generation", 0))
        records.append(
            {
                "deployment": _ref(dep),
                "desired": desired,
                "updated": updated,
                "available_replicas": available,
                "available": observed and updated >= desired and available >= desired,
            }
        )
    return records
