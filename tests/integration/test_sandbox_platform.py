"""The MongoDB-compatible server, the mongo-tools built for it, the Compose application and the
smoke playbook, against the running sandbox."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pymongo
import pytest
from conftest import REPO, STATE, run_playbook, secret

Require = Callable[[str], int]
BIN = Path(os.environ.get("OPSBOOK_CACHE", Path.home() / ".cache" / "opsbook")) / "bin"


def mongo(port: int, user: str = "opsbook_admin", password: str | None = None, source: str = "admin"):
    return pymongo.MongoClient(
        host="127.0.0.1",
        port=port,
        username=user,
        password=password if password is not None else secret("ferretdb_admin"),
        authSource=source,
        directConnection=True,
        serverSelectionTimeoutMS=5000,
    )


def test_ferretdb_enforces_scram_authentication(require: Require) -> None:
    port = require("ferretdb")
    assert mongo(port).admin.command("ping")["ok"] == 1
    app = mongo(port, "app", secret("ferretdb_app"), "opsbook_app")
    app.opsbook_app.probe.insert_one({"ok": True})
    with pytest.raises(pymongo.errors.OperationFailure, match="Authentication failed"):
        mongo(port, "app", "wrong", "opsbook_app").opsbook_app.probe.count_documents({})
    anonymous = pymongo.MongoClient(host="127.0.0.1", port=port, directConnection=True, serverSelectionTimeoutMS=5000)
    with pytest.raises(pymongo.errors.OperationFailure, match="requires authentication"):
        anonymous.opsbook_app.probe.count_documents({})


def test_ferretdb_records_an_oplog(require: Require) -> None:
    port = require("ferretdb")
    client = mongo(port)
    marker = f"oplog-{time.time_ns()}"
    client.opsbook_app.probe.insert_one({"marker": marker})
    entry = client.local["oplog.rs"].find_one({"ns": "opsbook_app.probe", "o.marker": marker})
    assert entry is not None and entry["op"] == "i"


@pytest.fixture
def mongo_tools_config(tmp_path: Path) -> Path:
    """The admin password in a 0600 YAML file, the way opsbook hands it to mongo-tools."""
    cfg = tmp_path / "mongo-tools.yml"
    cfg.touch(mode=0o600)
    cfg.write_text(f"password: {secret('ferretdb_admin')}\n")
    return cfg


def tool(name: str, port: int, cfg: Path, *args: str) -> list[str]:
    if not (BIN / name).exists():
        pytest.skip(f"{name} is not built in {BIN} (run `make install`)")
    common = ["--host=127.0.0.1", f"--port={port}", "--username=opsbook_admin", "--authenticationDatabase=admin"]
    return [str(BIN / name), *common, f"--config={cfg}", *args]


def test_mongodump_and_mongorestore_round_trip(require: Require, mongo_tools_config: Path, tmp_path: Path) -> None:
    port = require("ferretdb")
    client = mongo(port)
    client.drop_database("tools_src")
    client.drop_database("tools_dst")
    client.tools_src.things.insert_many([{"i": i, "pad": "x" * (i % 50)} for i in range(500)])
    archive = tmp_path / "dump.archive.gz"

    seen_cmdlines: list[str] = []
    stop = threading.Event()

    def sample_cmdlines() -> None:
        while not stop.is_set():
            for p in Path("/proc").glob("[0-9]*/cmdline"):
                with contextlib.suppress(OSError):
                    seen_cmdlines.append(p.read_bytes().decode(errors="replace"))
            time.sleep(0.01)

    sampler = threading.Thread(target=sample_cmdlines)
    sampler.start()
    try:
        dump = subprocess.run(
            tool("mongodump", port, mongo_tools_config, "--db=tools_src", f"--archive={archive}", "--gzip"),
            capture_output=True,
            text=True,
            check=False,
        )
        restore = subprocess.run(
            tool(
                "mongorestore",
                port,
                mongo_tools_config,
                f"--archive={archive}",
                "--gzip",
                "--nsFrom=tools_src.*",
                "--nsTo=tools_dst.*",
                "--drop",
            ),
            capture_output=True,
            text=True,
            check=False,
        )
    finally:
        stop.set()
        sampler.join()
    assert dump.returncode == 0, dump.stderr
    assert restore.returncode == 0, restore.stderr
    assert client.tools_dst.things.count_documents({}) == 500
    assert any("mongodump" in c for c in seen_cmdlines), "the sampler never saw mongodump run"
    assert not any(secret("ferretdb_admin") in c for c in seen_cmdlines), "the password appeared on a command line"
    client.drop_database("tools_src")
    client.drop_database("tools_dst")


def test_mongodump_captures_the_oplog(require: Require, mongo_tools_config: Path, tmp_path: Path) -> None:
    port = require("ferretdb")
    archive = tmp_path / "full.archive.gz"
    dump = subprocess.run(
        tool("mongodump", port, mongo_tools_config, f"--archive={archive}", "--gzip", "--oplog"),
        capture_output=True,
        text=True,
        check=False,
    )
    assert dump.returncode == 0, dump.stderr
    assert "oplog" in dump.stderr


def http(url: str, method: str = "GET", body: dict | None = None) -> tuple[int, dict | str]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            raw, code = resp.read().decode(), resp.status
    except urllib.error.HTTPError as err:
        raw, code = err.read().decode(), err.code
    try:
        return code, json.loads(raw)
    except ValueError:
        return code, raw


def test_app_serves_health_dependencies_metrics_and_writes(require: Require) -> None:
    port = require("app_api")
    base = f"http://127.0.0.1:{port}"
    assert http(f"{base}/health")[0] == 200
    code, deps = http(f"{base}/health/dependencies")
    assert code == 200, deps
    assert {d["status"] for d in deps["dependencies"].values()} == {"ok"}
    assert http(f"{base}/items", "POST", {"from": "integration-test"})[0] == 201
    code, metrics = http(f"{base}/metrics")
    assert code == 200 and 'http_requests_total{method="POST",path="/items",code="201"}' in metrics


def test_app_env_file_is_private(require: Require) -> None:
    require("app_api")
    env_file = STATE / "app" / "app.env"
    assert env_file.stat().st_mode & 0o777 == 0o600


def test_smoke_playbook_passes_against_the_sandbox(require: Require) -> None:
    for service in ("ferretdb", "postgres", "redis", "app_api", "nginx_https", "prometheus", "alertmanager", "s3"):
        require(service)
    result = run_playbook("playbooks/smoke.yml")
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "failed=0" in result.stdout
    for secret_name in ("ferretdb_admin", "postgres_admin", "redis_admin"):
        assert secret(secret_name) not in result.stdout


def test_sandbox_up_is_idempotent(require: Require) -> None:
    require("postgres")
    pids_before = {p.name: p.read_text() for p in (STATE / "run").glob("*.pid")}
    result = subprocess.run([str(REPO / "sandbox" / "up.sh")], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    pids_after = {p.name: p.read_text() for p in (STATE / "run").glob("*.pid")}
    assert pids_after == pids_before, "a second sandbox/up.sh restarted something"


def test_app_read_only_mode_refuses_writes_and_serves_reads(require: Require) -> None:
    """A second API container from the same image and env file, with READ_ONLY_MODE=true."""
    require("app_api")
    port = 38010
    env = {**os.environ, "DOCKER_HOST": f"unix://{STATE / 'run' / 'docker.sock'}"}
    name = "opsbook-readonly-test"
    subprocess.run(["docker", "rm", "-f", name], env=env, capture_output=True, check=False)
    started = subprocess.run(
        [
            "docker", "run", "-d", "--name", name, "--network", "host",
            "--env-file", str(STATE / "app" / "app.env"),
            "-e", "READ_ONLY_MODE=true", "-e", f"PORT={port}",
            "opsbook/app:1.0", "api",
        ],
        env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert started.returncode == 0, started.stderr
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                if http(f"{base}/health")[0] == 200:
                    break
            except OSError:
                time.sleep(0.1)
        code, body = http(f"{base}/items", "POST", {"from": "read-only-test"})
        assert code == 503 and body["read_only"] is True
        assert http(f"{base}/items")[0] == 200
        assert http(f"{base}/health")[1]["read_only"] is True
    finally:
        subprocess.run(["docker", "rm", "-f", name], env=env, capture_output=True, check=False)
