#!/usr/bin/env bash
# Print one line per sandbox component; exit non-zero when any is down.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
for c in "$SANDBOX_DIR"/components/*.sh; do source "$c"; done
rc=0
for check in postgres_check redis_check ferretdb_check s3_check monitoring_check docker_check app_check nginx_check kubernetes_check fleet_check; do
  "$check" || rc=1
done
exit $rc
