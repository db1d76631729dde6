# Copyright: opsbook contributors
# Apache License 2.0 (see LICENSE in the repository root)
"""Connection options and client factory shared by opsbook's MongoDB modules
(documented by the opsbook.runbooks.mongodb doc fragment)."""

from __future__ import annotations

import traceback
from typing import Any

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

# The modules import pymongo's error classes from here, with the import error to report.
__all__ = [
    "PYMONGO_IMPORT_ERROR",
    "ConnectionFailure",
    "OperationFailure",
    "PyMongoError",
    "client_kwargs",
    "mongodb_argument_spec",
    "mongodb_client",
    "mongodb_module",
]

PYMONGO_IMPORT_ERROR: str | None
try:
    import pymongo
    from pymongo.errors import ConnectionFailure, OperationFailure, PyMongoError
except ImportError:
    PYMONGO_IMPORT_ERROR = traceback.format_exc()

    # Stand-ins, distinct as pymongo's are, for modules that name them in except clauses; a
    # module without pymongo fails with missing_required_lib before it connects.
    class PyMongoError(Exception):  # type: ignore[no-redef]
        pass

    class ConnectionFailure(PyMongoError):  # type: ignore[no-redef]  # noqa: N818 (pymongo's name)
        pass

    class OperationFailure(PyMongoError):  # type: ignore[no-redef]  # noqa: N818 (pymongo's name)
        pass

else:
    PYMONGO_IMPORT_ERROR = None


def mongodb_argument_spec(**extra: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The connection options every opsbook MongoDB module accepts, plus the module's own."""
    spec: dict[str, dict[str, Any]] = {
        "uri": {"type": "str", "no_log": True},
        "login_host": {"type": "str", "default": "127.0.0.1"},
        "login_port": {"type": "int", "default": 27017},
        "login_user": {"type": "str"},
        "login_password": {"type": "str", "no_log": True},
        "login_database": {"type": "str", "default": "admin"},
        "tls": {"type": "bool", "default": False},
        "tls_ca_file": {"type": "path"},
        "tls_certificate_key_file": {"type": "path", "no_log": False},
        "tls_allow_invalid_hostnames": {"type": "bool", "default": False},
        "server_selection_timeout_ms": {"type": "int", "default": 5000},
    }
    spec.update(extra)
    return spec


def mongodb_module(**extra: dict[str, Any]) -> AnsibleModule:
    """The AnsibleModule of an opsbook MongoDB module: the connection options plus the module's own
    (as mongodb_argument_spec), login_user and login_password together, check mode supported. Fails
    the task with missing_required_lib when pymongo is missing."""
    module = AnsibleModule(
        argument_spec=mongodb_argument_spec(**extra),
        required_together=[["login_user", "login_password"]],
        supports_check_mode=True,
    )
    if PYMONGO_IMPORT_ERROR:
        module.fail_json(msg=missing_required_lib("pymongo"), exception=PYMONGO_IMPORT_ERROR)
    return module


def client_kwargs(
    params: dict[str, Any],
    *,
    user: str | None = None,
    password: str | None = None,
    auth_source: str | None = None,
    appname: str = "opsbook",
) -> dict[str, Any]:
    """pymongo.MongoClient keyword arguments for the module parameters (a pure function): the
    login options, or `user`, `password` and `auth_source` instead (logging in as another user)."""
    kwargs: dict[str, Any] = {
        "serverSelectionTimeoutMS": params["server_selection_timeout_ms"],
        "appname": appname,
    }
    if params.get("uri"):
        kwargs["host"] = params["uri"]
    else:
        kwargs["host"] = params["login_host"]
        kwargs["port"] = params["login_port"]
        kwargs["directConnection"] = True
    if user is not None:
        kwargs.update(username=user, password=password, authSource=auth_source or params["login_database"])
    elif params.get("login_user"):
        kwargs["username"] = params["login_user"]
        kwargs["password"] = params.get("login_password")
        kwargs["authSource"] = params["login_database"]
    if params.get("tls"):
        kwargs["tls"] = True
        if params.get("tls_ca_file"):
            kwargs["tlsCAFile"] = params["tls_ca_file"]
        if params.get("tls_certificate_key_file"):
            kwargs["tlsCertificateKeyFile"] = params["tls_certificate_key_file"]
        kwargs["tlsAllowInvalidHostnames"] = params["tls_allow_invalid_hostnames"]
    return kwargs


def mongodb_client(params: dict[str, Any], **options: Any) -> pymongo.MongoClient:
    """A connected client: the first command proves the server is reachable and the login works
    (see client_kwargs for the options)."""
    client: pymongo.MongoClient = pymongo.MongoClient(**client_kwargs(params, **options))
    try:
        client.admin.command("ping")
    except BaseException:
        client.close()
        raise
    return client
