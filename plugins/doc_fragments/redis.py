# Copyright: opsbook contributors
# Apache License 2.0 (see LICENSE in the repository root)
"""Connection options shared by opsbook's Redis modules."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  login_host:
    description: Host of the Redis server.
    type: str
    default: 127.0.0.1
  login_port:
    description: Port of the Redis server.
    type: int
    default: 6379
  login_user:
    description:
      - ACL user to authenticate as.
      - Without it, O(login_password) is the password of the C(default) user (C(AUTH password)).
    type: str
  login_password:
    description: Password of O(login_user). Never logged.
    type: str
  tls:
    description: Connect with TLS.
    type: bool
    default: false
  ca_certs:
    description: CA certificate file that verifies the server's certificate, with O(tls).
    type: path
requirements:
  - redis (the Python client) >= 4.0
"""
