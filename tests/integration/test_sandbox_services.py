"""Each sandbox service answers a real client, with authentication that really is enforced."""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request
from collections.abc import Callable

import boto3
import psycopg2
import pytest
import redis
from conftest import STATE, secret

Require = Callable[[str], int]


def pg_query(port: int, user: str, password: str, sql: str) -> tuple:
    conn = psycopg2.connect(host="127.0.0.1", port=port, user=user, password=password, dbname="opsbook_app")
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
            return cur.fetchone()
    finally:
        conn.close()


def test_postgres_scram_login_and_app_database(require: Require) -> None:
    port = require("postgres")
    assert pg_query(port, "app", secret("postgres_app"), "SELECT current_user, current_database()") == (
        "app",
        "opsbook_app",
    )
    with pytest.raises(psycopg2.OperationalError, match="password authentication failed"):
        pg_query(port, "app", "wrong", "SELECT 1")


def test_postgres_has_pg_stat_statements(require: Require) -> None:
    port = require("postgres")
    assert pg_query(port, "postgres", secret("postgres_admin"), "SELECT count(*) FROM pg_stat_statements")[0] >= 0


def test_redis_acl_users(require: Require) -> None:
    port = require("redis")
    anonymous = redis.Redis(port=port)
    with pytest.raises(redis.exceptions.AuthenticationError):
        anonymous.ping()
    app = redis.Redis(port=port, username="app", password=secret("redis_app"))
    app.set("opsbook:test", "1", ex=60)
    assert app.get("opsbook:test") == b"1"
    with pytest.raises(redis.exceptions.NoPermissionError):
        app.flushall()
    with pytest.raises(redis.exceptions.AuthenticationError):
        redis.Redis(port=port, username="app", password="wrong").ping()


def test_redis_acl_file_holds_no_plain_password(require: Require) -> None:
    require("redis")
    acl = (STATE / "redis" / "users.acl").read_text()
    assert secret("redis_app") not in acl and secret("redis_admin") not in acl
    assert "#" in acl  # SHA-256 hashed passwords


def test_nginx_serves_tls_with_the_sandbox_certificate(require: Require) -> None:
    port = require("nginx_https")
    ctx = ssl.create_default_context(cafile=str(STATE / "nginx" / "tls" / "server.crt"))
    with urllib.request.urlopen(f"https://localhost:{port}/nginx-health", context=ctx, timeout=5) as resp:
        assert resp.status == 200
    with pytest.raises(urllib.error.URLError, match="CERTIFICATE_VERIFY_FAILED"):
        urllib.request.urlopen(f"https://localhost:{port}/nginx-health", timeout=5)


def test_prometheus_and_alertmanager_answer(require: Require) -> None:
    prom, am = require("prometheus"), require("alertmanager")
    with urllib.request.urlopen(f"http://127.0.0.1:{prom}/api/v1/targets", timeout=5) as resp:
        jobs = {t["labels"]["job"] for t in json.load(resp)["data"]["activeTargets"]}
    assert {"prometheus", "alertmanager", "api"} <= jobs
    with urllib.request.urlopen(f"http://127.0.0.1:{am}/api/v2/status", timeout=5) as resp:
        assert json.load(resp)["config"]["original"]


def test_s3_endpoint_round_trip(require: Require) -> None:
    port = require("s3")
    s3 = boto3.client(
        "s3",
        endpoint_url=f"http://127.0.0.1:{port}",
        region_name="us-east-1",
        aws_access_key_id="opsbook-sandbox",
        aws_secret_access_key="opsbook-sandbox",
    )
    s3.create_bucket(Bucket="opsbook-test")
    s3.put_object(Bucket="opsbook-test", Key="hello.txt", Body=b"hello")
    assert s3.get_object(Bucket="opsbook-test", Key="hello.txt")["Body"].read() == b"hello"
    s3.delete_object(Bucket="opsbook-test", Key="hello.txt")
    s3.delete_bucket(Bucket="opsbook-test")
