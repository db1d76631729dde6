# Copyright: opsbook contributors
# Apache License 2.0 (see LICENSE in the repository root)
"""The Prometheus configuration for an inventory's services (seed 003's prometheus.yml shape),
as plain functions: one scrape job per service with a metrics endpoint, every target labelled
with the service's name and criticality (the alert catalog's service_up metrics select on it)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

CRITICALITIES = ("critical", "high", "medium", "low")
JOB_RE = re.compile(r"^[A-Za-z0-9_.-]+$")
# Labels the role sets on every service target; an inventory may not set them by hand.
RESERVED_LABELS = ("service", "criticality")


class ScrapeConfigError(ValueError):
    """An inventory whose scrape targets cannot be rendered; the message names the service."""


def scrape_problems(services: list[Mapping[str, Any]], scrape_targets: Mapping[str, Any]) -> list[str]:
    """What is wrong with alerting_scrape_targets against the inventory's opsbook_services."""
    known = {s.get("name"): s for s in services}
    problems = []
    for name, target in scrape_targets.items():
        if name not in known:
            problems.append(
                f"scrape target {name}: no service of that name in opsbook_services ({', '.join(map(str, known))})"
            )
            continue
        if known[name].get("criticality") not in CRITICALITIES:
            problems.append(f"service {name}: criticality must be one of {', '.join(CRITICALITIES)}")
        if not isinstance(target, Mapping):
            problems.append(f"scrape target {name}: must be a mapping with targets (host:port list)")
            continue
        targets = target.get("targets")
        if not isinstance(targets, list) or not targets or not all(isinstance(t, str) and t for t in targets):
            problems.append(f"scrape target {name}: targets must be a non-empty list of host:port strings")
        if not JOB_RE.match(str(name)):
            problems.append(f"scrape target {name}: a job name may hold letters, digits, '_', '.' and '-' only")
        reserved = [label for label in (target.get("labels") or {}) if label in RESERVED_LABELS]
        if reserved:
            problems.append(f"scrape target {name}: labels {reserved} are set from opsbook_services")
    return problems


def scrape_configs(services: list[Mapping[str, Any]], scrape_targets: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One job per service that has scrape targets, in the inventory's service order."""
    problems = scrape_problems(services, scrape_targets)
    if problems:
        raise ScrapeConfigError("the scrape configuration cannot be rendered:\n  " + "\n  ".join(problems))
    jobs = []
    for service in services:
        target = scrape_targets.get(service["name"])
        if target is None:
            continue
        job: dict[str, Any] = {"job_name": service["name"]}
        job.update({k: v for k, v in target.items() if k not in ("targets", "labels")})
        labels = {**dict(target.get("labels") or {}), "service": service["name"], "criticality": service["criticality"]}
        job["static_configs"] = [{"targets": list(target["targets"]), "labels": labels}]
        jobs.append(job)
    return jobs


def unscraped(services: list[Mapping[str, Any]], scrape_targets: Mapping[str, Any]) -> list[str]:
    """The services Prometheus does not scrape (no metrics endpoint given): their health comes
    from the health check only."""
    return [s["name"] for s in services if s["name"] not in scrape_targets]


def prometheus_config(
    services: list[Mapping[str, Any]],
    scrape_targets: Mapping[str, Any],
    *,
    rules_dir: str,
    alertmanagers: list[str],
    scrape_interval: str = "15s",
    evaluation_interval: str = "15s",
    external_labels: Mapping[str, str] | None = None,
    extra_jobs: list[Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """prometheus.yml: global intervals, the Alertmanagers, the rule files of rules_dir and the
    scrape jobs (the services', then the extra ones such as node-exporter or cadvisor)."""
    jobs = scrape_configs(services, scrape_targets)
    names = [job["job_name"] for job in jobs]
    for job in extra_jobs or []:
        if not job.get("job_name"):
            raise ScrapeConfigError(f"an extra scrape job has no job_name: {dict(job)!r}")
        names.append(job["job_name"])
        jobs.append(dict(job))
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ScrapeConfigError(f"scrape job names must be unique; repeated: {', '.join(duplicates)}")
    global_: dict[str, Any] = {"scrape_interval": scrape_interval, "evaluation_interval": evaluation_interval}
    if external_labels:
        global_["external_labels"] = dict(external_labels)
    return {
        "global": global_,
        "alerting": {"alertmanagers": [{"static_configs": [{"targets": list(alertmanagers)}]}]},
        "rule_files": [f"{rules_dir.rstrip('/')}/*.yml"],
        "scrape_configs": jobs,
    }
