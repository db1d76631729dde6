# Copyright: opsbook contributors
# Apache License 2.0 (see LICENSE in the repository root)
"""Plain functions behind credential rotation (the credential_rotation role, the credential_user
and credential_store modules): connection URLs with their user and password, the rotation plan
(which user is in use, which one comes next), API key lists with a grace period, Redis ACL rules,
the sessions to close, and the ansible-vault encrypted secret store.

They take data and return data, so unit tests call them without Ansible or servers."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from ansible_collections.opsbook.runbooks.plugins.module_utils.report import TIME_FORMAT, utc_iso

KINDS = ("mongodb", "postgres", "redis", "api_keys")
STRATEGIES = {
    "mongodb": ("dual_user", "single_user"),
    "postgres": ("dual_user", "single_user"),
    "redis": ("overlap", "dual_user", "single_user"),
    "api_keys": ("key_list",),
}
DEFAULT_STRATEGY = {"mongodb": "dual_user", "postgres": "dual_user", "redis": "overlap", "api_keys": "key_list"}


class RotationError(ValueError):
    """Input the rotation cannot act on; the message names what to fix."""


def new_secret(nbytes: int = 24) -> str:
    """A random password or API key from the operating system's CSPRNG (URL-safe characters)."""
    if nbytes < 16:
        raise RotationError(f"secrets need at least 16 random bytes, got {nbytes}")
    return secrets.token_urlsafe(nbytes)


def utc_stamp(epoch: float) -> str:
    """When a credential was rotated or a key made, written as every report writes a time."""
    return str(utc_iso(epoch))


def parse_stamp(text: str) -> float:
    return datetime.strptime(text, TIME_FORMAT).replace(tzinfo=UTC).timestamp()


# Connection URLs ---------------------------------------------------------------------------------


def url_credentials(url: str) -> tuple[str, str]:
    """(user, password) of a connection URL such as mongodb://u:p@host/db; RotationError if absent."""
    parts = urlsplit(url)
    if parts.username is None or parts.password is None:
        raise RotationError(f"the {parts.scheme or 'connection'} URL has no user:password@ part")
    return unquote(parts.username), unquote(parts.password)


def url_with_credentials(url: str, user: str, password: str) -> str:
    """The URL with its user and password replaced; host, path and query kept as they are."""
    parts = urlsplit(url)
    if parts.hostname is None:
        raise RotationError(f"the {parts.scheme or 'connection'} URL has no host")
    hostport = parts.netloc.rsplit("@", 1)[-1]
    netloc = f"{quote(user, safe='')}:{quote(password, safe='')}@{hostport}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def url_user(url: str) -> str:
    """Only the user of a URL (safe to show)."""
    return url_credentials(url)[0]


# The plan -----------------------------------------------------------------------------------------


def normalise_accounts(accounts: list[dict[str, Any]], scope: list[str] | str) -> list[dict[str, Any]]:
    """The accounts in scope, each with its defaults filled in; RotationError naming what is wrong."""
    wanted = [s.strip() for s in scope.split(",")] if isinstance(scope, str) else list(scope)
    unknown = sorted(set(wanted) - {*KINDS, "all"})
    if unknown or not wanted:
        raise RotationError(
            f"unknown scope {', '.join(unknown) or '(empty)'}: use one or more of {', '.join(KINDS)}, or all"
        )
    kinds = set(KINDS) if "all" in wanted else set(wanted)
    names: set[str] = set()
    out = []
    for index, raw in enumerate(accounts):
        account = dict(raw)
        name = account.get("name") or f"accounts[{index}]"
        kind = account.get("kind")
        if kind not in KINDS:
            raise RotationError(f"account {name}: kind must be one of {', '.join(KINDS)}, got {kind!r}")
        if name in names:
            raise RotationError(f"account {name} is listed twice")
        names.add(name)
        account.setdefault("strategy", DEFAULT_STRATEGY[kind])
        if account["strategy"] not in STRATEGIES[kind]:
            raise RotationError(
                f"account {name}: strategy {account['strategy']!r} does not apply to {kind}; "
                f"use {' or '.join(STRATEGIES[kind])}"
            )
        if not account.get("env_var"):
            raise RotationError(f"account {name}: env_var (the variable of the application's secret) is required")
        users = account.get("users") or []
        if kind != "api_keys":
            wanted_users = 2 if account["strategy"] == "dual_user" else 1
            if len(users) != wanted_users or len(set(users)) != wanted_users:
                raise RotationError(
                    f"account {name}: strategy {account['strategy']} needs users with exactly {wanted_users} "
                    f"distinct name(s), got {users}"
                )
        account.setdefault("database", "")
        account.setdefault("like", "")
        if kind in kinds:
            out.append(account)
    if not out:
        raise RotationError(f"no account of scope {', '.join(sorted(kinds))} in credential_rotation_accounts")
    return out


def current_secret(account: dict[str, Any], app_env: dict[str, str], store: dict[str, Any]) -> tuple[str, str]:
    """The account's secret as the application has it now, and where it was read.

    The application's secret (the env file or the Kubernetes Secret) wins: it is what the running
    application logs in with. The vault store is the fallback for accounts whose variable the
    application does not have yet. An API key list the application has but holds no key yet is a
    current secret too (the empty list): the rotation gives it its first key."""
    value = app_env.get(account["env_var"], "")
    if value or (account["kind"] == "api_keys" and account["env_var"] in app_env):
        return value, "application"
    stored = (store.get("accounts") or {}).get(account["name"]) or {}
    if stored.get("value"):
        return str(stored["value"]), "vault"
    raise RotationError(
        f"account {account['name']}: no current secret: the application's secret has no {account['env_var']} "
        "and the vault store has no entry for it. Add the variable to the application's secret first."
    )


def plan_account(
    account: dict[str, Any], value: str, store: dict[str, Any], now: float, max_age_seconds: float
) -> dict[str, Any]:
    """What the rotation does with one account, without any secret: current and next user, and
    whether it is due. RotationError when the secret names a user outside the account's pair."""
    stored = (store.get("accounts") or {}).get(account["name"]) or {}
    rotated_at = stored.get("rotated_at")
    age = now - parse_stamp(rotated_at) if rotated_at else None
    due = max_age_seconds <= 0 or age is None or age >= max_age_seconds
    plan = {
        "name": account["name"],
        "kind": account["kind"],
        "strategy": account["strategy"],
        "env_var": account["env_var"],
        "database": account.get("database", ""),
        "like": account.get("like", ""),
        "due": due,
        "rotated_at": rotated_at or "",
    }
    if account["kind"] == "api_keys":
        plan.update(current_user="", next_user="")
        return plan
    user, _password = url_credentials(value)
    users = list(account["users"])
    if user not in users:
        raise RotationError(
            f"account {account['name']}: the application logs in as {user}, which is not one of the "
            f"account's users {users}; fix credential_rotation_accounts or the application's secret"
        )
    next_user = users[1 - users.index(user)] if account["strategy"] == "dual_user" else user
    plan.update(current_user=user, next_user=next_user)
    return plan


# API keys -------------------------------------------------------------------------------------------


def api_key_list(value: str) -> list[str]:
    return [k.strip() for k in value.split(",") if k.strip()]


def api_keys_rotate(
    current: str, stored: list[dict[str, Any]], now: float, grace_seconds: float, new_key: str | None
) -> dict[str, Any]:
    """The API keys after a rotation: the new key first, then the previous keys younger than the
    grace period. Keys the store does not know are dated now (first seen), so they get a full
    grace period. Returns the env value, the store records and counts (no key in the counts)."""
    known = {r["key"]: r for r in stored if isinstance(r, dict) and r.get("key")}
    records = []
    for key in api_key_list(current):
        record = known.get(key) or {"key": key, "created_at": utc_stamp(now)}
        records.append(record)
    kept = [r for r in records if now - parse_stamp(r["created_at"]) < grace_seconds]
    removed = len(records) - len(kept)
    if new_key is not None:
        kept.insert(0, {"key": new_key, "created_at": utc_stamp(now)})
    return {
        "value": ",".join(r["key"] for r in kept),
        "records": kept,
        "added": 0 if new_key is None else 1,
        "removed": removed,
        "kept": len(kept),
    }


# Redis --------------------------------------------------------------------------------------------


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def redis_rules_from_acl_list(acl_list: list[Any], user: str) -> list[str]:
    """ACL SETUSER rules that give another user the same command, key, channel and selector rules
    as `user`, read from `ACL LIST` (one `user <name> <rules>` line per user): every rule except
    the user's on/off switch and its passwords."""
    for line in acl_list:
        words = _text(line).split()
        if len(words) >= 2 and words[0] == "user" and words[1] == user:
            return [
                w
                for w in words[2:]
                if w not in {"on", "off", "nopass", "resetpass"} and not w.startswith(("#", ">", "<", "!"))
            ]
    raise RotationError(f"Redis has no ACL user {user}")


def redis_sessions_older_than(client_list: list[dict[str, Any]], user: str, older_than: int | None) -> list[str]:
    """Ids of the connections (CLIENT LIST) of `user` open for at least `older_than` seconds
    (all of them when None): the ones opened before a switch, not the application's new ones."""
    return [
        _text(c.get("id"))
        for c in client_list
        if _text(c.get("user")) == user and (older_than is None or int(c.get("age", 0)) >= older_than)
    ]


# The secret store ---------------------------------------------------------------------------------


def store_load(text: str) -> dict[str, Any]:
    """The data of the decrypted store (YAML)."""
    import yaml

    data = yaml.safe_load(text) or {}
    if not isinstance(data, dict):
        raise RotationError("the secret store does not hold a mapping")
    return data


def store_dump(data: dict[str, Any]) -> str:
    """The store's YAML text, before encryption."""
    import yaml

    text = "# opsbook credential store, written by the credential_rotation role. Do not edit by hand.\n"
    return text + yaml.safe_dump(data, sort_keys=True, default_flow_style=False)


# Password verifiers: the server gets a hash, never the password --------------------------------


def postgres_scram_verifier(password: str, salt: bytes | None = None, iterations: int = 4096) -> str:
    """The SCRAM-SHA-256 verifier PostgreSQL stores for `password` (RFC 5802/7677, the format of
    pg_authid.rolpassword), as psql's \\password computes it: `ALTER ROLE ... PASSWORD '<verifier>'`
    then sets the password without the server, its logs or pg_stat_statements seeing it.
    The password is used as given (no SASLprep): opsbook's passwords are ASCII."""
    import base64
    import hashlib
    import hmac

    salt = secrets.token_bytes(16) if salt is None else salt
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    stored_key = hashlib.sha256(client_key).digest()
    server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()

    def b64(raw: bytes) -> str:
        return base64.b64encode(raw).decode()

    return f"SCRAM-SHA-256${iterations}:{b64(salt)}${b64(stored_key)}:{b64(server_key)}"


def redis_password_hash(password: str) -> str:
    """The SHA-256 hex digest Redis ACLs store; `ACL SETUSER u #<hash>` adds it, `!<hash>` removes it."""
    import hashlib

    return hashlib.sha256(password.encode()).hexdigest()


# What the role computes ---------------------------------------------------------------------------


def rotation_plan(
    accounts: list[dict[str, Any]],
    scope: list[str] | str,
    app_env: dict[str, str],
    store: dict[str, Any],
    now: float,
    max_age_hours: float = 0,
) -> list[dict[str, Any]]:
    """The plan of a rotation, without any secret: one entry per account in scope."""
    plan = []
    for account in normalise_accounts(accounts, scope):
        value, source = current_secret(account, app_env, store)
        entry = plan_account(account, value, store, now, max_age_hours * 3600)
        entry["source"] = source
        entry["users"] = list(account.get("users") or [])
        plan.append(entry)
    return plan


def rotation_secrets(
    plan: list[dict[str, Any]],
    app_env: dict[str, str],
    store: dict[str, Any],
    new_passwords: dict[str, str],
    now: float,
    grace_hours: float,
    prune_only: bool = False,
) -> dict[str, dict[str, Any]]:
    """Per account due for rotation: the old and new secret (URL or key list) and password.

    new_passwords holds one fresh random value per account name (a password, or an API key)."""
    out: dict[str, dict[str, Any]] = {}
    for entry in plan:
        if not entry["due"]:
            continue
        account = {"name": entry["name"], "env_var": entry["env_var"], "kind": entry["kind"]}
        old_value, _source = current_secret(account, app_env, store)
        name = entry["name"]
        if entry["kind"] == "api_keys":
            stored = ((store.get("accounts") or {}).get(name) or {}).get("keys") or []
            new_key = None if prune_only else new_passwords[name]
            keys = api_keys_rotate(old_value, stored, now, grace_hours * 3600, new_key)
            out[name] = {
                "old_value": old_value,
                "new_value": keys["value"],
                "records": keys["records"],
                "counts": {k: keys[k] for k in ("added", "removed", "kept")},
            }
            continue
        _user, old_password = url_credentials(old_value)
        new_password = new_passwords[name]
        out[name] = {
            "old_value": old_value,
            "old_password": old_password,
            "new_password": new_password,
            "new_value": url_with_credentials(old_value, entry["next_user"], new_password),
        }
    return out


def rotation_store(
    store: dict[str, Any], plan: list[dict[str, Any]], new: dict[str, dict[str, Any]], now: float
) -> dict[str, Any]:
    """The vault store after a rotation: per rotated account its user, secret, previous user and
    the time of the switch; API keys with their creation times."""
    accounts = dict(store.get("accounts") or {})
    for entry in plan:
        if entry["name"] not in new:
            continue
        record = {"value": new[entry["name"]]["new_value"], "rotated_at": utc_stamp(now), "kind": entry["kind"]}
        if entry["kind"] == "api_keys":
            record["keys"] = new[entry["name"]]["records"]
        else:
            record.update(user=entry["next_user"], previous_user=entry["current_user"])
        accounts[entry["name"]] = record
    return {**store, "accounts": accounts}


def describe_user(entry: dict[str, Any], field: str, problem: str) -> str:
    """`account app_mongodb: mongodb user app_b <problem>` for messages."""
    return f"account {entry['name']}: {entry['kind']} user {entry[field]} {problem}"


_ALPHANUMERIC = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


def random_secrets(plan: list[dict[str, Any]], length: int) -> dict[str, str]:
    """One fresh random value (letters and digits, from the operating system's CSPRNG) per
    account of the plan, by account name: the new_passwords of rotation_secrets."""
    if length < 20:
        raise RotationError(f"secrets need at least 20 characters, got {length}")
    return {entry["name"]: "".join(secrets.choice(_ALPHANUMERIC) for _position in range(length)) for entry in plan}


def rotation_env_values(new: dict[str, dict[str, Any]], plan: list[dict[str, Any]], field: str) -> dict[str, str]:
    """{env_var: value} of the rotated accounts for the application's secret: `field` is
    new_value (the switch) or old_value (the rollback)."""
    if field not in ("new_value", "old_value"):
        raise RotationError(f"field must be new_value or old_value, got {field!r}")
    env_vars = {entry["name"]: entry["env_var"] for entry in plan}
    missing = sorted(set(new) - set(env_vars))
    if missing:
        raise RotationError(f"accounts {', '.join(missing)} were rotated but are not in the plan")
    return {env_vars[name]: record[field] for name, record in new.items()}


def rotation_accounts(
    plan: list[dict[str, Any]],
    new: dict[str, dict[str, Any]],
    status: str,
    switched_at: str,
    sessions: dict[str, dict[str, Any]],
    check_mode: bool,
) -> list[dict[str, Any]]:
    """The report's row per account, without any secret: old user -> new user, its status
    (`status` for the rotated ones; planned or not due for the others), the switch time, the
    API key counts and what happened to the sessions."""
    rows = []
    for entry in plan:
        rotated = entry["name"] in new
        account_status = status if rotated else "planned" if check_mode and entry.get("due") else "not due"
        rows.append(
            {
                "account": entry["name"],
                "kind": entry["kind"],
                "strategy": entry["strategy"],
                "old_user": entry.get("current_user"),
                "new_user": entry.get("next_user") if rotated and status == "rotated" else entry.get("current_user"),
                "status": account_status,
                "switched_at": switched_at if rotated else "",
                "api_keys": new[entry["name"]].get("counts", {}) if rotated and entry["kind"] == "api_keys" else {},
                "sessions": sessions.get(entry["name"]) or {},
            }
        )
    return rows


def rotation_line(row: dict[str, Any]) -> str:
    """One line of the run's output for a row of rotation_accounts."""
    text = f"{row['account']} ({row['kind']}, {row['strategy']}): {row['status']}"
    if row["kind"] != "api_keys":
        text += f", {row['old_user']} -> {row['new_user']}"
    elif row.get("api_keys"):
        keys = row["api_keys"]
        text += f", keys added {keys['added']}, removed {keys['removed']}, valid {keys['kept']}"
    if row.get("switched_at"):
        text += f", switched at {row['switched_at']}"
    if row.get("sessions"):
        text += f"; sessions: {row['sessions'].get('note', '')}"
    return text
