#!/usr/bin/python
# Copyright: opsbook contributors
# Apache License 2.0 (see LICENSE in the repository root)
"""Push alert_check's alerts to a running Alertmanager."""

from __future__ import annotations

DOCUMENTATION = r"""
module: alertmanager_push
short_description: Push alert_check's alerts to a running Alertmanager
description:
  - Posts alerts, as M(opsbook.runbooks.alert_check) or M(opsbook.runbooks.mongodb_health) return
    them, to Alertmanager's C(/api/v2/alerts). Alertmanager then routes them by their C(severity)
    label through the routing the alerting role renders from the alert catalog (P0 to the pager, the
    phone and the incidents channel, P3 to the batched email, and so on).
  - Each alert becomes an Alertmanager alert with the labels C(alertname) (the name of the matching
    Prometheus rule, C(<entry>) or C(<entry>Warning)), C(severity), C(level), C(catalog_entry), the
    alert's own labels and O(labels); and the annotations C(summary) (the alert's message),
    C(value), C(threshold), C(runbook) and O(annotations).
  - Firing alerts are posted on every run, because Alertmanager resolves an alert nobody re-sends
    within its C(resolve_timeout); the task reports a change only when Alertmanager did not hold
    one of them yet. With O(state=resolved) the alerts are posted with an end time of now, which
    resolves them.
extends_documentation_fragment:
  - opsbook.runbooks.alertmanager
  - opsbook.runbooks.attributes
version_added: "0.1.0"
author: opsbook contributors (@opsbook)
options:
  alerts:
    description:
      - The alerts, each with at least C(name) and C(severity) (P0-P4); C(level), C(alertname),
        C(labels), C(message), C(value), C(comparison), C(threshold) and C(runbook) are used when
        present. The C(alerts) list of M(opsbook.runbooks.alert_check) fits as it is.
    type: list
    elements: dict
    required: true
  labels:
    description: Labels added to every alert, such as C(environment) or C(source).
    type: dict
    default: {}
  annotations:
    description: Annotations added to every alert.
    type: dict
    default: {}
  generator_url:
    description: A link back to what raised the alerts (a report, a CI job).
    type: str
  state:
    description: C(firing) raises the alerts; C(resolved) ends them.
    type: str
    choices: [firing, resolved]
    default: firing
attributes:
  check_mode:
    support: full
    details: In check mode nothing is posted; RV(new) and RV(resolved) still say what would change.
  diff_mode:
    support: none
seealso:
  - module: opsbook.runbooks.alert_check
  - module: opsbook.runbooks.alertmanager_alerts_info
"""

EXAMPLES = r"""
- name: Evaluate the morning check's figures
  opsbook.runbooks.alert_check:
    catalog: "{{ lookup('opsbook.runbooks.catalog', overrides=alerting_overrides) }}"
    observations: "{{ health_observations }}"
  register: health_alerts

- name: Raise them in Alertmanager
  opsbook.runbooks.alertmanager_push:
    url: http://127.0.0.1:9093
    alerts: "{{ health_alerts.alerts }}"
    labels: {source: opsbook-health-check, environment: production}

- name: Resolve an alert once the service is back
  opsbook.runbooks.alertmanager_push:
    url: http://127.0.0.1:9093
    alerts:
      - {name: ServiceDown, level: critical, severity: P0, labels: {service: api}}
    labels: {source: opsbook-health-check, environment: production}
    state: resolved
"""

RETURN = r"""
posted:
  description: The alerts as posted to Alertmanager (none in check mode).
  returned: always
  type: list
  elements: dict
  sample:
    - labels: {alertname: ServiceDown, severity: P0, level: critical, catalog_entry: ServiceDown, service: api}
      annotations: {summary: "ServiceDown: service_up is 0, critical when < 1", value: "0", threshold: "< 1"}
new:
  description: The firing alerts Alertmanager did not hold before this push (the task's change).
  returned: always
  type: list
  elements: dict
  sample: []
resolved:
  description: With O(state=resolved), the alerts that were active and are now resolved.
  returned: always
  type: list
  elements: dict
  sample: []
"""

import traceback

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.opsbook.runbooks.plugins.module_utils.alertmanager import (
    connection_argument_spec,
    describe_http_error,
    open_url_http,
    push,
    to_alertmanager_alert,
)


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            **connection_argument_spec(),
            "alerts": {"type": "list", "elements": "dict", "required": True},
            "labels": {"type": "dict", "default": {}},
            "annotations": {"type": "dict", "default": {}},
            "generator_url": {"type": "str"},
            "state": {"type": "str", "choices": ["firing", "resolved"], "default": "firing"},
        },
        supports_check_mode=True,
    )
    p = module.params
    try:
        postable = [
            to_alertmanager_alert(
                alert,
                labels=p["labels"],
                annotations=p["annotations"],
                generator_url=p["generator_url"],
                resolved=p["state"] == "resolved",
            )
            for alert in p["alerts"]
        ]
    except ValueError as err:
        module.fail_json(msg=f"cannot push the alerts: {err}")
    try:
        result = push(open_url_http(p), p["url"], postable, check_mode=module.check_mode)
    except Exception as err:
        module.fail_json(msg=describe_http_error(err, p["url"]), exception=traceback.format_exc())
    module.exit_json(changed=bool(result["new"] or result["resolved"]), **result)


if __name__ == "__main__":
    main()
