#!/usr/bin/env python3
"""A webhook receiver for the sandbox: appends every POSTed JSON body, with the path it was
posted to, as one line to a JSONL file. Alertmanager's receivers point here in tests, so a test
can assert which route (path) a notification took. GET /health answers 200."""

from __future__ import annotations

import argparse
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

_lock = threading.Lock()


def make_handler(out: str) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200 if self.path == "/health" else 404)
            self.end_headers()

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            try:
                payload = json.loads(body or b"null")
            except ValueError:
                payload = body.decode("utf-8", "replace")
            record = {"received_at": time.time(), "path": self.path, "body": payload}
            with _lock, open(out, "a", encoding="utf-8") as fh:
                fh.write(json.dumps(record) + "\n")
            self.send_response(200)
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    ThreadingHTTPServer((args.host, args.port), make_handler(args.out)).serve_forever()


if __name__ == "__main__":
    main()
