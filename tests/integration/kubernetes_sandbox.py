"""Helpers for tests against the sandbox's Kubernetes control plane (`make sandbox-up K8S=1`,
sandbox/components/kubernetes.sh): where its kubeconfig is, a client for its API, and a skip that
names the control plane when it is not running."""

from __future__ import annotations

import contextlib
import re
import ssl
import time
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from conftest import PORTS, REPO, STATE

KUBE_DIR = STATE / "kubernetes"
KUBECONFIG = KUBE_DIR / "admin.kubeconfig"
CA = KUBE_DIR / "pki" / "ca.crt"
INVENTORY = REPO / "inventories" / "local-kubernetes"
NAMESPACE = "opsbook"
APISERVER = f"https://127.0.0.1:{PORTS['kube_apiserver']}"


def sandbox_version(name: str) -> str:
    """A version sandbox/lib/common.sh pins, such as KUBERNETES_VERSION."""
    text = (REPO / "sandbox" / "lib" / "common.sh").read_text()
    match = re.search(rf'^{name}="\$\{{{name}:-([^}}]+)\}}"$', text, re.M)
    assert match, f"{name} not found in sandbox/lib/common.sh"
    return match[1]


def https_ok(url: str, ca: str | None = str(CA)) -> bool:
    """True when url answers 200 over TLS verified against ca (None: not verified, for the
    components' self-signed health endpoints)."""
    ctx = ssl.create_default_context(cafile=ca)
    if ca is None:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    try:
        with urllib.request.urlopen(url, context=ctx, timeout=5) as resp:
            return resp.status == 200
    except OSError:
        return False


def require_control_plane() -> None:
    """Skip, naming the control plane, unless its API answers with the sandbox's certificates."""
    if not KUBECONFIG.is_file() or not CA.is_file():
        pytest.skip(
            f"the sandbox's Kubernetes control plane is not set up ({KUBECONFIG} is missing): "
            "start it with `make sandbox-up K8S=1`"
        )
    if not https_ok(f"{APISERVER}/readyz"):
        pytest.skip(
            f"the sandbox's Kubernetes control plane (kube-apiserver on {APISERVER}) is not running: "
            "start it with `make sandbox-up K8S=1`"
        )


def api_client() -> Any:
    """A kubernetes.client.ApiClient for the sandbox's cluster, as its administrator."""
    from kubernetes import config

    return config.new_client_from_config(config_file=str(KUBECONFIG))


@contextlib.contextmanager
def control_plane_client() -> Iterator[Any]:
    """A client for the sandbox's cluster (api_client), closed afterwards; skips, naming the
    control plane, when it is not running (require_control_plane)."""
    require_control_plane()
    client = api_client()
    try:
        yield client
    finally:
        client.close()


def wait_for(what: str, probe: Callable[[], Any], timeout: float = 90, interval: float = 1) -> Any:
    """Poll probe until it returns something truthy; fail naming what was awaited."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def deployment_available(apps: Any, namespace: str, name: str) -> bool:
    """True once every desired replica of the Deployment is updated and available."""
    dep = apps.read_namespaced_deployment(name, namespace)
    status, want = dep.status, dep.spec.replicas
    return (
        (status.observed_generation or 0) >= dep.metadata.generation
        and (status.updated_replicas or 0) == want
        and (status.available_replicas or 0) == want
        and (status.replicas or 0) == want
    )
