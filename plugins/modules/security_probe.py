#!/usr/bin/python
# Copyright: opsbook contributors
# Apache License 2.0 (see LICENSE in the repository root)
"""Probe what a client without credentials can do: old TLS versions, MongoDB and Redis commands."""

from __future__ import annotations

DOCUMENTATION = r"""
module: security_probe
short_description: Try what an attacker would try first - TLS 1.0/1.1, MongoDB and Redis without a login
description:
  - Part of the monthly security configuration check (seed 001 C(security-config-check.py),
    seed 004's monthly security compliance review).
  - For every TLS endpoint, a handshake offering only TLS 1.0 and one offering only TLS 1.1; an
    endpoint that negotiates either is critical.
  - For MongoDB, C(listDatabases) without credentials; for Redis, C(DBSIZE) without AUTH. An
    answer is critical; an authentication or authorisation error is the wanted result.
  - The module sends no credentials, so it has none to leak. A probe that cannot connect is a
    warning finding, not a task failure.
version_added: "0.1.0"
author: opsbook contributors (@opsbook)
extends_documentation_fragment:
  - opsbook.runbooks.attributes
  - opsbook.runbooks.attributes.info_module
options:
  tls_endpoints:
    description: TLS endpoints, as the certificate check's opsbook_tls_endpoints.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: Name of the endpoint in the findings.
        type: str
      host:
        description: Host to connect to.
        type: str
        required: true
      port:
        description: Port.
        type: int
        required: true
      server_name:
        description: SNI name; defaults to O(tls_endpoints[].host).
        type: str
  mongodb:
    description: MongoDB server to send C(listDatabases) to without a login; omit to skip.
    type: dict
    suboptions:
      host:
        description: Host.
        type: str
        required: true
      port:
        description: Port.
        type: int
        default: 27017
      tls:
        description: Connect with TLS.
        type: bool
        default: false
      tls_ca_file:
        description: CA certificate that verifies the server.
        type: path
  redis:
    description: Redis server to send C(DBSIZE) to without AUTH; omit to skip.
    type: dict
    suboptions:
      host:
        description: Host.
        type: str
        required: true
      port:
        description: Port.
        type: int
        default: 6379
      tls:
        description: Connect with TLS.
        type: bool
        default: false
      tls_ca_file:
        description: CA certificate that verifies the server.
        type: path
  timeout:
    description: Seconds to wait for each connection.
    type: float
    default: 10
requirements:
  - pymongo (for O(mongodb))
"""

EXAMPLES = r"""
- name: Try old TLS versions and logins without credentials
  opsbook.runbooks.security_probe:
    tls_endpoints:
      - {name: shop, host: shop.example.com, port: 443}
    mongodb: {host: 10.0.0.5, port: 27017}
    redis: {host: 127.0.0.1, port: 6379}
  register: security
"""

RETURN = r"""
findings:
  description: One finding per probe, each with check (tls_protocols, mongodb_auth, redis_auth),
    target, status (ok, warning, critical) and detail.
  returned: always
  type: list
  elements: dict
  sample:
    - {check: tls_protocols, target: "shop (shop.example.com:443)", status: ok,
       detail: "refuses TLSv1 and TLSv1.1; negotiates TLSv1.3"}
    - {check: redis_auth, target: "127.0.0.1:6379", status: ok,
       detail: "refuses commands without a password (NOAUTH Authentication required.)"}
tls:
  description: What each TLS endpoint negotiated, per endpoint.
  returned: always
  type: list
  elements: dict
  sample:
    - {name: shop, host: shop.example.com, port: 443, default: TLSv1.3,
       accepted: {TLSv1: false, TLSv1.1: false}, error: null}
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.opsbook.runbooks.plugins.module_utils.mongodb import PYMONGO_IMPORT_ERROR
from ansible_collections.opsbook.runbooks.plugins.module_utils.security import (
    mongodb_finding,
    probe_mongodb,
    probe_redis,
    probe_tls,
    redis_finding,
    tls_finding,
)

SERVER = {
    "host": {"type": "str", "required": True},
    "tls": {"type": "bool", "default": False},
    "tls_ca_file": {"type": "path"},
}


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "tls_endpoints": {
                "type": "list",
                "elements": "dict",
                "default": [],
                "options": {
                    "name": {"type": "str"},
                    "host": {"type": "str", "required": True},
                    "port": {"type": "int", "required": True},
                    "server_name": {"type": "str"},
                },
            },
            "mongodb": {"type": "dict", "options": {**SERVER, "port": {"type": "int", "default": 27017}}},
            "redis": {"type": "dict", "options": {**SERVER, "port": {"type": "int", "default": 6379}}},
            "timeout": {"type": "float", "default": 10},
        },
        supports_check_mode=True,
    )
    params = module.params
    if params["mongodb"] and PYMONGO_IMPORT_ERROR:
        module.fail_json(msg=missing_required_lib("pymongo"), exception=PYMONGO_IMPORT_ERROR)
    timeout = params["timeout"]
    tls = [probe_tls(endpoint, timeout) for endpoint in params["tls_endpoints"]]
    findings = [tls_finding(probe) for probe in tls]
    for kind, probe, judge in (("mongodb", probe_mongodb, mongodb_finding), ("redis", probe_redis, redis_finding)):
        server = params[kind]
        if server:
            try:
                reply = probe(server, timeout)
            except Exception as err:  # an unexpected client error is a finding, not a crash
                reply = {"ok": False, "error": f"{type(err).__name__}: {err}"}
            findings.append(judge(f"{server['host']}:{server['port']}", reply))
    module.exit_json(changed=False, findings=findings, tls=tls)


if __name__ == "__main__":
    main()
