# Copyright: opsbook contributors
# Apache License 2.0 (see LICENSE in the repository root)
"""Connection options shared by opsbook's Alertmanager modules."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  url:
    description: Base URL of the Alertmanager, such as C(http://127.0.0.1:9093).
    type: str
    required: true
  url_username:
    description: User for HTTP basic authentication (a proxy in front of Alertmanager).
    type: str
  url_password:
    description: Password of O(url_username). Never logged.
    type: str
  validate_certs:
    description: Verify the server's TLS certificate.
    type: bool
    default: true
  ca_path:
    description: A CA bundle to verify the server's certificate with.
    type: path
  timeout:
    description: Seconds to wait for each HTTP call.
    type: int
    default: 10
"""
