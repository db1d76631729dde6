"""The monthly security configuration checks (plugins/module_utils/security.py and the
opsbook_security_* filters): secret file modes from ansible.builtin.stat results, MongoDB, Redis
and PostgreSQL replies shaped like the servers', `docker inspect` output, accepted risks, the
report's section and status, and the TLS probe against local servers that do and do not accept
TLS 1.0 and 1.1."""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ansible_collections.opsbook.runbooks.plugins.filter import maintenance as filters
from ansible_collections.opsbook.runbooks.plugins.module_utils import maintenance_report as mr
from ansible_collections.opsbook.runbooks.plugins.module_utils.security import (
    SecurityError,
    accept,
    container_findings,
    file_entries,
    file_findings,
    mongodb_finding,
    postgres_findings,
    probe_redis,
    probe_tls,
    redis_finding,
    redis_reply,
    sshd_findings,
    tls_finding,
    worst,
)
from ansible_collections.opsbook.runbooks.tests.unit.helpers import self_signed_certificate, tls_server


def stat(mode: str, owner: str = "root", group: str = "root", exists: bool = True) -> dict[str, Any]:
    return {"exists": exists, "mode": mode, "pw_name": owner, "gr_name": group, "isreg": True}


def judged(entry: Any, result: dict[str, Any]) -> list[dict[str, Any]]:
    return file_findings([{"item": e, "stat": result} for e in file_entries([entry])])


# --- secret files -------------------------------------------------------------------------------------


def test_file_entries_drop_unset_paths_and_duplicates() -> None:
    entries = file_entries(
        ["/opt/shop/.env", "", {"path": ""}, {"path": "/opt/shop/.env", "mode": "0640"}, "/etc/pass"]
    )
    assert [e["path"] for e in entries] == ["/opt/shop/.env", "/etc/pass"]
    assert entries[0] == {"path": "/opt/shop/.env", "mode": "0600", "owner": None, "group": None, "missing": "warning"}
    with pytest.raises(SecurityError, match="octal"):
        file_entries([{"path": "/x", "mode": "rw-------"}])
    with pytest.raises(SecurityError, match="warning or skip"):
        file_entries([{"path": "/x", "missing": "ignore"}])


@pytest.mark.parametrize(
    ("mode", "status", "words"),
    [
        ("0600", "ok", "mode 0600"),
        ("0400", "ok", "mode 0400"),
        ("0640", "warning", "allows more than 0600"),
        ("0644", "critical", "lets other users read it"),
        ("0666", "critical", "read/write"),
    ],
)
def test_secret_file_modes(mode: str, status: str, words: str) -> None:
    [found] = judged("/opt/shop/.env", stat(mode))
    assert (found["check"], found["target"], found["status"]) == ("file_permissions", "/opt/shop/.env", status)
    assert words in found["detail"]
    if status != "ok":
        assert "chmod 0600 /opt/shop/.env" in found["detail"]


def test_secret_file_owner_and_allowed_mode() -> None:
    entry = {"path": "/etc/app.env", "mode": "0640", "owner": "root", "group": "app"}
    [ok] = judged(entry, stat("0640", group="app"))
    assert ok["status"] == "ok"
    [wrong] = judged(entry, stat("0640", owner="deploy", group="app"))
    assert wrong["status"] == "warning" and "owner is deploy, expected root" in wrong["detail"]
    [both] = judged(entry, stat("0644", owner="deploy", group="app"))
    assert both["status"] == "critical"


def test_missing_secret_files() -> None:
    [found] = judged("/gone", stat("", exists=False))
    assert found["status"] == "warning" and "not found" in found["detail"]
    assert judged({"path": "/gone", "missing": "skip"}, stat("", exists=False)) == []
    failed = file_findings([{"item": {"path": "/root/x"}, "failed": True, "msg": "Permission denied"}])
    assert failed[0]["status"] == "warning" and "Permission denied" in failed[0]["detail"]


# --- database logins ------------------------------------------------------------------------------------


def test_mongodb_without_a_login() -> None:
    assert mongodb_finding("db:27017", {"ok": True, "databases": 4})["status"] == "critical"
    # MongoDB: code 13; FerretDB with authentication: the same code and message.
    refused = {"ok": False, "code": 13, "error": "Command listDatabases requires authentication"}
    assert mongodb_finding("db:27017", refused)["status"] == "ok"
    unreachable = {"ok": False, "code": None, "error": "ServerSelectionTimeoutError: db:27017: timed out"}
    assert mongodb_finding("db:27017", unreachable)["status"] == "warning"


def test_redis_without_a_password() -> None:
    assert redis_finding("r:6379", {"ok": True, "keys": 12})["status"] == "critical"
    for error in ("AuthenticationError: Authentication required.", "ResponseError: NOAUTH Authentication required.",
                  "NoPermissionError: this user has no permissions to run the 'dbsize' command"):  # fmt: skip
        assert redis_finding("r:6379", {"ok": False, "error": error})["status"] == "ok"
    assert redis_finding("r:6379", {"ok": False, "error": "ConnectionError: refused"})["status"] == "warning"


@pytest.mark.parametrize(
    ("reply", "status"),
    [
        (b":12\r\n", "critical"),  # default user on, nopass
        (b"-NOAUTH Authentication required.\r\n", "ok"),  # requirepass, or `user default off`
        (b"-NOPERM User default has no permissions to run the 'dbsize' command\r\n", "ok"),
        (b"-ERR unknown command\r\n", "warning"),
    ],
)
def test_redis_probe_speaks_resp(reply: bytes, status: str) -> None:
    """probe_redis against a one-shot server that answers DBSIZE as Redis would."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    received: list[bytes] = []

    def answer() -> None:
        conn, _address = server.accept()
        with conn:
            received.append(conn.recv(64))
            conn.sendall(reply)

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    try:
        result = probe_redis({"host": "127.0.0.1", "port": server.getsockname()[1]}, 5)
    finally:
        thread.join(timeout=5)
        server.close()
    assert received == [b"*1\r\n$6\r\nDBSIZE\r\n"]
    assert redis_finding("r:6379", result)["status"] == status
    assert redis_reply(":0") == {"ok": True, "keys": 0} and redis_reply("")["ok"] is False


def test_postgres_password_storage_and_hba_rules() -> None:
    rules = [
        {"line_number": 1, "type": "local", "database": ["all"], "user_name": ["postgres"], "address": None,
         "auth_method": "peer", "error": None},
        {"line_number": 2, "type": "host", "database": ["all"], "user_name": ["all"], "address": "127.0.0.1",
         "auth_method": "scram-sha-256", "error": None},
    ]  # fmt: skip
    assert [f["status"] for f in postgres_findings("pg:5432", "scram-sha-256", rules)] == ["ok", "ok"]
    md5 = [*rules, {**rules[1], "line_number": 3, "auth_method": "md5", "address": "10.0.0.0/8"}]
    found = postgres_findings("pg:5432", "md5", md5)
    assert [f["status"] for f in found] == ["warning", "warning"]
    assert "line 3 (host all all 10.0.0.0/8) uses md5" in found[1]["detail"]
    trust = [*md5, {**rules[0], "line_number": 4, "auth_method": "trust", "user_name": ["all"]}]
    hba = postgres_findings("pg:5432", None, trust)
    assert len(hba) == 1 and hba[0]["status"] == "critical" and "line 4 (local all all) uses trust" in hba[0]["detail"]
    broken = postgres_findings("pg:5432", None, [{"line_number": 9, "error": "invalid authentication method"}])
    assert broken[0]["status"] == "warning"


# --- sshd -------------------------------------------------------------------------------------------------

SSHD_T = """port 22
permitrootlogin without-password
passwordauthentication no
kbdinteractiveauthentication no
permitemptypasswords no
pubkeyauthentication yes
"""


def test_sshd_keys_only() -> None:
    [found] = sshd_findings("web1", SSHD_T)
    assert (found["check"], found["target"], found["status"]) == ("sshd", "web1", "ok")
    [found] = sshd_findings("web1", SSHD_T.replace("passwordauthentication no", "passwordauthentication yes"))
    assert found["status"] == "critical" and "PasswordAuthentication no" in found["detail"]
    [found] = sshd_findings("web1", SSHD_T.replace("permitrootlogin without-password", "permitrootlogin yes"))
    assert found["status"] == "warning" and "PermitRootLogin" in found["detail"]
    with pytest.raises(SecurityError, match="sshd -T"):
        sshd_findings("web1", "usage: sshd [-46DdeGiqTtV]")


# --- containers --------------------------------------------------------------------------------------------


def inspect(**host_config: Any) -> dict[str, Any]:
    ports = host_config.pop("ports", {})
    mounts = host_config.pop("mounts", [])
    return {
        "Name": "/shop-backend-1",
        "HostConfig": {"Privileged": False, "NetworkMode": "shop_default", "CapAdd": None, **host_config},
        "NetworkSettings": {"Ports": ports},
        "Mounts": mounts,
    }


def by_check(findings: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {f["check"]: f for f in findings}


def test_container_without_findings() -> None:
    found = by_check(container_findings(inspect(ports={"8000/tcp": [{"HostIp": "127.0.0.1", "HostPort": "8000"}]})))
    assert found["container_privileged"]["status"] == "ok"
    assert (
        found["container_ports"]["status"] == "ok" and "127.0.0.1:8000->8000/tcp" in found["container_ports"]["detail"]
    )
    assert "container_docker_socket" not in found


def test_privileged_container_and_docker_socket() -> None:
    mounts = [{"Type": "bind", "Source": "/var/run/docker.sock", "Destination": "/var/run/docker.sock"}]
    found = by_check(container_findings(inspect(Privileged=True, mounts=mounts)))
    assert found["container_privileged"]["status"] == "critical"
    assert found["container_docker_socket"]["status"] == "critical"
    assert by_check(container_findings(inspect(CapAdd=["SYS_ADMIN"])))["container_privileged"]["status"] == "warning"


def test_ports_published_on_every_address() -> None:
    # Seed 003's compose file: '9090:9090' publishes on 0.0.0.0 and ::.
    ports = {"9090/tcp": [{"HostIp": "0.0.0.0", "HostPort": "9090"}, {"HostIp": "::", "HostPort": "9090"}],
             "443/tcp": [{"HostIp": "0.0.0.0", "HostPort": "443"}]}  # fmt: skip
    found = by_check(container_findings(inspect(ports=ports)))["container_ports"]
    assert found["status"] == "warning" and "0.0.0.0:9090->9090/tcp" in found["detail"]
    assert "[::]:9090->9090/tcp" in found["detail"] and "0.0.0.0:443->443/tcp" in found["detail"]
    only_9090 = by_check(container_findings(inspect(ports=ports), [443]))["container_ports"]["detail"]
    assert "9090" in only_9090 and "443" not in only_9090.split(";")[0]
    assert by_check(container_findings(inspect(ports=ports), [443, 9090]))["container_ports"]["status"] == "ok"


def test_host_network_is_reported_as_such() -> None:
    found = by_check(container_findings(inspect(NetworkMode="host")))["container_ports"]
    assert found["status"] == "warning" and "host's network" in found["detail"]
    results = filters.FilterModule().filters()["security_container_findings"](
        [{"container": inspect(NetworkMode="host")}, {"container": None, "exists": False}]
    )
    assert {f["target"] for f in results} == {"shop-backend-1"}


# --- accepted risks, worst status, the report ---------------------------------------------------------------


def test_accepted_risks() -> None:
    findings = [
        {"check": "container_ports", "target": "api", "status": "warning", "detail": "uses the host's network"},
        {"check": "container_ports", "target": "worker", "status": "warning", "detail": "uses the host's network"},
        {"check": "redis_auth", "target": "r:6379", "status": "critical", "detail": "ran DBSIZE"},
    ]
    out = accept(findings, [{"check": "container_ports", "target": "api", "reason": "OPS-12"}])
    assert [f["status"] for f in out] == ["ok", "warning", "critical"]
    assert out[0]["detail"] == "accepted (OPS-12): was warning: uses the host's network"
    assert worst(out) == "critical" and worst([]) == "ok"
    assert [f["status"] for f in accept(findings, [{"check": "container_ports", "reason": "sandbox"}])][:2] == [
        "ok",
        "ok",
    ]
    with pytest.raises(SecurityError, match="check and reason"):
        accept(findings, [{"check": "redis_auth"}])


def finding(check: str, target: str, status: str) -> dict[str, Any]:
    return {"check": check, "target": target, "status": status, "detail": f"{check} {status}"}


def test_report_lists_findings_worst_first_and_takes_their_status() -> None:
    data = {
        "guard": {"message": "inside the monthly window"},
        "security": {
            "app1": {"host": "app1", "findings": [finding("file_permissions", "/opt/.env", "ok")]},
            "db1": {
                "host": "db1",
                "findings": [
                    finding("redis_auth", "r:6379", "critical"),
                    finding("postgres_hba", "pg:5432", "warning"),
                ],
            },
        },
    }
    report = mr.maintenance_report(data, "monthly")
    section = next(s for s in report["sections"] if s["title"] == "Security configuration")
    assert [r[:4] for r in section["rows"]] == [
        ["critical", "redis_auth", "r:6379", "db1"],
        ["warning", "postgres_hba", "pg:5432", "db1"],
        ["ok", "file_permissions", "/opt/.env", "app1"],
    ]
    assert report["status"] == "critical"
    assert "Security checks: 1 critical, 1 warning, 1 ok; redis_auth r:6379." in report["summary"]
    data["security"]["db1"]["findings"] = [finding("postgres_hba", "pg:5432", "warning")]
    assert mr.maintenance_report(data, "monthly")["status"] == "warning"
    data["security"] = {"app1": data["security"]["app1"]}
    assert mr.maintenance_report(data, "monthly")["status"] == "ok"
    # Not run (tag not selected): no section at all.
    del data["security"]
    report = mr.maintenance_report(data, "monthly")
    assert "Security configuration" not in [s["title"] for s in report["sections"]]


# --- the TLS probe, against local servers ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return self_signed_certificate(tmp_path_factory.mktemp("tls"), "localhost", 30)


@pytest.fixture
def modern_server(certificate: tuple[Path, Path]) -> Iterator[int]:
    with tls_server(*certificate, ssl.TLSVersion.TLSv1_2) as port:
        yield port


@pytest.fixture
def legacy_server(certificate: tuple[Path, Path]) -> Iterator[int]:
    with tls_server(*certificate, ssl.TLSVersion.TLSv1) as port:
        yield port


def test_tls_probe_of_a_server_that_refuses_old_versions(modern_server: int) -> None:
    probe = probe_tls({"name": "modern", "host": "127.0.0.1", "port": modern_server, "server_name": "localhost"}, 5)
    assert probe["error"] is None and probe["default"] == "TLSv1.3"
    assert probe["accepted"] == {"TLSv1": False, "TLSv1.1": False}
    found = tls_finding(probe)
    assert found["status"] == "ok" and found["target"] == f"modern (127.0.0.1:{modern_server})"


def test_tls_probe_of_a_server_that_accepts_tls_1_0(legacy_server: int) -> None:
    probe = probe_tls({"host": "127.0.0.1", "port": legacy_server}, 5)
    if probe["accepted"].get("TLSv1") is None:
        pytest.skip("this machine's OpenSSL cannot offer TLS 1.0 even at security level 0")
    assert probe["accepted"] == {"TLSv1": True, "TLSv1.1": True}
    found = tls_finding(probe)
    assert found["status"] == "critical" and "accepts TLSv1 and TLSv1.1" in found["detail"]


def test_tls_probe_of_a_closed_port() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    found = tls_finding(probe_tls({"name": "gone", "host": "127.0.0.1", "port": port}, 2))
    assert found["status"] == "warning" and "no TLS handshake" in found["detail"]
