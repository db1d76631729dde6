#!/usr/bin/env bash
# Stop everything sandbox/up.sh started, and only that (it works from the pid files under
# $STATE_DIR/run). Data stays in $STATE_DIR; `make sandbox-clean` removes it.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
for c in "$SANDBOX_DIR"/components/*.sh; do source "$c"; done
[ -d "$RUN_DIR" ] || exit 0

fleet_down
kubernetes_down
nginx_down
app_down
docker_down
monitoring_down
s3_down
ferretdb_down
redis_down
postgres_down
log "sandbox stopped"
