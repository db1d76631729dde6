# Copyright: opsbook contributors
# Apache License 2.0 (see LICENSE in the repository root)
"""Connection options shared by opsbook's PostgreSQL modules."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  login_host:
    description: Host of the PostgreSQL server.
    type: str
    default: 127.0.0.1
  login_port:
    description: Port of the PostgreSQL server.
    type: int
    default: 5432
  login_user:
    description: Role to log in as.
    type: str
    default: postgres
  login_password:
    description: Password of O(login_user). Never logged.
    type: str
  ssl_mode:
    description:
      - How the connection uses TLS (libpq's C(sslmode)); V(prefer) tries TLS and falls back to a
        plain connection, V(verify-full) requires TLS with a certificate that O(ca_cert) verifies
        and that names O(login_host).
    type: str
    choices: [allow, disable, prefer, require, verify-ca, verify-full]
    default: prefer
  ca_cert:
    description: CA certificate file that verifies the server's certificate (libpq's C(sslrootcert)).
    type: path
    aliases: [ssl_rootcert]
requirements:
  - psycopg2
"""
