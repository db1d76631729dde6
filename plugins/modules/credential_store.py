#!/usr/bin/python
# Copyright: opsbook contributors
# Apache License 2.0 (see LICENSE in the repository root)
"""Read or write an ansible-vault encrypted YAML file of secrets, keeping the previous version."""

from __future__ import annotations

DOCUMENTATION = r"""
module: credential_store
short_description: Read or write an ansible-vault encrypted secret store, keeping the previous version
description:
  - The store is a YAML mapping encrypted with ansible-vault (AES256), readable with
    C(ansible-vault view) and loadable with C(include_vars).
  - O(state=read) returns the decrypted data (register it under C(no_log)). A missing file reads
    as an empty mapping.
  - O(state=present) writes O(data) when it differs from what the file holds; the new file is
    written 0600 next to the old one and renamed over it, so a reader sees the old or the new file,
    never a half-written one; the previous file is kept as C(<path>.previous) for a rollback.
  - The vault password comes from O(vault_password_file), never from an option value or a command line.
    Encryption and decryption run C(ansible-vault) (next to the Python running the module, else on
    PATH) with the plain text on its standard input and output, never in a file.
version_added: "0.1.0"
author: opsbook contributors (@opsbook)
extends_documentation_fragment:
  - opsbook.runbooks.attributes
options:
  path:
    description: The store file.
    type: path
    required: true
  vault_password_file:
    description: A file (0600 or stricter) holding the vault password on its first line.
    type: path
    required: true
  state:
    description: C(read) the store or make it hold O(data) (C(present)).
    type: str
    choices: [read, present]
    default: read
  data:
    description: With O(state=present), the whole content of the store. Never logged.
    type: dict
  keep_previous:
    description: With O(state=present), keep the replaced file as C(<path>.previous) (mode 0600).
    type: bool
    default: true
attributes:
  check_mode:
    support: full
    details: Reports whether the store would change; writes nothing.
  diff_mode:
    support: none
"""

EXAMPLES = r"""
- name: Read the credential store
  opsbook.runbooks.credential_store:
    path: /etc/opsbook/credentials.vault.yml
    vault_password_file: /etc/opsbook/vault-pass
  register: store
  no_log: true

- name: Write it back with a rotated secret
  opsbook.runbooks.credential_store:
    path: /etc/opsbook/credentials.vault.yml
    vault_password_file: /etc/opsbook/vault-pass
    state: present
    data: "{{ store.data | combine({'accounts': new_accounts}) }}"
  no_log: true
"""

RETURN = r"""
data:
  description: The decrypted store; it holds secrets, so register it under no_log.
  returned: state is read
  type: dict
  sample: {accounts: {app_mongodb: {user: app_b, rotated_at: "2025-01-11T02:00:00Z"}}}
exists:
  description: Whether the store file existed before the task.
  returned: always
  type: bool
  sample: true
previous:
  description: Where the replaced version was kept.
  returned: when the store was replaced and keep_previous is true
  type: str
  sample: /etc/opsbook/credentials.vault.yml.previous
"""

import os
import stat
import sys
import traceback

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.opsbook.runbooks.plugins.module_utils.credentials import RotationError, store_dump, store_load
from ansible_collections.opsbook.runbooks.plugins.module_utils.files import write_atomic

VAULT_ID = "opsbook_credentials"


def vault(module: AnsibleModule, action: str, password_file: str, data: str | None = None, path: str = "-") -> str:
    """Run `ansible-vault encrypt|decrypt` with standard input and output; fail naming the cause."""
    tool = module.get_bin_path("ansible-vault", opt_dirs=[os.path.dirname(sys.executable)])
    if tool is None:
        module.fail_json(msg="ansible-vault not found next to the module's Python or on PATH; install ansible-core")
    # The store's own vault id: with it, ansible-vault encrypts with this password file even when
    # the controller's environment names vault secrets of its own (ANSIBLE_VAULT_PASSWORD_FILE,
    # ANSIBLE_VAULT_IDENTITY_LIST: an inventory's vault, AWX's vault credential), which would
    # otherwise leave it two ids to choose from and refuse.
    args = [tool, action, "--vault-id", f"{VAULT_ID}@{password_file}", "--output", "-", path]
    if action == "encrypt":
        args[2:2] = ["--encrypt-vault-id", VAULT_ID]
    rc, out, err = module.run_command(args, data=data, binary_data=True, encoding="utf-8")
    if rc != 0:
        reason = err.strip().splitlines()[-1] if err.strip() else f"rc {rc}"
        module.fail_json(msg=f"ansible-vault {action} failed: {reason} (is it the right vault password file?)")
    return out


def read_password(module: AnsibleModule, path: str) -> None:
    """Fail unless the password file is there, private and not empty (ansible-vault reads it)."""
    try:
        info = os.stat(path)
    except OSError as err:
        module.fail_json(msg=f"The vault password file {path} cannot be read: {err.strerror}; create it (mode 0600)")
    if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        module.fail_json(msg=f"The vault password file {path} is readable by others; run chmod 0600 {path}")
    with open(path, "rb") as handle:
        first = handle.read().splitlines()[0].strip() if info.st_size else b""
    if not first:
        module.fail_json(msg=f"The vault password file {path} is empty; write the vault password on its first line")


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "path": {"type": "path", "required": True},
            "vault_password_file": {"type": "path", "required": True, "no_log": False},
            "state": {"type": "str", "default": "read", "choices": ["read", "present"]},
            "data": {"type": "dict", "no_log": True},
            "keep_previous": {"type": "bool", "default": True},
        },
        required_if=[["state", "present", ["data"]]],
        supports_check_mode=True,
    )
    p = module.params
    read_password(module, p["vault_password_file"])
    exists = os.path.exists(p["path"])
    result = {"changed": False, "exists": exists}
    try:
        current = {}
        if exists:
            current = store_load(vault(module, "decrypt", p["vault_password_file"], path=p["path"]))
        if p["state"] == "read":
            module.exit_json(data=current, **result)
        if current == p["data"] and exists:
            module.exit_json(**result)
        result["changed"] = True
        if not module.check_mode:
            directory = os.path.dirname(p["path"]) or "."
            if not os.path.isdir(directory):
                os.makedirs(directory, mode=0o700)
            if exists and p["keep_previous"]:
                with open(p["path"], "rb") as handle:
                    write_atomic(p["path"] + ".previous", handle.read())
                result["previous"] = p["path"] + ".previous"
            encrypted = vault(module, "encrypt", p["vault_password_file"], data=store_dump(p["data"]))
            write_atomic(p["path"], encrypted.encode())
    except RotationError as err:
        module.fail_json(msg=f"{p['path']}: {err}", **result)
    except OSError as err:
        module.fail_json(msg=f"Writing the secret store {p['path']} failed: {err}", exception=traceback.format_exc())
    module.exit_json(**result)


if __name__ == "__main__":
    main()
