"""The service_control role's pure parts: env-file edits, Compose and Kubernetes status, image
history and rollback targets, logs. Inputs are shaped like the Docker and Kubernetes API replies."""

from __future__ import annotations

import pytest
from ansible_collections.opsbook.runbooks.plugins.module_utils import service_control as sc

ENV = "# the app\nMONGO_URL=mongodb://app:s3cret@db/x\nREAD_ONLY_MODE=false\n\nAPI_KEYS=\n"


def test_env_update_replaces_in_place_and_keeps_the_rest() -> None:
    out = sc.env_file_update(ENV, {"READ_ONLY_MODE": True})
    assert out == ENV.replace("READ_ONLY_MODE=false", "READ_ONLY_MODE=true")
    assert sc.env_file_update(out, {"READ_ONLY_MODE": "true"}) == out  # a rerun changes nothing


def test_env_update_appends_new_keys_and_replaces_the_last_duplicate() -> None:
    out = sc.env_file_update("A=1\nA=2\n", {"A": 3, "B": None})
    assert out == "A=1\nA=3\nB=\n"
    assert sc.env_file_parse(out) == {"A": "3", "B": ""}


def test_env_update_ignores_commented_keys() -> None:
    assert sc.env_file_update("#A=1\n", {"A": "x"}) == "#A=1\nA=x\n"


@pytest.mark.parametrize("updates", [{"1BAD": "x"}, {"A-B": "x"}, {"A": "two\nlines"}, {"A": {"x": 1}}])
def test_env_update_refuses_bad_names_and_values(updates: dict) -> None:
    with pytest.raises(sc.ServiceControlError):
        sc.env_file_update("A=1\n", updates)


def container(service: str, state: str = "running", status: str = "Up 3 minutes (healthy)", n: int = 1) -> dict:
    return {
        "Id": f"{service}{n}" * 8,
        "Names": [f"/opsbook-{service}-{n}"],
        "Image": "opsbook/app:1.0",
        "ImageID": "sha256:44a6",
        "State": state,
        "Status": status,
        "Created": 1700000000,
        "Labels": {"com.docker.compose.project": "opsbook", "com.docker.compose.service": service},
    }


def test_compose_status_health_from_the_status_line() -> None:
    status = sc.compose_status(
        [container("api"), container("worker", status="Up 2 seconds"), container("cron", "exited", "Exited (1)")],
        ["api", "worker", "cron", "missing"],
    )
    assert status["api"]["healthy"] and status["api"]["image"] == "opsbook/app:1.0"
    assert status["worker"]["health"] == "healthy" and status["worker"]["containers"][0]["health"] == "none"
    assert status["cron"]["state"] == "exited" and not status["cron"]["healthy"]
    assert status["missing"]["state"] == "absent" and status["missing"]["replicas"] == 0


def test_compose_status_one_unhealthy_replica_makes_the_service_unhealthy() -> None:
    status = sc.compose_status(
        [container("worker", n=1), container("worker", status="Up 1 minute (unhealthy)", n=2)], ["worker"]
    )
    assert status["worker"]["health"] == "unhealthy" and status["worker"]["replicas"] == 2
    assert status["worker"]["ready_replicas"] == 1
    starting = sc.compose_status([container("api", status="Up 1 second (health: starting)")], ["api"])
    assert starting["api"]["health"] == "starting"


def test_unsettled_names_what_is_not_there_yet() -> None:
    status = sc.compose_status([container("api"), container("worker", "exited", "Exited (0)")], ["api", "worker"])
    assert sc.unsettled(status, "healthy") == ["worker"]
    assert sc.unsettled(status, "stopped") == ["api"]
    with pytest.raises(sc.ServiceControlError):
        sc.unsettled(status, "sleeping")


def deployment(replicas: int = 3, ready: int = 3, updated: int = 3, generation: int = 2, observed: int = 2) -> dict:
    return {
        "metadata": {
            "name": "eyewear-api",
            "namespace": "eyewear-ml",
            "generation": generation,
            "annotations": {"deployment.kubernetes.io/revision": "4"},
        },
        "spec": {
            "replicas": replicas,
            "template": {
                "spec": {
                    "containers": [
                        {"name": "sidecar", "image": "envoy:1"},
                        {
                            "name": "api",
                            "image": "eyewear/api:2.3",
                            "env": [{"name": "READ_ONLY_MODE", "value": "true"}],
                        },
                    ]
                }
            },
        },
        "status": {
            "observedGeneration": observed,
            "replicas": replicas,
            "readyReplicas": ready,
            "availableReplicas": ready,
            "updatedReplicas": updated,
            "conditions": [{"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"}],
        },
    }


SERVICE = {"name": "api", "deployment": "eyewear-api", "container": "api"}


def test_k8s_status_rolled_out() -> None:
    status = sc.k8s_status([deployment()], [SERVICE, {"name": "gone", "deployment": "nope"}])
    api = status["api"]
    assert api["healthy"] and api["image"] == "eyewear/api:2.3" and api["env"] == {"READ_ONLY_MODE": "true"}
    assert api["revision"] == "4" and api["replicas"] == 3
    assert status["gone"]["state"] == "absent" and not status["gone"]["healthy"]


def test_k8s_status_rollout_in_progress_or_down() -> None:
    assert sc.k8s_status([deployment(updated=1)], [SERVICE])["api"]["health"] == "progressing"
    assert sc.k8s_status([deployment(observed=1)], [SERVICE])["api"]["healthy"] is False
    assert sc.k8s_status([deployment(ready=0)], [SERVICE])["api"]["state"] == "down"
    stopped = sc.k8s_status([deployment(replicas=0, ready=0, updated=0)], [SERVICE])["api"]
    assert stopped["state"] == "stopped" and sc.unsettled({"api": stopped}, "stopped") == []


def test_k8s_env_values_are_strings() -> None:
    assert sc.k8s_env({"READ_ONLY_MODE": True, "N": 3}) == [
        {"name": "READ_ONLY_MODE", "value": "true"},
        {"name": "N", "value": "3"},
    ]
    with pytest.raises(sc.ServiceControlError):
        sc.k8s_env({"no spaces": "x"})


def test_k8s_log_entry_reports_missing_logs_plainly() -> None:
    assert sc.k8s_log_entry({"log_lines": ["a", "b"]}) == {"logs": ["a", "b"]}
    entry = sc.k8s_log_entry({"failed": True, "msg": 'pods "x" not found\ndetails'})
    assert entry["logs"] == [] and entry["logs_unavailable"] == 'pods "x" not found'


def test_image_history_records_the_first_image_and_is_stable_on_rerun() -> None:
    running = {"api": "opsbook/app:1.0"}
    doc = sc.image_override(None, {"api": "opsbook/app:1.1"}, running, "T1")
    assert doc["services"] == {"api": {"image": "opsbook/app:1.1"}}
    assert [e["image"] for e in doc["x-opsbook-image-history"]["api"]] == ["opsbook/app:1.0", "opsbook/app:1.1"]
    again = sc.image_override(doc, {"api": "opsbook/app:1.1"}, {"api": "opsbook/app:1.1"}, "T2")
    assert again == doc


def test_rollback_target_comes_from_the_history_then_stays() -> None:
    doc = sc.image_override(None, {"api": "app:1.1"}, {"api": "app:1.0"}, "T1")
    target = sc.previous_image(doc, "api", "app:1.1")
    assert target == {"image": "app:1.0", "source": "opsbook image history"}
    rolled = sc.image_override(doc, {"api": "app:1.0"}, {"api": "app:1.1"}, "T2", rollback=True)
    assert rolled["x-opsbook-image-history"]["api"][-1]["rolled_back_from"] == "app:1.1"
    # A second rollback recognises the first and stays on 1.0 instead of flipping back to 1.1.
    assert sc.previous_image(rolled, "api", "app:1.0")["image"] == "app:1.0"
    # A later bad deploy rolls back past the image that was rolled back from.
    deployed = sc.image_override(rolled, {"api": "app:1.2"}, {"api": "app:1.0"}, "T3")
    assert sc.previous_image(deployed, "api", "app:1.2")["image"] == "app:1.0"


def test_rollback_target_from_local_images_without_history() -> None:
    images = [
        {"RepoTags": ["opsbook/app:1.2"], "Created": 300},
        {"RepoTags": ["opsbook/app:1.1"], "Created": 200},
        {"RepoTags": ["opsbook/app:1.0"], "Created": 100},
        {"RepoTags": ["other/app:9"], "Created": 150},
        {"RepoTags": None, "Created": 250},
    ]
    assert sc.previous_image(None, "api", "opsbook/app:1.1", images)["image"] == "opsbook/app:1.0"
    assert sc.previous_image(None, "api", "opsbook/app:1.2", images)["image"] == "opsbook/app:1.1"
    missing = sc.previous_image(None, "api", "opsbook/app:1.0", images[2:3])
    assert missing["image"] is None and "rollback_images" in missing["reason"]


def test_registry_ports_are_not_mistaken_for_tags() -> None:
    images = [{"RepoTags": ["reg:5000/app:1"], "Created": 1}, {"RepoTags": ["reg:5000/app:2"], "Created": 2}]
    assert sc.previous_image(None, "api", "reg:5000/app:2", images)["image"] == "reg:5000/app:1"


def test_attach_logs_merges_streams_and_prefixes_replicas() -> None:
    status = sc.compose_status([container("worker", n=1), container("worker", n=2)], ["worker"])
    results = [
        {
            "item": "opsbook-worker-1",
            "stdout_lines": ["2025-01-01T00:00:02 b"],
            "stderr_lines": ["2025-01-01T00:00:01 a"],
        },
        {"item": "opsbook-worker-2", "stdout_lines": ["2025-01-01T00:00:03 c"], "stderr_lines": []},
    ]
    logs = sc.attach_logs(status, results)["worker"]["logs"]
    assert logs == [
        "opsbook-worker-1 | 2025-01-01T00:00:01 a",
        "opsbook-worker-1 | 2025-01-01T00:00:02 b",
        "opsbook-worker-2 | 2025-01-01T00:00:03 c",
    ]
