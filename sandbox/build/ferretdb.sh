#!/usr/bin/env bash
# Build FerretDB (the MongoDB-compatible server, SQLite backend) through the Go module proxy.
# See docs/sandbox.md for the versions tried.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
source "$SANDBOX_DIR/lib/gobuild.sh"
ensure_dirs

# FerretDB embeds build/version/version.txt, which its release process generates
# (`task gen-version`) and its module zip lacks; without it the binary panics at start.
ferretdb_patch_module() {
  printf '%s\n' "$FERRETDB_VERSION" >"$1/build/version/version.txt"
}

go_build_cached ferretdb github.com/FerretDB/FerretDB "$FERRETDB_VERSION" github.com/FerretDB/FerretDB/cmd/ferretdb
