# Copyright: opsbook contributors
# Apache License 2.0 (see LICENSE in the repository root)
"""Connection options and connection factory shared by opsbook's PostgreSQL modules
(documented by the opsbook.runbooks.postgres doc fragment)."""

from __future__ import annotations

import traceback
from typing import Any

# The modules import psycopg2's error classes and sql from here, with the import error to report.
__all__ = [
    "PSYCOPG2_IMPORT_ERROR",
    "OperationalError",
    "Psycopg2Error",
    "connect",
    "connect_kwargs",
    "postgres_argument_spec",
    "sql",
]

PSYCOPG2_IMPORT_ERROR: str | None
try:
    import psycopg2
    from psycopg2 import Error as Psycopg2Error
    from psycopg2 import OperationalError, sql
except ImportError:
    PSYCOPG2_IMPORT_ERROR = traceback.format_exc()
    sql = None  # type: ignore[assignment]

    # Stand-ins, distinct as psycopg2's are, for modules that name them in except clauses; a
    # module without psycopg2 fails with missing_required_lib before it connects.
    class Psycopg2Error(Exception):  # type: ignore[no-redef]
        pass

    class OperationalError(Psycopg2Error):  # type: ignore[no-redef]
        pass

else:
    PSYCOPG2_IMPORT_ERROR = None

SSL_MODES = ["allow", "disable", "prefer", "require", "verify-ca", "verify-full"]


def postgres_argument_spec(**extra: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The connection options every opsbook PostgreSQL module accepts (the names of the
    `postgres` action group, as community.postgresql spells them), plus the module's own;
    an `extra` entry of the same name replaces the shared one."""
    spec: dict[str, dict[str, Any]] = {
        "login_host": {"type": "str", "default": "127.0.0.1"},
        "login_port": {"type": "int", "default": 5432},
        "login_user": {"type": "str", "default": "postgres"},
        "login_password": {"type": "str", "no_log": True},
        "ssl_mode": {"type": "str", "default": "prefer", "choices": SSL_MODES},
        "ca_cert": {"type": "path", "aliases": ["ssl_rootcert"]},
    }
    spec.update(extra)
    return spec


def connect_kwargs(
    params: dict[str, Any],
    database: str,
    *,
    user: str | None = None,
    password: str | None = None,
    connect_timeout: int = 10,
    application_name: str = "opsbook",
) -> dict[str, Any]:
    """psycopg2.connect keyword arguments for the module parameters (a pure function): the
    login options, or `user` and `password` instead (logging in as another role)."""
    kwargs: dict[str, Any] = {
        "host": params["login_host"],
        "port": params["login_port"],
        "user": user if user is not None else params["login_user"],
        "password": password if user is not None else params.get("login_password") or None,
        "dbname": database,
        "application_name": application_name,
        "connect_timeout": connect_timeout,
    }
    if params.get("ssl_mode"):
        kwargs["sslmode"] = params["ssl_mode"]
    if params.get("ca_cert"):
        kwargs["sslrootcert"] = params["ca_cert"]
    return kwargs


def connect(params: dict[str, Any], database: str, **options: Any) -> Any:
    """A psycopg2 connection to `database` (see connect_kwargs for the options); the password
    stays in-process."""
    return psycopg2.connect(**connect_kwargs(params, database, **options))
