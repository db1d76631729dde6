"""The health check's HTTP/TCP probes (plugins/module_utils/probe.py) against real local servers."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from ansible_collections.opsbook.runbooks.plugins.module_utils.probe import check_target, probe_all, probe_http
from ansible_collections.opsbook.runbooks.tests.unit.helpers import free_port, self_signed_certificate, tls_server


@pytest.fixture
def http_server() -> Iterator[int]:
    """A real HTTP server on loopback: /ok answers 200, anything else 503."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200 if self.path == "/ok" else 503)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()


def test_probes_time_http_and_tcp_and_report_failures(http_server: int) -> None:
    dead = free_port()
    results = probe_all(
        [
            {"name": "ok", "type": "http", "url": f"http://127.0.0.1:{http_server}/ok"},
            {"name": "sick", "type": "http", "url": f"http://127.0.0.1:{http_server}/sick"},
            {"name": "gone", "type": "http", "url": f"http://127.0.0.1:{dead}/"},
            {"name": "port", "type": "tcp", "host": "127.0.0.1", "port": http_server},
            {"name": "closed", "type": "tcp", "host": "127.0.0.1", "port": dead},
        ],
        timeout=3,
    )
    by_name = {r["name"]: r for r in results}
    assert [r["name"] for r in results] == ["ok", "sick", "gone", "port", "closed"]
    assert by_name["ok"]["up"] and by_name["ok"]["status_code"] == 200 and 0 < by_name["ok"]["latency_ms"] < 3000
    assert not by_name["sick"]["up"] and by_name["sick"]["error"] == "HTTP 503, expected 200"
    assert not by_name["gone"]["up"] and "Connection refused" in by_name["gone"]["error"]
    assert by_name["port"]["up"] and not by_name["closed"]["up"]


@pytest.mark.parametrize(
    ("target", "problem"),
    [
        ({"name": "a", "type": "http", "url": "ftp://x/"}, "url must be an http:// or https:// URL"),
        ({"name": "a", "type": "tcp", "host": "h"}, "a tcp target needs host and a numeric port"),
        ({"name": "a", "type": "icmp"}, "type must be http or tcp"),
    ],
)
def test_bad_targets_are_named(target: dict, problem: str) -> None:
    assert problem in (check_target(target) or "")


def test_an_https_probe_connects_to_the_address_and_verifies_the_name(tmp_path: Path) -> None:
    """The certificate is for shop.example.test; the probe connects to 127.0.0.1 and checks the
    certificate against the name in the URL, as a load balancer's check does."""
    cert, key = self_signed_certificate(tmp_path, "shop.example.test", 30)
    with tls_server(cert, key) as port:
        named = {"name": "lb", "type": "http", "url": f"https://shop.example.test:{port}/", "ca_path": str(cert)}
        result = probe_http({**named, "address": "127.0.0.1"}, 5)
        # The stand-in server closes after the handshake: the verification passed, the GET did not.
        assert "CERTIFICATE_VERIFY_FAILED" not in str(result["error"]) and "Errno -2" not in str(result["error"])
        wrong = probe_http({**named, "url": f"https://other.example.test:{port}/", "address": "127.0.0.1"}, 5)
        assert wrong["up"] is False and "CERTIFICATE_VERIFY_FAILED" in wrong["error"]
