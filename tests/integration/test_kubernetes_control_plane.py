"""The sandbox's Kubernetes control plane (sandbox/components/kubernetes.sh): the components built
from source answer, kwok's nodes are Ready, the demo workload of seed 001 runs on them, and the
controllers behind Deployments, ReplicaSets, PodDisruptionBudgets, evictions and HPAs work. Each
test skips, naming the control plane, when it is not running (`make sandbox-up K8S=1`)."""

from __future__ import annotations

import base64
import json
import ssl
import subprocess
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from conftest import PORTS, REPO, ansible_env, ansible_inventory, run_playbook, secret
from kubernetes_sandbox import (
    APISERVER,
    CA,
    INVENTORY,
    NAMESPACE,
    control_plane_client,
    deployment_available,
    https_ok,
    sandbox_version,
    wait_for,
)

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def k8s() -> Iterator[Any]:
    with control_plane_client() as client:
        yield client


@pytest.fixture
def scratch_namespace(k8s: Any) -> Iterator[str]:
    """A namespace of the test's own, deleted afterwards with everything in it."""
    from kubernetes import client

    core = client.CoreV1Api(k8s)
    name = f"cp-test-{uuid.uuid4().hex[:8]}"
    core.create_namespace({"metadata": {"name": name, "labels": {"opsbook.test": "control-plane"}}})
    try:
        yield name
    finally:
        core.delete_namespace(name)


def deployment(name: str, replicas: int, labels: dict[str, str], **pod_spec: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "main", "image": "opsbook/app:1.0"}], **pod_spec},
            },
        },
    }


def test_local_kubernetes_inventory_has_the_platform_shape() -> None:
    """Needs no cluster: the inventory parses and points at the sandbox's kubeconfig."""
    inv = ansible_inventory(INVENTORY)
    assert set(inv) >= {"kube_control", "app", "mongodb", "postgres", "redis", "lb", "monitoring"}
    hv = inv["_meta"]["hostvars"]["sandbox-kube"]
    assert hv["opsbook_platform_type"] == "kubernetes"
    assert hv["opsbook_k8s_namespace"] == NAMESPACE
    assert hv["opsbook_k8s_kubeconfig"].endswith("/kubernetes/admin.kubeconfig")
    deployments = {s["name"]: s["deployment"] for s in hv["opsbook_services"] if s.get("deployment")}
    assert deployments == {"api": "opsbook-api", "worker": "opsbook-worker"}


def test_components_answer(k8s: Any) -> None:
    from kubernetes import client

    assert client.VersionApi(k8s).get_code().git_version == sandbox_version("KUBERNETES_VERSION")
    assert https_ok(f"{APISERVER}/readyz?verbose")
    assert https_ok(f"https://127.0.0.1:{PORTS['kube_controller_manager']}/healthz", ca=None)
    assert https_ok(f"https://127.0.0.1:{PORTS['kube_scheduler']}/healthz", ca=None)
    with urllib.request.urlopen(f"http://127.0.0.1:{PORTS['etcd']}/version", timeout=5) as resp:
        etcd = json.load(resp)
    assert f"v{etcd['etcdserver']}" == sandbox_version("ETCD_VERSION")


def test_anonymous_requests_are_refused_beyond_health(k8s: Any) -> None:
    """Only the health endpoints are public: reading objects without credentials is refused."""
    ctx = ssl.create_default_context(cafile=str(CA))
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(f"{APISERVER}/api/v1/namespaces/{NAMESPACE}/secrets", context=ctx, timeout=5)
    assert err.value.code in (401, 403)


def test_kwok_nodes_are_ready(k8s: Any) -> None:
    from kubernetes import client

    nodes = client.CoreV1Api(k8s).list_node(label_selector="type=kwok").items
    assert len(nodes) == 3
    for node in nodes:
        ready = {c.type: c.status for c in node.status.conditions}["Ready"]
        assert ready == "True", node.metadata.name
        assert node.status.node_info.kubelet_version == f"kwok-{sandbox_version('KWOK_VERSION').lstrip('v')}"
        # Every simulated address is loopback: nothing the API server dials leaves the machine.
        assert {a.address for a in node.status.addresses if a.type == "InternalIP"} == {"127.0.0.1"}


def test_demo_workload_runs_as_seed_001_describes(k8s: Any) -> None:
    from kubernetes import client

    apps, core = client.AppsV1Api(k8s), client.CoreV1Api(k8s)
    api = apps.read_namespaced_deployment("opsbook-api", NAMESPACE)
    assert api.spec.replicas == 3
    assert deployment_available(apps, NAMESPACE, "opsbook-api")
    assert deployment_available(apps, NAMESPACE, "opsbook-worker")
    container = api.spec.template.spec.containers[0]
    assert {e.config_map_ref.name for e in container.env_from if e.config_map_ref} == {"opsbook-api-config"}
    assert {e.secret_ref.name for e in container.env_from if e.secret_ref} == {"opsbook-api-credentials"}

    pods = core.list_namespaced_pod(NAMESPACE, label_selector="app.kubernetes.io/name=opsbook-api").items
    running = [p for p in pods if p.status.phase == "Running" and p.metadata.deletion_timestamp is None]
    assert len(running) == 3
    assert all({c.type: c.status for c in p.status.conditions}["Ready"] == "True" for p in running)
    assert all(p.spec.node_name.startswith("kwok-node-") for p in running)
    assert all(p.status.pod_ip for p in running)

    creds = core.read_namespaced_secret("opsbook-api-credentials", NAMESPACE)
    mongo_url = base64.b64decode(creds.data["MONGO_URL"]).decode()
    assert mongo_url.startswith(f"mongodb://app:{secret('ferretdb_app')}@127.0.0.1:{PORTS['ferretdb']}/")
    config = core.read_namespaced_config_map("opsbook-api-config", NAMESPACE)
    assert config.data["PORT"] == "8000"

    hpa = client.AutoscalingV2Api(k8s).read_namespaced_horizontal_pod_autoscaler("opsbook-api-hpa", NAMESPACE)
    assert (hpa.spec.min_replicas, hpa.spec.max_replicas) == (3, 10)
    targets = {m.resource.name: m.resource.target.average_utilization for m in hpa.spec.metrics}
    assert targets == {"cpu": 70, "memory": 80}

    pdb = client.PolicyV1Api(k8s).read_namespaced_pod_disruption_budget("opsbook-api", NAMESPACE)
    assert pdb.spec.min_available == 2
    assert pdb.status.current_healthy == 3
    assert pdb.status.disruptions_allowed == 1


def test_secrets_are_encrypted_in_etcd(k8s: Any) -> None:
    """The API server encrypts Secrets (aescbc) before etcd stores them: the raw value in etcd,
    read through etcd's own HTTP gateway, carries the encryption prefix and no password."""
    key = base64.b64encode(f"/registry/secrets/{NAMESPACE}/opsbook-api-credentials".encode()).decode()
    req = urllib.request.Request(
        f"http://127.0.0.1:{PORTS['etcd']}/v3/kv/range", data=json.dumps({"key": key}).encode(), method="POST"
    )
    with urllib.request.urlopen(req, timeout=5) as resp:
        kvs = json.load(resp)["kvs"]
    raw = base64.b64decode(kvs[0]["value"])
    assert raw.startswith(b"k8s:enc:aescbc:v1:key1:")
    assert secret("ferretdb_app").encode() not in raw


def test_deployment_rolls_out_and_eviction_respects_its_budget(k8s: Any, scratch_namespace: str) -> None:
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException

    apps, core, policy = client.AppsV1Api(k8s), client.CoreV1Api(k8s), client.PolicyV1Api(k8s)
    labels = {"app": "guarded"}
    apps.create_namespaced_deployment(scratch_namespace, deployment("guarded", 1, labels))
    policy.create_namespaced_pod_disruption_budget(
        scratch_namespace,
        {"metadata": {"name": "guarded"}, "spec": {"minAvailable": 1, "selector": {"matchLabels": labels}}},
    )
    wait_for("deployment guarded to become available", lambda: deployment_available(apps, scratch_namespace, "guarded"))
    wait_for(
        "the PodDisruptionBudget to count the pod",
        lambda: policy.read_namespaced_pod_disruption_budget("guarded", scratch_namespace).status.current_healthy == 1,
    )
    pod = core.list_namespaced_pod(scratch_namespace, label_selector="app=guarded").items[0]
    eviction = {"metadata": {"name": pod.metadata.name, "namespace": scratch_namespace}}
    with pytest.raises(ApiException) as refused:
        core.create_namespaced_pod_eviction(pod.metadata.name, scratch_namespace, eviction)
    assert refused.value.status == 429
    assert "disruption budget" in refused.value.body

    # A rollout (what `kubectl rollout restart` does) makes a new ReplicaSet whose pods kwok runs.
    apps.patch_namespaced_deployment(
        "guarded",
        scratch_namespace,
        {"spec": {"template": {"metadata": {"annotations": {"opsbook.test/restartedAt": uuid.uuid4().hex}}}}},
    )
    wait_for("the restarted rollout to finish", lambda: deployment_available(apps, scratch_namespace, "guarded"))
    sets = apps.list_namespaced_replica_set(scratch_namespace, label_selector="app=guarded").items
    assert len(sets) == 2
    assert sorted(rs.status.replicas or 0 for rs in sets) == [0, 1]


def test_hpa_controller_holds_the_minimum(k8s: Any, scratch_namespace: str) -> None:
    """Without a metrics server the HPA cannot compute utilisation, but its controller runs:
    a Deployment below minReplicas is scaled up to it."""
    from kubernetes import client

    apps = client.AppsV1Api(k8s)
    apps.create_namespaced_deployment(scratch_namespace, deployment("scaled", 1, {"app": "scaled"}))
    client.AutoscalingV2Api(k8s).create_namespaced_horizontal_pod_autoscaler(
        scratch_namespace,
        {
            "metadata": {"name": "scaled"},
            "spec": {
                "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "scaled"},
                "minReplicas": 2,
                "maxReplicas": 4,
                "metrics": [
                    {
                        "type": "Resource",
                        "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}},
                    }
                ],
            },
        },
    )
    wait_for(
        "the HPA to scale the Deployment to its minimum of 2",
        lambda: apps.read_namespaced_deployment("scaled", scratch_namespace).spec.replicas == 2,
        timeout=120,
    )
    wait_for("2 available replicas", lambda: deployment_available(apps, scratch_namespace, "scaled"))


def test_pod_logs_are_not_simulated(k8s: Any) -> None:
    """kwok runs no containers, so a pod has no logs: the API answers with an error (the sandbox
    routes the request to kwok's kubelet endpoint on loopback), never with log lines."""
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException

    core = client.CoreV1Api(k8s)
    pod = core.list_namespaced_pod(NAMESPACE, label_selector="app.kubernetes.io/name=opsbook-api").items[0]
    with pytest.raises(ApiException) as err:
        core.read_namespaced_pod_log(pod.metadata.name, NAMESPACE, container="api", tail_lines=5)
    assert err.value.status >= 400


def test_workload_playbook_is_idempotent(k8s: Any) -> None:
    """The sandbox applies its workload on every `sandbox-up`: a run on a deployed cluster changes nothing."""
    result = run_playbook("-i", str(INVENTORY), "sandbox/kubernetes/workload.yml", timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "changed=0" in result.stdout.split("PLAY RECAP")[-1], result.stdout[-2000:]


def test_sandbox_status_reports_the_control_plane(k8s: Any) -> None:
    out = subprocess.run(
        [str(REPO / "sandbox" / "status.sh")], capture_output=True, text=True, check=False, env=ansible_env()
    )
    line = next(line for line in out.stdout.splitlines() if line.startswith("kubernetes"))
    assert line.split()[1] == "up", out.stdout
