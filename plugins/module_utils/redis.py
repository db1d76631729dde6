# Copyright: opsbook contributors
# Apache License 2.0 (see LICENSE in the repository root)
"""Connection options and client factory shared by opsbook's Redis modules
(documented by the opsbook.runbooks.redis doc fragment)."""

from __future__ import annotations

import traceback
from typing import Any

# The modules import redis-py's error classes from here, with the import error to report.
__all__ = [
    "REDIS_IMPORT_ERROR",
    "AuthenticationError",
    "RedisError",
    "ResponseError",
    "client_kwargs",
    "redis_argument_spec",
    "redis_client",
]

REDIS_IMPORT_ERROR: str | None
try:
    import redis
    from redis.exceptions import AuthenticationError, RedisError, ResponseError
except ImportError:
    REDIS_IMPORT_ERROR = traceback.format_exc()

    # Stand-ins, distinct as redis-py's are, for modules that name them in except clauses; a
    # module without redis-py fails with missing_required_lib before it connects.
    class RedisError(Exception):  # type: ignore[no-redef]
        pass

    class ResponseError(RedisError):  # type: ignore[no-redef]
        pass

    class AuthenticationError(RedisError):  # type: ignore[no-redef]
        pass

else:
    REDIS_IMPORT_ERROR = None


def redis_argument_spec(**extra: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The connection options every opsbook Redis module accepts (the names of the `redis`
    action group), plus the module's own; an `extra` entry of the same name replaces the shared one."""
    spec: dict[str, dict[str, Any]] = {
        "login_host": {"type": "str", "default": "127.0.0.1"},
        "login_port": {"type": "int", "default": 6379},
        "login_user": {"type": "str"},
        "login_password": {"type": "str", "no_log": True},
        "tls": {"type": "bool", "default": False},
        "ca_certs": {"type": "path"},
    }
    spec.update(extra)
    return spec


def client_kwargs(
    params: dict[str, Any],
    *,
    user: str | None = None,
    password: str | None = None,
    socket_timeout: float = 10,
    connect_timeout: float | None = None,
) -> dict[str, Any]:
    """redis.Redis keyword arguments for the module parameters (a pure function): the login
    options, or `user` and `password` instead (logging in as another user)."""
    kwargs: dict[str, Any] = {
        "host": params["login_host"],
        "port": params["login_port"],
        "username": user if user is not None else params.get("login_user"),
        "password": password if user is not None else params.get("login_password"),
        "socket_timeout": socket_timeout,
        "decode_responses": True,
    }
    if connect_timeout is not None:
        kwargs["socket_connect_timeout"] = connect_timeout
    if params.get("tls"):
        kwargs["ssl"] = True
        kwargs["ssl_ca_certs"] = params.get("ca_certs")
    return kwargs


def redis_client(params: dict[str, Any], **options: Any) -> redis.Redis:
    """A client (redis-py connects on the first command); see client_kwargs for the options."""
    return redis.Redis(**client_kwargs(params, **options))
