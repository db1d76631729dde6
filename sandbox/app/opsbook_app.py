#!/usr/bin/env python3
"""The platform under operation in the sandbox: a small API and a worker.

`opsbook_app.py api` serves, on $PORT (default 38000):
  GET  /health               200 {"status": "ok"} while the process runs
  GET  /health/dependencies  200 or 503 with MongoDB and Redis status and latency
  GET  /metrics              Prometheus text format
  GET  /items                the documents of collection `items`
  POST /items                insert a JSON document (X-API-Key must match one of $API_KEYS when set)
With READ_ONLY_MODE=true every POST/PUT/PATCH/DELETE gets 503, reads keep working.

`opsbook_app.py worker` BRPOPs jobs from the Redis list `opsbook:jobs`, counts them and keeps a
heartbeat key fresh.

Configuration comes from the environment (the Compose env file): MONGO_URL, REDIS_URL,
READ_ONLY_MODE, API_KEYS, APP_VERSION. Both log one line per event to stdout.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse

import pymongo
import redis

VERSION = os.environ.get("APP_VERSION", "1.0")
READ_ONLY = os.environ.get("READ_ONLY_MODE", "false").strip().lower() in {"1", "true", "yes"}
API_KEYS = {k.strip() for k in os.environ.get("API_KEYS", "").split(",") if k.strip()}
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def log(level: str, msg: str) -> None:
    print(f"{time.strftime('%Y-%m-%dT%H:%M:%S%z')} {level} {msg}", flush=True)


def mongo_client() -> pymongo.MongoClient:
    return pymongo.MongoClient(os.environ["MONGO_URL"], serverSelectionTimeoutMS=2000, connectTimeoutMS=2000)


def redis_client() -> redis.Redis:
    return redis.Redis.from_url(os.environ["REDIS_URL"], socket_timeout=2, socket_connect_timeout=2)


class Metrics:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requests: Counter[tuple[str, str, int]] = Counter()
        self.buckets: Counter[float] = Counter()
        self.count = 0
        self.total = 0.0
        self.dependency_up: dict[str, int] = {}

    def observe(self, method: str, path: str, code: int, seconds: float) -> None:
        with self.lock:
            self.requests[(method, path, code)] += 1
            self.count += 1
            self.total += seconds
            for b in BUCKETS:
                if seconds <= b:
                    self.buckets[b] += 1

    def render(self) -> str:
        with self.lock:
            lines = [
                "# HELP http_requests_total HTTP requests by method, path and status code.",
                "# TYPE http_requests_total counter",
            ]
            for (method, path, code), n in sorted(self.requests.items()):
                lines.append(f'http_requests_total{{method="{method}",path="{path}",code="{code}"}} {n}')
            lines += [
                "# HELP http_request_duration_seconds HTTP request latency.",
                "# TYPE http_request_duration_seconds histogram",
            ]
            for b in BUCKETS:
                lines.append(f'http_request_duration_seconds_bucket{{le="{b}"}} {self.buckets[b]}')
            lines.append(f'http_request_duration_seconds_bucket{{le="+Inf"}} {self.count}')
            lines.append(f"http_request_duration_seconds_sum {self.total}")
            lines.append(f"http_request_duration_seconds_count {self.count}")
            lines += [
                "# HELP app_dependency_up Whether a dependency answered its last check.",
                "# TYPE app_dependency_up gauge",
            ]
            for dep, up in sorted(self.dependency_up.items()):
                lines.append(f'app_dependency_up{{dependency="{dep}"}} {up}')
            lines.append(f'app_info{{version="{VERSION}",read_only="{str(READ_ONLY).lower()}"}} 1')
            return "\n".join(lines) + "\n"


METRICS = Metrics()


def check_dependencies(mongo: pymongo.MongoClient, cache: redis.Redis) -> dict[str, dict[str, object]]:
    result: dict[str, dict[str, object]] = {}
    for name, probe in (("mongodb", lambda: mongo.admin.command("ping")), ("redis", cache.ping)):
        start = time.monotonic()
        try:
            probe()
            result[name] = {"status": "ok", "latency_ms": round((time.monotonic() - start) * 1000, 1)}
        except Exception as exc:
            result[name] = {"status": "error", "error": type(exc).__name__}
            log("ERROR", f"dependency {name} failed: {type(exc).__name__}: {exc}")
        METRICS.dependency_up[name] = int(result[name]["status"] == "ok")
    return result


def make_handler(mongo: pymongo.MongoClient, cache: redis.Redis) -> type[BaseHTTPRequestHandler]:
    items = mongo.get_default_database("opsbook_app")["items"]

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _send(self, code: int, body: object, content_type: str = "application/json") -> None:
            data = body.encode() if isinstance(body, str) else json.dumps(body, default=str).encode()
            self.send_response(code)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            self._code = code

        def _route(self) -> None:
            path = urlparse(self.path).path
            if self.command in WRITE_METHODS and READ_ONLY:
                return self._send(503, {"error": "read-only mode: writes are refused", "read_only": True})
            if self.command == "GET" and path == "/health":
                return self._send(200, {"status": "ok", "version": VERSION, "read_only": READ_ONLY})
            if self.command == "GET" and path == "/health/dependencies":
                deps = check_dependencies(mongo, cache)
                ok = all(d["status"] == "ok" for d in deps.values())
                return self._send(200 if ok else 503, {"status": "ok" if ok else "degraded", "dependencies": deps})
            if self.command == "GET" and path == "/metrics":
                return self._send(200, METRICS.render(), "text/plain; version=0.0.4")
            if path == "/items" and self.command == "GET":
                return self._send(200, {"items": list(items.find({}, {"_id": 0}).limit(100))})
            if path == "/items" and self.command == "POST":
                if API_KEYS and self.headers.get("X-API-Key") not in API_KEYS:
                    return self._send(401, {"error": "missing or invalid X-API-Key"})
                length = int(self.headers.get("Content-Length") or 0)
                try:
                    doc = json.loads(self.rfile.read(length) or b"{}")
                except ValueError:
                    return self._send(400, {"error": "body is not JSON"})
                items.insert_one(dict(doc))
                return self._send(201, {"status": "created"})
            return self._send(404, {"error": "not found"})

        def _handle(self) -> None:
            start = time.monotonic()
            self._code = 500
            try:
                self._route()
            except Exception as exc:
                log("ERROR", f"{self.command} {self.path} failed: {type(exc).__name__}: {exc}")
                self._send(500, {"error": type(exc).__name__})
            finally:
                elapsed = time.monotonic() - start
                route = urlparse(self.path).path
                METRICS.observe(self.command, route if route in KNOWN_PATHS else "other", self._code, elapsed)
                log(
                    "INFO", f'{self.client_address[0]} "{self.command} {self.path}" {self._code} {elapsed * 1000:.1f}ms'
                )

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle  # noqa: N815

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass

    return Handler


KNOWN_PATHS = {"/health", "/health/dependencies", "/metrics", "/items"}


def serve_api() -> None:
    port = int(os.environ.get("PORT", "38000"))
    host = os.environ.get("BIND", "127.0.0.1")
    server = ThreadingHTTPServer((host, port), make_handler(mongo_client(), redis_client()))
    log("INFO", f"api {VERSION} listening on {host}:{port} read_only={READ_ONLY}")
    server.serve_forever()


def run_worker() -> None:
    cache = redis_client()
    log("INFO", f"worker {VERSION} started")
    processed = 0
    while True:
        try:
            cache.set("opsbook:worker:heartbeat", int(time.time()), ex=60)
            job = cache.brpop(["opsbook:jobs"], timeout=5)
            if job:
                processed += 1
                cache.incr("opsbook:worker:processed")
                log("INFO", f"processed job {job[1][:80]!r} (total {processed})")
        except redis.RedisError as exc:
            log("ERROR", f"redis: {type(exc).__name__}: {exc}")
            time.sleep(2)


if __name__ == "__main__":
    # As PID 1 in its container the process would ignore SIGTERM; exit promptly instead, so that
    # `docker compose stop/restart` does not wait out its timeout.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    {"api": serve_api, "worker": run_worker}[sys.argv[1] if len(sys.argv) > 1 else "api"]()
