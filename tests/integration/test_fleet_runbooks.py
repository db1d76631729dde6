"""The runbooks over SSH, on the shape users have: the fleet's plain Debian hosts (`make sandbox-up
FLEET=1`), reached as the ops user with sudo, after playbooks/prepare_hosts.yml installed what the
runbooks need. Every runbook runs twice; where it is idempotent the second run changes nothing on
the hosts (the controller writes each run's report). The same runbooks are tested against the
loopback sandbox (inventories/local) by the other integration tests."""

from __future__ import annotations

import json
import re
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import FLEET_REPORTS, STATE, changed_hosts, fleet_ssh, recap, require_fleet, run_fleet

pytestmark = pytest.mark.fleet


@pytest.fixture(scope="module")
def fleet() -> Iterator[dict[str, str]]:
    hosts = require_fleet()
    prepared = run_fleet("prepare_hosts.yml")
    assert prepared.returncode == 0, prepared.stdout[-4000:]
    yield hosts


def ok(run: Any) -> Any:
    assert run.returncode == 0, run.stdout[-5000:] + run.stderr[-2000:]
    return run


def twice(playbook: str, *args: str, idempotent: bool = True) -> tuple[Any, Any]:
    """Run a runbook twice; the second run changes nothing on the hosts when it is idempotent."""
    first, second = ok(run_fleet(playbook, *args)), ok(run_fleet(playbook, *args))
    if idempotent:
        assert changed_hosts(second.stdout) == {}, f"{playbook}'s second run changed something: {recap(second.stdout)}"
    return first, second


def newest_report(name: str) -> dict[str, Any]:
    reports = sorted(FLEET_REPORTS.glob(f"*-{name}"))
    assert reports, f"no {name} report was written"
    return json.loads((reports[-1] / "report.json").read_text())


def env_file() -> str:
    return fleet_ssh("app1", "sudo cat /srv/opsbook/app.env").stdout


def api_health(hosts: dict[str, str]) -> int:
    with urllib.request.urlopen(f"http://{hosts['app1']}:8000/health", timeout=5) as reply:
        return reply.status


def test_smoke_answers_on_every_host_twice(fleet: dict[str, str]) -> None:
    first, _ = twice("smoke.yml")
    for host in ("db1", "pg1", "cache1", "app1", "lb1", "mon1"):
        assert recap(first.stdout)[host]["failed"] == 0
    assert "proxied /health: ok" in first.stdout


def test_health_check_sees_every_host_and_service(fleet: dict[str, str]) -> None:
    first, _ = twice("health_check.yml")
    assert f"{len(fleet)}/{len(fleet)} hosts answered; 10/10 services up" in first.stdout
    report = newest_report("health_check")
    assert report["broken_checks"] == []
    assert not [a for a in report["alerts"] if a["name"] in ("ServiceDown", "DatabaseDown", "CheckBroken")]
    # nginx's certificate was verified against its real name, from lb1.
    nginx = next(s for s in report["services"] if s["name"] == "nginx")
    assert nginx["up"] and nginx["host"] == "lb1"


def test_health_check_from_the_controller_needs_no_library_on_the_hosts(fleet: dict[str, str]) -> None:
    """checker: controller runs the network checks from the controller, with its own libraries:
    a host without python3-redis is still checked there, where checker: host says it could not."""
    fleet_ssh("cache1", "sudo env DEBIAN_FRONTEND=noninteractive apt-get remove -y -q python3-redis")
    try:
        on_hosts = ok(run_fleet("health_check.yml"))
        assert "could not check redis on cache1" in on_hosts.stdout
        ca = STATE / "fleet" / "tls" / "ca.crt"
        from_controller = ok(
            run_fleet("health_check.yml", "-e", "health_check_checker=controller", "-e", f"opsbook_ca_path={ca}")
        )
        assert f"{len(fleet)}/{len(fleet)} hosts answered; 10/10 services up" in from_controller.stdout
        assert newest_report("health_check")["broken_checks"] == []
    finally:
        ok(run_fleet("prepare_hosts.yml", "--limit", "cache1"))


def test_backup_every_target_then_verify_both_postgres_servers(fleet: dict[str, str]) -> None:
    backed_up, _ = twice("backup.yml", idempotent=False)
    for target in ("mongodb", "postgres", "postgres-ai", "files"):
        assert f"/var/backups/opsbook/{target}/daily/" in backed_up.stdout, target
    verified, _ = twice("backup_verify.yml", idempotent=False)
    for target in ("mongodb", "postgres", "postgres-ai", "files"):
        assert f"{target}: 2" in verified.stdout and "FAILED" not in verified.stdout, target
    # The backups live on the hosts that made them, owned by root, not readable by ops.
    listing = fleet_ssh("pg1", "sudo ls /var/backups/opsbook").stdout.split()
    assert {"postgres", "postgres-ai"} <= set(listing)
    assert fleet_ssh("pg1", "ls /var/backups/opsbook", check=False).returncode != 0


def test_restore_stops_at_its_gate_then_restores_each_kind(fleet: dict[str, str]) -> None:
    ok(run_fleet("backup.yml"))
    refused = run_fleet("restore.yml", "-e", "restore_kind=postgres", "-e", "restore_target=postgres-ai")
    assert refused.returncode != 0 and "Not confirmed, nothing changed" in refused.stdout
    for kind, target, extra in (
        ("mongodb", "mongodb", []),
        ("postgres", "postgres", []),
        ("postgres", "postgres-ai", []),
        ("files", "files", ["-e", "restore_files_dest=/"]),
    ):
        run = ok(run_fleet("restore.yml", "-e", f"restore_kind={kind}", "-e", f"restore_target={target}",
                           "-e", "confirm=yes", *extra))  # fmt: skip
        assert f"/var/backups/opsbook/{target}/" in run.stdout and "Restored" in run.stdout, target


def test_rotation_check_changes_nothing_then_the_dual_user_path_switches(fleet: dict[str, str]) -> None:
    before = env_file()
    checked = ok(run_fleet("rotate_credentials.yml", "--check"))
    assert env_file() == before and "failed=0" in checked.stdout
    user_before = "app_b" if "mongodb://app_b:" in before else "app"
    ok(run_fleet("rotate_credentials.yml", "-e", "credential_rotation_scope=mongodb"))
    after = env_file()
    assert after != before and f"mongodb://{'app' if user_before == 'app_b' else 'app_b'}:" in after
    assert api_health(fleet) == 200


def test_service_restart_and_rollback(fleet: dict[str, str]) -> None:
    started = fleet_ssh("app1", "sudo docker inspect -f '{{.State.StartedAt}}' opsbook-fleet-api-1").stdout
    ok(run_fleet("service_restart.yml", "-e", "restart_services=api", "-e", "confirm=yes"))
    assert fleet_ssh("app1", "sudo docker inspect -f '{{.State.StartedAt}}' opsbook-fleet-api-1").stdout != started
    assert api_health(fleet) == 200
    rolled = ok(run_fleet("rollback.yml", "-e", "rollback_services=api", "-e", "confirm=yes"))
    assert "failed=0" in rolled.stdout and api_health(fleet) == 200


def test_incident_info_collects_a_bundle_twice(fleet: dict[str, str]) -> None:
    first, second = twice("incident_info.yml")
    for run in (first, second):
        summary = Path(re.search(r"Bundle: (\S+/summary\.md)", run.stdout)[1])
        assert summary.is_file() and (summary.parent / "bundle.json").is_file()
        bundle = json.loads((summary.parent / "bundle.json").read_text())
        assert "api" in json.dumps(bundle) and "every service and dependency answers" in run.stdout


def test_emergency_outage_brings_a_killed_api_back(fleet: dict[str, str]) -> None:
    fleet_ssh("app1", "sudo docker kill opsbook-fleet-api-1")
    ok(run_fleet("emergency_outage.yml", "-e", "confirm=yes"))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if api_health(fleet) == 200:
                break
        except OSError:
            time.sleep(1)
    assert api_health(fleet) == 200


def nft_blocked(address: str) -> bool:
    return address in fleet_ssh("lb1", "sudo nft list set inet opsbook blocklist_v4", check=False).stdout


def test_security_incident_firewall_on_lb1(fleet: dict[str, str]) -> None:
    address = "203.0.113.77"
    common = ["-e", "emergency_rotate_credentials=false", "-e", "emergency_capture=false"]
    checked = ok(
        run_fleet("emergency_security_incident.yml", "--check", "-e", f"emergency_block_ips={address}", *common)
    )
    assert not nft_blocked(address) and "lb1" in recap(checked.stdout)
    ok(
        run_fleet(
            "emergency_security_incident.yml", "-e", f"emergency_block_ips={address}", "-e", "confirm=yes", *common
        )
    )
    assert nft_blocked(address)
    again = ok(run_fleet("emergency_security_incident.yml", "-e", f"emergency_block_ips={address}", "-e", "confirm=yes",
                         *common))  # fmt: skip
    assert recap(again.stdout)["lb1"]["changed"] == 0, "blocking a blocked address again is no change"
    ok(
        run_fleet(
            "emergency_security_incident.yml", "-e", f"emergency_unblock_ips={address}", "-e", "confirm=yes", *common
        )
    )
    assert not nft_blocked(address)


def test_maintenance_windows_forced(fleet: dict[str, str]) -> None:
    weekly, _ = twice("maintenance_weekly.yml", "-e", "maintenance_force=true", idempotent=False)
    assert "failed=0" in weekly.stdout
    monthly = ok(run_fleet("maintenance_monthly.yml", "-e", "maintenance_force=true", "--skip-tags", "backup"))
    report = newest_report("maintenance_monthly")
    targets = {f["target"] for f in report.get("figures", {}).get("security", {}).get("findings", [])}
    assert "failed=0" in monthly.stdout
    assert not targets or {"172.30.213.13:5432", "172.30.213.13:5433"} <= targets


def test_daily_summary_twice(fleet: dict[str, str]) -> None:
    first, _ = twice("daily_summary.yml")
    assert newest_report("daily_summary")["status"] in ("ok", "warning", "critical")
    assert "failed=0" in first.stdout


def test_no_secret_reaches_the_output(fleet: dict[str, str], tmp_path: Path) -> None:
    run = ok(run_fleet("backup_verify.yml", "-vvv"))
    for secret in ("example-mongodb-admin-password", "example-postgres-admin-password", "example-redis-admin-password"):
        assert secret not in run.stdout + run.stderr
