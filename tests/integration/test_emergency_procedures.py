"""Emergency procedures against the sandbox's Compose application and databases: outage
recovery, read-only mode, IP blocking, account lockdown, forensic capture, rollback, restarts,
and bad input stopping before any change. Every test puts the shared sandbox back as it found
it (app healthy, READ_ONLY_MODE=false, no block, no test user) in a finally block."""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from ansible_collections.opsbook.runbooks.plugins.module_utils.credentials import postgres_scram_verifier
from conftest import REPO, STATE, run_playbook, secret

DOCKER = ["docker", "-H", f"unix://{STATE}/run/docker.sock"]
API = "http://127.0.0.1:38000"
BLOCKED_SOURCE = "127.0.0.77"


@pytest.fixture
def app(require):
    require("app_api")
    yield
    restore_app()


def docker(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*DOCKER, *args], capture_output=True, text=True, timeout=120, check=False)


def http(method: str, path: str, body: bytes | None = None) -> int:
    request = urllib.request.Request(API + path, data=body, method=method)
    try:
        with urllib.request.urlopen(request, timeout=5) as reply:
            return reply.status
    except urllib.error.HTTPError as err:
        return err.code


def health() -> dict:
    with urllib.request.urlopen(API + "/health", timeout=5) as reply:
        return json.load(reply)


def restore_app() -> None:
    """Bring the sandbox app back as sandbox/components/app.sh leaves it."""
    env_file = STATE / "app" / "app.env"
    text = env_file.read_text()
    if "READ_ONLY_MODE=false" not in text:
        env_file.write_text(
            "\n".join(
                "READ_ONLY_MODE=false" if line.startswith("READ_ONLY_MODE=") else line for line in text.splitlines()
            )
            + "\n"
        )
    override = STATE / "app" / "compose.opsbook.yml"
    override.unlink(missing_ok=True)
    for backup in (STATE / "app").glob("compose.opsbook.yml.*~"):
        backup.unlink()
    env = {**os.environ, "APP_ENV_FILE": str(env_file), "APP_API_PORT": "38000", "APP_IMAGE": "opsbook/app:1.0"}
    subprocess.run(
        [*DOCKER, "compose", "-p", "opsbook", "-f", str(REPO / "sandbox/app/compose.yml"), "up", "-d", "--wait"],
        env=env,
        capture_output=True,
        timeout=180,
        check=True,
    )
    assert health()["read_only"] is False


def started_at(container: str) -> str:
    return docker("inspect", "-f", "{{.State.StartedAt}}", container).stdout.strip()


def test_outage_playbook_brings_a_killed_api_back(app) -> None:
    assert docker("kill", "opsbook-api-1").returncode == 0
    time.sleep(1)
    with pytest.raises(urllib.error.URLError):
        health()
    result = run_playbook("playbooks/emergency_outage.yml", "-e", "confirm=yes", "-e", "incident_id=INC-test-outage")
    assert result.returncode == 0, result.stdout[-3000:]
    assert health()["status"] == "ok"
    bundle = REPO / "incidents" / "INC-test-outage"
    summary = (bundle / "summary.md").read_text()
    # The bundle records the outage as found (the API down is Sev 1 / P0) and the restart.
    assert "Sev 1 / P0" in summary and "start api" in summary
    assert "## 1. Timeline of events" in (bundle / "postmortem.md").read_text()
    assert "**Severity**: P0" in (bundle / "status-update.md").read_text()


def test_read_only_mode_refuses_writes_serves_reads_and_switches_off(app) -> None:
    result = run_playbook("playbooks/emergency_data_corruption.yml", "-e", "confirm=yes")
    assert result.returncode == 0, result.stdout[-3000:]
    assert health()["read_only"] is True
    assert http("POST", "/items", b"{}") == 503
    assert http("GET", "/items") == 200
    assert "collections validated in opsbook_app; invalid: none" in result.stdout
    env_file = STATE / "app" / "app.env"
    assert env_file.stat().st_mode & 0o777 == 0o600
    result = run_playbook(
        "playbooks/emergency_data_corruption.yml", "-e", "confirm=yes", "-e", "emergency_read_only=off"
    )
    assert result.returncode == 0, result.stdout[-3000:]
    assert health()["read_only"] is False
    # A rerun changes nothing: the env file already says false and the services are up to date.
    again = run_playbook(
        "playbooks/emergency_data_corruption.yml", "-e", "confirm=yes", "-e", "emergency_read_only=off"
    )
    assert "changed=0" in again.stdout.split("PLAY RECAP")[-1].split("sandbox-app")[1].splitlines()[0]


def connect_from(source: str, port: int = 38000) -> str:
    with socket.socket() as sock:
        sock.settimeout(3)
        sock.bind((source, 0))
        try:
            sock.connect(("127.0.0.1", port))
        except ConnectionRefusedError:
            return "refused"
        except TimeoutError:
            return "timeout"
        return "connected"


@pytest.fixture
def test_accounts(require):
    """A PostgreSQL role, a Redis ACL user and a MongoDB user of the test's own, dropped afterwards."""
    import psycopg2
    import pymongo
    import redis

    require("postgres")
    require("redis")
    require("ferretdb")
    password = "test-only-" + os.urandom(6).hex()
    pg = psycopg2.connect(
        host="127.0.0.1", port=35432, user="postgres", password=secret("postgres_admin"), dbname="postgres"
    )
    pg.autocommit = True
    rd = redis.Redis(port=36379, username="opsbook_admin", password=secret("redis_admin"))
    mongo = pymongo.MongoClient(
        "127.0.0.1", 37017, username="opsbook_admin", password=secret("ferretdb_admin"), directConnection=True
    )
    with pg.cursor() as cur:
        cur.execute("DROP ROLE IF EXISTS opsbook_test_intruder")
        cur.execute("CREATE ROLE opsbook_test_intruder LOGIN PASSWORD %s", (postgres_scram_verifier(password),))
    rd.execute_command("ACL", "SETUSER", "opsbook_test_intruder", "on", f">{password}", "~*", "+@read", "+ping")
    with contextlib.suppress(pymongo.errors.OperationFailure):
        mongo.opsbook_app.command("dropUser", "opsbook_test_intruder")
    mongo.opsbook_app.command("createUser", "opsbook_test_intruder", pwd=password, roles=[])
    try:
        yield password
    finally:
        with pg.cursor() as cur:
            cur.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = 'opsbook_test_intruder'"
            )
            cur.execute("DROP ROLE IF EXISTS opsbook_test_intruder")
        pg.close()
        rd.execute_command("ACL", "DELUSER", "opsbook_test_intruder")
        rd.execute_command("ACL", "SAVE")
        rd.close()
        with contextlib.suppress(pymongo.errors.OperationFailure):
            mongo.opsbook_app.command("dropUser", "opsbook_test_intruder")
        mongo.close()
        registry = STATE / "incident-state" / "disabled-mongodb-users.json"
        if registry.exists():
            data = json.loads(registry.read_text())
            data["users"].pop("opsbook_test_intruder@opsbook_app", None)
            registry.write_text(json.dumps(data))


def logins(password: str) -> dict[str, bool]:
    import psycopg2
    import pymongo
    import redis

    out = {}
    try:
        psycopg2.connect(
            host="127.0.0.1", port=35432, user="opsbook_test_intruder", password=password, dbname="postgres"
        ).close()
        out["postgres"] = True
    except psycopg2.OperationalError:
        out["postgres"] = False
    try:
        redis.Redis(port=36379, username="opsbook_test_intruder", password=password).ping()
        out["redis"] = True
    except redis.exceptions.AuthenticationError:
        out["redis"] = False
    client = pymongo.MongoClient(
        "127.0.0.1",
        37017,
        username="opsbook_test_intruder",
        password=password,
        authSource="opsbook_app",
        directConnection=True,
        serverSelectionTimeoutMS=3000,
    )
    try:
        client.opsbook_app.command("ping")
        out["mongodb"] = True
    except pymongo.errors.OperationFailure:
        out["mongodb"] = False
    finally:
        client.close()
    return out


def test_security_incident_blocks_disables_captures_and_undoes(app, test_accounts, tmp_path: Path) -> None:
    password = test_accounts
    assert logins(password) == {"postgres": True, "redis": True, "mongodb": True}
    assert connect_from(BLOCKED_SOURCE) == "connected"
    users = {
        "emergency_block_ips": [BLOCKED_SOURCE],
        "emergency_postgres_users": ["opsbook_test_intruder"],
        "emergency_redis_users": ["opsbook_test_intruder"],
        "emergency_mongodb_users": ["opsbook_test_intruder@opsbook_app"],
        "incident_id": "INC-test-security",
        # The emergency rotation has its own tests; rotating the shared sandbox's credentials here
        # would disturb the other work running against it.
        "emergency_rotate_credentials": False,
    }
    try:
        result = run_playbook(
            "playbooks/emergency_security_incident.yml", "-e", json.dumps(users), "-e", "confirm=yes", timeout=900
        )
        assert result.returncode == 0, result.stdout[-4000:]
        assert connect_from(BLOCKED_SOURCE) == "refused"
        assert connect_from("127.0.0.1") == "connected"
        assert logins(password) == {"postgres": False, "redis": False, "mongodb": False}
        # The rotation is wired in: its plays (or the stand-in's, before it existed) are part of the run.
        wired = ("Confirm the emergency rotation", "Say that credentials were not rotated")
        assert any(play in result.stdout for play in wired)

        captures = sorted((REPO / "incidents" / "INC-test-security" / "forensics").iterdir())
        capture = captures[-1]
        check = subprocess.run(
            ["sha256sum", "-c", "--strict", "MANIFEST.sha256"], cwd=capture, capture_output=True, text=True, check=False
        )
        assert check.returncode == 0, check.stdout + check.stderr
        listed = {line.split("  ", 1)[1] for line in (capture / "MANIFEST.sha256").read_text().splitlines()}
        assert "custody.json" in listed and "sandbox-app/commands/processes.txt" in listed
        assert "sandbox-app/containers/opsbook-api-1.json" in listed
        inspect = (capture / "sandbox-app/containers/opsbook-api-1.json").read_text()
        assert secret("ferretdb_app") not in inspect and "<redacted sha256:" in inspect
        assert (capture / "custody.json").stat().st_mode & 0o777 == 0o400
        assert capture.stat().st_mode & 0o777 == 0o500
        custody = json.loads((capture / "custody.json").read_text())
        assert custody["incident"] == "INC-test-security" and custody["collected_by"]

        # Undo: unblock and re-enable (MongoDB with a new password, given through a 0600 file).
        new_password = "test-only-" + os.urandom(6).hex()
        extra = tmp_path / "undo.json"
        extra.write_text(
            json.dumps(
                {
                    **users,
                    "emergency_block_ips": [],
                    "emergency_unblock_ips": [BLOCKED_SOURCE],
                    "emergency_account_state": "enabled",
                    "emergency_capture": False,
                    "emergency_rotate_credentials": False,
                    "account_lockdown_mongodb_passwords": {"opsbook_test_intruder@opsbook_app": new_password},
                }
            )
        )
        extra.chmod(0o600)
        result = run_playbook(
            "playbooks/emergency_security_incident.yml", "-e", f"@{extra}", "-e", "confirm=yes", timeout=900
        )
        assert result.returncode == 0, result.stdout[-4000:]
        assert connect_from(BLOCKED_SOURCE) == "connected"
        assert logins(password) == {"postgres": True, "redis": True, "mongodb": False}
        assert logins(new_password)["mongodb"] is True
        assert new_password not in result.stdout
    finally:
        subprocess.run(["nft", "delete", "element", "inet", "opsbook", "blocklist_v4", f"{{ {BLOCKED_SOURCE} }}"],
                       capture_output=True, check=False)  # fmt: skip
        incidents = REPO / "incidents" / "INC-test-security"
        if incidents.exists():
            subprocess.run(["chmod", "-R", "u+w", str(incidents)], check=False)


def test_bad_input_fails_before_any_change(app) -> None:
    cases = [
        (
            ("playbooks/service_restart.yml", "-e", "restart_services=nope", "-e", "confirm=yes"),
            "Unknown service(s) nope",
        ),
        (("playbooks/service_restart.yml", "-e", "restart_services=api"), "Run again with -e confirm=yes"),
        (
            (
                "playbooks/emergency_security_incident.yml",
                "-e",
                '{"emergency_block_ips": ["10.1.2.300"]}',
                "-e",
                "confirm=yes",
            ),
            "is not an IP address",
        ),
        (
            (
                "playbooks/emergency_security_incident.yml",
                "-e",
                '{"emergency_block_ips": ["127.0.0.0/8"]}',
                "-e",
                "confirm=yes",
            ),
            "never blocked",
        ),
        (("playbooks/emergency_data_corruption.yml",), "Run again with -e confirm=yes"),
    ]
    for args, message in cases:
        result = run_playbook(*args)
        assert result.returncode != 0, args
        assert message in result.stdout + result.stderr, (args, result.stdout[-2000:])
        # Every host's recap shows no change: the run stopped before acting. (Container start
        # times cannot show it: other work in the shared sandbox may recreate the app meanwhile.)
        recap = result.stdout.split("PLAY RECAP")[-1]
        assert re.findall(r"changed=(\d+)", recap) and set(re.findall(r"changed=(\d+)", recap)) == {"0"}, recap
    assert health()["read_only"] is False
    assert BLOCKED_SOURCE not in subprocess.run(["nft", "list", "ruleset"], capture_output=True, text=True).stdout


def test_service_restart_restarts_and_waits(app) -> None:
    before = started_at("opsbook-worker-1")
    result = run_playbook("playbooks/service_restart.yml", "-e", "restart_services=worker", "-e", "confirm=yes")
    assert result.returncode == 0, result.stdout[-3000:]
    assert started_at("opsbook-worker-1") != before
    assert "sandbox-app: worker healthy" in result.stdout


def test_rollback_returns_to_the_previous_image(app) -> None:
    build = subprocess.run(
        ["bash", "-c", "source sandbox/lib/common.sh; source sandbox/components/docker.sh; "
         "source sandbox/components/app.sh; app_image_build opsbook/app:1.1 1.1"],
        cwd=REPO, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert build.returncode == 0, build.stderr
    deploy = run_playbook(
        "tests/integration/playbooks/service_control.yml",
        "-e",
        json.dumps({"service_control_action": "set_image", "service_control_services": ["api"],
                    "service_control_images": {"api": "opsbook/app:1.1"}}),
    )  # fmt: skip
    assert deploy.returncode == 0, deploy.stdout[-3000:]
    assert health()["version"] == "1.1"
    # Healthy and no traffic errors: no criterion holds, so nothing happens without rollback_force.
    calm = run_playbook("playbooks/rollback.yml", "-e", "rollback_services=api", "-e", "confirm=yes")
    calm_text = " ".join(calm.stdout.split())
    assert calm.returncode == 0 and "no rollback criterion holds" in calm_text, calm.stdout[-3000:]
    assert health()["version"] == "1.1"
    result = run_playbook(
        "playbooks/rollback.yml", "-e", "rollback_services=api", "-e", "rollback_force=true", "-e", "confirm=yes"
    )
    assert result.returncode == 0, result.stdout[-3000:]
    assert health()["version"] == "1.0"
    assert "opsbook/app:1.1 -> opsbook/app:1.0 (opsbook image history)" in " ".join(result.stdout.split())
