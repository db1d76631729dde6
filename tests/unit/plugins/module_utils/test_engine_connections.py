"""module_utils/postgres.py and module_utils/redis.py: the connection options of the `postgres`
and `redis` action groups and the client arguments built from them (pure functions: no server,
no psycopg2 or redis-py needed)."""

from __future__ import annotations

from ansible_collections.opsbook.runbooks.plugins.module_utils.postgres import connect_kwargs, postgres_argument_spec
from ansible_collections.opsbook.runbooks.plugins.module_utils.redis import client_kwargs, redis_argument_spec

PG_PARAMS = {
    "login_host": "db1",
    "login_port": 5433,
    "login_user": "postgres",
    "login_password": "s3cret",
    "ssl_mode": "prefer",
    "ca_cert": None,
}
REDIS_PARAMS = {
    "login_host": "cache1",
    "login_port": 6380,
    "login_user": "opsbook_admin",
    "login_password": "s3cret",
    "tls": False,
    "ca_certs": None,
}


def test_postgres_spec_keeps_the_group_options_and_takes_the_module_own() -> None:
    spec = postgres_argument_spec(databases={"type": "list", "elements": "str", "default": []})
    assert spec["login_host"]["default"] == "127.0.0.1"
    assert spec["login_port"] == {"type": "int", "default": 5432}
    assert spec["login_user"]["default"] == "postgres"
    assert spec["login_password"]["no_log"] is True
    assert spec["ssl_mode"]["default"] == "prefer"
    assert "databases" in spec
    # A module's own definition of a shared option wins.
    assert postgres_argument_spec(login_port={"type": "int"})["login_port"] == {"type": "int"}


def test_postgres_connect_kwargs_with_the_login_options() -> None:
    assert connect_kwargs(PG_PARAMS, "shop") == {
        "host": "db1",
        "port": 5433,
        "user": "postgres",
        "password": "s3cret",
        "dbname": "shop",
        "application_name": "opsbook",
        "connect_timeout": 10,
        "sslmode": "prefer",
    }
    # An empty password is no password (libpq then reads ~/.pgpass), as before the factory.
    assert connect_kwargs({**PG_PARAMS, "login_password": ""}, "shop")["password"] is None


def test_postgres_connect_kwargs_as_another_role_with_tls() -> None:
    params = {**PG_PARAMS, "ssl_mode": "verify-full", "ca_cert": "/etc/ssl/pg-ca.pem"}
    kwargs = connect_kwargs(
        params, "shop", user="app_b", password="n3w", connect_timeout=5, application_name="opsbook-rotation"
    )
    assert kwargs["user"] == "app_b"
    assert kwargs["password"] == "n3w"
    assert kwargs["connect_timeout"] == 5
    assert kwargs["application_name"] == "opsbook-rotation"
    assert kwargs["sslmode"] == "verify-full"
    assert kwargs["sslrootcert"] == "/etc/ssl/pg-ca.pem"


def test_postgres_connect_kwargs_without_tls_options_leave_libpq_defaults() -> None:
    # backup_restore and backup_verify connect with MongoDB-shaped login options (no ssl_mode).
    params = {"login_host": "db1", "login_port": 5432, "login_user": "postgres", "login_password": None}
    kwargs = connect_kwargs(params, "postgres")
    assert "sslmode" not in kwargs
    assert "sslrootcert" not in kwargs


def test_redis_spec_keeps_the_group_options() -> None:
    spec = redis_argument_spec(name={"type": "str", "required": True})
    assert spec["login_port"] == {"type": "int", "default": 6379}
    assert spec["login_password"]["no_log"] is True
    assert spec["tls"] == {"type": "bool", "default": False}
    assert spec["ca_certs"] == {"type": "path"}
    assert spec["name"]["required"] is True


def test_redis_client_kwargs_plain_and_tls() -> None:
    assert client_kwargs(REDIS_PARAMS) == {
        "host": "cache1",
        "port": 6380,
        "username": "opsbook_admin",
        "password": "s3cret",
        "socket_timeout": 10,
        "decode_responses": True,
    }
    tls = client_kwargs({**REDIS_PARAMS, "tls": True, "ca_certs": "/etc/ssl/redis-ca.pem"})
    assert tls["ssl"] is True
    assert tls["ssl_ca_certs"] == "/etc/ssl/redis-ca.pem"


def test_redis_client_kwargs_as_another_user() -> None:
    kwargs = client_kwargs(REDIS_PARAMS, user="app", password="n3w", socket_timeout=5, connect_timeout=5)
    assert (kwargs["username"], kwargs["password"]) == ("app", "n3w")
    assert kwargs["socket_connect_timeout"] == 5
    # A module without TLS options (credential_user) connects in plain text, as before.
    assert "ssl" not in client_kwargs({"login_host": "cache1", "login_port": 6379})
