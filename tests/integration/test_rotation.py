"""Credential rotation against the sandbox: zero failed logins with dual_user (and Redis overlap),
the single_user window measured, a rollback when the application does not come back healthy,
bad input stopped before any change, and check mode.

Each test rotates users of its own (rot_<hex>_*), switches the sandbox's application onto them
first, and puts the application's env file back and recreates the application at the end, so the
`app` users the other tests use are never touched."""

from __future__ import annotations

import json
import secrets
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg2
import pytest
import redis
from conftest import PORTS
from rotation_sandbox import (
    ENV_FILE,
    Probe,
    Require,
    RotationUsers,
    admin_mongo,
    admin_pg,
    admin_redis,
    login,
    parse_env,
    read_store,
    report,
    require_rotation_services,
    rotate,
    sandbox_app,
)

__all__ = ["sandbox_app"]  # a fixture, used by name


def test_dual_user_rotation_has_zero_failed_logins(sandbox_app: dict[str, Any]) -> None:
    users: RotationUsers = sandbox_app["users"]
    before = parse_env(ENV_FILE.read_text())
    with Probe() as probe:
        time.sleep(1)
        run = rotate(sandbox_app)
        time.sleep(1)
    print(probe.summary())
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    after = parse_env(ENV_FILE.read_text())

    # Every login with the application's secret of the moment worked, and every call of the
    # application's dependency check through nginx was answered ok: the two API instances were
    # recreated one at a time, so one of them always took the calls.
    assert probe.login_failures == []
    assert probe.health_failures == []
    assert probe.unreachable == []
    assert min(probe.logins.values()) >= 20
    assert probe.health["ok"] >= 20
    assert probe.last_health == "ok"

    # The pairs alternated, Redis kept its user with a new password, a new API key came first.
    assert f"//{users.mongo[1]}:" in after["MONGO_URL"] and f"//{users.pg[1]}:" in after["DATABASE_URL"]
    assert f"//{users.redis}:" in after["REDIS_URL"] and after["REDIS_URL"] != before["REDIS_URL"]
    keys = after["API_KEYS"].split(",")
    assert len(keys) == 2 and keys[1] == users.api_key and len(keys[0]) == 32
    # The old passwords are retired: the old users (and Redis' old password) no longer log in.
    for var in ("MONGO_URL", "REDIS_URL", "DATABASE_URL"):
        login(var, after[var])
        with pytest.raises(Exception):  # noqa: B017 - each driver raises its own authentication error
            login(var, before[var])
    # The vault store holds the new secrets and the key creation times; the previous store is kept.
    store = read_store(sandbox_app)
    assert store["accounts"]["test_mongodb"]["value"] == after["MONGO_URL"]
    assert store["accounts"]["test_mongodb"]["previous_user"] == users.mongo[0]
    assert [k["key"] for k in store["accounts"]["test_api_keys"]["keys"]] == keys
    assert (ENV_FILE.parent / (ENV_FILE.name + ".previous")).stat().st_mode & 0o777 == 0o600
    # The report names users and times, never a secret.
    result = report(sandbox_app)
    rows = {row["account"]: row for row in result["figures"]["accounts"]}
    assert rows["test_mongodb"]["old_user"] == users.mongo[0] and rows["test_mongodb"]["new_user"] == users.mongo[1]
    assert rows["test_mongodb"]["switched_at"]
    text = json.dumps(result)
    secret_values = [after[k] for k in ("MONGO_URL", "REDIS_URL", "DATABASE_URL")]
    secret_values += [str(urlsplit(url).password) for url in secret_values]
    for value in (users.password, *secret_values, *keys):
        assert value not in text


def test_rollback_when_the_application_does_not_come_back_healthy(sandbox_app: dict[str, Any]) -> None:
    """The application's health check fails after the switch (a URL that answers 404 stands for an
    application that does not come back): the previous secrets are restored everywhere, the
    application rolled back, the new passwords removed, and no login fails meanwhile."""
    users: RotationUsers = sandbox_app["users"]
    before = parse_env(ENV_FILE.read_text())
    broken = [f"http://127.0.0.1:{PORTS['app_api']}/health/dependencies", f"http://127.0.0.1:{PORTS['app_api']}/broken"]
    with Probe() as probe:
        time.sleep(1)
        run = rotate(sandbox_app, credential_rotation_health_urls=broken, credential_rotation_health_timeout=6)
        time.sleep(1)
    print(probe.summary())
    assert run.returncode != 0
    assert "The rotation failed at" in run.stdout and "previous secrets are back" in run.stdout
    assert "rescued=1" in run.stdout
    after = parse_env(ENV_FILE.read_text())
    assert {k: after[k] for k in before} == before
    assert probe.login_failures == []
    assert probe.health_failures == []
    assert probe.unreachable == []
    assert probe.last_health == "ok"
    # The old secrets log in; the user that was to take over does not keep the new password.
    for var in ("MONGO_URL", "REDIS_URL", "DATABASE_URL"):
        login(var, before[var])
    assert report(sandbox_app)["figures"]["outcome"] == "rolled_back"
    assert not sandbox_app["vault"].exists()
    assert users.mongo[1] in run.stdout  # the report names the user it tried, never its password


@pytest.fixture
def offline_env(require: Require, tmp_path: Path) -> dict[str, Any]:
    """A copy of an env file naming test users, for runs that must stop before any change: the
    application is not switched onto it."""
    require_rotation_services(require)
    users = RotationUsers()
    env_file = tmp_path / "app.env"
    env_file.write_text("".join(f"{k}={v}\n" for k, v in users.urls().items()))
    env_file.chmod(0o600)
    vault_pass = tmp_path / "vault-pass"
    vault_pass.write_text(secrets.token_hex(16) + "\n")
    vault_pass.chmod(0o600)
    return {"users": users, "tmp": tmp_path, "env_file": env_file, "vault_pass": vault_pass,
            "vault": tmp_path / "store" / "credentials.vault.yml"}  # fmt: skip


@pytest.mark.parametrize(
    ("variables", "created", "message"),
    [
        ({"credential_rotation_scope": "mongodb,mysql"}, True, "Unknown scope mysql"),
        ({"credential_rotation_vault_password_file": "/nonexistent/vault-pass"}, True, "does not exist: create it"),
        ({}, False, "is in use (in the application secret) but does not exist"),
    ],
    ids=["unknown-scope", "missing-vault-password", "user-does-not-exist"],
)
def test_bad_input_fails_before_any_change(
    offline_env: dict[str, Any], variables: dict[str, Any], created: bool, message: str
) -> None:
    users: RotationUsers = offline_env["users"]
    if created:
        users.create()
    try:
        before = offline_env["env_file"].read_bytes()
        run = rotate(offline_env, credential_rotation_env_file=str(offline_env["env_file"]), **variables)
        assert run.returncode != 0
        assert message in " ".join(run.stdout.split()), run.stdout[-3000:]
        assert offline_env["env_file"].read_bytes() == before
        assert not offline_env["vault"].exists()
        assert "Set the new password" not in run.stdout
        if created:
            env = parse_env(before.decode())
            for var in ("MONGO_URL", "REDIS_URL", "DATABASE_URL"):
                login(var, env[var])
    finally:
        if created:
            users.drop()


def test_check_mode_shows_the_plan_and_changes_nothing(offline_env: dict[str, Any]) -> None:
    users: RotationUsers = offline_env["users"]
    users.create()
    try:
        before = offline_env["env_file"].read_bytes()
        run = rotate(offline_env, "--check", credential_rotation_env_file=str(offline_env["env_file"]))
        assert run.returncode == 0, run.stdout[-3000:]
        assert f"{users.mongo[0]} -> {users.mongo[1]}" in run.stdout
        assert offline_env["env_file"].read_bytes() == before
        assert not offline_env["vault"].exists()
        assert not (offline_env["tmp"] / "reports").exists()
        env = parse_env(before.decode())
        for var in ("MONGO_URL", "REDIS_URL", "DATABASE_URL"):
            login(var, env[var])
        # The second user of each pair was not created.
        assert users.mongo[1] not in str(admin_mongo().opsbook_app.command("usersInfo", 1))
    finally:
        users.drop()


def test_emergency_rotation_stops_without_confirmation(offline_env: dict[str, Any]) -> None:
    users: RotationUsers = offline_env["users"]
    users.create()
    try:
        before = offline_env["env_file"].read_bytes()
        run = rotate(
            offline_env,
            playbook="emergency_credential_rotation.yml",
            credential_rotation_env_file=str(offline_env["env_file"]),
        )
        assert run.returncode != 0
        text = " ".join(run.stdout.split())
        assert "Not confirmed, nothing changed." in text and "the previous API keys stop working at once" in text
        assert offline_env["env_file"].read_bytes() == before
        assert not offline_env["vault"].exists()
    finally:
        users.drop()


def test_emergency_rotation_ends_the_sessions_opened_before_the_switch(sandbox_app: dict[str, Any]) -> None:
    """Seed 001's security incident: every credential rotated at once, the previous API keys invalid
    at once, and the connections opened with the leaked secrets before the switch ended
    (PostgreSQL pg_terminate_backend, Redis CLIENT KILL; FerretDB has no killAllSessionsByPattern,
    which the report says), while the application itself never fails a login or a health call."""
    users: RotationUsers = sandbox_app["users"]
    before = parse_env(ENV_FILE.read_text())
    tag = f"leaked-{secrets.token_hex(3)}"
    # Whoever holds the leaked secrets has connections open.
    leaked_pg = psycopg2.connect(before["DATABASE_URL"], application_name=tag)
    leaked_redis = redis.Redis.from_url(before["REDIS_URL"], single_connection_client=True)
    leaked_redis.client_setname(tag)
    try:
        time.sleep(2)  # opened well before the switch
        with Probe() as probe:
            time.sleep(1)
            run = rotate(sandbox_app, "-e", "confirm=yes", playbook="emergency_credential_rotation.yml")
            time.sleep(1)
        print(probe.summary())
        assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
        assert probe.login_failures == [] and probe.health_failures == [] and probe.unreachable == []

        # The leaked connections are gone from the servers.
        admin = admin_pg()
        with admin.cursor() as cur:
            cur.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", (tag,))
            assert cur.fetchone()[0] == 0
        admin.close()
        with pytest.raises(psycopg2.Error), leaked_pg.cursor() as cur:
            cur.execute("SELECT 1")
        assert not [c for c in admin_redis().client_list() if c.get("name") == tag]

        after = parse_env(ENV_FILE.read_text())
        # No grace period in an emergency: only the new API key is valid.
        assert len(after["API_KEYS"].split(",")) == 1 and users.api_key not in after["API_KEYS"]
        rows = {row["account"]: row for row in report(sandbox_app)["figures"]["accounts"]}
        assert rows["test_postgres"]["sessions"]["ended"] >= 1
        assert rows["test_redis"]["sessions"]["ended"] >= 1
        assert "killAllSessionsByPattern" in rows["test_mongodb"]["sessions"]["note"]
    finally:
        leaked_pg.close()
        leaked_redis.close()
