#!/usr/bin/python
# Copyright: opsbook contributors
# Apache License 2.0 (see LICENSE in the repository root)
"""Set, prove, retire and end the sessions of a MongoDB, PostgreSQL or Redis login, for credential rotation."""

from __future__ import annotations

DOCUMENTATION = r"""
module: credential_user
short_description: Set, prove and retire the password of a MongoDB, PostgreSQL or Redis user
description:
  - The steps of a credential rotation on one database user, the same way on MongoDB (and
    FerretDB), PostgreSQL and Redis.
  - O(state=query) reports whether the user exists. O(state=present) makes O(password) one of the
    user's passwords (the only one, except with O(keep_other_passwords) on Redis), creating the
    user with the rights of O(like) when it is missing and O(like) is given. O(state=verified) logs
    in as the user with O(password) and fails when that does not work. O(state=retired) replaces
    every password of the user with an unknown one (on Redis it removes them all), so nobody can log in
    as it any more. O(state=password_removed) removes O(password) from a Redis user's passwords.
    O(state=sessions_killed) ends the user's sessions (PostgreSQL C(pg_terminate_backend), Redis
    C(CLIENT KILL), MongoDB C(killAllSessionsByPattern), which FerretDB lacks, as the result says).
  - Passwords never reach the server in clear where it can take a hash instead. PostgreSQL gets a
    SCRAM-SHA-256 verifier, Redis a SHA-256 hash (C(#hash), C(!hash)). MongoDB's C(updateUser) takes
    the password itself, over the authenticated connection.
  - O(state=present) is idempotent; it first logs in with O(password) and changes nothing when
    that works.
version_added: "0.1.0"
author: opsbook contributors (@opsbook)
extends_documentation_fragment:
  - opsbook.runbooks.attributes
options:
  kind:
    description: The server.
    type: str
    choices: [mongodb, postgres, redis]
    required: true
  name:
    description: The user.
    type: str
    required: true
  state:
    description: What to do (see the description).
    type: str
    choices: [query, present, verified, retired, password_removed, sessions_killed]
    default: query
  password:
    description: The password to set, prove or remove. Never logged.
    type: str
  keep_other_passwords:
    description:
      - Redis only, with O(state=present), add O(password) to the user's passwords instead of
        replacing them (the overlap of a rotation).
    type: bool
    default: false
  like:
    description:
      - With O(state=present), create a missing user with the rights of this existing one
        (on MongoDB its roles, on PostgreSQL membership in it, on Redis its command, key and channel rules).
      - Empty means a missing user is an error.
    type: str
    default: ""
  database:
    description:
      - MongoDB - the user's authentication database. PostgreSQL - the database O(state=verified) connects to.
    type: str
    default: ""
  sessions_older_than:
    description:
      - With O(state=sessions_killed), end only sessions open for at least this many seconds (those opened
        before a switch); unset ends them all. Not supported by MongoDB's command.
    type: int
  login_host:
    description: Server host.
    type: str
    default: 127.0.0.1
  login_port:
    description: Server port (default - the server's usual port).
    type: int
  login_user:
    description: Administrative user that manages the users.
    type: str
    required: true
  login_password:
    description: Its password. Never logged.
    type: str
    required: true
  login_database:
    description: MongoDB - the administrative user's authentication database. PostgreSQL - the database to connect to.
    type: str
  connect_timeout:
    description: Seconds to wait for the server.
    type: int
    default: 5
requirements:
  - pymongo >= 4.0 (MongoDB), psycopg2 (PostgreSQL), redis >= 4.0 (Redis)
attributes:
  check_mode:
    support: full
    details: Reads and logs in as usual; reports what would change without changing it.
  diff_mode:
    support: none
"""

EXAMPLES = r"""
- name: Set a new password on the user the application does not use
  opsbook.runbooks.credential_user:
    kind: mongodb
    name: app_b
    database: shop
    like: app_a
    state: present
    password: "{{ new_password }}"
    login_user: opsbook_admin
    login_password: "{{ vault_mongodb_admin_password }}"
  no_log: true

- name: Prove it by logging in with it
  opsbook.runbooks.credential_user:
    kind: mongodb
    name: app_b
    database: shop
    state: verified
    password: "{{ new_password }}"
    login_user: opsbook_admin
    login_password: "{{ vault_mongodb_admin_password }}"
  no_log: true

- name: Add a second password to a Redis user for the overlap
  opsbook.runbooks.credential_user:
    kind: redis
    name: app
    state: present
    keep_other_passwords: true
    password: "{{ new_password }}"
    login_port: 6379
    login_user: opsbook_admin
    login_password: "{{ vault_redis_admin_password }}"
  no_log: true

- name: End the PostgreSQL sessions opened before the switch
  opsbook.runbooks.credential_user:
    kind: postgres
    name: app_a
    state: sessions_killed
    sessions_older_than: 60
    login_user: postgres
    login_password: "{{ vault_postgres_admin_password }}"
"""

RETURN = r"""
exists:
  description: Whether the user exists (after the task).
  returned: always
  type: bool
  sample: true
created:
  description: Whether the user was (or in check mode would be) created.
  returned: state is present
  type: bool
  sample: false
sessions_killed:
  description: How many sessions were (or would be) ended; for MongoDB, whether the command ran.
  returned: state is sessions_killed
  type: raw
  sample: 2
sessions_note:
  description: What happened to the sessions, in words.
  returned: state is sessions_killed
  type: str
  sample: "the server has no killAllSessionsByPattern (FerretDB): connections already authenticated stay open"
"""

import traceback
from typing import Any

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.opsbook.runbooks.plugins.module_utils.accounts import session_kill_note
from ansible_collections.opsbook.runbooks.plugins.module_utils.credentials import (
    RotationError,
    new_secret,
    postgres_scram_verifier,
    redis_password_hash,
    redis_rules_from_acl_list,
    redis_sessions_older_than,
)

IMPORT_ERRORS: dict[str, str] = {}
try:
    import pymongo
    from pymongo.errors import OperationFailure, PyMongoError
except ImportError:
    IMPORT_ERRORS["pymongo"] = traceback.format_exc()
try:
    import psycopg2
    from psycopg2 import sql
except ImportError:
    IMPORT_ERRORS["psycopg2"] = traceback.format_exc()
try:
    import redis
except ImportError:
    IMPORT_ERRORS["redis"] = traceback.format_exc()

LIBRARY = {"mongodb": "pymongo", "postgres": "psycopg2", "redis": "redis"}
DEFAULT_PORT = {"mongodb": 27017, "postgres": 5432, "redis": 6379}


class LoginFailedError(Exception):
    """The user could not log in with the password."""


class MongoUsers:
    def __init__(self, p: dict[str, Any]) -> None:
        self.p = p
        self.database = p["database"] or "admin"
        self.client = self._client(p["login_user"], p["login_password"], p["login_database"] or "admin")
        self.client.admin.command("ping")

    def _client(self, user: str, password: str, source: str) -> Any:
        return pymongo.MongoClient(
            host=self.p["login_host"],
            port=self.p["login_port"],
            username=user,
            password=password,
            authSource=source,
            directConnection=True,
            serverSelectionTimeoutMS=self.p["connect_timeout"] * 1000,
            appname="opsbook-rotation",
        )

    def _info(self, name: str) -> dict[str, Any] | None:
        reply = self.client[self.database].command({"usersInfo": {"user": name, "db": self.database}})
        users = reply.get("users") or []
        return users[0] if users else None

    def exists(self, name: str) -> bool:
        return self._info(name) is not None

    def login(self, name: str, password: str) -> None:
        client = self._client(name, password, self.database)
        try:
            client.admin.command("ping")
        except OperationFailure as err:
            raise LoginFailedError(err.details.get("codeName") if err.details else str(err.code)) from err
        finally:
            client.close()

    def create(self, name: str, password: str, like: str) -> None:
        template = self._info(like)
        if template is None:
            raise LoginFailedError(f"the template user {like} does not exist in {self.database}")
        roles = [{"role": r["role"], "db": r["db"]} for r in template.get("roles") or []]
        self.client[self.database].command({"createUser": name, "pwd": password, "roles": roles})

    def set_password(self, name: str, password: str, keep_others: bool) -> None:
        self.client[self.database].command({"updateUser": name, "pwd": password})

    def retire(self, name: str) -> None:
        self.client[self.database].command({"updateUser": name, "pwd": new_secret(48)})

    def kill_sessions(self, name: str, older_than: int | None) -> dict[str, Any]:
        error = None
        try:
            self.client.admin.command({"killAllSessionsByPattern": [{"users": [{"user": name, "db": self.database}]}]})
        except PyMongoError as err:
            error = err
        return session_kill_note(error)

    def close(self) -> None:
        self.client.close()


class PostgresUsers:
    def __init__(self, p: dict[str, Any]) -> None:
        self.p = p
        self.conn = self._connect(p["login_user"], p["login_password"], p["login_database"] or "postgres")
        self.conn.autocommit = True

    def _connect(self, user: str, password: str, database: str) -> Any:
        return psycopg2.connect(
            host=self.p["login_host"],
            port=self.p["login_port"],
            user=user,
            password=password,
            dbname=database,
            connect_timeout=self.p["connect_timeout"],
            application_name="opsbook-rotation",
        )

    def _run(self, query: Any, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self.conn.cursor() as cur:
            cur.execute(query, args)
            return cur.fetchall() if cur.description else []

    def exists(self, name: str) -> bool:
        return bool(self._run("SELECT 1 FROM pg_roles WHERE rolname = %s", (name,)))

    def login(self, name: str, password: str) -> None:
        try:
            conn = self._connect(name, password, self.p["database"] or self.p["login_database"] or "postgres")
        except psycopg2.OperationalError as err:
            raise LoginFailedError(str(err).strip().splitlines()[0] if str(err).strip() else "login refused") from err
        conn.close()

    def create(self, name: str, password: str, like: str) -> None:
        if not self.exists(like):
            raise LoginFailedError(f"the template role {like} does not exist")
        self._run(
            sql.SQL("CREATE ROLE {} LOGIN PASSWORD %s").format(sql.Identifier(name)),
            (postgres_scram_verifier(password),),
        )
        self._run(sql.SQL("GRANT {} TO {}").format(sql.Identifier(like), sql.Identifier(name)))

    def set_password(self, name: str, password: str, keep_others: bool) -> None:
        self._run(
            sql.SQL("ALTER ROLE {} PASSWORD %s").format(sql.Identifier(name)), (postgres_scram_verifier(password),)
        )

    def retire(self, name: str) -> None:
        self.set_password(name, new_secret(48), False)

    def kill_sessions(self, name: str, older_than: int | None) -> dict[str, Any]:
        condition = "usename = %s AND pid <> pg_backend_pid()"
        args: tuple[Any, ...] = (name,)
        if older_than is not None:
            condition += " AND backend_start <= now() - make_interval(secs => %s)"
            args += (older_than,)
        if self.p["_check"]:
            rows = self._run(f"SELECT count(*) FROM pg_stat_activity WHERE {condition}", args)
            count = int(rows[0][0])
        else:
            rows = self._run(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE {condition}", args)
            count = sum(1 for row in rows if row[0])
        return {"sessions_killed": count, "sessions_note": f"pg_terminate_backend ended {count} session(s)"}

    def close(self) -> None:
        self.conn.close()


class RedisUsers:
    def __init__(self, p: dict[str, Any]) -> None:
        self.p = p
        self.client = self._client(p["login_user"], p["login_password"])
        self.client.ping()

    def _client(self, user: str, password: str) -> Any:
        return redis.Redis(
            host=self.p["login_host"],
            port=self.p["login_port"],
            username=user,
            password=password,
            socket_timeout=self.p["connect_timeout"],
            socket_connect_timeout=self.p["connect_timeout"],
            decode_responses=True,
        )

    def _save(self) -> None:
        if (self.client.config_get("aclfile") or {}).get("aclfile"):
            self.client.execute_command("ACL", "SAVE")

    def exists(self, name: str) -> bool:
        return bool(self.client.acl_getuser(name))

    def has_password(self, name: str, password: str) -> bool:
        return redis_password_hash(password) in (self.client.acl_getuser(name) or {}).get("passwords", [])

    def only_password(self, name: str, password: str) -> bool:
        return (self.client.acl_getuser(name) or {}).get("passwords", []) == [redis_password_hash(password)]

    def login(self, name: str, password: str) -> None:
        client = self._client(name, password)
        try:
            client.ping()
        except redis.AuthenticationError as err:
            raise LoginFailedError(str(err)) from err
        except redis.ResponseError as err:
            raise LoginFailedError(str(err)) from err
        finally:
            client.close()

    def create(self, name: str, password: str, like: str) -> None:
        rules = redis_rules_from_acl_list(self.client.acl_list(), like)
        self.client.execute_command("ACL", "SETUSER", name, "reset", "on", f"#{redis_password_hash(password)}", *rules)
        self._save()

    def set_password(self, name: str, password: str, keep_others: bool) -> None:
        rules = ["on"] if keep_others else ["on", "resetpass"]
        self.client.execute_command("ACL", "SETUSER", name, *rules, f"#{redis_password_hash(password)}")
        self._save()

    def remove_password(self, name: str, password: str) -> bool:
        if not self.has_password(name, password):
            return False
        if not self.p["_check"]:
            self.client.execute_command("ACL", "SETUSER", name, f"!{redis_password_hash(password)}")
            self._save()
        return True

    def retire(self, name: str) -> None:
        self.client.execute_command("ACL", "SETUSER", name, "resetpass")
        self._save()

    def kill_sessions(self, name: str, older_than: int | None) -> dict[str, Any]:
        ids = redis_sessions_older_than(self.client.client_list(), name, older_than)
        if not self.p["_check"]:
            for client_id in ids:
                self.client.execute_command("CLIENT", "KILL", "ID", client_id)
        return {"sessions_killed": len(ids), "sessions_note": f"CLIENT KILL ended {len(ids)} connection(s)"}

    def close(self) -> None:
        self.client.close()


BACKENDS = {"mongodb": MongoUsers, "postgres": PostgresUsers, "redis": RedisUsers}


def apply(module: AnsibleModule, users: Any) -> dict[str, Any]:
    p = module.params
    name, password, state = p["name"], p["password"], p["state"]
    check = module.check_mode
    exists = users.exists(name)
    result: dict[str, Any] = {"changed": False, "exists": exists}
    if state == "query":
        return result
    if not exists and not (state == "present" and p["like"]):
        module.fail_json(
            msg=f"{p['kind']} has no user {name}"
            + (f" in database {users.database}" if p["kind"] == "mongodb" else "")
            + ("; give like=<existing user> to create it" if state == "present" else ""),
            **result,
        )
    if state == "present":
        result["created"] = not exists
        if not exists:
            result.update(changed=True, exists=True)
            if not check:
                users.create(name, password, p["like"])
            return result
        if p["kind"] == "redis":
            keep = p["keep_other_passwords"]
            done = users.has_password(name, password) if keep else users.only_password(name, password)
        else:
            try:
                users.login(name, password)
                done = True
            except LoginFailedError:
                done = False
        if not done:
            result["changed"] = True
            if not check:
                users.set_password(name, password, p["keep_other_passwords"])
    elif state == "verified":
        try:
            users.login(name, password)
        except LoginFailedError as err:
            module.fail_json(msg=f"{p['kind']} user {name} cannot log in with the new password: {err}", **result)
    elif state == "retired":
        result["changed"] = True
        if not check:
            users.retire(name)
    elif state == "password_removed":
        result["changed"] = users.remove_password(name, password)
    elif state == "sessions_killed":
        result.update(users.kill_sessions(name, p["sessions_older_than"]))
        result["changed"] = bool(result["sessions_killed"])
    return result


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "kind": {"type": "str", "required": True, "choices": ["mongodb", "postgres", "redis"]},
            "name": {"type": "str", "required": True},
            "state": {
                "type": "str",
                "default": "query",
                "choices": ["query", "present", "verified", "retired", "password_removed", "sessions_killed"],
            },
            "password": {"type": "str", "no_log": True},
            "keep_other_passwords": {"type": "bool", "default": False, "no_log": False},
            "like": {"type": "str", "default": ""},
            "database": {"type": "str", "default": ""},
            "sessions_older_than": {"type": "int"},
            "login_host": {"type": "str", "default": "127.0.0.1"},
            "login_port": {"type": "int"},
            "login_user": {"type": "str", "required": True},
            "login_password": {"type": "str", "required": True, "no_log": True},
            "login_database": {"type": "str"},
            "connect_timeout": {"type": "int", "default": 5},
        },
        required_if=[["state", "present", ["password"]], ["state", "verified", ["password"]],
                     ["state", "password_removed", ["password"]]],
        supports_check_mode=True,
    )  # fmt: skip
    p = module.params
    library = LIBRARY[p["kind"]]
    if library in IMPORT_ERRORS:
        module.fail_json(msg=missing_required_lib(library), exception=IMPORT_ERRORS[library])
    if p["state"] == "password_removed" and p["kind"] != "redis":
        module.fail_json(msg="state=password_removed applies to Redis only (users with several passwords)")
    if p["keep_other_passwords"] and p["kind"] != "redis":
        module.fail_json(
            msg="keep_other_passwords applies to Redis only: MongoDB and PostgreSQL users have one password"
        )
    p["login_port"] = p["login_port"] or DEFAULT_PORT[p["kind"]]
    p["_check"] = module.check_mode
    users = None
    try:
        users = BACKENDS[p["kind"]](p)
        result = apply(module, users)
    except (LoginFailedError, RotationError) as err:
        module.fail_json(msg=f"{p['kind']} user {p['name']}: {err}")
    except Exception as err:
        module.fail_json(
            msg=f"{p['kind']} on {p['login_host']}:{p['login_port']}, user {p['name']}, state {p['state']}: "
            f"{type(err).__name__}: {err}",
            exception=traceback.format_exc(),
        )
    finally:
        if users is not None:
            users.close()
    module.exit_json(**result)


if __name__ == "__main__":
    main()
