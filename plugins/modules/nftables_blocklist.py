#!/usr/bin/python
# Copyright: opsbook contributors
# Apache License 2.0 (see LICENSE in the repository root)
"""Block, unblock and list source addresses in opsbook's own nftables table."""

from __future__ import annotations

DOCUMENTATION = r"""
module: nftables_blocklist
short_description: Block, unblock and list source addresses in opsbook's own nftables table
description:
  - Keeps blocked addresses in a table of its own (O(table), family C(inet)) with the interval
    sets C(blocklist_v4) and C(blocklist_v6) and the base chains C(input) and C(forward)
    (priority -10), whose only rules match the sets. The rest of the host's firewall is not
    touched; O(state=flushed) removes the table and with it every block.
  - Idempotent; an address already covered by a blocked network is not added again.
  - Refuses, before any change, entries that are not addresses or networks, networks wider than
    /8 (IPv4) or /32 (IPv6), and anything containing 127.0.0.1 or ::1.
version_added: "0.1.0"
author: opsbook contributors (@opsbook)
extends_documentation_fragment:
  - opsbook.runbooks.attributes
options:
  addresses:
    description: IPv4 or IPv6 addresses or networks (CIDR) to block or unblock.
    type: list
    elements: str
    default: []
  state:
    description:
      - C(present) blocks O(addresses); C(absent) unblocks them; C(flushed) removes the table
        (every block); C(listed) changes nothing and returns what is blocked.
    type: str
    choices: [present, absent, flushed, listed]
    default: present
  action:
    description:
      - What happens to a blocked source's packets. C(reject) answers TCP with a reset (the
        client sees "connection refused" at once) and other protocols with an ICMP error;
        C(drop) discards them (the client times out), as C(iptables -j DROP) does.
    type: str
    choices: [reject, drop]
    default: reject
  table:
    description: Name of opsbook's table (family inet).
    type: str
    default: opsbook
requirements:
  - nft (the nftables command-line tool), run as root
attributes:
  check_mode:
    support: full
    details: In check mode the script is validated with C(nft --check) and not applied.
  diff_mode:
    support: full
    details: Shows the blocked addresses before and after.
notes:
  - Blocks last until the next reboot or flush of the ruleset; persist them through the host's
    nftables configuration if they must survive one.
"""

EXAMPLES = r"""
- name: Block an attacker's address and network
  opsbook.runbooks.nftables_blocklist:
    addresses: [203.0.113.7, 198.51.100.0/24]

- name: Unblock one of them
  opsbook.runbooks.nftables_blocklist:
    addresses: [203.0.113.7]
    state: absent

- name: List what is blocked
  opsbook.runbooks.nftables_blocklist:
    state: listed
  register: blocklist

- name: Remove every block
  opsbook.runbooks.nftables_blocklist:
    state: flushed
"""

RETURN = r"""
blocked:
  description: The addresses and networks blocked after the task.
  returned: always
  type: list
  elements: str
  sample: [203.0.113.7, 198.51.100.0/24]
added:
  description: Entries this task added.
  returned: always
  type: list
  elements: str
  sample: [203.0.113.7]
removed:
  description: Entries this task removed.
  returned: always
  type: list
  elements: str
  sample: []
not_removed:
  description: Entries asked to be unblocked that stay blocked because a wider blocked network covers them.
  returned: always
  type: list
  elements: str
  sample: []
script:
  description: The nft commands that were (or in check mode would be) applied.
  returned: always
  type: str
  sample: "add element inet opsbook blocklist_v4 { 203.0.113.7 }\n"
"""

import json
from typing import Any

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.opsbook.runbooks.plugins.module_utils.nftables import (
    blocked,
    current_state,
    parse_addresses,
    plan,
)


def read_table(module: AnsibleModule, nft: str, table: str) -> dict[str, Any] | None:
    rc, out, err = module.run_command([nft, "-j", "list", "table", "inet", table])
    if rc != 0:
        if "No such file or directory" in err:
            return None
        module.fail_json(msg=f"nft could not list table inet {table}: {err.strip()}", rc=rc)
    return json.loads(out)


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "addresses": {"type": "list", "elements": "str", "default": []},
            "state": {"type": "str", "default": "present", "choices": ["present", "absent", "flushed", "listed"]},
            "action": {"type": "str", "default": "reject", "choices": ["reject", "drop"]},
            "table": {"type": "str", "default": "opsbook"},
        },
        supports_check_mode=True,
    )
    p = module.params
    networks, errors = parse_addresses(p["addresses"])
    if errors:
        module.fail_json(msg="Nothing was changed: " + "; ".join(errors), errors=errors)
    nft = module.get_bin_path("nft", required=True)

    state = current_state(read_table(module, nft, p["table"]), p["table"])
    wanted = plan(state, networks, p["state"], p["action"], p["table"])
    result: dict[str, Any] = {
        "changed": bool(wanted["script"]),
        "blocked": wanted["blocked"],
        "added": wanted["added"],
        "removed": wanted["removed"],
        "not_removed": wanted["not_removed"],
        "script": wanted["script"],
    }
    if module._diff:
        result["diff"] = {
            "before": "\n".join(blocked(state)) + "\n",
            "after": "\n".join(wanted["blocked"]) + "\n",
        }
    if wanted["script"]:
        command = [nft, "--check", "-f", "-"] if module.check_mode else [nft, "-f", "-"]
        rc, _out, err = module.run_command(command, data=wanted["script"], binary_data=True)
        if rc != 0:
            module.fail_json(msg=f"nft refused the blocklist change: {err.strip()}", rc=rc, script=wanted["script"])
        if not module.check_mode:
            result["blocked"] = blocked(current_state(read_table(module, nft, p["table"]), p["table"]))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
