"""The shared MongoDB connection options and the mongodb_command module's pure parts."""

from __future__ import annotations

import pytest
from ansible.module_utils.testing import patch_module_args
from ansible_collections.opsbook.runbooks.plugins.module_utils.mongodb import (
    PYMONGO_IMPORT_ERROR,
    client_kwargs,
    mongodb_argument_spec,
    mongodb_module,
)
from ansible_collections.opsbook.runbooks.plugins.modules import mongodb_command


def params(**overrides: object) -> dict:
    defaults = {k: v.get("default") for k, v in mongodb_argument_spec().items()}
    return {**defaults, **overrides}


def test_host_and_credentials_become_client_arguments() -> None:
    kwargs = client_kwargs(params(login_host="db1", login_port=27018, login_user="ops", login_password="pw"))
    assert kwargs["host"] == "db1" and kwargs["port"] == 27018 and kwargs["directConnection"] is True
    assert kwargs["username"] == "ops" and kwargs["password"] == "pw" and kwargs["authSource"] == "admin"
    assert "tls" not in kwargs


def test_uri_wins_over_host_and_port() -> None:
    kwargs = client_kwargs(params(uri="mongodb://a,b/?replicaSet=rs0", login_host="ignored"))
    assert kwargs["host"] == "mongodb://a,b/?replicaSet=rs0"
    assert "port" not in kwargs and "directConnection" not in kwargs


def test_tls_options() -> None:
    kwargs = client_kwargs(params(tls=True, tls_ca_file="/ca.pem"))
    assert kwargs["tls"] is True and kwargs["tlsCAFile"] == "/ca.pem" and kwargs["tlsAllowInvalidHostnames"] is False


def test_secret_options_are_no_log() -> None:
    spec = mongodb_argument_spec()
    assert spec["login_password"]["no_log"] is True and spec["uri"]["no_log"] is True


def test_command_document_puts_the_command_first() -> None:
    doc = mongodb_command.command_document("validate", "orders", {"full": True, "validate": "other"})
    assert list(doc) == ["validate", "full"] and doc["validate"] == "orders"
    assert mongodb_command.command_document("ping", None, {}) == {"ping": 1}


def test_only_read_only_commands_are_offered() -> None:
    assert not {"dropDatabase", "shutdown", "createUser", "compact"} & set(mongodb_command.READ_ONLY_COMMANDS)


@pytest.mark.skipif(PYMONGO_IMPORT_ERROR is not None, reason="pymongo is not installed: mongodb_module fails the task")
def test_mongodb_module_has_the_login_options_and_the_modules_own() -> None:
    with patch_module_args({"login_host": "db1", "command": "ping", "_ansible_check_mode": True}):
        module = mongodb_module(command={"type": "str", "required": True})
    assert module.params["login_host"] == "db1" and module.params["login_port"] == 27017
    assert module.params["command"] == "ping" and module.check_mode is True


def test_mongodb_module_wants_the_user_and_password_together(capsys: pytest.CaptureFixture[str]) -> None:
    with patch_module_args({"login_user": "ops"}), pytest.raises(SystemExit):
        mongodb_module()
    assert "parameters are required together: login_user, login_password" in capsys.readouterr().out
