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
  if curl -fsS --max-time 5 "http://$SANDBOX_HOST:$S3_PORT/" >/dev/null 2>&1; then
    echo "s3            up    http://$SANDBOX_HOST:$S3_PORT"
  else
    echo "s3            DOWN  http://$SANDBOX_HOST:$S3_PORT (log: $LOG_DIR/s3.log)"; return 1
  fi
}

s3_down() { stop_daemon s3; }
