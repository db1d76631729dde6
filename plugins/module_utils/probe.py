# Copyright: opsbook contributors
# Apache License 2.0 (see LICENSE in the repository root)
"""HTTP and TCP probes of service health endpoints, run concurrently and timed in milliseconds
(ansible.builtin.uri reports whole seconds). Plain functions; the service_probe module calls them."""

from __future__ import annotations

import http.client
import socket
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit


def _elapsed_ms(start: float) -> float:
    return round((time.monotonic() - start) * 1000, 1)


def _ssl_context(target: Mapping[str, Any]) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=target.get("ca_path") or None)
    if target.get("validate_certs") is False:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def _connect_to(address: str) -> Callable[..., socket.socket]:
    """socket.create_connection to `address` instead of the URL's host (its port kept)."""

    def create(where: tuple[str, int], *args: Any, **kwargs: Any) -> socket.socket:
        return socket.create_connection((address, where[1]), *args, **kwargs)

    return create


class _AddressHTTPHandler(urllib.request.HTTPHandler):
    """Connect to a given address, keep the URL's name in the Host header."""

    def __init__(self, address: str) -> None:
        super().__init__()
        self.address = address

    def http_open(self, req: urllib.request.Request) -> Any:
        def connection(host: str, **kwargs: Any) -> http.client.HTTPConnection:
            conn = http.client.HTTPConnection(host, **kwargs)
            conn._create_connection = _connect_to(self.address)  # type: ignore[attr-defined]
            return conn

        return self.do_open(connection, req)


class _AddressHTTPSHandler(urllib.request.HTTPSHandler):
    """Connect to a given address; the certificate is still verified against the URL's name (SNI
    and host name), as `curl --resolve NAME:PORT:ADDRESS` does."""

    def __init__(self, address: str, context: ssl.SSLContext) -> None:
        super().__init__(context=context)
        self.address = address
        self.tls = context

    def https_open(self, req: urllib.request.Request) -> Any:
        def connection(host: str, **kwargs: Any) -> http.client.HTTPSConnection:
            conn = http.client.HTTPSConnection(host, **kwargs)
            conn._create_connection = _connect_to(self.address)  # type: ignore[attr-defined]
            return conn

        return self.do_open(connection, req, context=self.tls)


def _handlers(target: Mapping[str, Any]) -> list[urllib.request.BaseHandler]:
    https = target["url"].startswith("https:")
    address = target.get("address")
    if address:
        return [_AddressHTTPSHandler(address, _ssl_context(target)) if https else _AddressHTTPHandler(address)]
    return [urllib.request.HTTPSHandler(context=_ssl_context(target))] if https else []


def probe_http(target: Mapping[str, Any], timeout: float) -> dict[str, Any]:
    """GET the URL; up when the status is one of expect_status (default 200). With `address`, the
    connection goes there while the request and the certificate check keep the URL's name."""
    expected = list(target.get("expect_status") or [200])
    request = urllib.request.Request(target["url"], method="GET", headers={"User-Agent": "opsbook-health-check"})
    # One opener per probe, with the target's own TLS context, as urllib builds for a request with a
    # context. Not ansible.module_utils.urls.open_url: it installs each call's opener process-wide
    # (urllib.request.install_opener) before using it, so of the probes running at once in threads
    # one could verify its server against another target's CA file (docs/collection.md).
    handlers = _handlers(target)
    start = time.monotonic()
    try:
        with urllib.request.build_opener(*handlers).open(request, timeout=timeout) as reply:
            reply.read(65536)
            status = reply.status
    except urllib.error.HTTPError as err:  # an answer, with an error status
        status = err.code
    except (urllib.error.URLError, OSError, ValueError) as err:
        reason = getattr(err, "reason", err)
        return {"up": False, "status_code": None, "latency_ms": None, "error": f"{type(err).__name__}: {reason}"}
    latency = _elapsed_ms(start)
    up = status in expected
    return {
        "up": up,
        "status_code": status,
        "latency_ms": latency,
        "error": None if up else f"HTTP {status}, expected {', '.join(map(str, expected))}",
    }


def probe_tcp(target: Mapping[str, Any], timeout: float) -> dict[str, Any]:
    """Connect to host:port; up when the connection is accepted."""
    start = time.monotonic()
    try:
        with socket.create_connection((target["host"], int(target["port"])), timeout=timeout):
            pass
    except OSError as err:
        return {"up": False, "latency_ms": None, "error": f"{type(err).__name__}: {err}"}
    return {"up": True, "latency_ms": _elapsed_ms(start), "error": None}


PROBES: dict[str, Callable[[Mapping[str, Any], float], dict[str, Any]]] = {"http": probe_http, "tcp": probe_tcp}


def check_target(target: Mapping[str, Any]) -> str | None:
    """What is wrong with a target's definition, or None."""
    kind = target.get("type")
    if kind not in PROBES:
        return f"target {target.get('name')!r}: type must be http or tcp, not {kind!r}"
    if kind == "http":
        url = target.get("url") or ""
        if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).netloc:
            return f"target {target.get('name')!r}: url must be an http:// or https:// URL, not {url!r}"
    if kind == "tcp" and (not target.get("host") or not str(target.get("port") or "").isdigit()):
        return f"target {target.get('name')!r}: a tcp target needs host and a numeric port"
    return None


def probe_all(targets: Iterable[Mapping[str, Any]], timeout: float, workers: int = 16) -> list[dict[str, Any]]:
    """Probe every target at once; results in the targets' order, each with the target's name."""
    targets = list(targets)
    if not targets:
        return []

    def run(target: Mapping[str, Any]) -> dict[str, Any]:
        return {"name": target["name"], "type": target["type"], **PROBES[target["type"]](target, timeout)}

    with ThreadPoolExecutor(max_workers=min(workers, len(targets))) as pool:
        return list(pool.map(run, targets))
