# Copyright: opsbook contributors
# Apache License 2.0 (see LICENSE in the repository root)
"""Filters of the alerting role: the Prometheus rules, the Alertmanager configuration and the
Prometheus configuration rendered from the alert catalog and the inventory. The logic lives in
module_utils/catalog.py, alertmanager.py and prometheus.py."""

from __future__ import annotations

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
from ansible_collections.opsbook.runbooks.plugins.plugin_utils.filters import filter_module

FilterModule = filter_module(
    (CatalogError, ScrapeConfigError),
    {
        "prometheus_rules": prometheus_rules,
        "alertmanager_config": alertmanager_config,
        "alertmanager_receiver_problems": receiver_problems,
        "prometheus_config": prometheus_config,
        "scrape_problems": scrape_problems,
        "unscraped_services": unscraped,
    },
)
