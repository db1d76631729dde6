"""Hand secrets to ansible-playbook without ansible-runner ever seeing them.

ansible-runner writes extravars, environment variables and passwords into its private data
directory and puts extravars on the ansible-playbook command line. Secrets take another path: they
are encrypted in memory with ansible-vault (AES256) under a random one-time password, written as an
encrypted vars file next to a password file, both 0600 in a 0700 directory (on tmpfs when
``/dev/shm`` is available), and passed as ``--vault-id opsbook_secrets@FILE -e @FILE``: the command
line carries two paths, never a value. Both files are removed when the run ends.
"""

from __future__ import annotations

import json
import os
import secrets as _random
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

from ansible.parsing.vault import VaultLib, VaultSecret

__all__ = ["REDACTED", "SecretVars", "private_tempdir", "scrub"]

VAULT_ID = "opsbook_secrets"
REDACTED = "********"
# Values shorter than this are not scrubbed from events (they would mangle ordinary text).
_MIN_SCRUB_LENGTH = 4


def private_tempdir(prefix: str) -> Path:
    """A new 0700 directory, on tmpfs (``/dev/shm``) when there is one, else in the temp dir."""
    base = "/dev/shm" if os.access("/dev/shm", os.W_OK | os.X_OK) else None
    path = Path(tempfile.mkdtemp(prefix=prefix, dir=base))
    path.chmod(0o700)
    return path


def _write_private(path: Path, data: bytes) -> None:
    """Create ``path`` 0600 (failing if it exists) and write ``data``."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def _secret_strings(value: Any) -> set[str]:
    if isinstance(value, Mapping):
        return {s for item in value.values() for s in _secret_strings(item)}
    if isinstance(value, list | tuple | set):
        return {s for item in value for s in _secret_strings(item)}
    if value is None or isinstance(value, bool):
        return set()
    text = str(value)
    return {text} if len(text) >= _MIN_SCRUB_LENGTH else set()


def scrub(value: Any, secrets: frozenset[str]) -> Any:
    """``value`` with every occurrence of a secret string replaced by ``********``. Mappings and
    lists are changed in place (runner writes the same event dict to the artifacts afterwards)."""
    if not secrets:
        return value
    if isinstance(value, str):
        for secret in secrets:
            if secret in value:
                value = value.replace(secret, REDACTED)
        return value
    if isinstance(value, dict):
        for key in list(value):
            value[key] = scrub(value[key], secrets)
        return value
    if isinstance(value, list):
        for index, item in enumerate(value):
            value[index] = scrub(item, secrets)
        return value
    return value


class SecretVars:
    """An encrypted vars file and its one-time vault password, removed by ``close()``."""

    def __init__(self, values: Mapping[str, Any], *, directory: Path) -> None:
        self.directory = directory / "secrets"
        self.directory.mkdir(mode=0o700)
        self.password_file = self.directory / "vault-pass"
        self.vars_file = self.directory / "vars.yml"
        self.strings = frozenset(_secret_strings(values))
        password = _random.token_urlsafe(32).encode()
        vault = VaultLib([(VAULT_ID, VaultSecret(password))])
        plaintext = json.dumps(dict(values)).encode()
        ciphertext = vault.encrypt(plaintext, secret=VaultSecret(password), vault_id=VAULT_ID)
        _write_private(self.password_file, password + b"\n")
        _write_private(self.vars_file, ciphertext)

    def cmdline(self) -> list[str]:
        """The ansible-playbook arguments: two file paths, no value."""
        return ["--vault-id", f"{VAULT_ID}@{self.password_file}", "-e", f"@{self.vars_file}"]

    def close(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self) -> SecretVars:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
