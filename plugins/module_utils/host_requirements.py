# Copyright: opsbook contributors
# Apache License 2.0 (see LICENSE in the repository root)
"""What a managed host needs for opsbook's runbooks, and whether it has it.

`plan()` turns the inventory's table of packages by group into one host's list (the
host_requirements role installs it). `check_python()`, `check_command()`, `check_path()` and
`check_endpoint()` look at the live host (the host_requirements_info module runs them there, so
they see the interpreter and the filesystem the runbooks see) and `problems()` says, in an
operator's words, what to fix. Plain functions; the module and the filter are the edges."""

from __future__ import annotations

import importlib
import os
import re
import shutil
import socket
import subprocess
from collections.abc import Iterable, Mapping
from typing import Any

# The Debian package that provides each Python library the modules import.
PYTHON_PACKAGES = {
    "python3-pymongo": "pymongo",
    "python3-psycopg2": "psycopg2",
    "python3-redis": "redis",
    "python3-boto3": "boto3",
    "python3-docker": "docker",
    "python3-requests": "requests",
    "python3-cryptography": "cryptography",
}
_VERSION_RE = re.compile(r"(\d+(?:\.\d+)*)")


def version_tuple(text: str | None) -> tuple[int, ...]:
    """(4, 6, 1) from "4.6.1", "r100.10.0" or "pg_dump (PostgreSQL) 15.14"; () when none."""
    match = _VERSION_RE.search(text or "")
    return tuple(int(part) for part in match[1].split(".")) if match else ()


def plan(
    packages: Mapping[str, Iterable[str]],
    groups: Iterable[str],
    *,
    extra: Mapping[str, Iterable[str]] | None = None,
    postgres_client_groups: Iterable[str] = (),
    postgres_major: int | str | None = None,
    mongodb_tools_groups: Iterable[str] = (),
    mongodb_tools_paths: Mapping[str, str | None] | None = None,
    python_minimums: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """One host's requirements from the tables by group: the Debian packages (sorted, no
    repeats), the Python libraries to check with their minimum versions, whether the host needs
    the PostgreSQL client and the MongoDB database tools, and the commands to check (the
    host_requirements_info module's `commands`): pg_dump not older than the server's major,
    mongodump and mongorestore at `mongodb_tools_paths` (or on PATH)."""
    groups = ["all", *[g for g in groups if g != "all"]]
    wanted: set[str] = set()
    for table in (packages, extra or {}):
        for group in groups:
            wanted.update(table.get(group) or [])
    needs_pg = bool(set(groups) & set(postgres_client_groups))
    if needs_pg and postgres_major:
        wanted.add(f"postgresql-client-{postgres_major}")
    minimums = python_minimums or {}
    python = {
        PYTHON_PACKAGES[p]: str(minimums.get(PYTHON_PACKAGES[p], "0")) for p in sorted(wanted) if p in PYTHON_PACKAGES
    }
    needs_mongo = bool(set(groups) & set(mongodb_tools_groups))
    commands: list[dict[str, Any]] = []
    if needs_mongo:
        paths = mongodb_tools_paths or {}
        commands += [{"name": tool, "path": paths.get(tool) or None} for tool in ("mongodump", "mongorestore")]
    if needs_pg:
        commands.append({"name": "pg_dump", "minimum": str(postgres_major) if postgres_major else None})
    return {
        "packages": sorted(wanted),
        "python": python,
        "postgres_client": needs_pg,
        "mongodb_tools": needs_mongo,
        "commands": commands,
    }


def dpkg_missing(dpkg_query_output: str, wanted: Iterable[str]) -> list[str]:
    """The wanted packages that `dpkg-query -W -f '${Package}\\t${db:Status-Abbrev}\\n'` does
    not show as installed ("ii"), in the order wanted."""
    installed = set()
    for line in dpkg_query_output.splitlines():
        name, _tab, status = line.partition("\t")
        if status.strip().startswith("ii"):
            installed.add(name.split(":")[0])
    return [p for p in wanted if p not in installed]


def check_python(name: str, minimum: str = "0") -> dict[str, Any]:
    """Import a library as the modules do and compare its version with the minimum."""
    try:
        module = importlib.import_module(name)
    except Exception as err:  # any import failure means the library is unusable
        return {
            "found": False,
            "version": None,
            "minimum": minimum,
            "ok": False,
            "error": f"{type(err).__name__}: {err}",
        }
    version = str(getattr(module, "__version__", "") or getattr(module, "version", "") or "")
    ok = version_tuple(version) >= version_tuple(minimum)
    return {"found": True, "version": version or None, "minimum": minimum, "ok": ok, "error": None}


def check_command(
    name: str, path: str | None = None, version_args: Iterable[str] = ("--version",), minimum: str | None = None
) -> dict[str, Any]:
    """Find a command (on PATH or at `path`), run it with `version_args` and compare the version."""
    found = path if path and os.access(path, os.X_OK) else shutil.which(path or name)
    result: dict[str, Any] = {"found": bool(found), "path": found, "version": None, "minimum": minimum, "ok": False}
    if not found:
        result["error"] = f"{path or name} is not installed (not found{' on PATH' if not path else ''})"
        return result
    try:
        run = subprocess.run([found, *version_args], capture_output=True, text=True, timeout=20, check=False)
    except (OSError, subprocess.TimeoutExpired) as err:
        result["error"] = f"{found} {' '.join(version_args)} failed: {err}"
        return result
    # The tool's own version is on its first line ("pg_dump (PostgreSQL) 15.18"); later lines name
    # others (mongodump's "Go version: go1.22").
    version = version_tuple(
        (run.stdout or run.stderr).strip().splitlines()[0] if (run.stdout or run.stderr).strip() else ""
    )
    result["version"] = ".".join(map(str, version)) or None
    result["ok"] = run.returncode == 0 and (not minimum or version >= version_tuple(minimum))
    result["error"] = None if result["ok"] else f"{found}: exit {run.returncode}, version {result['version']}"
    return result


def check_path(path: str, min_free_mb: float = 0) -> dict[str, Any]:
    """Free space on the filesystem that holds `path` (or would: its nearest existing parent)."""
    probe = path
    while probe and not os.path.exists(probe):
        probe = os.path.dirname(probe.rstrip("/")) or "/"
    stat = os.statvfs(probe or "/")
    free_mb = round(stat.f_bavail * stat.f_frsize / 1048576, 1)
    ok = free_mb >= min_free_mb
    return {
        "exists": os.path.exists(path),
        "free_mb": free_mb,
        "min_free_mb": min_free_mb,
        "ok": ok,
        "error": None if ok else f"{free_mb} MB free, {min_free_mb} MB wanted",
    }


def check_endpoint(host: str, port: int, timeout: float = 5) -> dict[str, Any]:
    """Whether this host reaches a service's TCP port."""
    try:
        with socket.create_connection((host, int(port)), timeout=timeout):
            pass
    except OSError as err:
        return {"ok": False, "error": f"{type(err).__name__}: {err}"}
    return {"ok": True, "error": None}


# The inventory group whose first host checks a service of each health-check type (the health
# check's own rule, module_utils/health.py service_group) and the inventory variables that give
# a database's address when its service entry names none.
_CHECKER_GROUP = {"http": "app", "tcp": "app", "container": "app", "mongodb": "mongodb", "pg_isready": "postgres",
                  "redis_ping": "redis"}  # fmt: skip


def checker_endpoints(
    services: Iterable[Mapping[str, Any]],
    groups: Mapping[str, list[str]],
    host: str,
    addresses: Mapping[str, str | None] | None = None,
) -> list[dict[str, Any]]:
    """The TCP endpoints `host` must reach to run the checks it is the checker of: for each
    service whose group's first host it is, the address of its URL, of its health_check.host or
    of the inventory's address for its kind (`addresses`: {mongodb, postgres, redis} hosts)."""
    from urllib.parse import urlsplit

    addresses = addresses or {}
    kinds = {"mongodb": "mongodb", "pg_isready": "postgres", "redis_ping": "redis"}
    found = []
    for service in services:
        check = service.get("health_check") or {}
        kind = check.get("type")
        group = service.get("group") or _CHECKER_GROUP.get(kind, "app")
        if (groups.get(group) or [])[:1] != [host] or kind == "container":
            continue
        if kind == "http":
            url = urlsplit(check.get("url") or "")
            if not url.hostname:
                continue
            address, port = url.hostname, url.port or (443 if url.scheme == "https" else 80)
        else:
            address = check.get("host") or addresses.get(kinds.get(kind, "")) or "127.0.0.1"
            port = service.get("port")
        if port:
            found.append({"name": service["name"], "host": address, "port": int(port)})
    return found


def problems(results: Mapping[str, Mapping[str, Mapping[str, Any]]]) -> list[str]:
    """One line per thing to fix, from the checks' results by kind ("python", "commands",
    "paths", "endpoints") and name."""
    lines = []
    for name, res in sorted((results.get("python") or {}).items()):
        if not res["found"]:
            lines.append(f"Python library {name} is missing ({res['error']}): install its Debian package")
        elif not res["ok"]:
            lines.append(f"Python library {name} {res['version']} is older than {res['minimum']}")
    for name, res in sorted((results.get("commands") or {}).items()):
        if not res["ok"]:
            lines.append(f"command {name}: {res.get('error') or 'not usable'}")
    for name, res in sorted((results.get("paths") or {}).items()):
        if not res["ok"]:
            lines.append(f"{name}: {res['error']}")
    for name, res in sorted((results.get("endpoints") or {}).items()):
        if not res["ok"]:
            lines.append(f"cannot reach {name}: {res['error']}")
    return lines
