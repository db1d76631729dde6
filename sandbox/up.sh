#!/usr/bin/env bash
# Bring the sandbox platform up on loopback, idempotently: databases, cache, monitoring, S3,
# the Docker engine, the Compose application and the nginx TLS proxy in front of it.
# State lives under $STATE_DIR (default .sandbox/); `sandbox/down.sh` stops what this started.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
for c in "$SANDBOX_DIR"/components/*.sh; do source "$c"; done
ensure_dirs

postgres_up
redis_up
ferretdb_up
s3_up
monitoring_up
docker_up
app_up
nginx_up
# The data set of the seeds' shape (sandbox/tools/seed_data.py), then FerretDB's oplog.
seed_up
ferretdb_oplog
# Prometheus and Alertmanager run the configuration rendered from the alert catalog.
monitoring_configure
# The Kubernetes control plane is opt-in (OPSBOOK_SANDBOX_KUBERNETES=1, `make sandbox-up K8S=1`).
if kubernetes_enabled; then kubernetes_up; fi
# The fleet of SSH hosts is opt-in (OPSBOOK_SANDBOX_FLEET=1, `make sandbox-up FLEET=1`).
if fleet_enabled; then fleet_up; fi
"$SANDBOX_DIR/status.sh"
