# Copyright: opsbook contributors
# Apache License 2.0 (see LICENSE in the repository root)
"""Plain functions behind the account lockdown (users.py's redis_switch and mongodb_lock, the
accounts filters): Redis ACL flags and client lists, and the registry of MongoDB users opsbook disabled."""

from __future__ import annotations

import json
from typing import Any


def redis_user_enabled(getuser_reply: Any) -> bool:
    """Whether an `ACL GETUSER` reply (redis-py: a dict with `flags`) has the user switched on."""
    if not getuser_reply:
        raise ValueError("no such user")
    flags = getuser_reply.get("flags") or []
    flags = [f.decode() if isinstance(f, bytes) else str(f) for f in flags]
    return "on" in flags


def redis_sessions_of(client_list: list[dict[str, Any]], user: str) -> list[str]:
    """Ids of the connections (redis-py's CLIENT LIST reply) authenticated as `user`."""
    return [str(c.get("id")) for c in client_list if str(c.get("user")) == user]


def registry_key(user: str, database: str) -> str:
    return f"{user}@{database}"


def registry_load(text: str | None) -> dict[str, Any]:
    """The registry of disabled MongoDB users: {"users": {"user@db": {...}}}; empty when new."""
    if not text or not text.strip():
        return {"users": {}}
    data = json.loads(text)
    if not isinstance(data, dict) or not isinstance(data.get("users"), dict):
        raise ValueError('the registry is not a JSON object with a "users" object')
    return data


def registry_dump(registry: dict[str, Any]) -> str:
    return json.dumps(registry, indent=2, sort_keys=True) + "\n"


def mongodb_disable_plan(registry: dict[str, Any], user: str, database: str, login_user: str | None) -> str:
    """`disable` (replace the password), `noop` (opsbook already disabled it) or an error."""
    if login_user and user == login_user:
        raise ValueError(f"{user} is the account this task logs in with; disabling it would lock opsbook out")
    return "noop" if registry_key(user, database) in registry["users"] else "disable"


def mongodb_enable_plan(registry: dict[str, Any], user: str, database: str) -> str:
    """`enable` (set the new password, forget the record) or `noop` (not disabled by opsbook)."""
    return "enable" if registry_key(user, database) in registry["users"] else "noop"


def session_kill_note(error: Exception | None) -> dict[str, Any]:
    """What happened to the user's sessions, for the result: MongoDB has killAllSessionsByPattern;
    FerretDB answers CommandNotFound, so connections already authenticated stay open there."""
    if error is None:
        return {"sessions_killed": True, "sessions_note": "killAllSessionsByPattern ran for the user"}
    code = getattr(error, "code", None)
    if code == 59 or "CommandNotFound" in str(error) or "no such command" in str(error).lower():
        return {
            "sessions_killed": False,
            "sessions_note": "the server has no killAllSessionsByPattern (FerretDB): connections already "
            "authenticated as the user stay open until they close; new logins fail",
        }
    return {"sessions_killed": False, "sessions_note": f"killAllSessionsByPattern failed: {error}"}


class AccountsError(ValueError):
    """Account names the lockdown cannot act on; the message names what to fix."""


def account_refs(users: list[Any] | str) -> list[dict[str, str]]:
    """MongoDB users as {name, database}, from `name@database` strings (or comma-separated ones)
    and {name, database} mappings; a bare name is in `admin`."""
    if isinstance(users, str):
        users = [u.strip() for u in users.split(",") if u.strip()]
    refs = []
    for user in users or []:
        if isinstance(user, dict):
            if not user.get("name"):
                raise AccountsError(f"a MongoDB user needs a name: {user!r}")
            refs.append({"name": str(user["name"]), "database": str(user.get("database") or "admin")})
            continue
        name, _at, database = str(user).partition("@")
        if not name:
            raise AccountsError(f"{user!r} is not a MongoDB user: write name@database")
        refs.append({"name": name, "database": database or "admin"})
    return refs


def mongodb_user_keys(users: list[Any] | str) -> list[str]:
    """`name@database` of each MongoDB user (see account_refs), as the registry and
    account_lockdown_mongodb_passwords key them."""
    return [registry_key(ref["name"], ref["database"]) for ref in account_refs(users)]
