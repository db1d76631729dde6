# Copyright: opsbook contributors
# Apache License 2.0 (see LICENSE in the repository root)
"""Filters of the alerting role: the Prometheus rules, the Alertmanager configuration and the
Prometheus configuration rendered from the alert catalog and the inventory. The logic lives in
module_utils/catalog.py, alertmanager.py and prometheus.py."""

from __future__ import annotations

from typing import Any

from ansible.errors import AnsibleFilterError
from ansible_collections.opsbook.runbooks.plugins.module_utils.alertmanager import (
    alertmanager_config,
    receiver_problems,
)
from ansible_collections.opsbook.runbooks.plugins.module_utils.catalog import CatalogError, prometheus_rules
from ansible_collections.opsbook.runbooks.plugins.module_utils.prometheus import (
    ScrapeConfigError,
    prometheus_config,
    scrape_problems,
    unscraped,
)


def _rules(catalog: dict[str, Any], group: str = "opsbook") -> dict[str, Any]:
    return prometheus_rules(catalog, group)


def _alertmanager(catalog: dict[str, Any], receivers: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    try:
        return alertmanager_config(catalog, receivers, **kwargs)
    except CatalogError as err:
        raise AnsibleFilterError(str(err)) from err


def _receiver_problems(catalog: dict[str, Any], receivers: dict[str, Any], default_receiver: str) -> list[str]:
    return receiver_problems(catalog, receivers, default_receiver)


def _prometheus(services: list[dict[str, Any]], scrape_targets: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    try:
        return prometheus_config(services, scrape_targets, **kwargs)
    except ScrapeConfigError as err:
        raise AnsibleFilterError(str(err)) from err


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {
            "prometheus_rules": _rules,
            "alertmanager_config": _alertmanager,
            "alertmanager_receiver_problems": _receiver_problems,
            "prometheus_config": _prometheus,
            "scrape_problems": scrape_problems,
            "unscraped_services": unscraped,
        }
