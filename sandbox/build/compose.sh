#!/usr/bin/env bash
# Build the Docker Compose v2 CLI plugin through the Go module proxy and install it where both
# the Docker client on this machine and Debian's docker.io client look for plugins.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
source "$SANDBOX_DIR/lib/gobuild.sh"
ensure_dirs
go_build_cached docker-compose github.com/docker/compose/v2 "$COMPOSE_VERSION" github.com/docker/compose/v2/cmd \
  -- -ldflags "-s -w -X github.com/docker/compose/v2/internal.Version=$COMPOSE_VERSION"
for dir in /usr/local/lib/docker/cli-plugins /usr/libexec/docker/cli-plugins; do
  mkdir -p "$dir"
  [ "$(readlink "$dir/docker-compose" 2>/dev/null)" = "$BIN_DIR/docker-compose" ] || ln -sfn "$BIN_DIR/docker-compose" "$dir/docker-compose"
done
