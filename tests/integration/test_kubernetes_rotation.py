"""Credential rotation on the sandbox's Kubernetes platform (inventories/local-kubernetes): the
Secret the Deployments read is patched (its replaced values kept in <secret>-previous), the
Deployments are restarted one at a time, and a failure after the switch puts the previous Secret
back and restarts them again.

The database users are real (the sandbox's FerretDB, PostgreSQL and Redis, users of the test's
own); the pods are kwok's, which run no process, so "the application logs in" is proven by the
probe logging in with whatever the Secret holds at each moment, and "the application comes back"
by the new ReplicaSet becoming available. Skips name the control plane or the database server
that is missing."""

from __future__ import annotations

import base64
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import PORTS
from kubernetes_sandbox import INVENTORY, NAMESPACE, api_client, deployment_available, require_control_plane, wait_for
from rotation_sandbox import Probe, Require, RotationUsers, login, read_store, report, rotate

SECRET = "opsbook-api-credentials"
PREVIOUS = f"{SECRET}-previous"
DEPLOYMENTS = ("opsbook-api", "opsbook-worker")


def decode(data: dict[str, str] | None) -> dict[str, str]:
    return {k: base64.b64decode(v).decode() for k, v in (data or {}).items()}


def restarted_at(apps: Any) -> dict[str, str]:
    """Each Deployment's kubectl.kubernetes.io/restartedAt template annotation ('' before any)."""
    out = {}
    for name in DEPLOYMENTS:
        annotations = apps.read_namespaced_deployment(name, NAMESPACE).spec.template.metadata.annotations or {}
        out[name] = annotations.get("kubectl.kubernetes.io/restartedAt", "")
    return out


@pytest.fixture
def k8s_app(require: Require, tmp_path: Path) -> Iterator[dict[str, Any]]:
    """The Secret switched onto test users; afterwards its original data (and <secret>-previous as
    it was) put back, the Deployments restarted onto it, and the users dropped."""
    for service in ("ferretdb", "postgres", "redis"):
        require(service)
    require_control_plane()
    from kubernetes import client
    from kubernetes.client.rest import ApiException

    api = api_client()
    core, apps = client.CoreV1Api(api), client.AppsV1Api(api)
    original = core.read_namespaced_secret(SECRET, NAMESPACE).data or {}
    try:
        previous = core.read_namespaced_secret(PREVIOUS, NAMESPACE).data
    except ApiException as err:
        assert err.status == 404, err
        previous = None
    for name in DEPLOYMENTS:
        if not deployment_available(apps, NAMESPACE, name):
            pytest.skip(f"the sandbox's Kubernetes Deployment {name} is not rolled out (kwok nodes not ready?)")

    users = RotationUsers()
    vault_pass = tmp_path / "vault-pass"
    fd = os.open(vault_pass, os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(fd, secrets.token_hex(16).encode() + b"\n")
    os.close(fd)
    users.create()

    def put(name: str, data: dict[str, str]) -> None:
        body = client.V1Secret(metadata=client.V1ObjectMeta(name=name, namespace=NAMESPACE), data=data, type="Opaque")
        core.replace_namespaced_secret(name, NAMESPACE, body)

    try:
        core.patch_namespaced_secret(SECRET, NAMESPACE, {"stringData": users.urls()})
        yield {"users": users, "vault_pass": vault_pass, "tmp": tmp_path, "core": core, "apps": apps,
               "vault": tmp_path / "store" / "credentials.vault.yml",
               "secret": lambda: decode(core.read_namespaced_secret(SECRET, NAMESPACE).data)}  # fmt: skip
    finally:
        put(SECRET, original)
        if previous is None:
            try:
                core.delete_namespaced_secret(PREVIOUS, NAMESPACE)
            except ApiException as err:
                assert err.status == 404, err
        else:
            put(PREVIOUS, previous)
        users.drop()


def k8s_rotate(ctx: dict[str, Any], **variables: Any) -> Any:
    return rotate(ctx, "-i", str(INVENTORY), **variables)


def test_dual_user_rotation_patches_the_secret_and_restarts_the_deployments(k8s_app: dict[str, Any]) -> None:
    users: RotationUsers = k8s_app["users"]
    apps = k8s_app["apps"]
    before = k8s_app["secret"]()
    restarts = restarted_at(apps)
    with Probe(secret=k8s_app["secret"], health_calls=False) as probe:
        run = k8s_rotate(k8s_app)
    print(probe.summary())
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    after = k8s_app["secret"]()

    # Every login with the Secret of the moment worked while the rotation ran.
    assert probe.login_failures == []
    assert min(probe.logins.values()) >= 20
    # The pairs alternated in the Secret, Redis got a new password, a new API key came first.
    assert f"//{users.mongo[1]}:" in after["MONGO_URL"] and f"//{users.pg[1]}:" in after["DATABASE_URL"]
    assert f"//{users.redis}:" in after["REDIS_URL"] and after["REDIS_URL"] != before["REDIS_URL"]
    keys = after["API_KEYS"].split(",")
    assert len(keys) == 2 and keys[1] == users.api_key
    for var in ("MONGO_URL", "REDIS_URL", "DATABASE_URL"):
        login(var, after[var])
        with pytest.raises(Exception):  # noqa: B017 - each driver raises its own authentication error
            login(var, before[var])
    # The replaced values are kept for a rollback, in a Secret of their own.
    assert decode(k8s_app["core"].read_namespaced_secret(PREVIOUS, NAMESPACE).data) == before
    # Both Deployments were restarted (a new template annotation) and their new ReplicaSets are available.
    now = restarted_at(apps)
    assert all(now[name] and now[name] != restarts[name] for name in DEPLOYMENTS), (restarts, now)
    for name in DEPLOYMENTS:
        assert deployment_available(apps, NAMESPACE, name)
    # The vault store holds what the Secret holds; the report names users, never a secret.
    assert read_store(k8s_app)["accounts"]["test_mongodb"]["value"] == after["MONGO_URL"]
    result = report(k8s_app)
    rows = {row["account"]: row for row in result["figures"]["accounts"]}
    assert rows["test_postgres"]["old_user"] == users.pg[0] and rows["test_postgres"]["new_user"] == users.pg[1]
    assert f"Secret {NAMESPACE}/{SECRET}" in run.stdout
    for value in (users.password, *keys, after["MONGO_URL"]):
        assert value not in str(result)


def test_rollback_restores_the_previous_secret(k8s_app: dict[str, Any]) -> None:
    """A health URL that never answers 200 stands for an application that does not come back on the
    new Secret: the previous values go back into the Secret, the Deployments are restarted onto
    them, and no login with the Secret of the moment fails meanwhile."""
    users: RotationUsers = k8s_app["users"]
    apps = k8s_app["apps"]
    before = k8s_app["secret"]()
    broken = [f"http://127.0.0.1:{PORTS['prometheus']}/opsbook-no-such-page"]
    with Probe(secret=k8s_app["secret"], health_calls=False) as probe:
        run = k8s_rotate(k8s_app, credential_rotation_health_urls=broken, credential_rotation_health_timeout=4)
    print(probe.summary())
    assert run.returncode != 0
    assert "The rotation failed at" in run.stdout and "previous secrets are back" in run.stdout
    assert k8s_app["secret"]() == before
    assert probe.login_failures == []
    for var in ("MONGO_URL", "REDIS_URL", "DATABASE_URL"):
        login(var, before[var])
    # The Deployments run on the restored Secret: restarted after it was put back, and available.
    for name in DEPLOYMENTS:
        wait_for(f"deployment {name} to be available", lambda n=name: deployment_available(apps, NAMESPACE, n))
    assert report(k8s_app)["figures"]["outcome"] == "rolled_back"
    assert users.mongo[1] in run.stdout
