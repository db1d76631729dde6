"""A MongoDB server made of recorded replies (fixtures/mongodb/*.json: MongoDB 7.0 replies built
from the documented fields, FerretDB 1.24's recorded from the server), served through the Runner
interface that module_utils/mongodb_health.gather() uses. Shared by the mongodb_health and the
maintenance tests."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from ansible_collections.opsbook.runbooks.plugins.module_utils.mongodb_health import CommandError
from bson import json_util

FIXTURES = Path(__file__).parent / "fixtures" / "mongodb"


def replies(name: str) -> dict[str, Any]:
    """A fixture's replies, decoded from Extended JSON as pymongo would (dates, timestamps, longs)."""
    return json_util.loads((FIXTURES / f"{name}.json").read_text())["replies"]


class FakeServer:
    """Serves a fixture's replies through the Runner interface gather() uses. A reply recorded as
    {"$error": {...}} is raised as the server's error; a command the fixture lacks fails the test."""

    def __init__(self, name: str, **changes: Any) -> None:
        self.replies = replies(name)
        self.replies.update(changes)
        self.asked: list[str] = []

    def _reply(self, key: str) -> Any:
        self.asked.append(key)
        if key not in self.replies:
            raise AssertionError(f"the module asked for {key}, which the fixture does not have")
        reply = copy.deepcopy(self.replies[key])
        if isinstance(reply, dict) and "$error" in reply:
            raise CommandError(reply["$error"]["errmsg"], reply["$error"].get("codeName"))
        return reply

    def command(self, database: str, document: dict[str, Any]) -> dict[str, Any]:
        return self._reply(f"{database}.{next(iter(document))}")

    def find_one(
        self, database: str, collection: str, sort: list | None, projection: dict, max_time_ms: int | None = None
    ) -> dict[str, Any] | None:
        (field, direction), = sort or [("$natural", 1)]  # fmt: skip
        return self._reply(f"{database}.{collection}.{field}:{direction}")

    def aggregate(self, database: str, collection: str, pipeline: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return self._reply(f"{database}.{collection}.{next(iter(pipeline[0]))}")
