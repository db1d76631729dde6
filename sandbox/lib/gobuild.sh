# shellcheck shell=bash
# go_build_cached NAME MODULE VERSION PACKAGE [-- GO_BUILD_FLAGS...]:
# build Go package PACKAGE (of MODULE at VERSION) through the module proxy into $BIN_DIR/NAME,
# once per VERSION.
#
# `go install pkg@version` is not used: it reads the module's version list to check for
# deprecation, and the proxy reachable here refuses version lists of some modules (403) while it
# serves the versions themselves. So the build happens in a throw-away module under
# $CACHE_DIR/gobuild/NAME that requires MODULE at VERSION exactly.
#
# Two hooks, both explicit:
# - sandbox/build/go.sum.pinned holds go.sum lines for module versions the public checksum
#   database does not know; those modules skip the database and are verified against the
#   pinned hashes instead (recorded on first download, reviewed, committed).
# - a function NAME_patch_module (dashes as underscores), when defined, gets a writable copy of
#   MODULE's source to fix up (FerretDB needs a generated file its module zip lacks); the build
#   then uses that copy through a replace directive.
# The binary is written to a temporary name and moved into place only when the build succeeded.
go_build_cached() {
  local name="$1" module="$2" version="$3" pkg="$4"
  shift 4; [ "${1:-}" = "--" ] && shift
  local stamp="$BIN_DIR/.$name.version"
  if [ -x "$BIN_DIR/$name" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$version" ]; then return 0; fi
  command -v go >/dev/null || die "building $name needs the Go toolchain (go) on PATH"
  local dir="$CACHE_DIR/gobuild/$name" logf="$LOG_DIR/build-$name.log" start=$SECONDS
  local pinned="$SANDBOX_DIR/build/go.sum.pinned" patch="${name//-/_}_patch_module"
  log "building $name from $module@$version (log: $logf)"
  chmod -R u+w "$dir" 2>/dev/null || true
  rm -rf "$dir"; mkdir -p "$dir"
  (
    set -e
    cd "$dir"
    export GOFLAGS="-mod=mod" GOTOOLCHAIN=local CGO_ENABLED="${CGO_ENABLED:-0}"
    GONOSUMDB="$(cut -d' ' -f1 "$pinned" | sort -u | paste -sd, -)"
    export GONOSUMDB
    go mod init "opsbook.local/build/$name"
    cp "$pinned" go.sum
    go mod edit -require="$module@$version"
    if declare -F "$patch" >/dev/null; then
      local src
      src="$(go mod download -json "$module@$version" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')"
      cp -r "$src" "$dir/src"; chmod -R u+w "$dir/src"
      "$patch" "$dir/src"
      go mod edit -replace="$module=./src"
    fi
    printf 'package tools\n\nimport _ "%s"\n' "$pkg" >tools.go
    go mod tidy
    nice go build -trimpath -o "$BIN_DIR/.$name.tmp" "$@" "$pkg"
  ) >>"$logf" 2>&1 || { rm -f "$BIN_DIR/.$name.tmp"; die "building $name $version failed" "$logf"; }
  mv -f "$BIN_DIR/.$name.tmp" "$BIN_DIR/$name"
  printf '%s\n' "$version" >"$stamp"
  log "built $name in $((SECONDS - start))s"
}
