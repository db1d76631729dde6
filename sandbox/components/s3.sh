# shellcheck shell=bash
# An S3-compatible endpoint on http://127.0.0.1:$S3_PORT: moto's standalone server from the
# project virtualenv (see docs/sandbox.md for why not MinIO). It keeps objects in memory,
# so a restart of the sandbox empties the buckets. Credentials are the sandbox's own.

s3_up() {
  [ -x "$REPO_DIR/.venv/bin/moto_server" ] || die "s3: $REPO_DIR/.venv/bin/moto_server is missing; run 'make venv'"
  start_daemon s3 -- "$REPO_DIR/.venv/bin/moto_server" -H "$SANDBOX_HOST" -p "$S3_PORT"
  wait_tcp s3 "$S3_PORT" 60
}

s3_check() {
  report_status s3 "http://$SANDBOX_HOST:$S3_PORT" s3 curl -fsS --max-time 5 "http://$SANDBOX_HOST:$S3_PORT/"
}

s3_down() { stop_daemon s3; }
