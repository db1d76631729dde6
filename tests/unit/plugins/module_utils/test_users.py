"""module_utils/users.py: the user-management layer behind credential_user, redis_acl_user and
mongodb_user_lock, over fake clients that answer as redis-py, pymongo and psycopg2 do."""

from __future__ import annotations

from typing import Any

import pytest
from ansible_collections.opsbook.runbooks.plugins.module_utils import mongodb
from ansible_collections.opsbook.runbooks.plugins.module_utils.credentials import redis_password_hash
from ansible_collections.opsbook.runbooks.plugins.module_utils.users import (
    LoginFailedError,
    MongoUsers,
    PostgresUsers,
    RedisUsers,
    StepFailedError,
    UserNotFoundError,
    UsersError,
    credential_refusal,
    credential_step,
    mongodb_lock,
    mongodb_lock_noop,
    mongodb_lock_plan,
    redis_switch,
)

NEW = "n3w-Passw0rd-for-app"


class FakeRedis:
    """ACL GETUSER/LIST/USERS, ACL SETUSER (on, off, resetpass, #hash, !hash), CLIENT LIST/KILL."""

    def __init__(self, aclfile: str = "") -> None:
        self.users: dict[str, dict[str, Any]] = {
            "app": {"flags": ["on"], "passwords": [redis_password_hash("old")]},
            "opsbook_admin": {"flags": ["on"], "passwords": [redis_password_hash("admin")]},
        }
        self.clients = [
            {"id": "7", "user": "app", "age": "600"},
            {"id": "8", "user": "app", "age": "5"},
            {"id": "9", "user": "opsbook_admin", "age": "1"},
        ]
        self.aclfile = aclfile
        self.commands: list[tuple[str, ...]] = []
        self.closed = False

    def acl_getuser(self, name: str) -> dict[str, Any] | None:
        user = self.users.get(name)
        return {"flags": list(user["flags"]), "passwords": list(user["passwords"])} if user else None

    def acl_users(self) -> list[str]:
        return list(self.users)

    def acl_list(self) -> list[str]:
        return [f"user {name} on #{u['passwords'][0]} ~app:* +@read" for name, u in self.users.items()]

    def config_get(self, name: str) -> dict[str, str]:
        return {name: self.aclfile}

    def client_list(self) -> list[dict[str, str]]:
        return list(self.clients)

    def execute_command(self, *args: str) -> Any:
        self.commands.append(args)
        if args[:2] == ("ACL", "SETUSER"):
            user = self.users.setdefault(args[2], {"flags": ["off"], "passwords": []})
            for rule in args[3:]:
                if rule in ("on", "off"):
                    user["flags"] = [rule]
                elif rule in ("resetpass", "reset"):
                    user["passwords"] = []
                elif rule.startswith("#"):
                    user["passwords"].append(rule[1:])
                elif rule.startswith("!"):
                    user["passwords"].remove(rule[1:])
        if args[:3] == ("CLIENT", "KILL", "USER"):
            killed = [c for c in self.clients if c["user"] == args[3]]
            self.clients = [c for c in self.clients if c["user"] != args[3]]
            return len(killed)
        return "OK"

    def ping(self) -> bool:
        return True

    def close(self) -> None:
        self.closed = True


def redis_users(server: FakeRedis) -> RedisUsers:
    def login(user: str, password: str) -> Any:
        if redis_password_hash(password) not in server.users.get(user, {}).get("passwords", []):
            raise LoginFailedError("WRONGPASS")
        return server

    return RedisUsers(server, login)


# credential_user's parameters (a Redis password change unless overridden).
STEP = {
    "kind": "redis",
    "name": "app",
    "state": "present",
    "password": NEW,
    "keep_other_passwords": False,
    "like": "",
    "sessions_older_than": None,
}


def step(**overrides: Any) -> dict[str, Any]:
    return {**STEP, **overrides}


def test_redis_present_adds_the_hash_for_the_overlap_and_is_idempotent() -> None:
    server = FakeRedis()
    users = redis_users(server)
    result = credential_step(users, step(keep_other_passwords=True), check=False)
    assert result == {"changed": True, "exists": True, "created": False}
    assert server.users["app"]["passwords"] == [redis_password_hash("old"), redis_password_hash(NEW)]
    # The password itself never reaches the server, only its SHA-256 hash.
    assert not any(NEW in " ".join(command) for command in server.commands)
    assert credential_step(users, step(keep_other_passwords=True), check=False)["changed"] is False


def test_redis_present_in_check_mode_changes_nothing() -> None:
    server = FakeRedis()
    result = credential_step(redis_users(server), step(), check=True)
    assert result["changed"] is True
    assert server.commands == []


def test_redis_present_replaces_and_saves_to_the_acl_file() -> None:
    server = FakeRedis(aclfile="/etc/redis/users.acl")
    credential_step(redis_users(server), step(), check=False)
    assert server.users["app"]["passwords"] == [redis_password_hash(NEW)]
    assert ("ACL", "SAVE") in server.commands


def test_redis_create_like_copies_the_rules() -> None:
    server = FakeRedis()
    result = credential_step(redis_users(server), step(name="app_b", like="app"), check=False)
    assert result == {"changed": True, "exists": True, "created": True}
    assert server.commands[0][:6] == ("ACL", "SETUSER", "app_b", "reset", "on", f"#{redis_password_hash(NEW)}")
    assert "~app:*" in server.commands[0]


def test_redis_password_removed_and_sessions_killed() -> None:
    server = FakeRedis()
    users = redis_users(server)
    assert credential_step(users, step(state="password_removed", password="old"), check=False)["changed"] is True
    assert server.users["app"]["passwords"] == []
    assert credential_step(users, step(state="password_removed", password="old"), check=False)["changed"] is False
    result = credential_step(users, step(state="sessions_killed", sessions_older_than=60), check=True)
    assert result["sessions_killed"] == 1
    assert not any(c[:2] == ("CLIENT", "KILL") for c in server.commands)


def test_a_missing_user_fails_with_what_was_learned() -> None:
    with pytest.raises(StepFailedError, match="give like=<existing user>") as err:
        credential_step(redis_users(FakeRedis()), step(name="ghost"), check=False)
    assert err.value.result == {"changed": False, "exists": False}


def test_verified_fails_when_the_password_does_not_log_in() -> None:
    users = redis_users(FakeRedis())
    assert credential_step(users, step(state="verified", password="old"), check=False)["changed"] is False
    with pytest.raises(StepFailedError, match="cannot log in with the new password: WRONGPASS"):
        credential_step(users, step(state="verified"), check=False)


def test_credential_refusal() -> None:
    assert credential_refusal(step()) is None
    assert "Redis only" in credential_refusal(step(kind="postgres", state="password_removed"))
    assert "one password" in credential_refusal(step(kind="mongodb", keep_other_passwords=True))


def test_redis_switch_off_kills_the_connections_and_persists() -> None:
    server = FakeRedis(aclfile="/etc/redis/users.acl")
    result = redis_switch(RedisUsers(server), "app", enabled=False, kill_sessions=True, persist=True, check=False)
    assert result == {"changed": True, "sessions_killed": 2, "persisted": True, "enabled": False}
    assert server.users["app"]["flags"] == ["off"]
    assert [c["user"] for c in server.clients] == ["opsbook_admin"]


def test_redis_switch_in_check_mode_counts_and_changes_nothing() -> None:
    server = FakeRedis(aclfile="/etc/redis/users.acl")
    result = redis_switch(RedisUsers(server), "app", enabled=False, kill_sessions=True, persist=True, check=True)
    assert result == {"changed": True, "sessions_killed": 2, "persisted": False, "enabled": False}
    assert server.commands == []


def test_redis_switch_on_an_enabled_user_is_a_noop() -> None:
    server = FakeRedis()
    result = redis_switch(RedisUsers(server), "app", enabled=True, kill_sessions=True, persist=True, check=False)
    assert result == {"changed": False, "sessions_killed": 0, "persisted": False, "enabled": True}
    with pytest.raises(UserNotFoundError, match="no ACL user ghost"):
        redis_switch(RedisUsers(server), "ghost", enabled=True, kill_sessions=True, persist=True, check=False)


class FakeMongo:
    """usersInfo, createUser, updateUser on any database; killAllSessionsByPattern on admin,
    missing (as on FerretDB) unless `kill` is true."""

    def __init__(self, kill: bool = False) -> None:
        self.users = {"reporting": [{"role": "read", "db": "shop"}], "opsbook_admin": []}
        self.commands: list[tuple[str, dict[str, Any]]] = []
        self.kill = kill

    def __getitem__(self, database: str) -> FakeMongo.Database:
        return FakeMongo.Database(self, database)

    @property
    def admin(self) -> FakeMongo.Database:
        return self["admin"]

    def close(self) -> None:
        pass

    class Database:
        def __init__(self, server: FakeMongo, name: str) -> None:
            self.server, self.name = server, name

        def command(self, command: dict[str, Any]) -> dict[str, Any]:
            self.server.commands.append((self.name, command))
            if "usersInfo" in command:
                wanted = command["usersInfo"]
                names = list(self.server.users) if wanted == 1 else [wanted["user"]]
                users = [{"user": n, "roles": self.server.users[n]} for n in names if n in self.server.users]
                return {"users": users, "ok": 1}
            if "killAllSessionsByPattern" in command and not self.server.kill:
                raise mongodb.PyMongoError("no such command: 'killAllSessionsByPattern'")
            if "createUser" in command:
                self.server.users[command["createUser"]] = command["roles"]
            return {"ok": 1}


# mongodb_user_lock's parameters (disabling reporting@shop unless overridden).
LOCK = {
    "name": "reporting",
    "database": "shop",
    "state": "disabled",
    "password": None,
    "reason": "INC-1",
    "kill_sessions": True,
    "login_user": "opsbook_admin",
}


def lock_params(**overrides: Any) -> dict[str, Any]:
    return {**LOCK, **overrides}


def test_mongodb_lock_replaces_the_password_records_and_notes_ferretdb() -> None:
    server, saved = FakeMongo(), []
    registry: dict[str, Any] = {"users": {}}
    plan = mongodb_lock_plan(registry, lock_params())
    assert plan == "disable"
    result = mongodb_lock(
        MongoUsers(server, "shop"), registry, plan, lock_params(), check=False, save_registry=saved.append
    )
    assert result["action"] == "disabled"
    assert result["record"]["reason"] == "INC-1"
    assert result["sessions_killed"] is False
    assert "FerretDB" in result["sessions_note"]
    update = next(c for _db, c in server.commands if "updateUser" in c)
    assert update["updateUser"] == "reporting"
    assert len(update["pwd"]) >= 60
    assert saved == [{"users": {"reporting@shop": result["record"]}}]
    assert mongodb_lock_plan(registry, lock_params()) == "noop"
    assert mongodb_lock_noop(registry, lock_params())["record"] == result["record"]


def test_mongodb_lock_refuses_its_own_login_and_a_missing_user() -> None:
    with pytest.raises(ValueError, match="lock opsbook out"):
        mongodb_lock_plan({"users": {}}, lock_params(name="opsbook_admin"))
    with pytest.raises(UserNotFoundError, match="no user ghost in database shop"):
        mongodb_lock(
            MongoUsers(FakeMongo(), "shop"),
            {"users": {}},
            "disable",
            lock_params(name="ghost"),
            check=False,
            save_registry=lambda _r: None,
        )


def test_mongodb_unlock_sets_the_new_password_in_check_mode_not_at_all() -> None:
    registry = {"users": {"reporting@shop": {"user": "reporting"}}}
    params = lock_params(state="enabled", password=NEW)
    server, saved = FakeMongo(), []
    users = MongoUsers(server, "shop")
    assert mongodb_lock_plan(registry, params) == "enable"
    assert mongodb_lock(users, registry, "enable", params, check=True, save_registry=saved.append) == {
        "changed": True,
        "action": "enabled",
    }
    assert saved == []
    assert not any("updateUser" in c for _db, c in server.commands)
    mongodb_lock(users, registry, "enable", params, check=False, save_registry=saved.append)
    assert ("shop", {"updateUser": "reporting", "pwd": NEW}) in server.commands
    assert saved == [{"users": {}}]


def test_mongodb_credential_step_creates_like_and_lists() -> None:
    server = FakeMongo(kill=True)
    users = MongoUsers(server, "shop", lambda _u, _p: server)
    result = credential_step(users, step(kind="mongodb", name="reporting_b", like="reporting"), check=False)
    assert result["created"] is True
    assert server.users["reporting_b"] == [{"role": "read", "db": "shop"}]
    assert users.list() == ["opsbook_admin", "reporting", "reporting_b"]
    killed = credential_step(users, step(kind="mongodb", name="reporting", state="sessions_killed"), check=False)
    assert killed["sessions_killed"] is True
    with pytest.raises(StepFailedError, match="no user ghost in database shop"):
        credential_step(users, step(kind="mongodb", name="ghost", state="retired"), check=False)


class FakePg:
    """An autocommit connection whose cursor records each statement and answers from `replies`."""

    def __init__(self, replies: dict[str, list[tuple[Any, ...]]]) -> None:
        self.replies = replies
        self.statements: list[tuple[Any, tuple[Any, ...]]] = []

    def cursor(self) -> FakePg:
        return self

    def __enter__(self) -> FakePg:
        return self

    def __exit__(self, *exc: object) -> None:
        self.description = None

    def execute(self, query: Any, args: tuple[Any, ...] = ()) -> None:
        self.statements.append((query, args))
        text = query if isinstance(query, str) else repr(query)
        rows = next((r for key, r in self.replies.items() if key in text), None)
        self.description = True if rows is not None else None
        self._rows = rows or []

    def fetchall(self) -> list[tuple[Any, ...]]:
        return self._rows

    def close(self) -> None:
        pass


def test_postgres_password_goes_as_a_scram_verifier() -> None:
    pytest.importorskip("psycopg2", reason="psycopg2 (PostgreSQL's client library) is not installed")
    conn = FakePg({"FROM pg_roles WHERE rolname": [(1,)]})

    def login(_user: str, _password: str) -> Any:
        from psycopg2 import OperationalError

        raise OperationalError('FATAL:  password authentication failed for user "app"\n')

    users = PostgresUsers(conn, login)
    result = credential_step(users, step(kind="postgres"), check=False)
    assert result == {"changed": True, "exists": True, "created": False}
    query, args = conn.statements[-1]
    assert "ALTER ROLE" in repr(query)
    assert args[0].startswith("SCRAM-SHA-256$4096:")
    assert NEW not in repr(conn.statements)
    with pytest.raises(LoginFailedError, match="password authentication failed"):
        users.login("app", NEW)


def test_postgres_sessions_killed_in_check_mode_only_counts() -> None:
    conn = FakePg({"SELECT count(*) FROM pg_stat_activity": [(3,)]})
    result = PostgresUsers(conn).kill_sessions("app", older_than=60, check=True)
    assert result == {"sessions_killed": 3, "sessions_note": "pg_terminate_backend ended 3 session(s)"}
    assert conn.statements == [
        (
            "SELECT count(*) FROM pg_stat_activity WHERE usename = %s AND pid <> pg_backend_pid()"
            " AND backend_start <= now() - make_interval(secs => %s)",
            ("app", 60),
        )
    ]


def test_lock_and_unlock_on_redis_and_mongodb() -> None:
    server = FakeRedis()
    users = RedisUsers(server)
    users.lock("app")
    assert users.enabled("app") is False
    users.unlock("app")
    assert users.enabled("app") is True
    assert users.list() == ["app", "opsbook_admin"]
    with pytest.raises(UsersError, match="needs a new password"):
        MongoUsers(FakeMongo(), "shop").unlock("reporting")


def test_postgres_lock_and_unlock_switch_login() -> None:
    pytest.importorskip("psycopg2", reason="psycopg2 (PostgreSQL's client library) is not installed")
    pg = FakePg({})
    PostgresUsers(pg).lock("app")
    PostgresUsers(pg).unlock("app")
    assert ["NOLOGIN" in repr(q) for q, _args in pg.statements] == [True, False]


def test_a_class_without_a_login_factory_says_so() -> None:
    with pytest.raises(UsersError, match="RedisUsers was made without a login factory"):
        RedisUsers(FakeRedis()).login("app", "old")


def test_mongodb_sessions_are_not_killed_in_check_mode() -> None:
    server = FakeMongo(kill=True)
    result = credential_step(
        MongoUsers(server, "shop"),
        step(kind="mongodb", name="reporting", state="sessions_killed", sessions_older_than=0),
        check=True,
    )
    assert result["sessions_killed"] is False and "check mode" in result["sessions_note"]
    assert not [c for _db, c in server.commands if "killAllSessionsByPattern" in c], "check mode sent the kill"
    sent = credential_step(
        MongoUsers(server, "shop"),
        step(kind="mongodb", name="reporting", state="sessions_killed", sessions_older_than=0),
        check=False,
    )
    assert sent["sessions_killed"] is True
