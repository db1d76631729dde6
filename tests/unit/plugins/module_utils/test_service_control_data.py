"""module_utils/service_control.py, the parts the role's task files call as filters: a Kubernetes
Secret's data decoded and patched, the image each service moves to, the k8s_log results attached
to the status, and the one-line summaries. Inputs are shaped like the Kubernetes API's replies
and the role's service_control_result."""

from __future__ import annotations

import base64

import pytest
from ansible_collections.opsbook.runbooks.plugins.module_utils import service_control as sc


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


SECRET = {
    "apiVersion": "v1",
    "kind": "Secret",
    "metadata": {"name": "opsbook-app", "namespace": "opsbook", "resourceVersion": "4211"},
    "type": "Opaque",
    "data": {
        "MONGO_URL": b64("mongodb://app_a:s3cr%40t@127.0.0.1:37017/opsbook_app?authSource=opsbook_app"),
        "API_KEYS": b64(""),
        "READ_ONLY_MODE": b64("false"),
    },
}
STATUS = {
    "api": {"state": "running", "health": "healthy", "healthy": True, "image": "opsbook/app:1.1"},
    "worker": {"state": "exited", "health": "none", "healthy": False, "image": "opsbook/app:1.1"},
}


def test_k8s_secret_data_decodes_every_key() -> None:
    assert sc.k8s_secret_data(SECRET) == {
        "MONGO_URL": "mongodb://app_a:s3cr%40t@127.0.0.1:37017/opsbook_app?authSource=opsbook_app",
        "API_KEYS": "",
        "READ_ONLY_MODE": "false",
    }
    assert sc.k8s_secret_data({"metadata": {"name": "empty"}}) == {}
    assert sc.k8s_secret_data(None) == {}


def test_k8s_secret_data_names_a_key_that_is_not_base64() -> None:
    with pytest.raises(sc.ServiceControlError, match="key MONGO_URL"):
        sc.k8s_secret_data({"data": {"MONGO_URL": "not base64!"}})


def test_k8s_string_data_holds_the_values_as_the_env_file_would() -> None:
    values = {"READ_ONLY_MODE": True, "API_KEYS": "k1,k2", "WORKERS": 4}
    assert sc.k8s_string_data(values) == {"READ_ONLY_MODE": "true", "API_KEYS": "k1,k2", "WORKERS": "4"}
    with pytest.raises(sc.ServiceControlError, match="not a valid environment variable name"):
        sc.k8s_string_data({"BAD-NAME": "x"})
    with pytest.raises(sc.ServiceControlError, match="one line"):
        sc.k8s_string_data({"MONGO_URL": "a\nb"})


def test_image_targets_prefers_the_named_image_then_the_history() -> None:
    override = {
        "services": {"api": {"image": "opsbook/app:1.1"}},
        "x-opsbook-image-history": {
            "api": [
                {"image": "opsbook/app:1.0", "at": None},
                {"image": "opsbook/app:1.1", "at": "2026-12-04T10:00:00Z"},
            ]
        },
    }
    running = {"api": "opsbook/app:1.1", "worker": "opsbook/app:1.1"}
    targets = sc.image_targets(["api", "worker"], {"worker": "opsbook/app:0.9"}, True, override, running, [])
    assert targets == {
        "api": {"image": "opsbook/app:1.0", "source": "opsbook image history"},
        "worker": {"image": "opsbook/app:0.9", "source": "service_control_images"},
    }
    # set_image: only the services named in images move.
    assert sc.image_targets(["api", "worker"], {"api": "opsbook/app:1.2"}, False, override, running) == {
        "api": {"image": "opsbook/app:1.2", "source": "service_control_images"}
    }
    # A rollback with nowhere to go says why instead of guessing.
    none = sc.image_targets(["worker"], {}, True, override, running, [])
    assert none["worker"]["image"] is None and "rollback_images" in none["worker"]["reason"]


def test_k8s_attach_logs_adds_lines_or_the_reason_there_are_none() -> None:
    results = [
        {"item": {"name": "api", "deployment": "opsbook-api"}, "log_lines": ["GET /health 200"], "changed": False},
        {
            "item": {"name": "worker", "deployment": "opsbook-worker"},
            "failed": True,
            "msg": "pod opsbook-worker-5d9 is on kwok-node-1, which has no kubelet\nmore",
        },
    ]
    out = sc.k8s_attach_logs(STATUS, results)
    assert out["api"]["logs"] == ["GET /health 200"] and out["api"]["image"] == "opsbook/app:1.1"
    assert out["worker"]["logs"] == [] and out["worker"]["logs_unavailable"].startswith("pod opsbook-worker-5d9")
    assert "logs" not in STATUS["api"], "the input is not changed"


def test_status_line() -> None:
    assert sc.status_line(STATUS, ["health"]) == "api healthy, worker none"
    assert sc.status_line(STATUS, ["state", "health"]) == "api running healthy, worker exited none"
    assert sc.status_line({"api": STATUS["api"]}, ["image"], " runs ") == "api runs opsbook/app:1.1"
    assert sc.status_line({}, ["health"]) == ""
