#!/usr/bin/env bash
# Build mongodump and mongorestore from github.com/mongodb/mongo-tools through the Go module
# proxy (plain build: no ssl/sasl build tags, which need cgo libraries; the sandbox's server
# speaks plain TCP with SCRAM, which the pure-Go driver handles).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
source "$SANDBOX_DIR/lib/gobuild.sh"
ensure_dirs
for tool in mongodump mongorestore; do
  go_build_cached "$tool" github.com/mongodb/mongo-tools "$MONGO_TOOLS_VERSION" "github.com/mongodb/mongo-tools/$tool/main"
done
