# Copyright: opsbook contributors
# Apache License 2.0 (see LICENSE in the repository root)
"""Plain functions behind the service_control role: env-file edits, the per-service status of
Compose containers and Kubernetes Deployments, and the image history a rollback reads.

They take data (file contents, Docker and Kubernetes API replies) and return data, so unit tests
call them without Ansible; plugins/filter/service_control.py exposes them as filters."""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

ENV_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_ENV_LINE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=(.*)$")
_HEALTH = re.compile(r"\((healthy|unhealthy|health: starting)\)")


class ServiceControlError(ValueError):
    """Input the role cannot act on; the message names what to fix."""


def env_value(value: Any) -> str:
    """An env-file value: booleans as the lower-case words applications compare against."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        raise ServiceControlError(f"env values must be scalars, got {type(value).__name__} {value!r}")
    text = str(value)
    if "\n" in text or "\r" in text:
        raise ServiceControlError("env values must be on one line")
    return text


def env_file_parse(content: str) -> dict[str, str]:
    """KEY=value pairs of a Compose env file (comments and blank lines ignored; last one wins)."""
    values: dict[str, str] = {}
    for line in content.splitlines():
        if line.lstrip().startswith("#"):
            continue
        match = _ENV_LINE.match(line)
        if match:
            values[match[1]] = match[2]
    return values


def env_file_update(content: str, updates: dict[str, Any]) -> str:
    """The env file with each key of `updates` set: an existing line is replaced in place (the
    last one if the key repeats, as Compose reads the last), a new key is appended. Comments,
    order and other lines are kept byte for byte, so an unchanged file compares equal."""
    for key in updates:
        if not ENV_KEY.match(str(key)):
            raise ServiceControlError(f"{key!r} is not a valid environment variable name")
    lines = content.splitlines()
    last_index: dict[str, int] = {}
    for index, line in enumerate(lines):
        match = _ENV_LINE.match(line)
        if match and not line.lstrip().startswith("#"):
            last_index[match[1]] = index
    for key, value in updates.items():
        rendered = f"{key}={env_value(value)}"
        if key in last_index:
            lines[last_index[key]] = rendered
        else:
            lines.append(rendered)
    return "\n".join(lines) + "\n" if lines else ""


def container_health(container: dict[str, Any]) -> str:
    """healthy, unhealthy, starting, or none (no health check) from a Docker list entry."""
    state = container.get("State")
    if isinstance(state, dict):  # the inspect format
        health = (state.get("Health") or {}).get("Status")
        return {"starting": "starting"}.get(health, health) if health else "none"
    match = _HEALTH.search(container.get("Status") or "")
    if not match:
        return "none"
    return "starting" if match[1] == "health: starting" else match[1]


def _container_state(container: dict[str, Any]) -> str:
    state = container.get("State")
    if isinstance(state, dict):
        return str(state.get("Status") or "unknown")
    return str(state or "unknown")


def compose_status(containers: list[dict[str, Any]], services: list[str]) -> dict[str, dict[str, Any]]:
    """Per Compose service: state, health, image, replica counts and container details, from the
    Docker API's container list (docker_host_info with verbose_output) of one project.

    A service is running when every container of it runs, healthy when every running one is
    healthy or has no health check; a service without containers is absent."""
    result: dict[str, dict[str, Any]] = {}
    for name in services:
        mine = [c for c in containers if (c.get("Labels") or {}).get("com.docker.compose.service") == name]
        details = [
            {
                "name": ((c.get("Names") or ["?"])[0]).lstrip("/"),
                "id": str(c.get("Id", ""))[:12],
                "state": _container_state(c),
                "status": c.get("Status", ""),
                "health": container_health(c),
                "image": c.get("Image", ""),
                "image_id": c.get("ImageID", ""),
                "created": c.get("Created"),
            }
            for c in sorted(mine, key=lambda c: (c.get("Names") or [""])[0])
        ]
        running = [d for d in details if d["state"] == "running"]
        if not details:
            state, health = "absent", "unknown"
        elif len(running) == len(details):
            state = "running"
            healths = {d["health"] for d in running}
            if "unhealthy" in healths:
                health = "unhealthy"
            elif "starting" in healths:
                health = "starting"
            else:
                health = "healthy"
        else:
            state = "degraded" if running else details[0]["state"]
            health = "unhealthy"
        images = sorted({d["image"] for d in details})
        result[name] = {
            "platform": "compose",
            "state": state,
            "health": health,
            "healthy": health == "healthy",
            "image": images[0] if len(images) == 1 else images,
            "replicas": len(details),
            "ready_replicas": len([d for d in running if d["health"] in ("healthy", "none")]),
            "containers": details,
        }
    return result


def k8s_status(deployments: list[dict[str, Any]], services: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per service: state, health, image and replica counts from Deployment objects (k8s_info).

    `services` are inventory entries with `name`, `deployment` and optionally `container`. A
    Deployment is healthy when it has observed its latest generation and every desired replica
    is updated and available; scaled to zero it is stopped."""
    by_name = {(d.get("metadata") or {}).get("name"): d for d in deployments}
    result: dict[str, dict[str, Any]] = {}
    for service in services:
        deployment = by_name.get(service["deployment"])
        if deployment is None:
            result[service["name"]] = {
                "platform": "kubernetes",
                "deployment": service["deployment"],
                "state": "absent",
                "health": "unknown",
                "healthy": False,
                "image": None,
                "replicas": 0,
                "ready_replicas": 0,
            }
            continue
        meta = deployment.get("metadata") or {}
        spec = deployment.get("spec") or {}
        status = deployment.get("status") or {}
        containers = ((spec.get("template") or {}).get("spec") or {}).get("containers") or []
        wanted = service.get("container")
        container = next((c for c in containers if c.get("name") == wanted), containers[0] if containers else {})
        desired = int(spec.get("replicas", 1))
        ready = int(status.get("readyReplicas") or 0)
        available = int(status.get("availableReplicas") or 0)
        updated = int(status.get("updatedReplicas") or 0)
        observed = int(status.get("observedGeneration") or 0) >= int(meta.get("generation") or 0)
        rolled_out = observed and updated == desired and available == desired and ready == desired
        if desired == 0:
            state, health = "stopped", "none"
        elif rolled_out:
            state, health = "running", "healthy"
        elif available > 0:
            state, health = "degraded", "progressing" if updated < desired else "unhealthy"
        else:
            state, health = "down", "unhealthy"
        result[service["name"]] = {
            "platform": "kubernetes",
            "deployment": meta.get("name"),
            "namespace": meta.get("namespace"),
            "state": state,
            "health": health,
            "healthy": health == "healthy" or (desired == 0 and rolled_out),
            "image": container.get("image"),
            "container": container.get("name"),
            "env": {e["name"]: e.get("value") for e in container.get("env") or [] if "value" in e},
            "replicas": desired,
            "ready_replicas": ready,
            "available_replicas": available,
            "updated_replicas": updated,
            "revision": (meta.get("annotations") or {}).get("deployment.kubernetes.io/revision"),
            "conditions": [
                {k: c.get(k) for k in ("type", "status", "reason", "message")} for c in status.get("conditions") or []
            ],
        }
    return result


def image_override(
    existing: dict[str, Any] | None,
    images: dict[str, str],
    running: dict[str, str],
    now: str,
    rollback: bool = False,
) -> dict[str, Any]:
    """The Compose override document that pins `images` (service -> image), with the history a
    rollback reads (`x-opsbook-image-history`: per service, oldest first, at most 10 entries).

    The image a service ran before its first pin is recorded first, so the first rollback has
    somewhere to go; an entry written by a rollback names the image it rolled back from. An
    image already pinned and running adds nothing, so a rerun leaves the document unchanged."""
    document: dict[str, Any] = {"services": {}, "x-opsbook-image-history": {}}
    if existing:
        document["services"] = {k: dict(v) for k, v in (existing.get("services") or {}).items()}
        document["x-opsbook-image-history"] = {
            k: [dict(e) for e in v] for k, v in (existing.get("x-opsbook-image-history") or {}).items()
        }
    for service, image in images.items():
        if not image:
            raise ServiceControlError(f"no image given for service {service}")
        history = document["x-opsbook-image-history"].setdefault(service, [])
        before = running.get(service)
        if before and (not history or history[-1]["image"] != before):
            history.append({"image": before, "at": None})
        if not history or history[-1]["image"] != image:
            entry: dict[str, Any] = {"image": image, "at": now}
            if rollback and before:
                entry["rolled_back_from"] = before
            history.append(entry)
        del history[:-10]
        document["services"].setdefault(service, {})["image"] = image
    return document


def previous_image(
    override: dict[str, Any] | None,
    service: str,
    running_image: str,
    local_images: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The image to roll `service` back to, and where that answer came from.

    When the last history entry is a rollback to the running image, the rollback is done and the
    answer is the running image (a rerun changes nothing). Otherwise the latest earlier entry of
    the override's history; else the newest local image of the same repository created before the
    running one (local_images: Docker API image list entries with RepoTags and Created, seconds
    since the epoch). Images something was rolled back from are never chosen.
    Returns {image, source} or {image: None, reason}."""
    history = ((override or {}).get("x-opsbook-image-history") or {}).get(service) or []
    if history and history[-1]["image"] == running_image and history[-1].get("rolled_back_from"):
        last = history[-1]
        return {
            "image": running_image,
            "source": f"already rolled back from {last['rolled_back_from']} at {last.get('at')}",
        }
    bad = {e["rolled_back_from"] for e in history if e.get("rolled_back_from")} | {running_image}
    images = [e["image"] for e in history]
    if running_image in images:
        index = len(images) - 1 - images[::-1].index(running_image)
        earlier = [i for i in images[:index] if i not in bad]
        if earlier:
            return {"image": earlier[-1], "source": "opsbook image history"}
    running_created = next(
        (int(e.get("Created") or 0) for e in local_images or [] if running_image in (e.get("RepoTags") or [])), None
    )
    last_part = running_image.rsplit("/", 1)[-1]
    repository = running_image.rsplit(":", 1)[0] if ":" in last_part else running_image
    candidates = []
    for entry in local_images or []:
        created = int(entry.get("Created") or 0)
        for tag in entry.get("RepoTags") or []:
            older = running_created is None or created < running_created
            if tag.rsplit(":", 1)[0] == repository and tag not in bad and older:
                candidates.append((created, tag))
    if candidates:
        return {"image": max(candidates)[1], "source": f"the newest older local tag of {repository}"}
    return {
        "image": None,
        "reason": f"no image before {running_image} is known for {service}: no earlier entry in opsbook's image "
        f"history and no older local tag of {repository}; name the target in rollback_images",
    }


def attach_logs(status: dict[str, dict[str, Any]], log_results: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The status with `logs` (a list of lines) added to each service, from the registered
    results of one `docker logs --timestamps` per container (item: the container name; stdout
    and stderr lines merged in time order; prefixed with the container's name when a service
    has several)."""
    lines_by_container = {
        r["item"]: sorted([*(r.get("stdout_lines") or []), *(r.get("stderr_lines") or [])]) for r in log_results
    }
    result: dict[str, dict[str, Any]] = {}
    for name, service in status.items():
        containers = [c["name"] for c in service.get("containers") or []]
        lines: list[str] = []
        for container in containers:
            own = lines_by_container.get(container, [])
            if len(containers) > 1:
                own = [f"{container} | {line}" for line in own]
            lines.extend(own)
        result[name] = {**service, "logs": lines}
    return result


def k8s_env(env: dict[str, Any]) -> list[dict[str, str]]:
    """A container `env` list for a Deployment patch: names checked, values as strings
    (booleans as true/false, as the env file gets them)."""
    for key in env:
        if not ENV_KEY.match(str(key)):
            raise ServiceControlError(f"{key!r} is not a valid environment variable name")
    return [{"name": str(key), "value": env_value(value)} for key, value in env.items()]


def k8s_log_entry(result: dict[str, Any]) -> dict[str, Any]:
    """{logs: lines} from a registered k8s_log result, or {logs: [], logs_unavailable: why}
    when the API could not serve them (a pod that is not running, or a simulated node without a
    kubelet, has none)."""
    if result.get("failed") or "log_lines" not in result:
        why = str(result.get("msg") or "the API server returned no log").strip()
        return {"logs": [], "logs_unavailable": why.splitlines()[0][:300] if why else "no log"}
    return {"logs": list(result.get("log_lines") or [])}


def unsettled(status: dict[str, dict[str, Any]], expect: str) -> list[str]:
    """Names of the services not yet in the expected state: `healthy`, or `stopped` (nothing of
    the service running any more)."""
    if expect == "stopped":
        return [n for n, s in status.items() if s.get("state") in ("running", "degraded") or s.get("ready_replicas")]
    if expect == "healthy":
        return [n for n, s in status.items() if not s.get("healthy")]
    raise ServiceControlError(f"unknown expected state {expect!r}: healthy or stopped")


def k8s_secret_data(secret: dict[str, Any] | None) -> dict[str, str]:
    """The decoded ``data`` of a Kubernetes Secret as the API returns it (base64 values), as
    the text values an env file holds."""
    out: dict[str, str] = {}
    for key, value in ((secret or {}).get("data") or {}).items():
        try:
            out[key] = base64.b64decode(value, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError, TypeError) as err:
            raise ServiceControlError(f"key {key} of the Secret is not base64-encoded UTF-8 text: {err}") from err
    return out


def k8s_string_data(values: dict[str, Any]) -> dict[str, str]:
    """A Secret's ``stringData`` for `values`: names checked, values as the env file gets them
    (booleans as true/false), so the Secret and the env file hold the same text."""
    return {item["name"]: item["value"] for item in k8s_env(values)}


def image_targets(
    services: list[str],
    images: dict[str, str],
    rollback: bool,
    override: dict[str, Any] | None,
    running: dict[str, str],
    local_images: list[dict[str, Any]] | None = None,
) -> dict[str, dict[str, Any]]:
    """The image each service moves to: the one `images` names (set_image, or a rollback with
    an explicit target), else for a rollback the previous one (see previous_image). Services
    with neither are left out. Values: {image, source} or {image: None, reason}."""
    targets: dict[str, dict[str, Any]] = {}
    for name in services:
        if name in images:
            targets[name] = {"image": images[name], "source": "service_control_images"}
        elif rollback:
            if name not in running:
                raise ServiceControlError(f"service {name} has no running image to roll back from")
            targets[name] = previous_image(override, name, running[name], local_images)
    return targets


def k8s_attach_logs(status: dict[str, dict[str, Any]], log_results: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The status with each service's log lines (or why there are none) from the registered
    results of one k8s_log per Deployment (item: the selected service, with its name)."""
    entries = {result["item"]["name"]: k8s_log_entry(result) for result in log_results}
    return {name: {**service, **entries.get(name, {})} for name, service in status.items()}


def status_line(status: dict[str, dict[str, Any]], fields: list[str], separator: str = " ") -> str:
    """`api running healthy, worker running healthy`: per service its name and the given fields,
    joined by `separator`, for a run's one-line summaries."""
    return ", ".join(
        separator.join([name, *(str(service.get(field, "")) for field in fields)]) for name, service in status.items()
    )
