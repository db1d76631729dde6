"""Pure parts of the security-incident modules: the nftables blocklist plan (from `nft -j list
table` output as nft 1.0.6 prints it), the Redis ACL helpers and the MongoDB lock registry."""

from __future__ import annotations

import ipaddress

import pytest
from ansible_collections.opsbook.runbooks.plugins.module_utils import accounts as acc
from ansible_collections.opsbook.runbooks.plugins.module_utils import nftables as nft


def listing(elements_v4: list, comments: list[str] | None = None) -> dict:
    comments = [c for c, _rule in nft.rules("reject")] if comments is None else comments
    items: list[dict] = [
        {"metainfo": {"version": "1.0.6", "json_schema_version": 1}},
        {"table": {"family": "inet", "name": "opsbook", "handle": 3}},
        {
            "set": {
                "family": "inet",
                "name": "blocklist_v4",
                "table": "opsbook",
                "type": "ipv4_addr",
                "elem": elements_v4,
            }
        },
        {"set": {"family": "inet", "name": "blocklist_v6", "table": "opsbook", "type": "ipv6_addr"}},
    ]
    for chain in ("input", "forward"):
        items.append({"chain": {"family": "inet", "table": "opsbook", "name": chain, "hook": chain, "prio": -10}})
        items += [{"rule": {"family": "inet", "table": "opsbook", "chain": chain, "comment": c}} for c in comments]
    return {"nftables": items}


def test_addresses_are_validated_before_anything() -> None:
    networks, errors = nft.parse_addresses(["203.0.113.7", "198.51.100.0/24", "2001:db8::1", "203.0.113.7"])
    assert [str(n) for n in networks] == ["203.0.113.7/32", "198.51.100.0/24", "2001:db8::1/128"]
    assert errors == []
    _networks, errors = nft.parse_addresses(["not-an-ip", "10.0.0.0/4", "127.0.0.0/8", "::1", "300.1.1.1"])
    assert len(errors) == 5
    assert "not an IP address" in errors[0] and "too many" in errors[1] and "127.0.0.1" in errors[2]


def test_a_new_table_is_created_with_sets_chains_and_elements() -> None:
    state = nft.current_state(None, "opsbook")
    networks, _errors = nft.parse_addresses(["127.0.0.77"])
    plan = nft.plan(state, networks, "present", "reject", "opsbook")
    assert "add table inet opsbook" in plan["script"]
    assert plan["script"].count("reject with tcp reset") == 4  # v4 and v6, input and forward
    assert "add element inet opsbook blocklist_v4 { 127.0.0.77 }" in plan["script"]
    assert plan["added"] == ["127.0.0.77"] and plan["blocked"] == ["127.0.0.77"]


def test_rerun_and_covered_addresses_change_nothing() -> None:
    state = nft.current_state(listing(["127.0.0.77", {"prefix": {"addr": "10.9.0.0", "len": 16}}]), "opsbook")
    assert nft.blocked(state) == ["127.0.0.77", "10.9.0.0/16"]
    networks, _errors = nft.parse_addresses(["127.0.0.77", "10.9.3.4"])
    plan = nft.plan(state, networks, "present", "reject", "opsbook")
    assert plan["script"] == "" and plan["added"] == []


def test_changed_action_rewrites_the_rules_only() -> None:
    state = nft.current_state(listing(["127.0.0.77"]), "opsbook")
    plan = nft.plan(state, [], "present", "drop", "opsbook")
    assert "flush chain inet opsbook input" in plan["script"] and " drop " in plan["script"]
    assert "add element" not in plan["script"]


def test_unblock_removes_exact_entries_and_names_covered_ones() -> None:
    state = nft.current_state(listing(["127.0.0.77", {"prefix": {"addr": "10.9.0.0", "len": 16}}]), "opsbook")
    networks, _errors = nft.parse_addresses(["127.0.0.77", "10.9.1.1", "192.0.2.1"])
    plan = nft.plan(state, networks, "absent", "reject", "opsbook")
    assert plan["script"] == "delete element inet opsbook blocklist_v4 { 127.0.0.77 }\n"
    assert plan["removed"] == ["127.0.0.77"] and plan["not_removed"] == ["10.9.1.1"]
    assert plan["blocked"] == ["10.9.0.0/16"]


def test_flush_and_list() -> None:
    state = nft.current_state(listing(["127.0.0.77"]), "opsbook")
    assert nft.plan(state, [], "listed", "reject", "opsbook")["script"] == ""
    flushed = nft.plan(state, [], "flushed", "reject", "opsbook")
    assert flushed["script"] == "delete table inet opsbook\n" and flushed["removed"] == ["127.0.0.77"]
    assert nft.plan(nft.current_state(None, "opsbook"), [], "flushed", "reject", "opsbook")["script"] == ""


def test_render_keeps_single_addresses_bare() -> None:
    assert nft.render(ipaddress.ip_network("2001:db8::1/128")) == "2001:db8::1"
    assert nft.render(ipaddress.ip_network("2001:db8::/64")) == "2001:db8::/64"


def test_redis_flags_and_sessions() -> None:
    assert acc.redis_user_enabled({"flags": ["on", "allkeys"]}) is True
    assert acc.redis_user_enabled({"flags": [b"off"]}) is False
    with pytest.raises(ValueError):
        acc.redis_user_enabled(None)
    clients = [{"id": 4, "user": "app"}, {"id": 7, "user": "reporting"}, {"id": 9, "user": "reporting"}]
    assert acc.redis_sessions_of(clients, "reporting") == ["7", "9"]


def test_mongodb_registry_makes_disable_idempotent_and_enable_possible() -> None:
    registry = acc.registry_load(None)
    assert acc.mongodb_disable_plan(registry, "reporting", "shop", "opsbook_admin") == "disable"
    assert acc.mongodb_enable_plan(registry, "reporting", "shop") == "noop"
    registry["users"][acc.registry_key("reporting", "shop")] = {"user": "reporting"}
    registry = acc.registry_load(acc.registry_dump(registry))
    assert acc.mongodb_disable_plan(registry, "reporting", "shop", "opsbook_admin") == "noop"
    assert acc.mongodb_enable_plan(registry, "reporting", "shop") == "enable"
    with pytest.raises(ValueError, match="lock opsbook out"):
        acc.mongodb_disable_plan(registry, "opsbook_admin", "admin", "opsbook_admin")
    with pytest.raises(ValueError):
        acc.registry_load("[]")


class CommandNotFoundError(Exception):
    code = 59


def test_session_kill_note_names_ferretdb() -> None:
    assert acc.session_kill_note(None)["sessions_killed"] is True
    note = acc.session_kill_note(CommandNotFoundError("no such command: 'killAllSessionsByPattern'"))
    assert note["sessions_killed"] is False and "FerretDB" in note["sessions_note"]
