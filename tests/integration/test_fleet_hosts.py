"""What each host needs, over SSH on the fleet's plain Debian hosts: prepare_hosts.yml installs it
(--check first changes nothing and says what it would install; a second run changes nothing),
`opsbook doctor -i` names what is missing per host before and nothing after, and a check that
cannot run on its host is reported as one that could not run: never as the service being down,
never as an all-clear, and without skipping the checks after it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from conftest import (
    FLEET_INVENTORY,
    FLEET_REPORTS,
    FLEET_VAULT_PASSWORD,
    changed_hosts,
    fleet_ssh,
    require_fleet,
    run_fleet,
    run_venv,
)

pytestmark = pytest.mark.fleet


@pytest.fixture(scope="module")
def fleet() -> Iterator[dict[str, str]]:
    hosts = require_fleet()
    # A fresh fleet is plain Debian: the tests take pieces away from prepared hosts.
    prepared = run_fleet("prepare_hosts.yml")
    assert prepared.returncode == 0, prepared.stdout[-4000:]
    yield hosts
    # Whatever a test took away, the fleet gets back.
    fleet_ssh(
        "app1", "test -e /usr/local/bin/docker || sudo mv /usr/local/bin/docker.away /usr/local/bin/docker", check=False
    )
    assert run_fleet("prepare_hosts.yml").returncode == 0


def doctor() -> Any:
    return run_venv(
        "opsbook", "doctor", "-i", str(FLEET_INVENTORY), "--vault-password-file", str(FLEET_VAULT_PASSWORD), timeout=600
    )


def health_report(*args: str) -> tuple[Any, dict[str, Any]]:
    run = run_fleet("health_check.yml", *args)
    assert run.returncode == 0, run.stdout[-5000:]
    reports = sorted(FLEET_REPORTS.glob("*-health_check"))
    return run, json.loads((reports[-1] / "report.json").read_text())


def remove_package(host: str, package: str) -> None:
    fleet_ssh(host, f"sudo env DEBIAN_FRONTEND=noninteractive apt-get remove -y -q {package}")


def installed(host: str, package: str) -> bool:
    query = f"dpkg-query -W -f='${{db:Status-Abbrev}}' {package}"
    return fleet_ssh(host, query, check=False).stdout.startswith("ii")


def test_doctor_names_what_is_missing_and_prepare_hosts_installs_it(fleet: dict[str, str]) -> None:
    remove_package("cache1", "python3-redis")
    remove_package("dr1", "postgresql-client-15")
    before = doctor()
    assert before.returncode == 2, before.stdout
    assert "FAIL  host cache1 libraries" in before.stdout
    assert "Python library redis is missing" in before.stdout and "prepare_hosts.yml" in before.stdout
    assert "FAIL  host dr1 tools" in before.stdout and "pg_dump" in before.stdout
    checked = run_fleet("prepare_hosts.yml", "--check")
    assert "Would install on cache1: python3-redis" in checked.stdout
    assert not installed("cache1", "python3-redis"), "--check installed something"
    first = run_fleet("prepare_hosts.yml")
    assert first.returncode == 0, first.stdout[-4000:]
    assert installed("cache1", "python3-redis") and installed("dr1", "postgresql-client-15")
    second = run_fleet("prepare_hosts.yml")
    assert second.returncode == 0 and changed_hosts(second.stdout) == {}, second.stdout[-3000:]
    after = doctor()
    assert after.returncode == 0 and " 0 failed" in after.stdout, after.stdout


def test_a_missing_library_is_a_check_that_could_not_run(fleet: dict[str, str]) -> None:
    remove_package("cache1", "python3-redis")
    try:
        run, report = health_report()
        assert "could not check redis on cache1: the Python library redis is missing" in run.stdout
        assert report["status"] != "ok"
        redis = next(s for s in report["services"] if s["name"] == "redis")
        assert redis["up"] is None and redis["status"] == "unknown"
        names = {(a["name"], a["labels"].get("service")) for a in report["alerts"]}
        assert ("CheckBroken", "redis") in names
        assert not [n for n in names if n[1] == "redis" and n[0] != "CheckBroken"], names
        # Every other service was still checked, and is up.
        assert sum(1 for s in report["services"] if s["up"]) == len(report["services"]) - 1
    finally:
        assert run_fleet("prepare_hosts.yml", "--limit", "cache1").returncode == 0


def test_a_missing_tool_breaks_its_phase_and_the_next_phase_still_runs(fleet: dict[str, str]) -> None:
    """The log check runs the docker command; without it the logs could not be read, which the
    report says, while the containers' state (read through the API) and the backups' freshness,
    the phase after the logs, are still checked."""
    fleet_ssh("app1", "sudo mv /usr/local/bin/docker /usr/local/bin/docker.away")
    try:
        run, report = health_report()
        broken = {(b["check"], b["host"]): b["reason"] for b in report["broken_checks"]}
        assert ("the services' logs", "app1") in broken, broken
        assert "logs on app1: a command or file the check needs is missing" in " ".join(run.stdout.split())
        worker = next(s for s in report["services"] if s["name"] == "worker")
        assert worker["up"] is True
        assert report["status"] != "ok"
        assert "files" in (report["figures"]["app1"].get("backups") or {})
    finally:
        fleet_ssh("app1", "sudo mv /usr/local/bin/docker.away /usr/local/bin/docker")


def test_a_refused_permission_is_a_check_that_could_not_run(fleet: dict[str, str]) -> None:
    """Without privilege escalation the docker socket and the backups refuse the ops user."""
    run, report = health_report("-e", "ansible_become=false")
    broken = {(b["check"], b["service"], b["host"]) for b in report["broken_checks"]}
    assert ("container", "worker", "app1") in broken
    assert any(check == "the backups' freshness" and host == "db1" for check, _service, host in broken), broken
    assert report["status"] != "ok"
    assert "permission denied" in run.stdout.lower()
    # What could not be checked raises no alert about the thing itself (a host whose backups were
    # never taken may well have BackupStale: its freshness was checked, and there is none).
    unread = {host for check, _service, host in broken if check == "the backups' freshness"}
    wrong = [
        a for a in report["alerts"]
        if (a["name"] == "BackupStale" and a["labels"].get("host") in unread)
        or (a["name"].startswith("ServiceDown") and a["labels"].get("service") == "worker")
    ]  # fmt: skip
    assert not wrong, wrong


def test_an_unreachable_checker_host_leaves_its_checks_as_could_not_run(fleet: dict[str, str]) -> None:
    run, report = health_report("-e", "ansible_port=2222")
    assert report["status"] == "critical"
    broken = {b["service"] for b in report["broken_checks"]}
    assert {"mongodb", "postgres", "redis", "api"} <= broken
    assert "0/7 hosts answered" in run.stdout
