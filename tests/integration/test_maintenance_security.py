"""The monthly security configuration checks (roles/maintenance_security) against the sandbox's
real servers: FerretDB, Redis and PostgreSQL refuse what they should, nginx refuses TLS 1.0 and
1.1, the app's containers are not privileged. Planted: a copy of an env file with mode 0644 (fake
values, not the sandbox's secrets) next to a 0600 one, and a TLS server that still accepts TLS
1.0; both must be named as critical and make the report critical, and a --check run must report
the same findings while changing nothing."""

from __future__ import annotations

import json
import os
import ssl
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import STATE, run_playbook, self_signed_certificate, tls_server

ENV = "API_KEYS=not-a-secret\nMONGO_URL=mongodb://app:not-a-secret@127.0.0.1:37017/x\n"
# The sandbox has no sshd: a stand-in that prints what `sshd -T` prints on a keys-only server.
FAKE_SSHD = """#!/bin/sh
[ "$1" = -T ] || exit 2
printf 'port 22\\npermitrootlogin without-password\\npasswordauthentication no\\n'
printf 'kbdinteractiveauthentication no\\npermitemptypasswords no\\n'
"""


@pytest.fixture
def legacy_tls(tmp_path: Path) -> Iterator[int]:
    """A TLS server that still negotiates TLS 1.0 (security level 0)."""
    with tls_server(*self_signed_certificate(tmp_path, "legacy.opsbook.test", 90), ssl.TLSVersion.TLSv1) as port:
        yield port


@pytest.fixture
def planted(tmp_path: Path, legacy_tls: int) -> dict[str, Any]:
    leaky, tight = tmp_path / "leaky" / "app.env", tmp_path / "tight" / "app.env"
    for path, mode in ((leaky, 0o644), (tight, 0o600)):
        path.parent.mkdir()
        path.write_text(ENV)
        path.chmod(mode)
    extra = {
        "maintenance_security_extra_files": [str(leaky), str(tight)],
        "opsbook_tls_endpoints": [{"name": "legacy", "host": "127.0.0.1", "port": legacy_tls}],
        "opsbook_report_dir": str(tmp_path / "reports"),
    }
    sshd = tmp_path / "sshd"
    sshd.write_text(FAKE_SSHD)
    sshd.chmod(0o755)
    extra["maintenance_security_sshd_path"] = str(sshd)
    (tmp_path / "extra.json").write_text(json.dumps(extra))
    return {"root": tmp_path, "leaky": leaky, "tight": tight, "extra": tmp_path / "extra.json", "tls_port": legacy_tls}


def monthly(state: dict[str, Any], *args: str) -> Any:
    return run_playbook(
        "-i", "inventories/local", "playbooks/maintenance_monthly.yml", "--tags", "security",
        "-e", "maintenance_force=true", "-e", f"@{state['extra']}", *args,
    )  # fmt: skip


def require_all(require: Any) -> None:
    for service in ("ferretdb", "redis", "postgres", "nginx_https"):
        require(service)


def test_security_checks_name_what_is_wrong_and_pass_what_is_right(planted: dict[str, Any], require: Any) -> None:
    require_all(require)
    run = monthly(planted)
    assert run.returncode == 0, run.stdout[-4000:]
    [path] = sorted((planted["root"] / "reports").glob("*-maintenance_monthly/report.json"))
    report = json.loads(path.read_text())
    section = next(s for s in report["sections"] if s["title"] == "Security configuration")
    found = {(r[1], r[2]): {"status": r[0], "host": r[3], "detail": r[4]} for r in section["rows"]}

    leaky = found[("file_permissions", str(planted["leaky"]))]
    assert leaky["status"] == "critical" and "mode 0644" in leaky["detail"] and "chmod 0600" in leaky["detail"]
    assert found[("file_permissions", str(planted["tight"]))]["status"] == "ok"
    legacy = found[("tls_protocols", f"legacy (127.0.0.1:{planted['tls_port']})")]
    assert legacy["status"] == "critical" and "TLSv1" in legacy["detail"] and legacy["host"] == "controller"

    # The sandbox itself: nginx allows only TLSv1.2 and 1.3; every database demands a login.
    assert found[("tls_protocols", "nginx (localhost:38443)")]["status"] == "ok"
    assert found[("mongodb_auth", "127.0.0.1:37017")]["status"] == "ok"
    assert "NOAUTH" in found[("redis_auth", "127.0.0.1:36379")]["detail"]
    assert found[("redis_auth", "127.0.0.1:36379")]["status"] == "ok"
    assert found[("postgres_password_encryption", "127.0.0.1:35432")]["status"] == "ok"
    assert found[("postgres_hba", "127.0.0.1:35432")]["status"] == "ok"
    if (STATE / "run" / "docker.sock").exists():
        privileged = [v for (check, _), v in found.items() if check == "container_privileged"]
        assert privileged and all(v["status"] == "ok" for v in privileged)

    # sshd -T is read on every host (all of them this machine in the sandbox).
    sshd = {target: v for (check, target), v in found.items() if check == "sshd"}
    assert set(sshd) == {"sandbox-mongodb", "sandbox-postgres", "sandbox-redis", "sandbox-app", "sandbox-lb",
                         "sandbox-monitoring"}  # fmt: skip
    assert all(v["status"] == "ok" for v in sshd.values())

    assert report["status"] == "critical"
    assert "Security checks: 2 critical" in report["summary"]
    # No secret reached the output: the planted values, nor the sandbox's PostgreSQL password.
    assert "not-a-secret" not in run.stdout + path.read_text()
    admin = STATE / "secrets" / "postgres_admin"
    if admin.exists():
        assert admin.read_text().strip() not in run.stdout + path.read_text()


def test_security_check_run_reports_the_same_and_changes_nothing(planted: dict[str, Any], require: Any) -> None:
    require_all(require)
    before = {p: os.stat(p) for p in (planted["leaky"], planted["tight"])}
    run = monthly(planted, "--check")
    assert run.returncode == 0, run.stdout[-4000:]
    recap = [line for line in run.stdout.split("PLAY RECAP")[-1].splitlines() if "changed=" in line]
    assert recap and all("changed=0" in line for line in recap), recap
    assert "Security checks: 2 critical" in run.stdout
    assert not (planted["root"] / "reports").exists()
    for path, was in before.items():
        now = os.stat(path)
        assert (stat.S_IMODE(now.st_mode), now.st_mtime) == (stat.S_IMODE(was.st_mode), was.st_mtime)
