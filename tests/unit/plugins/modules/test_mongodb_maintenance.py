"""The mongodb_maintenance module's parts that need no server: option checks and compact."""

from __future__ import annotations

from ansible_collections.opsbook.runbooks.plugins.modules import mongodb_maintenance


class FakeDatabase:
    def __init__(self, name: str, replies: dict) -> None:
        self.name = name
        self.replies = replies

    def command(self, command: dict | str) -> dict:
        key = command if isinstance(command, str) else f"{self.name}.{command['compact']}"
        return self.replies[key]


class FakeClient:
    """hello on admin, compact replies per database.collection."""

    def __init__(self, replies: dict) -> None:
        self.replies = replies
        self.admin = FakeDatabase("admin", replies)

    def __getitem__(self, name: str) -> FakeDatabase:
        return FakeDatabase(name, self.replies)


SECONDARY = {"setName": "rs0", "secondary": True, "me": "db2:27017"}


def test_option_problem_names_the_wrong_option() -> None:
    assert mongodb_maintenance.option_problem({"compact": ["shop.orders"], "max_batches": 0}) is None
    assert "database.collection; got orders" in mongodb_maintenance.option_problem(
        {"compact": ["orders"], "max_batches": 0}
    )
    assert mongodb_maintenance.option_problem({"compact": [], "max_batches": -1}) == "max_batches must not be negative"


def test_compact_runs_on_a_secondary_and_reports_what_it_freed() -> None:
    client = FakeClient({"hello": SECONDARY, "shop.orders": {"ok": 1.0, "bytesFreed": 4096}})
    result = {"changed": False}
    mongodb_maintenance.run_compact(client, result, {"compact": ["shop.orders"], "compact_allow_primary": False}, False)
    assert result == {
        "changed": True,
        "compact": {
            "ran": True,
            "reason": "the member is a secondary",
            "member": "db2:27017",
            "collections": [{"name": "shop.orders", "bytes_freed": 4096, "ok": True}],
        },
    }


def test_compact_in_check_mode_runs_nothing() -> None:
    client = FakeClient({"hello": SECONDARY})
    result = {"changed": False}
    mongodb_maintenance.run_compact(client, result, {"compact": ["shop.orders"], "compact_allow_primary": False}, True)
    assert result["compact"]["ran"] is False and result["changed"] is False
    assert result["compact"]["reason"] == "the member is a secondary; check mode: not run"
