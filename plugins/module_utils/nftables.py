# Copyright: opsbook contributors
# Apache License 2.0 (see LICENSE in the repository root)
"""The blocklist behind the nftables_blocklist module, as plain functions.

opsbook keeps blocked addresses in a table of its own (`inet opsbook` by default) with two
interval sets, `blocklist_v4` and `blocklist_v6`, and two base chains, `input` and `forward`
(priority -10, policy accept), whose only rules match the sets. Nothing else of the host's
firewall is touched, and removing the table removes every block.

`plan()` compares the table as `nft -j list table` shows it with what is wanted and returns the
nft script that gets there (empty when nothing changes), so reruns are idempotent and check mode
can show the change without making it."""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # annotations only (postponed by the __future__ import), never evaluated at run time
    from typing import TypeAlias

    IPNetwork: TypeAlias = ipaddress.IPv4Network | ipaddress.IPv6Network

SETS = {4: "blocklist_v4", 6: "blocklist_v6"}
CHAINS = ("input", "forward")
# Addresses that must stay reachable: blocking them would cut the host off from itself.
PROTECTED = (ipaddress.ip_network("127.0.0.1/32"), ipaddress.ip_network("::1/128"))
# Blocking more than this many addresses at once is almost certainly a typo (10.0.0.0/1).
MIN_PREFIX = {4: 8, 6: 32}


def parse_addresses(addresses: list[str]) -> tuple[list[IPNetwork], list[str]]:
    """Networks for the given addresses or CIDR networks, and one error per bad entry."""
    networks: list[IPNetwork] = []
    errors: list[str] = []
    for raw in addresses:
        text = str(raw).strip()
        try:
            network = ipaddress.ip_network(text, strict=False)
        except ValueError:
            errors.append(f"{text!r} is not an IP address or network")
            continue
        if network.prefixlen < MIN_PREFIX[network.version]:
            errors.append(
                f"{text} covers too many addresses (shorter than /{MIN_PREFIX[network.version]}); "
                "block narrower networks"
            )
            continue
        protected = [str(p.network_address) for p in PROTECTED if p.version == network.version and p.subnet_of(network)]
        if protected:
            errors.append(f"{text} contains {protected[0]}, which the host needs to reach itself; it is never blocked")
            continue
        if network not in networks:
            networks.append(network)
    return networks, errors


def render(network: IPNetwork) -> str:
    """A set element: single addresses bare, networks in CIDR form."""
    return str(network.network_address) if network.num_addresses == 1 else str(network)


def _element(value: Any) -> IPNetwork | None:
    if isinstance(value, str):
        return ipaddress.ip_network(value, strict=False)
    if isinstance(value, dict) and "prefix" in value:
        return ipaddress.ip_network(f"{value['prefix']['addr']}/{value['prefix']['len']}", strict=False)
    if isinstance(value, dict) and "elem" in value:  # an element with a counter or timeout
        return _element(value["elem"].get("val"))
    return None


def current_state(listing: dict[str, Any] | None, table: str) -> dict[str, Any]:
    """What exists of the table in `nft -j list table inet TABLE` output (None: no table)."""
    state: dict[str, Any] = {"exists": False, "sets": {}, "chains": {}}
    if not listing:
        return state
    for item in listing.get("nftables", []):
        if "table" in item and item["table"].get("name") == table:
            state["exists"] = True
        elif "set" in item and item["set"].get("table") == table:
            elements = [_element(e) for e in item["set"].get("elem") or []]
            state["sets"][item["set"]["name"]] = [e for e in elements if e is not None]
        elif "chain" in item and item["chain"].get("table") == table:
            state["chains"].setdefault(item["chain"]["name"], [])
        elif "rule" in item and item["rule"].get("table") == table:
            state["chains"].setdefault(item["rule"]["chain"], []).append(item["rule"].get("comment", ""))
    return state


def rules(action: str) -> list[tuple[str, str]]:
    """(comment, rule) of each chain: match the sets, then reject (TCP with a reset, so the
    client sees "connection refused" at once) or drop (the client times out)."""
    out: list[tuple[str, str]] = []
    for version, family in ((4, "ip"), (6, "ip6")):
        match = f"{family} saddr @{SETS[version]} counter"
        if action == "reject":
            out.append((f"opsbook-blocklist v{version} tcp", f"meta l4proto tcp {match} reject with tcp reset"))
            out.append((f"opsbook-blocklist v{version}", f"{match} reject"))
        else:
            out.append((f"opsbook-blocklist v{version}", f"{match} drop"))
    return out


def blocked(state: dict[str, Any]) -> list[str]:
    return [render(n) for version in (4, 6) for n in state["sets"].get(SETS[version], [])]


def plan(state: dict[str, Any], networks: list[IPNetwork], wanted: str, action: str, table: str) -> dict[str, Any]:
    """The nft script from `state` to the wanted one, and what it changes.

    wanted: present (block `networks`), absent (unblock them), flushed (remove the table and
    every block), listed (change nothing). Returns {script, added, removed, not_removed, blocked}."""
    current = {v: list(state["sets"].get(SETS[v], [])) for v in (4, 6)}
    lines: list[str] = []
    added: list[str] = []
    removed: list[str] = []
    not_removed: list[str] = []

    if wanted == "flushed":
        if state["exists"]:
            lines.append(f"delete table inet {table}")
            removed = blocked(state)
        return {"script": _script(lines), "added": [], "removed": removed, "not_removed": [], "blocked": []}

    if wanted == "present":
        structure_ok = (
            state["exists"]
            and all(SETS[v] in state["sets"] for v in (4, 6))
            and all(state["chains"].get(c) == [c_ for c_, _rule in rules(action)] for c in CHAINS)
        )
        if not structure_ok:
            lines.append(f"add table inet {table}")
            for version, kind in ((4, "ipv4_addr"), (6, "ipv6_addr")):
                lines.append(f"add set inet {table} {SETS[version]} {{ type {kind}; flags interval; }}")
            for chain in CHAINS:
                lines.append(
                    f"add chain inet {table} {chain} {{ type filter hook {chain} priority -10; policy accept; }}"
                )
                lines.append(f"flush chain inet {table} {chain}")
                for comment, rule in rules(action):
                    lines.append(f'add rule inet {table} {chain} {rule} comment "{comment}"')
        for network in networks:
            if any(network.subnet_of(c) for c in current[network.version]):  # type: ignore[arg-type]
                continue
            current[network.version].append(network)
            added.append(render(network))
            lines.append(f"add element inet {table} {SETS[network.version]} {{ {render(network)} }}")
    elif wanted == "absent":
        for network in networks:
            if network in current[network.version]:
                current[network.version].remove(network)
                removed.append(render(network))
                lines.append(f"delete element inet {table} {SETS[network.version]} {{ {render(network)} }}")
            elif any(network.subnet_of(c) for c in current[network.version]):  # type: ignore[arg-type]
                not_removed.append(render(network))
    after = [render(n) for v in (4, 6) for n in current[v]]
    return {"script": _script(lines), "added": added, "removed": removed, "not_removed": not_removed, "blocked": after}


def _script(lines: list[str]) -> str:
    return "\n".join(lines) + "\n" if lines else ""
