"""The Prometheus configuration rendered from an inventory's services (the sandbox's,
inventories/local), checked by promtool."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from ansible_collections.opsbook.runbooks.plugins.module_utils.prometheus import (
    ScrapeConfigError,
    prometheus_config,
    unscraped,
)
from conftest import REPO

SERVICES = yaml.safe_load((REPO / "inventories" / "local" / "group_vars" / "all" / "platform.yml").read_text())[
    "opsbook_services"
]


def test_scrape_jobs_label_every_target_with_service_and_criticality() -> None:
    targets = {
        "api": {"targets": ["api:3001"], "labels": {"team": "web"}},
        "mongodb": {"targets": ["mongodb-exporter:9216"], "scrape_interval": "30s"},
    }
    config = prometheus_config(
        SERVICES,
        targets,
        rules_dir="/etc/prometheus/rules/",
        alertmanagers=["alertmanager:9093"],
        extra_jobs=[{"job_name": "node-exporter", "static_configs": [{"targets": ["node-exporter:9100"]}]}],
        external_labels={"environment": "production"},
    )
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert list(jobs) == ["api", "mongodb", "node-exporter"], "services first, in the inventory's order"
    assert jobs["api"]["static_configs"] == [
        {"targets": ["api:3001"], "labels": {"team": "web", "service": "api", "criticality": "critical"}}
    ]
    assert jobs["mongodb"]["scrape_interval"] == "30s"
    assert config["rule_files"] == ["/etc/prometheus/rules/*.yml"]
    assert config["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"] == ["alertmanager:9093"]
    assert config["global"]["external_labels"] == {"environment": "production"}
    unscraped_services = ["api2", "worker", "postgres", "redis", "nginx", "prometheus", "alertmanager"]
    assert unscraped(SERVICES, targets) == unscraped_services


@pytest.mark.parametrize(
    ("targets", "message"),
    [
        ({"billing": {"targets": ["b:80"]}}, "scrape target billing: no service of that name"),
        ({"api": {"targets": []}}, "scrape target api: targets must be a non-empty list"),
        ({"api": {"targets": ["a:1"], "labels": {"criticality": "low"}}}, r"labels \['criticality'\] are set from"),
        ({"api": ["a:1"]}, "scrape target api: must be a mapping"),
    ],
)
def test_bad_scrape_targets_are_named(targets: dict[str, Any], message: str) -> None:
    with pytest.raises(ScrapeConfigError, match=message):
        prometheus_config(SERVICES, targets, rules_dir="/r", alertmanagers=[])


def test_an_extra_job_may_not_reuse_a_service_job_name() -> None:
    with pytest.raises(ScrapeConfigError, match="repeated: api"):
        prometheus_config(
            SERVICES,
            {"api": {"targets": ["a:1"]}},
            rules_dir="/r",
            alertmanagers=[],
            extra_jobs=[{"job_name": "api", "static_configs": []}],
        )


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool (Debian package prometheus) is not installed")
def test_rendered_prometheus_config_passes_promtool(tmp_path: Path) -> None:
    rules_dir = tmp_path / "rules"
    rules_dir.mkdir()
    config = prometheus_config(
        SERVICES,
        {
            "api": {"targets": ["127.0.0.1:38000"]},
            "mongodb": {"targets": ["127.0.0.1:37018"], "metrics_path": "/debug/metrics"},
        },
        rules_dir=str(rules_dir),
        alertmanagers=["127.0.0.1:39093"],
    )
    path = tmp_path / "prometheus.yml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    result = subprocess.run(["promtool", "check", "config", str(path)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
