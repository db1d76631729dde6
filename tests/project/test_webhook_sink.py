"""The sandbox's webhook sink records each notification with the route path it arrived on."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from conftest import REPO


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_sink_records_path_and_body(tmp_path: Path) -> None:
    port, out = free_port(), tmp_path / "n.jsonl"
    proc = subprocess.Popen(
        [sys.executable, str(REPO / "sandbox/tools/webhook_sink.py"), "--port", str(port), "--out", str(out)]
    )
    try:
        for _ in range(50):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        req = urllib.request.Request(
            f"http://127.0.0.1:{port}/pager", data=json.dumps({"alerts": [{"x": 1}]}).encode(), method="POST"
        )
        assert urllib.request.urlopen(req, timeout=5).status == 200
        records = [json.loads(line) for line in out.read_text().splitlines()]
        assert records[0]["path"] == "/pager"
        assert records[0]["body"] == {"alerts": [{"x": 1}]}
    finally:
        proc.terminate()
        proc.wait(timeout=5)
