# Copyright: opsbook contributors
# Apache License 2.0 (see LICENSE in the repository root)
"""Connection options shared by opsbook's MongoDB modules."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  uri:
    description:
      - A MongoDB connection string. When given, O(login_host) and O(login_port) are ignored.
      - It may hold a password, so it is never logged.
    type: str
  login_host:
    description: Host of the MongoDB server.
    type: str
    default: 127.0.0.1
  login_port:
    description: Port of the MongoDB server.
    type: int
    default: 27017
  login_user:
    description: User to authenticate as. Without it, no authentication.
    type: str
  login_password:
    description: Password of O(login_user). Never logged.
    type: str
  login_database:
    description: Authentication database (authSource).
    type: str
    default: admin
  tls:
    description: Connect with TLS.
    type: bool
    default: false
  tls_ca_file:
    description: CA certificate file that verifies the server's certificate.
    type: path
  tls_certificate_key_file:
    description: Client certificate and key (PEM) for mutual TLS.
    type: path
  tls_allow_invalid_hostnames:
    description: Accept a server certificate whose host name does not match. For tests only.
    type: bool
    default: false
  server_selection_timeout_ms:
    description: How long to wait for a reachable server before failing, in milliseconds.
    type: int
    default: 5000
requirements:
  - pymongo >= 4.0
"""
