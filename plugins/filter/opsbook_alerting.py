# Copyright: opsbook contributors
# Apache License 2.0 (see LICENSE in the repository root)
"""Filters of the alerting role: the Prometheus rules, the Alertmanager configuration and the
Prometheus configuration rendered from the alert catalog and the inventory. The logic lives in
module_utils/opsbook_catalog.py, opsbook_alertmanager.py and opsbook_prometheus.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import ansible.module_utils
from ansible.errors import AnsibleFilterError

PLUGINS = Path(__file__).resolve().parents[1]
# Ansible gives the project's module_utils to modules only; controller plugins share the same
# plain functions by importing them from the same place.
if str(PLUGINS / "module_utils") not in ansible.module_utils.__path__:
    ansible.module_utils.__path__.append(str(PLUGINS / "module_utils"))

from ansible.module_utils.opsbook_alertmanager import alertmanager_config, receiver_problems
from ansible.module_utils.opsbook_catalog import CatalogError, prometheus_rules
from ansible.module_utils.opsbook_prometheus import ScrapeConfigError, prometheus_config, scrape_problems, unscraped


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
            "opsbook_prometheus_rules": _rules,
            "opsbook_alertmanager_config": _alertmanager,
            "opsbook_alertmanager_receiver_problems": _receiver_problems,
            "opsbook_prometheus_config": _prometheus,
            "opsbook_scrape_problems": scrape_problems,
            "opsbook_unscraped_services": unscraped,
        }
