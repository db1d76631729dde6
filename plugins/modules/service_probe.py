#!/usr/bin/python
# Copyright: opsbook contributors
# Apache License 2.0 (see LICENSE in the repository root)
"""Probe HTTP health endpoints and TCP ports at once, timed in milliseconds."""

from __future__ import annotations

DOCUMENTATION = r"""
module: service_probe
short_description: Probe HTTP health endpoints and TCP ports concurrently, with latency in milliseconds
description:
  - The morning check's C(curl http://…/health) and C(telnet host port) (seeds 001 and 004) for
    many services in one module call; the probes run concurrently, so the call takes about as
    long as the slowest probe.
  - An HTTP target is up when it answers with one of its expected status codes; a TCP target is
    up when it accepts a connection. A probe that fails is a result (C(up=false) with the
    error), not a task failure.
  - Latency is measured in milliseconds; M(ansible.builtin.uri) reports whole seconds.
version_added: "0.1.0"
author: opsbook contributors (@opsbook)
extends_documentation_fragment:
  - opsbook.runbooks.attributes
  - opsbook.runbooks.attributes.info_module
options:
  targets:
    description: What to probe.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: Name of the target (the service), returned with its result.
        type: str
        required: true
      type:
        description: C(http) (GET the URL) or C(tcp) (connect).
        type: str
        required: true
        choices: [http, tcp]
      url:
        description: URL of an C(http) target.
        type: str
      expect_status:
        description: Status codes that mean up.
        type: list
        elements: int
        default: [200]
      ca_path:
        description: CA certificate that verifies an https endpoint's certificate.
        type: path
      address:
        description:
          - Connect to this address instead of the one the URL's name resolves to, as
            C(curl --resolve) does; the Host header and the certificate's check keep the URL's
            name. For a load balancer checked at a loopback or private address whose certificate
            is for its public name.
        type: str
      validate_certs:
        description: Verify the certificate of an https endpoint.
        type: bool
        default: true
      host:
        description: Host of a C(tcp) target.
        type: str
      port:
        description: Port of a C(tcp) target.
        type: int
  timeout:
    description: Timeout of each probe, in seconds.
    type: float
    default: 10
"""

EXAMPLES = r"""
- name: Probe the API's health endpoint through nginx and the PgBouncer port
  opsbook.runbooks.service_probe:
    targets:
      - {name: api, type: http, url: "https://shop.example.com/health/", ca_path: /etc/ssl/certs/internal-ca.pem}
      - {name: pgbouncer, type: tcp, host: 127.0.0.1, port: 6432}
    timeout: 5
  register: probes
"""

RETURN = r"""
results:
  description: One result per target, in the order of O(targets).
  returned: always
  type: list
  elements: dict
  sample:
    - {name: api, type: http, up: true, status_code: 200, latency_ms: 12.4, error: null}
    - {name: pgbouncer, type: tcp, up: false, latency_ms: null,
       error: "ConnectionRefusedError: [Errno 111] Connection refused"}
down:
  description: Names of the targets that are not up.
  returned: always
  type: list
  elements: str
  sample: [pgbouncer]
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.opsbook.runbooks.plugins.module_utils.probe import check_target, probe_all


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "targets": {
                "type": "list",
                "elements": "dict",
                "required": True,
                "options": {
                    "name": {"type": "str", "required": True},
                    "type": {"type": "str", "required": True, "choices": ["http", "tcp"]},
                    "url": {"type": "str"},
                    "expect_status": {"type": "list", "elements": "int", "default": [200]},
                    "ca_path": {"type": "path"},
                    "address": {"type": "str"},
                    "validate_certs": {"type": "bool", "default": True},
                    "host": {"type": "str"},
                    "port": {"type": "int"},
                },
            },
            "timeout": {"type": "float", "default": 10},
        },
        supports_check_mode=True,
    )
    targets = module.params["targets"]
    problems = [p for p in map(check_target, targets) if p]
    if problems:
        module.fail_json(msg="; ".join(problems))
    results = probe_all(targets, module.params["timeout"])
    module.exit_json(changed=False, results=results, down=[r["name"] for r in results if not r["up"]])


if __name__ == "__main__":
    main()
