"""The plain functions behind credential rotation (module_utils/credentials.py): URLs,
the plan (which user is in use, which one takes over), API keys with a grace period, Redis ACL
rules and sessions, PostgreSQL SCRAM verifiers, and the vault store's text."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest
from ansible_collections.opsbook.runbooks.plugins.module_utils.credentials import (
    RotationError,
    api_keys_rotate,
    new_secret,
    normalise_accounts,
    parse_stamp,
    plan_account,
    postgres_scram_verifier,
    redis_password_hash,
    redis_rules_from_acl_list,
    redis_sessions_older_than,
    rotation_plan,
    rotation_secrets,
    rotation_store,
    store_dump,
    store_load,
    url_credentials,
    url_with_credentials,
    utc_stamp,
)

MONGO = "mongodb://app_a:s3cr%40t@db.example:27017/shop?authSource=shop&directConnection=true"
ACCOUNTS = [
    {"name": "m", "kind": "mongodb", "users": ["app_a", "app_b"], "env_var": "MONGO_URL", "database": "shop"},
    {"name": "r", "kind": "redis", "users": ["app"], "env_var": "REDIS_URL"},
    {"name": "p", "kind": "postgres", "strategy": "single_user", "users": ["app"], "env_var": "DATABASE_URL"},
    {"name": "k", "kind": "api_keys", "env_var": "API_KEYS"},
]
ENV = {
    "MONGO_URL": MONGO,
    "REDIS_URL": "redis://app:old@127.0.0.1:6379/0",
    "DATABASE_URL": "postgresql://app:old@127.0.0.1:5432/shop",
    "API_KEYS": "k-old",
}
NOW = parse_stamp("2025-01-11T02:00:00Z")


def test_url_credentials_are_read_and_replaced_keeping_the_rest() -> None:
    assert url_credentials(MONGO) == ("app_a", "s3cr@t")
    new = url_with_credentials(MONGO, "app_b", "n/w:pw")
    assert new == "mongodb://app_b:n%2Fw%3Apw@db.example:27017/shop?authSource=shop&directConnection=true"
    assert url_credentials(new) == ("app_b", "n/w:pw")
    with pytest.raises(RotationError, match="no user:password"):
        url_credentials("redis://127.0.0.1:6379/0")


def test_new_secrets_are_random_and_long_enough() -> None:
    assert new_secret() != new_secret()
    assert len(new_secret(24)) == 32
    with pytest.raises(RotationError):
        new_secret(8)


@pytest.mark.parametrize(
    ("scope", "names"),
    [("all", ["m", "r", "p", "k"]), ("mongodb,api_keys", ["m", "k"]), (["redis"], ["r"])],
)
def test_scope_selects_accounts_and_fills_strategies(scope: object, names: list[str]) -> None:
    accounts = normalise_accounts(ACCOUNTS, scope)  # type: ignore[arg-type]
    assert [a["name"] for a in accounts] == names
    strategies = {a["name"]: a["strategy"] for a in normalise_accounts(ACCOUNTS, "all")}
    assert strategies == {"m": "dual_user", "r": "overlap", "p": "single_user", "k": "key_list"}


@pytest.mark.parametrize(
    ("accounts", "scope", "message"),
    [
        (ACCOUNTS, "mysql", "unknown scope mysql"),
        (ACCOUNTS, "", "unknown scope"),
        ([{"name": "x", "kind": "mongodb", "users": ["a"], "env_var": "U"}], "all", "exactly 2"),
        ([{"name": "x", "kind": "redis", "strategy": "dual", "users": ["a"], "env_var": "U"}], "all", "does not apply"),
        ([{"name": "x", "kind": "postgres", "users": ["a", "b"]}], "all", "env_var"),
        ([ACCOUNTS[0], ACCOUNTS[0]], "all", "listed twice"),
        (ACCOUNTS[:1], "redis", "no account of scope redis"),
    ],
)
def test_bad_accounts_and_scopes_are_refused(accounts: list, scope: str, message: str) -> None:
    with pytest.raises(RotationError, match=message):
        normalise_accounts(accounts, scope)


def test_the_user_in_use_comes_from_the_application_secret() -> None:
    plan = {e["name"]: e for e in rotation_plan(ACCOUNTS, "all", ENV, {}, NOW)}
    assert (plan["m"]["current_user"], plan["m"]["next_user"]) == ("app_a", "app_b")
    assert (plan["r"]["current_user"], plan["r"]["next_user"]) == ("app", "app")
    assert plan["m"]["source"] == "application" and all(e["due"] for e in plan.values())
    # The next rotation alternates back: the secret now names app_b.
    env = dict(ENV, MONGO_URL=url_with_credentials(MONGO, "app_b", "x"))
    assert rotation_plan(ACCOUNTS, "mongodb", env, {}, NOW)[0]["next_user"] == "app_a"
    # No secret in the plan.
    assert "s3cr@t" not in str(plan) and "old" not in str(plan["r"])


def test_a_secret_naming_a_user_outside_the_pair_is_refused() -> None:
    env = dict(ENV, MONGO_URL=url_with_credentials(MONGO, "root", "x"))
    with pytest.raises(RotationError, match="logs in as root, which is not one of"):
        rotation_plan(ACCOUNTS, "mongodb", env, {}, NOW)


def test_a_missing_secret_falls_back_to_the_store_then_fails() -> None:
    env = {k: v for k, v in ENV.items() if k != "DATABASE_URL"}
    with pytest.raises(RotationError, match="has no DATABASE_URL"):
        rotation_plan(ACCOUNTS, "postgres", env, {}, NOW)
    store = {"accounts": {"p": {"value": ENV["DATABASE_URL"]}}}
    assert rotation_plan(ACCOUNTS, "postgres", env, store, NOW)[0]["source"] == "vault"


def test_an_empty_api_key_list_is_a_current_secret_that_gets_its_first_key() -> None:
    """A fresh application (the sandbox's `API_KEYS=`) holds no key yet: that is its current
    secret, not a missing one; a missing variable still fails."""
    plan = rotation_plan(ACCOUNTS, "api_keys", dict(ENV, API_KEYS=""), {}, NOW)
    assert [(p["name"], p["source"], p["due"]) for p in plan] == [("k", "application", True)]
    assert api_keys_rotate("", [], NOW, 86400, "k1")["value"] == "k1"
    with pytest.raises(RotationError, match="has no API_KEYS"):
        rotation_plan(ACCOUNTS, "api_keys", {k: v for k, v in ENV.items() if k != "API_KEYS"}, {}, NOW)
    # The rotation itself reads the same empty list as the current secret (the fleet's first
    # rotate_credentials.yml failed here on a KeyError).
    secrets = rotation_secrets(plan, dict(ENV, API_KEYS=""), {}, {"k": "k1"}, NOW, 24)
    assert secrets["k"]["old_value"] == "" and secrets["k"]["new_value"] == "k1"


def test_max_age_skips_recently_rotated_accounts() -> None:
    account = normalise_accounts(ACCOUNTS, "mongodb")[0]
    store = {"accounts": {"m": {"rotated_at": utc_stamp(NOW - 3600)}}}
    assert plan_account(account, MONGO, store, NOW, 7200)["due"] is False
    assert plan_account(account, MONGO, store, NOW, 1800)["due"] is True
    assert plan_account(account, MONGO, store, NOW, 0)["due"] is True


def test_api_keys_keep_the_previous_key_for_the_grace_period() -> None:
    stored = [{"key": "k1", "created_at": utc_stamp(NOW - 3600)}, {"key": "k0", "created_at": utc_stamp(NOW - 90000)}]
    keys = api_keys_rotate("k1,k0", stored, NOW, 86400, "k2")
    assert keys["value"] == "k2,k1"
    assert (keys["added"], keys["removed"], keys["kept"]) == (1, 1, 2)
    assert keys["records"][0] == {"key": "k2", "created_at": utc_stamp(NOW)}
    # A key the store does not know gets a full grace period from now.
    assert api_keys_rotate("kx", [], NOW, 86400, "k2")["value"] == "k2,kx"
    # Emergency: no grace, only the new key. Prune only: no new key.
    assert api_keys_rotate("k1,k0", stored, NOW, 0, "k2")["value"] == "k2"
    assert api_keys_rotate("k1,k0", stored, NOW, 86400, None)["value"] == "k1"


def test_secrets_and_store_after_a_rotation() -> None:
    plan = rotation_plan(ACCOUNTS, "all", ENV, {}, NOW)
    new = rotation_secrets(plan, ENV, {}, {"m": "pm", "r": "pr", "p": "pp", "k": "kk"}, NOW, 24)
    assert new["m"]["new_value"].startswith("mongodb://app_b:pm@db.example:27017/shop?")
    assert new["m"]["old_password"] == "s3cr@t"
    assert new["r"]["new_value"] == "redis://app:pr@127.0.0.1:6379/0"
    assert new["k"]["new_value"] == "kk,k-old"
    store = rotation_store({"other": 1}, plan, new, NOW)
    assert store["other"] == 1
    assert store["accounts"]["m"] == {
        "value": new["m"]["new_value"], "rotated_at": "2025-01-11T02:00:00Z", "kind": "mongodb",
        "user": "app_b", "previous_user": "app_a",
    }  # fmt: skip
    assert [k["key"] for k in store["accounts"]["k"]["keys"]] == ["kk", "k-old"]
    assert store_load(store_dump(store)) == store


def test_redis_rules_are_copied_without_switch_or_passwords() -> None:
    acl = [
        "user app on #eacc ~* &* +@all -@dangerous",
        "user default off resetchannels -@all",
        "user ro on sanitize-payload #00 %R~cache:* resetchannels -@all +get",
    ]
    assert redis_rules_from_acl_list(acl, "app") == ["~*", "&*", "+@all", "-@dangerous"]
    assert redis_rules_from_acl_list(acl, "ro") == ["sanitize-payload", "%R~cache:*", "resetchannels", "-@all", "+get"]
    with pytest.raises(RotationError, match="no ACL user nobody"):
        redis_rules_from_acl_list(acl, "nobody")


def test_redis_sessions_opened_before_the_switch() -> None:
    clients = [
        {"id": 1, "user": "app", "age": 100},
        {"id": 2, "user": "app", "age": 3},
        {"id": 3, "user": "x", "age": 900},
    ]
    assert redis_sessions_older_than(clients, "app", 10) == ["1"]
    assert redis_sessions_older_than(clients, "app", None) == ["1", "2"]


def test_redis_password_hash_is_what_acl_lists_show() -> None:
    assert redis_password_hash("foobared") == hashlib.sha256(b"foobared").hexdigest()


def test_postgres_verifier_matches_rfc_7677_derivation() -> None:
    salt = b"0123456789abcdef"
    verifier = postgres_scram_verifier("pencil", salt, 4096)
    method, rest = verifier.split("$", 1)
    iterations_salt, keys = rest.split("$")
    iterations, salt_b64 = iterations_salt.split(":")
    stored_b64, server_b64 = keys.split(":")
    assert method == "SCRAM-SHA-256" and iterations == "4096" and base64.b64decode(salt_b64) == salt
    salted = hashlib.pbkdf2_hmac("sha256", b"pencil", salt, 4096)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    assert base64.b64decode(stored_b64) == hashlib.sha256(client_key).digest()
    assert base64.b64decode(server_b64) == hmac.new(salted, b"Server Key", hashlib.sha256).digest()
    assert "pencil" not in verifier
    assert postgres_scram_verifier("pencil") != postgres_scram_verifier("pencil")
