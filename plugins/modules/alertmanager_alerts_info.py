#!/usr/bin/python
# Copyright: opsbook contributors
# Apache License 2.0 (see LICENSE in the repository root)
"""List the alerts a running Alertmanager holds."""

from __future__ import annotations

DOCUMENTATION = r"""
module: alertmanager_alerts_info
short_description: List the alerts a running Alertmanager holds
description:
  - Reads Alertmanager's C(/api/v2/alerts) (the morning check's "active alerts from
    Alertmanager") and returns each alert's name, severity, labels, annotations, state, the
    receivers it was routed to, and its start and end times, most urgent first, with a count per
    severity.
extends_documentation_fragment:
  - opsbook.runbooks.alertmanager
  - opsbook.runbooks.attributes
  - opsbook.runbooks.attributes.info_module
version_added: "0.1.0"
author: opsbook contributors (@opsbook)
options:
  filters:
    description: Label matchers the alerts must all match, such as C(severity=~"P0|P1") or C(service="api").
    type: list
    elements: str
    default: []
  active:
    description: Include active (neither silenced nor inhibited) alerts.
    type: bool
    default: true
  silenced:
    description: Include silenced alerts.
    type: bool
    default: true
  inhibited:
    description: Include inhibited alerts (a warning hidden by its critical alert).
    type: bool
    default: true
  receiver:
    description: Only alerts routed to receivers matching this regular expression.
    type: str
seealso:
  - module: opsbook.runbooks.alertmanager_push
"""

EXAMPLES = r"""
- name: List the active alerts for the morning report
  opsbook.runbooks.alertmanager_alerts_info:
    url: http://127.0.0.1:9093
    silenced: false
    inhibited: false
  register: active_alerts

- name: List the P0 and P1 alerts of the API
  opsbook.runbooks.alertmanager_alerts_info:
    url: http://127.0.0.1:9093
    filters: ['severity=~"P0|P1"', 'service="api"']
"""

RETURN = r"""
alerts:
  description: The alerts, most urgent first.
  returned: always
  type: list
  elements: dict
  sample:
    - alertname: ServiceDown
      severity: P0
      labels: {alertname: ServiceDown, severity: P0, level: critical, catalog_entry: ServiceDown, service: api}
      annotations: {summary: "ServiceDown: service_up is 0, critical when < 1"}
      state: active
      silenced_by: []
      inhibited_by: []
      receivers: [pager, phone, slack-incidents]
      starts_at: "2024-05-02T06:00:00.000Z"
      ends_at: "2024-05-02T06:05:00.000Z"
      fingerprint: 3f9a2c4b1d0e5f67
by_severity:
  description: How many alerts there are of each severity (P0-P4, and C(none) for alerts without one).
  returned: always
  type: dict
  sample: {P0: 1, P1: 0, P2: 2, P3: 0, P4: 0}
"""

import traceback

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.opsbook.runbooks.plugins.module_utils.alertmanager import (
    connection_argument_spec,
    describe_http_error,
    list_alerts,
    open_url_http,
)


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            **connection_argument_spec(),
            "filters": {"type": "list", "elements": "str", "default": []},
            "active": {"type": "bool", "default": True},
            "silenced": {"type": "bool", "default": True},
            "inhibited": {"type": "bool", "default": True},
            "receiver": {"type": "str"},
        },
        supports_check_mode=True,
    )
    p = module.params
    try:
        alerts = list_alerts(
            open_url_http(p),
            p["url"],
            filters=p["filters"],
            active=p["active"],
            silenced=p["silenced"],
            inhibited=p["inhibited"],
            receiver=p["receiver"],
        )
    except Exception as err:
        module.fail_json(msg=describe_http_error(err, p["url"]), exception=traceback.format_exc())
    by_severity = {sev: 0 for sev in ("P0", "P1", "P2", "P3", "P4")}
    for alert in alerts:
        key = alert["severity"] if alert["severity"] in by_severity else "none"
        by_severity[key] = by_severity.get(key, 0) + 1
    module.exit_json(changed=False, alerts=alerts, by_severity=by_severity)


if __name__ == "__main__":
    main()
