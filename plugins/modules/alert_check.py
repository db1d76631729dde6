#!/usr/bin/python
# Copyright: opsbook contributors
# Apache License 2.0 (see LICENSE in the repository root)
"""Evaluate observations against the opsbook alert catalog."""

from __future__ import annotations

DOCUMENTATION = r"""
module: alert_check
short_description: Evaluate observations against the opsbook alert catalog
description:
  - Compares observed values (host facts, HTTP checks, database figures, or instant queries to a
    Prometheus API) with the thresholds of the alert catalog and returns the alerts that fire,
    with their level, severity (P0-P4) and routing.
  - The catalog is validated first, with the inventory's overrides applied; a malformed entry
    fails the task with a message naming the entry.
  - With O(fail_on), the task fails when an alert of that severity or a more urgent one fires; the
    alerts are still returned.
version_added: "0.1.0"
author: opsbook contributors (@opsbook)
extends_documentation_fragment:
  - opsbook.runbooks.alert_catalog
  - opsbook.runbooks.attributes
  - opsbook.runbooks.attributes.info_module
options:
  catalog:
    description:
      - The alert catalog, usually the content of C(roles/alerting/files/catalog.yml), with the
        sections C(severities), C(routing), C(metrics) and C(entries).
    type: dict
    required: true
  observations:
    description:
      - Observed values by catalog metric name, each a number or a list of C({labels, value}).
      - A metric that is not observed raises no alert; a null value is skipped.
    type: dict
    default: {}
  prometheus_url:
    description:
      - A Prometheus server to ask, with an instant query of each metric's PromQL, for every
        catalog metric not given in O(observations).
    type: str
  fail_on:
    description: Fail when an alert of this severity or a more urgent one fires.
    type: str
    choices: [P0, P1, P2, P3, P4]
"""

EXAMPLES = r"""
- name: Check host figures against the catalog and fail on P1 or worse
  opsbook.runbooks.alert_check:
    catalog: "{{ lookup('ansible.builtin.file', 'roles/alerting/files/catalog.yml') | from_yaml }}"
    overrides: "{{ alerting_overrides | default({}) }}"
    observations:
      memory_usage_percent: "{{ 100 * ansible_facts.memory_mb.real.used / ansible_facts.memory_mb.real.total }}"
      service_up:
        - {labels: {service: api}, value: "{{ (api_health.status == 200) | int }}"}
    fail_on: P1

- name: Evaluate the catalog from Prometheus
  opsbook.runbooks.alert_check:
    catalog: "{{ lookup('ansible.builtin.file', 'roles/alerting/files/catalog.yml') | from_yaml }}"
    prometheus_url: http://127.0.0.1:9090
"""

RETURN = r"""
alerts:
  description:
    - The alerts that fire, most urgent first. C(alertname) is the name of the matching
      Prometheus rule (the entry's name, with C(Warning) appended at the warning level), so
      alerts pushed to Alertmanager with M(opsbook.runbooks.alertmanager_push) and the rules' alerts agree.
  returned: always
  type: list
  elements: dict
  sample:
    - name: ServiceDown
      alertname: ServiceDown
      level: critical
      severity: P0
      value: 0
      threshold: 1
      comparison: "<"
      labels: {service: api}
      receivers: [pager, phone, slack-incidents]
      runbook: docs/runbooks/health_check.md
      message: "ServiceDown: service_up is 0, critical when < 1"
status:
  description: C(critical) when any alert is at its critical level, C(warning) when any fires, else C(ok).
  returned: always
  type: str
  sample: critical
worst_severity:
  description: The most urgent severity among the alerts, or null.
  returned: always
  type: str
  sample: P0
observed_metrics:
  description: The metrics that had a value, whether given or queried.
  returned: always
  type: list
  elements: str
  sample: [service_up, memory_usage_percent]
notes:
  description: Metrics a Prometheus query could not provide, and why.
  returned: always
  type: list
  elements: str
  sample: ["backup_age_hours: the query returned no series"]
"""

import json
import traceback
import urllib.parse
from typing import Any

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.urls import open_url
from ansible_collections.opsbook.runbooks.plugins.module_utils.catalog import (
    CatalogError,
    evaluate,
    fires_at_or_above,
    merge,
    worst_severity,
)
from ansible_collections.opsbook.runbooks.plugins.module_utils.report import status_of


def query_prometheus(url: str, promql: str) -> list[dict[str, Any]]:
    """An instant query; each series becomes {labels, value}."""
    full = f"{url.rstrip('/')}/api/v1/query?{urllib.parse.urlencode({'query': promql})}"
    reply = json.loads(open_url(full, timeout=10).read())
    if reply.get("status") != "success":
        raise ValueError(reply.get("error", "query failed"))
    return [{"labels": r["metric"], "value": float(r["value"][1])} for r in reply["data"]["result"]]


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "catalog": {"type": "dict", "required": True},
            "overrides": {"type": "dict", "default": {}},
            "extra_entries": {"type": "list", "elements": "dict", "default": []},
            "observations": {"type": "dict", "default": {}},
            "prometheus_url": {"type": "str"},
            "fail_on": {"type": "str", "choices": ["P0", "P1", "P2", "P3", "P4"]},
        },
        supports_check_mode=True,
    )
    p = module.params
    try:
        catalog = merge(p["catalog"], p["overrides"], p["extra_entries"])
    except CatalogError as err:
        module.fail_json(msg=str(err))

    observations: dict[str, Any] = {k: v for k, v in p["observations"].items() if v is not None}
    notes: list[str] = []
    if p["prometheus_url"]:
        for name, metric in catalog["metrics"].items():
            if name in observations:
                continue
            try:
                series = query_prometheus(p["prometheus_url"], metric["promql"])
            except Exception as err:  # one failing query is a note, not a failure
                notes.append(f"{name}: the query failed: {err}")
                continue
            if series:
                observations[name] = series
            else:
                notes.append(f"{name}: the query returned no series")

    try:
        alerts = evaluate(catalog, observations)
    except (TypeError, ValueError) as err:
        module.fail_json(msg=f"an observation is not a number: {err}", exception=traceback.format_exc())
    result = {
        "changed": False,
        "alerts": alerts,
        "status": status_of(alerts),
        "worst_severity": worst_severity(alerts),
        "observed_metrics": sorted(observations),
        "notes": notes,
    }
    if p["fail_on"] and fires_at_or_above(alerts, p["fail_on"]):
        module.fail_json(
            msg=f"alerts at {p['fail_on']} or more urgent fired: {', '.join(a['name'] for a in alerts)}", **result
        )
    module.exit_json(**result)


if __name__ == "__main__":
    main()
