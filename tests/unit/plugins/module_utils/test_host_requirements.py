"""What a host needs (module_utils/host_requirements.py): the plan from the tables by group, the
packages dpkg-query shows missing, and the checks that run on the host."""

from __future__ import annotations

import sys

from ansible_collections.opsbook.runbooks.plugins.module_utils.host_requirements import (
    check_command,
    check_endpoint,
    check_path,
    check_python,
    dpkg_missing,
    plan,
    problems,
    version_tuple,
)

PACKAGES = {
    "all": ["rsync", "age"],
    "mongodb": ["python3-pymongo", "python3-boto3"],
    "postgres": ["python3-psycopg2", "python3-boto3"],
}


def test_a_host_gets_all_plus_its_groups_packages_once() -> None:
    result = plan(PACKAGES, ["mongodb", "postgres"], python_minimums={"pymongo": "3.11"})
    assert result["packages"] == ["age", "python3-boto3", "python3-psycopg2", "python3-pymongo", "rsync"]
    assert result["python"] == {"boto3": "0", "psycopg2": "0", "pymongo": "3.11"}


def test_the_postgres_client_and_mongodb_tools_go_where_their_groups_say() -> None:
    result = plan(
        PACKAGES,
        ["postgres"],
        postgres_client_groups=["postgres", "dr"],
        postgres_major=15,
        mongodb_tools_groups=["mongodb"],
        mongodb_tools_paths={"mongodump": "/usr/local/bin/mongodump"},
    )
    assert "postgresql-client-15" in result["packages"]
    assert result["postgres_client"] and not result["mongodb_tools"]
    assert result["commands"] == [{"name": "pg_dump", "minimum": "15"}]
    mongo = plan(PACKAGES, ["mongodb"], mongodb_tools_groups=["mongodb"], mongodb_tools_paths={"mongodump": "/x/md"})
    assert mongo["commands"] == [{"name": "mongodump", "path": "/x/md"}, {"name": "mongorestore", "path": None}]
    assert "postgresql-client-15" not in mongo["packages"]


def test_extra_packages_add_to_the_table() -> None:
    assert "jq" in plan(PACKAGES, ["mongodb"], extra={"mongodb": ["jq"]})["packages"]


def test_dpkg_missing_reads_the_status_abbreviation() -> None:
    output = "age\tii \nrsync\trc \npython3-apt:amd64\tii \n"
    assert dpkg_missing(output, ["age", "rsync", "python3-apt", "procps"]) == ["rsync", "procps"]


def test_versions_compare_as_numbers() -> None:
    assert version_tuple("pg_dump (PostgreSQL) 15.14 (Debian 15.14-0+deb12u1)") == (15, 14)
    assert version_tuple("mongodump version: 100.10.0") == (100, 10, 0)
    assert version_tuple("no version") == ()
    assert version_tuple("3.11.0") >= version_tuple("3.11")


def test_checks_on_this_host(tmp_path) -> None:
    assert check_python("json")["found"] is True
    missing = check_python("opsbook_no_such_library")
    assert missing["found"] is False and "ModuleNotFoundError" in missing["error"]
    old = check_python("pytest", "999")
    assert old["found"] and not old["ok"]
    assert check_command("python", sys.executable, ["--version"], "3.0")["ok"] is True
    assert check_command("no-such-tool")["found"] is False
    assert check_path(str(tmp_path / "not" / "yet"), 0)["ok"] is True
    assert check_path(str(tmp_path), 10**12)["ok"] is False
    assert check_endpoint("127.0.0.1", 1, timeout=1)["ok"] is False


def test_problems_say_what_to_fix() -> None:
    lines = problems(
        {
            "python": {
                "pymongo": {"found": False, "ok": False, "error": "ModuleNotFoundError: x", "version": None},
                "redis": {"found": True, "ok": False, "version": "3.5", "minimum": "4.0", "error": None},
            },
            "commands": {"mongodump": {"ok": False, "error": "mongodump is not installed"}},
            "endpoints": {"mongodb": {"ok": False, "error": "ConnectionRefusedError"}},
        }
    )
    assert lines == [
        "Python library pymongo is missing (ModuleNotFoundError: x): install its Debian package",
        "Python library redis 3.5 is older than 4.0",
        "command mongodump: mongodump is not installed",
        "cannot reach mongodb: ConnectionRefusedError",
    ]
