# Copyright: opsbook contributors
# Apache License 2.0 (see LICENSE in the repository root)
"""One user-management layer over the engines' client factories (module_utils/mongodb.py,
postgres.py, redis.py), behind credential_user, redis_acl_user and mongodb_user_lock.

Each engine has one small class over a connected admin client and a `login(user, password)`
callable that opens a client as another user: exists/list, login (prove a password), create and
set_password (PostgreSQL gets a SCRAM-SHA-256 verifier and Redis a SHA-256 hash, never the
password; MongoDB's createUser/updateUser take it over the authenticated connection), retire,
lock/unlock and kill_sessions. The steps the modules take (a rotation step, switching a Redis user,
disabling a MongoDB user with its registry) are plain functions over those classes; the pure
rules they use live in accounts.py and credentials.py. Unit tests give the classes fake clients."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from ansible_collections.opsbook.runbooks.plugins.module_utils import mongodb, postgres, redis
from ansible_collections.opsbook.runbooks.plugins.module_utils.accounts import (
    mongodb_disable_plan,
    mongodb_enable_plan,
    redis_sessions_of,
    redis_user_enabled,
    registry_key,
    session_kill_note,
)
from ansible_collections.opsbook.runbooks.plugins.module_utils.credentials import (
    new_secret,
    postgres_scram_verifier,
    redis_password_hash,
    redis_rules_from_acl_list,
    redis_sessions_older_than,
)

Login = Callable[[str, str], Any]

KINDS = ("mongodb", "postgres", "redis")
DEFAULT_PORT = {"mongodb": 27017, "postgres": 5432, "redis": 6379}
# The client library of each engine and its import error (None when it imports).
LIBRARIES = {
    "mongodb": ("pymongo", mongodb.PYMONGO_IMPORT_ERROR),
    "postgres": ("psycopg2", postgres.PSYCOPG2_IMPORT_ERROR),
    "redis": ("redis", redis.REDIS_IMPORT_ERROR),
}


class UsersError(Exception):
    """A user operation that cannot be done; the message says why, for the operator."""


class LoginFailedError(UsersError):
    """The user could not log in with the password."""


class UserNotFoundError(UsersError):
    """The server has no such user."""


class StepFailedError(UsersError):
    """A step failed after it learned something; `result` is what the module reports with it."""

    def __init__(self, msg: str, result: dict[str, Any]) -> None:
        super().__init__(msg)
        self.result = result


def _first_line(err: Exception, default: str) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else default


class EngineUsers:
    """What each engine's class has: its admin `client` (a psycopg2 connection for PostgreSQL),
    `login`, a factory that opens a client as another user, and close()."""

    kind = ""
    database = ""

    def __init__(self, client: Any, login: Login | None = None) -> None:
        self.client = client
        self._login = login

    def login_as(self, name: str, password: str) -> Any:
        """A client logged in as `name` (the factory's errors when the login fails)."""
        if self._login is None:
            raise UsersError(f"{type(self).__name__} was made without a login factory")
        return self._login(name, password)

    def close(self) -> None:
        self.client.close()

    # The interface each engine implements.
    def exists(self, name: str) -> bool:
        raise NotImplementedError

    def list(self) -> list[str]:
        raise NotImplementedError

    def login(self, name: str, password: str) -> None:
        """Log in as `name` with `password`; LoginFailedError when the server refuses."""
        raise NotImplementedError

    def create(self, name: str, password: str, like: str) -> None:
        """Create `name` with the rights of the existing user `like`."""
        raise NotImplementedError

    def set_password(self, name: str, password: str, keep_others: bool = False) -> None:
        raise NotImplementedError

    def retire(self, name: str) -> None:
        """Make sure nobody can log in as `name` with any password known before."""
        raise NotImplementedError

    def lock(self, name: str) -> None:
        raise NotImplementedError

    def unlock(self, name: str, password: str | None = None) -> None:
        """Let `name` log in again (with `password`, a new one, where the engine needs it)."""
        raise NotImplementedError

    def kill_sessions(self, name: str, older_than: int | None = None, check: bool = False) -> dict[str, Any]:
        """End the user's sessions; `sessions_killed` and `sessions_note` for the result."""
        raise NotImplementedError


# --- MongoDB ----------------------------------------------------------------------------------


class MongoUsers(EngineUsers):
    """The users of one authentication database (`database`) of a MongoDB or FerretDB server."""

    kind = "mongodb"

    def __init__(self, client: Any, database: str, login: Login | None = None) -> None:
        super().__init__(client, login)
        self.database = database

    def info(self, name: str) -> dict[str, Any] | None:
        reply = self.client[self.database].command({"usersInfo": {"user": name, "db": self.database}})
        users = reply.get("users") or []
        return users[0] if users else None

    def exists(self, name: str) -> bool:
        return self.info(name) is not None

    def list(self) -> list[str]:
        reply = self.client[self.database].command({"usersInfo": 1})
        return sorted(u["user"] for u in reply.get("users") or [])

    def login(self, name: str, password: str) -> None:
        try:
            self.login_as(name, password).close()
        except mongodb.OperationFailure as err:
            raise LoginFailedError(err.details.get("codeName") if err.details else str(err.code)) from err

    def create(self, name: str, password: str, like: str) -> None:
        template = self.info(like)
        if template is None:
            raise UsersError(f"the template user {like} does not exist in {self.database}")
        roles = [{"role": r["role"], "db": r["db"]} for r in template.get("roles") or []]
        self.client[self.database].command({"createUser": name, "pwd": password, "roles": roles})

    def set_password(self, name: str, password: str, keep_others: bool = False) -> None:
        self.client[self.database].command({"updateUser": name, "pwd": password})

    def retire(self, name: str) -> None:
        """Replace the password with 48 random bytes nobody keeps (MongoDB has no off switch)."""
        self.set_password(name, new_secret(48))

    lock = retire

    def unlock(self, name: str, password: str | None = None) -> None:
        if password is None:
            raise UsersError(f"MongoDB has no off switch: re-enabling {name} needs a new password")
        self.set_password(name, password)

    def kill_sessions(self, name: str, older_than: int | None = None, check: bool = False) -> dict[str, Any]:
        """killAllSessionsByPattern for the user (which FerretDB lacks; see session_kill_note).
        The command has no age filter and no dry run: in check mode nothing is sent."""
        if check:
            return {"sessions_killed": False, "sessions_note": "check mode: killAllSessionsByPattern not sent"}
        error = None
        try:
            self.client.admin.command({"killAllSessionsByPattern": [{"users": [{"user": name, "db": self.database}]}]})
        except mongodb.PyMongoError as err:
            error = err
        return session_kill_note(error)


# --- PostgreSQL -------------------------------------------------------------------------------


class PostgresUsers(EngineUsers):
    """The roles of a PostgreSQL server, over an autocommit admin connection."""

    kind = "postgres"

    def _run(self, query: Any, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self.client.cursor() as cur:
            cur.execute(query, args)
            return cur.fetchall() if cur.description else []

    def _alter(self, name: str, clause: str, args: tuple[Any, ...] = ()) -> None:
        self._run(postgres.sql.SQL("ALTER ROLE {} " + clause).format(postgres.sql.Identifier(name)), args)

    def exists(self, name: str) -> bool:
        return bool(self._run("SELECT 1 FROM pg_roles WHERE rolname = %s", (name,)))

    def list(self) -> list[str]:
        return [row[0] for row in self._run("SELECT rolname FROM pg_roles WHERE rolcanlogin ORDER BY 1")]

    def login(self, name: str, password: str) -> None:
        try:
            conn = self.login_as(name, password)
        except postgres.OperationalError as err:
            raise LoginFailedError(_first_line(err, "login refused")) from err
        conn.close()

    def create(self, name: str, password: str, like: str) -> None:
        if not self.exists(like):
            raise UsersError(f"the template role {like} does not exist")
        sql = postgres.sql
        self._run(
            sql.SQL("CREATE ROLE {} LOGIN PASSWORD %s").format(sql.Identifier(name)),
            (postgres_scram_verifier(password),),
        )
        self._run(sql.SQL("GRANT {} TO {}").format(sql.Identifier(like), sql.Identifier(name)))

    def set_password(self, name: str, password: str, keep_others: bool = False) -> None:
        """ALTER ROLE ... PASSWORD with the SCRAM-SHA-256 verifier: the password never reaches the server."""
        self._alter(name, "PASSWORD %s", (postgres_scram_verifier(password),))

    def retire(self, name: str) -> None:
        self.set_password(name, new_secret(48))

    def lock(self, name: str) -> None:
        self._alter(name, "NOLOGIN")

    def unlock(self, name: str, password: str | None = None) -> None:
        self._alter(name, "LOGIN")
        if password is not None:
            self.set_password(name, password)

    def kill_sessions(self, name: str, older_than: int | None = None, check: bool = False) -> dict[str, Any]:
        """pg_terminate_backend of the user's sessions (open for `older_than` seconds at least);
        in check mode, their count."""
        condition = "usename = %s AND pid <> pg_backend_pid()"
        args: tuple[Any, ...] = (name,)
        if older_than is not None:
            condition += " AND backend_start <= now() - make_interval(secs => %s)"
            args += (older_than,)
        if check:
            rows = self._run(f"SELECT count(*) FROM pg_stat_activity WHERE {condition}", args)
            count = int(rows[0][0])
        else:
            rows = self._run(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE {condition}", args)
            count = sum(1 for row in rows if row[0])
        return {"sessions_killed": count, "sessions_note": f"pg_terminate_backend ended {count} session(s)"}


# --- Redis ------------------------------------------------------------------------------------


class RedisUsers(EngineUsers):
    """The ACL users of a Redis server; changes are saved to its ACL file when it has one."""

    kind = "redis"

    def getuser(self, name: str) -> dict[str, Any] | None:
        return self.client.acl_getuser(name) or None

    def exists(self, name: str) -> bool:
        return self.getuser(name) is not None

    def list(self) -> list[str]:
        return sorted(str(u) for u in self.client.acl_users())

    def enabled(self, name: str) -> bool:
        return redis_user_enabled(self.getuser(name))

    def has_password(self, name: str, password: str) -> bool:
        return redis_password_hash(password) in (self.getuser(name) or {}).get("passwords", [])

    def only_password(self, name: str, password: str) -> bool:
        return (self.getuser(name) or {}).get("passwords", []) == [redis_password_hash(password)]

    def save(self) -> bool:
        """ACL SAVE when the server keeps its users in an ACL file; whether it did."""
        if (self.client.config_get("aclfile") or {}).get("aclfile"):
            self.client.execute_command("ACL", "SAVE")
            return True
        return False

    def _setuser(self, name: str, *rules: str) -> None:
        self.client.execute_command("ACL", "SETUSER", name, *rules)

    def login(self, name: str, password: str) -> None:
        client = self.login_as(name, password)
        try:
            client.ping()
        except (redis.AuthenticationError, redis.ResponseError) as err:
            raise LoginFailedError(str(err)) from err
        finally:
            client.close()

    def create(self, name: str, password: str, like: str) -> None:
        rules = redis_rules_from_acl_list(self.client.acl_list(), like)
        self._setuser(name, "reset", "on", f"#{redis_password_hash(password)}", *rules)
        self.save()

    def set_password(self, name: str, password: str, keep_others: bool = False) -> None:
        rules = ["on"] if keep_others else ["on", "resetpass"]
        self._setuser(name, *rules, f"#{redis_password_hash(password)}")
        self.save()

    def remove_password(self, name: str, password: str, check: bool = False) -> bool:
        if not self.has_password(name, password):
            return False
        if not check:
            self._setuser(name, f"!{redis_password_hash(password)}")
            self.save()
        return True

    def retire(self, name: str) -> None:
        self._setuser(name, "resetpass")
        self.save()

    def lock(self, name: str) -> None:
        """Switch the user off (its passwords and rules stay); the caller decides about save()."""
        self._setuser(name, "off")

    def unlock(self, name: str, password: str | None = None) -> None:
        self._setuser(name, "on")

    def kill_sessions(self, name: str, older_than: int | None = None, check: bool = False) -> dict[str, Any]:
        """CLIENT KILL ID of the user's connections open for `older_than` seconds at least."""
        ids = redis_sessions_older_than(self.client.client_list(), name, older_than)
        if not check:
            for client_id in ids:
                self.client.execute_command("CLIENT", "KILL", "ID", client_id)
        return {"sessions_killed": len(ids), "sessions_note": f"CLIENT KILL ended {len(ids)} connection(s)"}

    def sessions(self, name: str) -> list[str]:
        """Ids of the user's connections."""
        return redis_sessions_of(self.client.client_list(), name)

    def kill_all_sessions(self, name: str) -> int:
        """CLIENT KILL USER: close every connection of the user; how many it closed."""
        return int(self.client.execute_command("CLIENT", "KILL", "USER", name))


# --- credential_user --------------------------------------------------------------------------


def credential_refusal(p: dict[str, Any]) -> str | None:
    """Why credential_user's options do not fit together, or None."""
    if p["state"] == "password_removed" and p["kind"] != "redis":
        return "state=password_removed applies to Redis only (users with several passwords)"
    if p["keep_other_passwords"] and p["kind"] != "redis":
        return "keep_other_passwords applies to Redis only: MongoDB and PostgreSQL users have one password"
    return None


def credential_users(p: dict[str, Any]) -> EngineUsers:
    """The users of credential_user's server (`kind`), logged in as its administrative user."""
    kind, timeout = p["kind"], p["connect_timeout"]
    if kind == "mongodb":
        params = {**p, "login_database": p["login_database"] or "admin", "server_selection_timeout_ms": timeout * 1000}
        database = p["database"] or "admin"
        client = mongodb.mongodb_client(params, appname="opsbook-rotation")
        return MongoUsers(
            client,
            database,
            lambda user, password: mongodb.mongodb_client(
                params, user=user, password=password, auth_source=database, appname="opsbook-rotation"
            ),
        )
    options = {"connect_timeout": timeout, "application_name": "opsbook-rotation"}
    if kind == "postgres":
        conn = postgres.connect(
            p, p["login_database"] or "postgres", user=p["login_user"], password=p["login_password"], **options
        )
        conn.autocommit = True
        database = p["database"] or p["login_database"] or "postgres"
        return PostgresUsers(
            conn, lambda user, password: postgres.connect(p, database, user=user, password=password, **options)
        )
    timeouts = {"socket_timeout": timeout, "connect_timeout": timeout}
    client = redis.redis_client(p, user=p["login_user"], password=p["login_password"], **timeouts)
    client.ping()
    return RedisUsers(client, lambda user, password: redis.redis_client(p, user=user, password=password, **timeouts))


def _password_in_place(users: EngineUsers, p: dict[str, Any]) -> bool:
    """Whether O(password) already is what state=present makes it."""
    name, password = p["name"], p["password"]
    if isinstance(users, RedisUsers):
        return users.has_password(name, password) if p["keep_other_passwords"] else users.only_password(name, password)
    try:
        users.login(name, password)
    except LoginFailedError:
        return False
    return True


def credential_step(users: EngineUsers, p: dict[str, Any], check: bool) -> dict[str, Any]:
    """One credential_user step (`state`) on user `name`; StepFailedError when it cannot be done."""
    name, password, state, kind = p["name"], p["password"], p["state"], users.kind
    exists = users.exists(name)
    result: dict[str, Any] = {"changed": False, "exists": exists}
    if state == "query":
        return result
    if not exists and not (state == "present" and p["like"]):
        raise StepFailedError(
            f"{kind} has no user {name}"
            + (f" in database {users.database}" if kind == "mongodb" else "")
            + ("; give like=<existing user> to create it" if state == "present" else ""),
            result,
        )
    if state == "present":
        result["created"] = not exists
        if not exists:
            result.update(changed=True, exists=True)
            if not check:
                users.create(name, password, p["like"])
        elif not _password_in_place(users, p):
            result["changed"] = True
            if not check:
                users.set_password(name, password, p["keep_other_passwords"])
    elif state == "verified":
        try:
            users.login(name, password)
        except LoginFailedError as err:
            raise StepFailedError(f"{kind} user {name} cannot log in with the new password: {err}", result) from err
    elif state == "retired":
        result["changed"] = True
        if not check:
            users.retire(name)
    elif state == "password_removed":
        if not isinstance(users, RedisUsers):
            raise UsersError("state=password_removed applies to Redis only (users with several passwords)")
        result["changed"] = users.remove_password(name, password, check)
    elif state == "sessions_killed":
        result.update(users.kill_sessions(name, p["sessions_older_than"], check))
        result["changed"] = bool(result["sessions_killed"])
    return result


# --- redis_acl_user ---------------------------------------------------------------------------


def redis_switch(
    users: RedisUsers, name: str, *, enabled: bool, kill_sessions: bool, persist: bool, check: bool
) -> dict[str, Any]:
    """Switch a Redis ACL user on or off (off also closes its connections with `kill_sessions`),
    then ACL SAVE with `persist` when something changed and the server has an ACL file."""
    result: dict[str, Any] = {"changed": False, "sessions_killed": 0, "persisted": False}
    reply = users.getuser(name)
    if not reply:
        raise UserNotFoundError(f"Redis has no ACL user {name}")
    current = redis_user_enabled(reply)
    if current != enabled:
        result["changed"] = True
        if not check:
            (users.unlock if enabled else users.lock)(name)
    if not enabled and kill_sessions:
        sessions = users.sessions(name)
        if sessions:
            result["changed"] = True
            result["sessions_killed"] = len(sessions) if check else users.kill_all_sessions(name)
    if result["changed"] and persist and not check:
        result["persisted"] = users.save()
    result["enabled"] = enabled if result["changed"] else current
    return result


# --- mongodb_user_lock ------------------------------------------------------------------------


def mongodb_lock_plan(registry: dict[str, Any], p: dict[str, Any]) -> str:
    """`disable`, `enable` or `noop` for mongodb_user_lock (ValueError: the login user itself)."""
    if p["state"] == "disabled":
        return mongodb_disable_plan(registry, p["name"], p["database"], p["login_user"])
    return mongodb_enable_plan(registry, p["name"], p["database"])


def mongodb_lock_noop(registry: dict[str, Any], p: dict[str, Any]) -> dict[str, Any]:
    """The result of a `noop` plan: nothing changes; the user's record when it is disabled."""
    result: dict[str, Any] = {"changed": False, "action": "none"}
    key = registry_key(p["name"], p["database"])
    if key in registry["users"]:
        result["record"] = registry["users"][key]
    return result


def mongodb_lock(
    users: MongoUsers,
    registry: dict[str, Any],
    plan: str,
    p: dict[str, Any],
    *,
    check: bool,
    save_registry: Callable[[dict[str, Any]], None],
) -> dict[str, Any]:
    """Carry out a `disable` or `enable` plan on the user and the registry (saved with
    save_registry after the server changed); UserNotFoundError when the user does not exist."""
    name, database = p["name"], p["database"]
    if not users.exists(name):
        raise UserNotFoundError(f"MongoDB has no user {name} in database {database}")
    key = registry_key(name, database)
    if plan == "enable":
        if not check:
            users.unlock(name, p["password"])
            del registry["users"][key]
            save_registry(registry)
        return {"changed": True, "action": "enabled"}
    record = {
        "user": name,
        "database": database,
        "disabled_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "reason": p["reason"],
        "mechanism": "password replaced with an unknown random one",
    }
    result: dict[str, Any] = {"changed": True, "action": "disabled", "record": record}
    if not check:
        users.lock(name)
        registry["users"][key] = record
        save_registry(registry)
        if p["kill_sessions"]:
            result.update(users.kill_sessions(name))
    return result
