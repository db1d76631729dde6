# Copyright: opsbook contributors
# Apache License 2.0 (see LICENSE in the repository root)
"""The monthly security configuration checks (roles/maintenance_security): plain functions that
judge what a probe or an Ansible module read and return findings, and the few probes that need a
connection of their own (TLS protocol versions, a MongoDB and a Redis command without a login).

A finding is {check, target, status, detail} with status ok, warning or critical."""

from __future__ import annotations

import socket
import ssl
import warnings
from collections.abc import Iterable, Mapping
from typing import Any

STATUSES = ("ok", "warning", "critical")
# Protocol versions a client must not be able to negotiate (RFC 8996 deprecates both).
OLD_TLS = ("TLSv1", "TLSv1.1")
# PostgreSQL authentication methods that send or accept no proof of a password worth the name.
PG_METHODS = {"trust": "critical", "password": "warning", "md5": "warning"}
# Addresses Docker publishes a port on when the compose file gives no host address.
ANY_ADDRESS = {"", "0.0.0.0", "::"}


class SecurityError(ValueError):
    """An input the checks cannot judge (the message says what to fix)."""


def finding(check: str, target: str, status: str, detail: str) -> dict[str, Any]:
    if status not in STATUSES:
        raise SecurityError(f"finding status must be one of {', '.join(STATUSES)}, got {status!r}")
    return {"check": check, "target": target, "status": status, "detail": detail}


def worst(findings: Iterable[Mapping[str, Any]]) -> str:
    """The worst status of the findings (ok when there are none)."""
    levels = {f.get("status") for f in findings}
    return next((s for s in reversed(STATUSES) if s in levels), "ok")


# --- secret files --------------------------------------------------------------------------------


def file_entries(files: Iterable[Any]) -> list[dict[str, Any]]:
    """Normalise maintenance_security_files: a path, or {path, mode, owner, group, missing}; mode
    is the most a file may allow (default 0600), missing is warning or skip (default warning).
    Empty paths (an inventory variable that is not set) are dropped, duplicates kept once."""
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for entry in files:
        item = {"path": entry} if isinstance(entry, str) else dict(entry or {})
        path = str(item.get("path") or "").strip()
        if not path or path in seen:
            continue
        mode = str(item.get("mode") or "0600")
        try:
            int(mode, 8)
        except ValueError as err:
            raise SecurityError(
                f"maintenance_security_files: mode of {path} must be octal like '0600', got {mode!r}"
            ) from err
        missing = item.get("missing") or "warning"
        if missing not in ("warning", "skip"):
            raise SecurityError(
                f"maintenance_security_files: missing of {path} must be warning or skip, got {missing!r}"
            )
        seen.add(path)
        out.append(
            {"path": path, "mode": mode, "owner": item.get("owner"), "group": item.get("group"), "missing": missing}
        )
    return out


def file_finding(entry: Mapping[str, Any], stat: Mapping[str, Any]) -> dict[str, Any] | None:
    """Judge one secret file from ansible.builtin.stat's result: bits for others beyond the allowed
    mode are critical (anyone on the host reads the secrets), extra group bits and a wrong owner
    or group a warning. None for a missing file with missing=skip."""
    path = entry["path"]
    if not stat.get("exists"):
        if entry.get("missing") == "skip":
            return None
        return finding(
            "file_permissions",
            path,
            "warning",
            "not found; remove it from maintenance_security_files or mark it missing: skip",
        )
    allowed = int(str(entry.get("mode") or "0600"), 8)
    mode = int(str(stat.get("mode") or "0"), 8)
    extra = mode & ~allowed & 0o7777
    problems: list[str] = []
    status = "ok"
    if extra & 0o007:
        status = "critical"
        problems.append(f"mode {mode:04o} lets other users {_rwx(extra & 0o007)} it (allowed: {allowed:04o})")
    elif extra:
        status = "warning"
        problems.append(f"mode {mode:04o} allows more than {allowed:04o}")
    for key, stat_key in (("owner", "pw_name"), ("group", "gr_name")):
        want = entry.get(key)
        if want and stat.get(stat_key) != want:
            status = "critical" if status == "critical" else "warning"
            problems.append(f"{key} is {stat.get(stat_key)}, expected {want}")
    if problems:
        fix = f"; fix: chmod {allowed:04o} {path}" if extra else ""
        return finding("file_permissions", path, status, "; ".join(problems) + fix)
    return finding(
        "file_permissions", path, "ok", f"mode {mode:04o}, owner {stat.get('pw_name')}:{stat.get('gr_name')}"
    )


def _rwx(bits: int) -> str:
    names = [n for b, n in ((0o4, "read"), (0o2, "write"), (0o1, "execute")) if bits & b]
    return "/".join(names)


def file_findings(stats: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Findings from ansible.builtin.stat results looped over file_entries (each with item and stat)."""
    out = []
    for result in stats:
        entry = result.get("item") or {}
        if result.get("failed"):
            out.append(
                finding("file_permissions", entry.get("path", "?"), "warning", f"could not stat: {result.get('msg')}")
            )
            continue
        judged = file_finding(entry, result.get("stat") or {})
        if judged:
            out.append(judged)
    return out


# --- TLS protocol versions ------------------------------------------------------------------------


def _client_context(version: ssl.TLSVersion | None) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    # Only the protocol is judged here; the certificate is the certificate check's business.
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    if version is not None:
        # Security level 0 lets this client offer TLS 1.0/1.1 with their old ciphers, so that the
        # answer is the server's.
        context.set_ciphers("ALL:@SECLEVEL=0")
        context.minimum_version = version
        context.maximum_version = version
    return context


def handshake(host: str, port: int, server_name: str | None, version: ssl.TLSVersion | None, timeout: float) -> str:
    """The protocol the server negotiates when offered only `version` (None: the client's
    default range). Raises ssl.SSLError when the server refuses, OSError when it is unreachable."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        context = _client_context(version)
    with (
        socket.create_connection((host, port), timeout=timeout) as raw,
        context.wrap_socket(raw, server_hostname=server_name or host) as tls,
    ):
        return str(tls.version())


def probe_tls(endpoint: Mapping[str, Any], timeout: float) -> dict[str, Any]:
    """{name, host, port, default: negotiated protocol or None, accepted: {TLSv1: bool|None, ...},
    error}. accepted[v] is None when this client could not test v."""
    host, port = str(endpoint["host"]), int(endpoint["port"])
    server_name = endpoint.get("server_name") or host
    out: dict[str, Any] = {"name": endpoint.get("name") or f"{host}:{port}", "host": host, "port": port}
    try:
        out["default"] = handshake(host, port, server_name, None, timeout)
    except (OSError, ssl.SSLError) as err:
        return {**out, "default": None, "accepted": {}, "error": f"{type(err).__name__}: {err}"}
    accepted: dict[str, bool | None] = {}
    versions = {"TLSv1": "TLSv1", "TLSv1.1": "TLSv1_1"}
    for name in OLD_TLS:
        version = getattr(ssl.TLSVersion, versions[name])
        try:
            accepted[name] = handshake(host, port, server_name, version, timeout) == name
        except ssl.SSLError:
            accepted[name] = False
        except ValueError:
            accepted[name] = None  # this OpenSSL cannot offer the version
        except OSError as err:
            # A server that drops the connection at the hello refuses the version.
            accepted[name] = False if isinstance(err, ConnectionResetError) else None
    return {**out, "accepted": accepted, "error": None}


def tls_finding(probe: Mapping[str, Any]) -> dict[str, Any]:
    """critical when the endpoint negotiates TLS 1.0 or 1.1, warning when it cannot be reached
    or a version could not be tried, ok otherwise."""
    name = f"{probe['name']} ({probe['host']}:{probe['port']})"
    if probe.get("error"):
        return finding("tls_protocols", name, "warning", f"no TLS handshake: {probe['error']}")
    accepted = probe.get("accepted") or {}
    bad = [v for v in OLD_TLS if accepted.get(v)]
    untested = [v for v in OLD_TLS if accepted.get(v) is None]
    if bad:
        return finding(
            "tls_protocols", name, "critical",
            f"accepts {' and '.join(bad)} (deprecated, RFC 8996); allow only TLSv1.2 and TLSv1.3 "
            "(nginx: ssl_protocols TLSv1.2 TLSv1.3;)",
        )  # fmt: skip
    if untested:
        return finding("tls_protocols", name, "warning", f"could not try {' and '.join(untested)} from here")
    return finding("tls_protocols", name, "ok", f"refuses TLSv1 and TLSv1.1; negotiates {probe.get('default')}")


# --- database logins -------------------------------------------------------------------------------


def mongodb_finding(target: str, reply: Mapping[str, Any]) -> dict[str, Any]:
    """Judge listDatabases sent without a login: {ok: True, databases: n} means anyone who reaches
    the port reads the data; an authorisation error (code 13 Unauthorized, 18, or a message naming
    authentication) is the wanted answer; anything else cannot be judged."""
    if reply.get("ok"):
        return finding(
            "mongodb_auth", target, "critical",
            f"listDatabases succeeded without a login ({reply.get('databases')} databases visible); "
            "start mongod with security.authorization: enabled",
        )  # fmt: skip
    code, message = reply.get("code"), str(reply.get("error") or "")
    if code in (13, 18) or any(w in message.lower() for w in ("unauthorized", "authentication", "requires auth")):
        return finding(
            "mongodb_auth", target, "ok", f"refuses commands without a login ({message.splitlines()[0][:120]})"
        )
    return finding("mongodb_auth", target, "warning", f"could not judge: {message[:200] or 'no reply'}")


def redis_finding(target: str, reply: Mapping[str, Any]) -> dict[str, Any]:
    """Judge DBSIZE sent without AUTH: an answer means the default user runs commands without a
    password; NOAUTH, WRONGPASS or NOPERM is the wanted answer."""
    if reply.get("ok"):
        return finding(
            "redis_auth", target, "critical",
            f"the default user ran DBSIZE without a password ({reply.get('keys')} keys); "
            "set `user default off` (ACL) or requirepass",
        )  # fmt: skip
    message = str(reply.get("error") or "")
    if any(w in message.upper() for w in ("NOAUTH", "WRONGPASS", "NOPERM", "AUTHENTICATION REQUIRED")):
        return finding("redis_auth", target, "ok", f"refuses commands without a password ({message[:120]})")
    return finding("redis_auth", target, "warning", f"could not judge: {message[:200] or 'no reply'}")


def probe_mongodb(probe: Mapping[str, Any], timeout: float) -> dict[str, Any]:
    """listDatabases without credentials. Needs pymongo."""
    import pymongo
    from pymongo.errors import OperationFailure, PyMongoError

    kwargs: dict[str, Any] = {
        "host": probe["host"], "port": int(probe["port"]), "directConnection": True,
        "serverSelectionTimeoutMS": int(timeout * 1000), "appname": "opsbook-security",
    }  # fmt: skip
    if probe.get("tls"):
        kwargs["tls"] = True
        if probe.get("tls_ca_file"):
            kwargs["tlsCAFile"] = probe["tls_ca_file"]
    client = pymongo.MongoClient(**kwargs)
    try:
        reply = client.admin.command("listDatabases", nameOnly=True)
        return {"ok": True, "databases": len(reply.get("databases") or [])}
    except OperationFailure as err:
        return {"ok": False, "code": err.code, "error": str(err.details.get("errmsg") if err.details else err)}
    except PyMongoError as err:
        return {"ok": False, "code": None, "error": f"{type(err).__name__}: {err}"}
    finally:
        client.close()


def probe_redis(probe: Mapping[str, Any], timeout: float) -> dict[str, Any]:
    """DBSIZE without AUTH, in plain RESP over a socket (what anyone with redis-cli or netcat
    would send; a client library may send HELLO or AUTH first)."""
    host, port = str(probe["host"]), int(probe["port"])
    try:
        with socket.create_connection((host, port), timeout=timeout) as raw:
            conn: socket.socket = raw
            if probe.get("tls"):
                context = ssl.create_default_context(cafile=probe.get("tls_ca_file"))
                conn = context.wrap_socket(raw, server_hostname=host)
            conn.sendall(b"*1\r\n$6\r\nDBSIZE\r\n")
            reply = conn.makefile("rb").readline().decode("utf-8", "replace").strip()
    except OSError as err:
        return {"ok": False, "error": f"{type(err).__name__}: {err}"}
    return redis_reply(reply)


def redis_reply(line: str) -> dict[str, Any]:
    """A RESP reply line to DBSIZE: `:12` is an answer, `-NOAUTH …` an error."""
    if line.startswith(":"):
        return {"ok": True, "keys": int(line[1:])}
    return {"ok": False, "error": line.lstrip("-") or "no reply"}


def postgres_findings(
    target: str, password_encryption: str | None, rules: Iterable[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """Judge `SHOW password_encryption` and pg_hba_file_rules: passwords stored as scram-sha-256;
    no trust rule (critical: no password at all), no password (cleartext) or md5 rule (warning),
    no rule the server could not parse (warning)."""
    out = []
    if password_encryption is not None:
        ok = password_encryption == "scram-sha-256"
        out.append(
            finding(
                "postgres_password_encryption", target, "ok" if ok else "warning",
                f"password_encryption = {password_encryption}"
                + ("" if ok else "; set scram-sha-256 and reset the passwords so they are stored as SCRAM"),
            )
        )  # fmt: skip
    problems: list[tuple[str, str]] = []
    count = 0
    for rule in rules:
        count += 1
        where = f"pg_hba.conf line {rule.get('line_number')}"
        if rule.get("error"):
            problems.append(("warning", f"{where}: {rule['error']}"))
            continue
        method = str(rule.get("auth_method") or "")
        if method in PG_METHODS:
            scope = " ".join(
                str(x) for x in (rule.get("type"), _pg_list(rule.get("database")), _pg_list(rule.get("user_name")),
                                 rule.get("address") or "") if x
            )  # fmt: skip
            problems.append((PG_METHODS[method], f"{where} ({scope}) uses {method}"))
    if problems:
        status = "critical" if any(s == "critical" for s, _text in problems) else "warning"
        out.append(
            finding(
                "postgres_hba",
                target,
                status,
                "; ".join(d for _status, d in problems) + "; use scram-sha-256 (or peer for local)",
            )
        )
    else:
        out.append(finding("postgres_hba", target, "ok", f"{count} rules, none trust, password or md5"))
    return out


def postgres_server_findings(
    results: Iterable[Mapping[str, Any]], login_user: str = "postgres"
) -> list[dict[str, Any]]:
    """postgres_findings for each server's looped postgresql_query result (item: the server); a
    server that could not be read is a finding that says so, never a pass."""
    out: list[dict[str, Any]] = []
    for result in results:
        server = result["item"]
        target = f"{server['host']}:{server['port']}"
        answers = result.get("query_all_results")
        if answers:
            out += postgres_findings(target, answers[0][0].get("password_encryption"), answers[1])
        else:
            reason = result.get("msg") or "no reply"
            out.append(
                finding(
                    "postgres_hba", target, "warning", f"could not read pg_hba_file_rules as {login_user}: {reason}"
                )
            )
    return out


def _pg_list(value: Any) -> str:
    return ",".join(map(str, value)) if isinstance(value, list) else str(value or "")


# --- sshd ------------------------------------------------------------------------------------------------

# Seed 004's "SSH Access": key-based authentication only, no password authentication. Keys of
# `sshd -T` (effective settings, lower case), the values that break the rule and the status.
SSHD_RULES = (
    ("passwordauthentication", {"yes"}, "critical", "passwords are accepted; set PasswordAuthentication no"),
    ("permitemptypasswords", {"yes"}, "critical", "empty passwords are accepted; set PermitEmptyPasswords no"),
    (
        "kbdinteractiveauthentication",
        {"yes"},
        "warning",
        "keyboard-interactive (PAM passwords) is on; set KbdInteractiveAuthentication no",
    ),
    (
        "permitrootlogin",
        {"yes"},
        "warning",
        "root logs in with a password; set PermitRootLogin prohibit-password or no",
    ),
)


def sshd_findings(target: str, effective: str) -> list[dict[str, Any]]:
    """Judge the output of `sshd -T` (one `key value` per line) against seed 004's rules."""
    settings: dict[str, str] = {}
    for line in effective.splitlines():
        key, _space, value = line.strip().partition(" ")
        if key:
            settings.setdefault(key.lower(), value.strip().lower())
    if "passwordauthentication" not in settings:
        raise SecurityError("this is not the output of `sshd -T` (no passwordauthentication line)")
    problems = [(status, text) for key, bad, status, text in SSHD_RULES if settings.get(key) in bad]
    if not problems:
        return [finding("sshd", target, "ok", "keys only: no password, empty-password or keyboard-interactive login")]
    status = "critical" if any(s == "critical" for s, _text in problems) else "warning"
    return [finding("sshd", target, status, "; ".join(text for _status, text in problems))]


# --- containers ---------------------------------------------------------------------------------------


def container_findings(inspect: Mapping[str, Any], allowed_ports: Iterable[int] = ()) -> list[dict[str, Any]]:
    """Judge one container from `docker inspect` (community.docker.docker_container_info's
    container): privileged (critical), the Docker socket mounted (critical: root on the host),
    ports published on every address outside allowed_ports (warning), the host's network
    (warning: Docker publishes nothing and cannot limit what the process listens on)."""
    name = str(inspect.get("Name") or "?").lstrip("/")
    host_config = inspect.get("HostConfig") or {}
    out = []
    if host_config.get("Privileged"):
        out.append(
            finding(
                "container_privileged", name, "critical", "runs privileged (every device and capability of the host)"
            )
        )
    else:
        added = host_config.get("CapAdd") or []
        detail = "not privileged" + (f"; added capabilities: {', '.join(added)}" if added else "")
        out.append(
            finding("container_privileged", name, "warning" if "SYS_ADMIN" in added or "ALL" in added else "ok", detail)
        )
    sockets = [
        m.get("Source") for m in inspect.get("Mounts") or [] if str(m.get("Source") or "").endswith("docker.sock")
    ]
    if sockets:
        out.append(
            finding(
                "container_docker_socket", name, "critical", f"mounts the Docker socket {sockets[0]} (root on the host)"
            )
        )
    allowed = {int(p) for p in allowed_ports}
    if host_config.get("NetworkMode") == "host":
        out.append(
            finding(
                "container_ports", name, "warning",
                "uses the host's network: Docker publishes no port, and every port the process opens is "
                "opened on the host (check its listen address, e.g. `ss -ltnp`)",
            )
        )  # fmt: skip
        return out
    public, local = [], []
    for container_port, bindings in sorted(((inspect.get("NetworkSettings") or {}).get("Ports") or {}).items()):
        for binding in bindings or []:
            host_ip, host_port = str(binding.get("HostIp") or ""), str(binding.get("HostPort") or "")
            address = f"[{host_ip}]" if ":" in host_ip else host_ip or "0.0.0.0"
            text = f"{address}:{host_port}->{container_port}"
            if host_ip in ANY_ADDRESS and int(host_port or 0) not in allowed:
                public.append(text)
            else:
                local.append(text)
    if public:
        out.append(
            finding(
                "container_ports", name, "warning",
                f"publishes on every address: {', '.join(public)}; bind to 127.0.0.1 or an internal address "
                "(ports: ['127.0.0.1:9090:9090']) unless the port is meant to be public "
                "(maintenance_security_public_ports)",
            )
        )  # fmt: skip
    else:
        out.append(finding("container_ports", name, "ok", f"published: {', '.join(local) or 'nothing'}"))
    return out


def containers_findings(
    results: Iterable[Mapping[str, Any]], allowed_ports: Iterable[int] = ()
) -> list[dict[str, Any]]:
    """Findings for every container from community.docker.docker_container_info results (looped)."""
    allowed = list(allowed_ports)
    out: list[dict[str, Any]] = []
    for result in results:
        if result.get("container"):
            out += container_findings(result["container"], allowed)
    return out


# --- acceptance and summary ---------------------------------------------------------------------------


def accept(findings: Iterable[Mapping[str, Any]], accepted: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Findings with the operators' accepted risks applied: an entry {check, target, reason}
    turns a matching warning or critical finding into ok, its detail keeping what was found and
    why it is accepted. An entry without target matches every target of its check."""
    rules = list(accepted)
    for rule in rules:
        if not rule.get("check") or not rule.get("reason"):
            raise SecurityError(f"maintenance_security_accepted entries need check and reason, got {dict(rule)!r}")
    out = []
    for item in findings:
        rule = next(
            (r for r in rules if r["check"] == item["check"] and r.get("target") in (None, "", item["target"])), None
        )
        if rule and item["status"] != "ok":
            item = {
                **item,
                "status": "ok",
                "detail": f"accepted ({rule['reason']}): was {item['status']}: {item['detail']}",
            }
        out.append(dict(item))
    return out
