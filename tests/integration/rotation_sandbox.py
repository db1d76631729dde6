"""Helpers of the credential rotation tests: users of the tests' own in the sandbox's MongoDB,
PostgreSQL and Redis, the application switched onto them (and back), and probes that log in
with whatever the application's secret holds at that moment while a rotation runs."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import secrets
import ssl
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg2
import pymongo
import pytest
import redis
import yaml
from ansible.parsing.vault import VaultLib, VaultSecret
from ansible_collections.opsbook.runbooks.plugins.module_utils.credentials import postgres_scram_verifier
from conftest import PORTS, REPO, STATE, ferretdb_admin_client, run_playbook, secret

Require = Callable[[str], int]
ENV_FILE = STATE / "app" / "app.env"
# The sandbox's Docker engine's own state (sandbox/components/docker.sh: data root, exec root and
# temporary files): the containers' configurations and runc's process specs hold the containers'
# environment, which is where Compose puts the env file's values, as on any Docker host.
DOCKER_STATE = (STATE / "docker", STATE / "run" / "dockerd", STATE / "run" / "dockerd-tmp")
# The application as its clients reach it: through nginx, which balances the two API instances.
HEALTH_URL = f"https://localhost:{PORTS['nginx_https']}/health/dependencies"
CA_FILE = STATE / "nginx" / "tls" / "server.crt"
DOCKER = STATE / "run" / "docker.sock"


def parse_env(text: str) -> dict[str, str]:
    out = {}
    for line in text.splitlines():
        if "=" in line and not line.lstrip().startswith("#"):
            key, value = line.split("=", 1)
            out[key.strip()] = value
    return out


def admin_mongo() -> pymongo.MongoClient:
    return ferretdb_admin_client()


def admin_pg() -> Any:
    conn = psycopg2.connect(
        host="127.0.0.1", port=PORTS["postgres"], user="postgres", password=secret("postgres_admin"), dbname="postgres"
    )
    conn.autocommit = True
    return conn


def admin_redis() -> redis.Redis:
    return redis.Redis(port=PORTS["redis"], username="opsbook_admin", password=secret("redis_admin"))


def compose(*args: str) -> subprocess.CompletedProcess[str]:
    """docker compose on the sandbox's project, as sandbox/components/app.sh runs it (plus the
    image pins service_control may have written)."""
    files = ["-f", str(REPO / "sandbox" / "app" / "compose.yml")]
    override = STATE / "app" / "compose.opsbook.yml"
    if override.exists():
        files += ["-f", str(override)]
    env = dict(os.environ, APP_ENV_FILE=str(ENV_FILE), APP_API_PORT=str(PORTS["app_api"]),
               APP_API2_PORT=str(PORTS["app_api2"]))  # fmt: skip
    return subprocess.run(
        ["docker", "-H", f"unix://{DOCKER}", "compose", "-p", "opsbook", *files, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def recreate_app() -> None:
    run = compose("up", "-d", "--wait", "--wait-timeout", "120", "--force-recreate", "api", "api2", "worker")
    assert run.returncode == 0, run.stderr[-2000:]


@functools.cache
def tls_context() -> ssl.SSLContext:
    """Trusts the sandbox's nginx certificate; made once, not on each of the probe's ten calls a second."""
    return ssl.create_default_context(cafile=CA_FILE)


def health(url: str = HEALTH_URL) -> tuple[str, int]:
    """ok, failed (the application answered that a dependency fails) or unreachable."""
    context = tls_context() if url.startswith("https:") else None
    try:
        with urllib.request.urlopen(url, timeout=3, context=context) as reply:
            return ("ok" if reply.status == 200 else "failed"), reply.status
    except urllib.error.HTTPError as err:
        return "failed", err.code
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        return "unreachable", 0


@dataclass
class RotationUsers:
    """The tests' own users: MongoDB and PostgreSQL pairs (the second one is created by the
    rotation, with the first one's rights), one Redis user, each starting with `password`."""

    suffix: str = field(default_factory=lambda: secrets.token_hex(3))
    password: str = field(default_factory=lambda: f"rot-{secrets.token_hex(12)}")
    api_key: str = field(default_factory=lambda: f"key-{secrets.token_hex(12)}")

    @property
    def mongo(self) -> list[str]:
        return [f"rot_{self.suffix}_a", f"rot_{self.suffix}_b"]

    @property
    def pg(self) -> list[str]:
        return [f"rot_{self.suffix}_pa", f"rot_{self.suffix}_pb"]

    @property
    def redis(self) -> str:
        return f"rot_{self.suffix}_r"

    def urls(self) -> dict[str, str]:
        return {
            "MONGO_URL": f"mongodb://{self.mongo[0]}:{self.password}@127.0.0.1:{PORTS['ferretdb']}/opsbook_app"
            "?authSource=opsbook_app&directConnection=true",
            "REDIS_URL": f"redis://{self.redis}:{self.password}@127.0.0.1:{PORTS['redis']}/0",
            "DATABASE_URL": f"postgresql://{self.pg[0]}:{self.password}@127.0.0.1:{PORTS['postgres']}/opsbook_app",
            "API_KEYS": self.api_key,
        }

    def accounts(self, strategy: str = "dual_user") -> list[dict[str, Any]]:
        pair = strategy == "dual_user"
        return [
            {"name": "test_mongodb", "kind": "mongodb", "strategy": strategy, "env_var": "MONGO_URL",
             "users": self.mongo if pair else self.mongo[:1], "like": self.mongo[0], "database": "opsbook_app"},
            {"name": "test_postgres", "kind": "postgres", "strategy": strategy, "env_var": "DATABASE_URL",
             "users": self.pg if pair else self.pg[:1], "like": self.pg[0], "database": "opsbook_app"},
            {"name": "test_redis", "kind": "redis", "strategy": "overlap" if pair else strategy,
             "env_var": "REDIS_URL", "users": [self.redis]},
            {"name": "test_api_keys", "kind": "api_keys", "env_var": "API_KEYS"},
        ]  # fmt: skip

    def create(self) -> None:
        client = admin_mongo()
        try:
            client.opsbook_app.command("createUser", self.mongo[0], pwd=self.password, roles=[])
        finally:
            client.close()
        conn = admin_pg()
        with conn.cursor() as cur:
            # As the product does it: a SCRAM verifier, never the password in the statement's text
            # (pg_stat_statements keeps statement texts on disk).
            cur.execute(f'CREATE ROLE "{self.pg[0]}" LOGIN PASSWORD %s', (postgres_scram_verifier(self.password),))
            cur.execute(f'GRANT app TO "{self.pg[0]}"')
        conn.close()
        r = admin_redis()
        digest = hashlib.sha256(self.password.encode()).hexdigest()
        r.execute_command("ACL", "SETUSER", self.redis, "on", f"#{digest}", "~*", "&*", "+@all", "-@dangerous")
        r.close()

    def drop(self) -> None:
        client = admin_mongo()
        try:
            for user in self.mongo:
                with contextlib.suppress(pymongo.errors.OperationFailure):
                    client.opsbook_app.command("dropUser", user)
        finally:
            client.close()
        conn = admin_pg()
        with conn.cursor() as cur:
            for user in self.pg:
                cur.execute(f'DROP ROLE IF EXISTS "{user}"')
        conn.close()
        r = admin_redis()
        r.execute_command("ACL", "DELUSER", self.redis)
        if (r.config_get("aclfile") or {}).get("aclfile"):
            r.execute_command("ACL", "SAVE")
        r.close()


def login(var: str, url: str) -> None:
    """Log in with the URL the way the application does; raises on failure."""
    if var == "MONGO_URL":
        client: Any = pymongo.MongoClient(url, serverSelectionTimeoutMS=3000, connectTimeoutMS=3000)
        try:
            client.admin.command("ping")
        finally:
            client.close()
    elif var == "REDIS_URL":
        client = redis.Redis.from_url(url, socket_timeout=3, socket_connect_timeout=3)
        try:
            client.ping()
        finally:
            client.close()
    elif var == "DATABASE_URL":
        psycopg2.connect(url, connect_timeout=3).close()


class Probe:
    """Two threads at ten rounds a second each: one logs in to MongoDB, Redis and PostgreSQL with
    the URLs the application's secret holds at that moment (read by `secret`, the env file by
    default), one calls the application's /health/dependencies (unless `health_calls` is false:
    the simulated pods of the Kubernetes sandbox run no application)."""

    def __init__(
        self,
        variables: tuple[str, ...] = ("MONGO_URL", "REDIS_URL", "DATABASE_URL"),
        secret: Callable[[], dict[str, str]] = lambda: parse_env(ENV_FILE.read_text()),
        health_calls: bool = True,
    ) -> None:
        self.variables = variables
        self.secret = secret
        self.stop = threading.Event()
        self.logins: dict[str, int] = dict.fromkeys(variables, 0)
        self.login_failures: list[tuple[float, str, str]] = []
        self.health: dict[str, int] = {"ok": 0, "failed": 0, "unreachable": 0}
        self.health_failures: list[tuple[float, int]] = []
        self.unreachable: list[float] = []
        self.last_health = ""
        self.threads = [threading.Thread(target=self._logins, daemon=True)]
        if health_calls:
            self.threads.append(threading.Thread(target=self._health, daemon=True))

    def _pace(self, started: float) -> None:
        self.stop.wait(max(0.0, 0.1 - (time.monotonic() - started)))

    def _logins(self) -> None:
        while not self.stop.is_set():
            started = time.monotonic()
            env = self.secret()
            for var in self.variables:
                try:
                    login(var, env[var])
                    self.logins[var] += 1
                except Exception as err:
                    self.login_failures.append((time.time(), var, type(err).__name__))
            self._pace(started)

    def _health(self) -> None:
        while not self.stop.is_set():
            started = time.monotonic()
            status, code = health()
            self.health[status] += 1
            self.last_health = status
            if status == "failed":
                self.health_failures.append((time.time(), code))
            elif status == "unreachable":
                self.unreachable.append(time.time())
            self._pace(started)

    def __enter__(self) -> Probe:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=30)

    def login_window(self) -> float:
        """Seconds from the first to the last failed login (0 when none failed)."""
        if not self.login_failures:
            return 0.0
        return self.login_failures[-1][0] - self.login_failures[0][0]

    def longest_unreachable(self) -> float:
        """The longest run of unanswered health calls, in seconds (the restart of the api container)."""
        longest, start, last = 0.0, None, None
        for stamp in self.unreachable:
            if last is None or stamp - last > 1.0:
                start = stamp
            last = stamp
            longest = max(longest, stamp - start + 0.1)
        return longest

    def summary(self) -> str:
        return json.dumps({"logins": self.logins, "login_failures": self.login_failures[:10], "health": self.health,
                           "health_failures": self.health_failures[:10],
                           "longest_unreachable_s": round(self.longest_unreachable(), 1)})  # fmt: skip


def write_env(values: dict[str, str]) -> None:
    """Set variables in the env file, atomically and 0600, as the rotation does."""
    lines = ENV_FILE.read_text().splitlines()
    seen = set()
    for index, line in enumerate(lines):
        key = line.split("=", 1)[0].strip()
        if key in values:
            lines[index] = f"{key}={values[key]}"
            seen.add(key)
    lines += [f"{k}={v}" for k, v in values.items() if k not in seen]
    tmp = ENV_FILE.with_name(".rotation-test.env")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write("\n".join(lines) + "\n")
    tmp.replace(ENV_FILE)


def restore_env(original: bytes) -> None:
    tmp = ENV_FILE.with_name(".rotation-test.env")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(original)
    tmp.replace(ENV_FILE)
    previous = ENV_FILE.with_name(ENV_FILE.name + ".previous")
    previous.unlink(missing_ok=True)


def wait_healthy(timeout: float = 60) -> None:
    """Until each API instance and nginx in front of them answer ok three times in a row: a test's
    probe must start on an application that is up, so that what it counts is the rotation's doing."""
    urls = [HEALTH_URL, *(f"http://127.0.0.1:{PORTS[p]}/health/dependencies" for p in ("app_api", "app_api2"))]
    deadline, streak = time.monotonic() + timeout, 0
    while time.monotonic() < deadline:
        streak = streak + 1 if all(health(url)[0] == "ok" for url in urls) else 0
        if streak >= 3:
            return
        time.sleep(0.5)
    raise AssertionError(f"{', '.join(urls)} did not all answer ok within {timeout} s")


def require_rotation_services(require: Require) -> None:
    for service in ("ferretdb", "postgres", "redis", "app_api", "app_api2", "nginx_https"):
        require(service)
    if not DOCKER.exists():
        pytest.skip(f"sandbox service docker is not running (no {DOCKER}; run `make sandbox-up`)")


@pytest.fixture
def sandbox_app(require: Require, tmp_path: Path) -> Iterator[dict[str, Any]]:
    """The application switched onto test users; afterwards its env file restored and it recreated."""
    require_rotation_services(require)
    users = RotationUsers()
    original = ENV_FILE.read_bytes()
    vault_pass = tmp_path / "vault-pass"
    fd = os.open(vault_pass, os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(fd, secrets.token_hex(16).encode() + b"\n")
    os.close(fd)
    users.create()
    try:
        write_env(users.urls())
        recreate_app()
        wait_healthy()
        yield {"users": users, "original": original, "vault_pass": vault_pass, "tmp": tmp_path,
               "vault": tmp_path / "store" / "credentials.vault.yml"}  # fmt: skip
    finally:
        restore_env(original)
        recreate_app()
        users.drop()
        wait_healthy()


def rotate(ctx: dict[str, Any], *extra: str, playbook: str = "rotate_credentials.yml", **variables: Any) -> Any:
    settings = {
        "credential_rotation_accounts": ctx["users"].accounts(variables.pop("strategy", "dual_user")),
        "credential_rotation_vault_file": str(ctx["vault"]),
        "credential_rotation_vault_password_file": str(ctx["vault_pass"]),
        "credential_rotation_health_timeout": 30,
        "opsbook_report_dir": str(ctx["tmp"] / "reports"),
        **variables,
    }
    path = ctx["tmp"] / "vars.json"
    path.write_text(json.dumps(settings))
    return run_playbook("-e", f"@{path}", *extra, f"playbooks/{playbook}")


def read_store(ctx: dict[str, Any]) -> dict[str, Any]:
    vault = VaultLib([("default", VaultSecret(ctx["vault_pass"].read_bytes().strip()))])
    return yaml.safe_load(vault.decrypt(ctx["vault"].read_bytes()))


def report(ctx: dict[str, Any]) -> dict[str, Any]:
    reports = sorted((ctx["tmp"] / "reports").glob("*/report.json"))
    assert reports, "no report written"
    return json.loads(reports[-1].read_text())
