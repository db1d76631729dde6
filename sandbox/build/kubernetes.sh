#!/usr/bin/env bash
# Build the sandbox's Kubernetes control plane from source through the Go module proxy, once per
# version, into $BIN_DIR: kube-apiserver, kube-controller-manager, kube-scheduler and kubectl of
# Kubernetes $KUBERNETES_VERSION, etcd $ETCD_VERSION and the kwok controller $KWOK_VERSION.
# Only sandbox/components/kubernetes.sh uses them, and only when the control plane is asked for
# (OPSBOOK_SANDBOX_KUBERNETES=1); see docs/kubernetes.md for the versions and the cold build cost.
#
# k8s.io/kubernetes cannot be `go install`ed: its go.mod replaces every k8s.io/* staging module
# (k8s.io/api, k8s.io/apiserver, k8s.io/client-go, ...) with a local path (./staging/src/...),
# and replace directives of a dependency are ignored. So the build happens in a module of the
# sandbox's own that requires k8s.io/kubernetes at the exact version and replaces each staging
# module named in that go.mod with its published v0.Y.Z. Builds run under `nice -n 19`: the
# machine's cores are shared.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
ensure_dirs

KUBERNETES_BINARIES=(kube-apiserver kube-controller-manager kube-scheduler kubectl)

# _kubernetes_cached NAME VERSION BINARIES...: true when every binary exists and NAME's stamp
# records VERSION.
_kubernetes_cached() {
  local name="$1" version="$2" bin
  shift 2
  [ "$(cat "$BIN_DIR/.$name.version" 2>/dev/null)" = "$version" ] || return 1
  for bin in "$@"; do [ -x "$BIN_DIR/$bin" ] || return 1; done
}

# _kubernetes_go_build NAME VERSION SETUP -- PACKAGES... -- GO_BUILD_FLAGS...: in a fresh module
# $CACHE_DIR/gobuild/NAME, run the function SETUP (it writes go.mod requirements and any source),
# `go mod tidy`, then build PACKAGES into $BIN_DIR, each binary moved into place only when the
# whole build succeeded; the log goes to $LOG_DIR/build-NAME.log.
_kubernetes_go_build() {
  local name="$1" version="$2" setup="$3"
  shift 3; [ "${1:-}" = "--" ] && shift
  local pkgs=()
  while [ "$#" -gt 0 ] && [ "$1" != "--" ]; do pkgs+=("$1"); shift; done
  [ "${1:-}" = "--" ] && shift
  command -v go >/dev/null || die "building $name needs the Go toolchain (go) on PATH"
  local dir="$CACHE_DIR/gobuild/$name" out="$CACHE_DIR/gobuild/$name.out"
  local logf="$LOG_DIR/build-$name.log" start=$SECONDS pkg
  log "building $name $version from source (log: $logf; a cold build takes minutes)"
  chmod -R u+w "$dir" 2>/dev/null || true
  rm -rf "$dir" "$out"; mkdir -p "$dir" "$out"
  (
    set -e
    cd "$dir"
    export GOFLAGS="-mod=mod" GOTOOLCHAIN=local CGO_ENABLED=0
    go mod init "opsbook.local/build/$name"
    "$setup"
    {
      printf 'package tools\n\nimport (\n'
      for pkg in "${pkgs[@]}"; do printf '\t_ "%s"\n' "$pkg"; done
      printf ')\n'
    } >tools.go
    go mod tidy
    nice -n 19 go build -trimpath -o "$out/" "$@" "${pkgs[@]}"
  ) >>"$logf" 2>&1 || { rm -rf "$out"; die "building $name $version failed" "$logf"; }
  for pkg in "${pkgs[@]}"; do
    [ -x "$out/${pkg##*/}" ] || die "building $name: ${pkg##*/} was not produced" "$logf"
  done
  for pkg in "${pkgs[@]}"; do mv -f "$out/${pkg##*/}" "$BIN_DIR/${pkg##*/}"; done
  rm -rf "$out"
  printf '%s\n' "$version" >"$BIN_DIR/.$name.version"
  log "built $name $version in $((SECONDS - start))s"
}

# k8s.io/kubernetes at $KUBERNETES_VERSION, every staging module replaced by its v0.Y.Z.
_kubernetes_setup() {
  local gomod staging_version="v0.${KUBERNETES_VERSION#v1.}" mod replaces=()
  gomod="$(go mod download -json "k8s.io/kubernetes@$KUBERNETES_VERSION" | sed -n 's/^\t"GoMod": "\(.*\)",$/\1/p')"
  [ -s "$gomod" ] || { echo "no go.mod for k8s.io/kubernetes@$KUBERNETES_VERSION"; return 1; }
  while read -r mod; do
    replaces+=("-replace=$mod=$mod@$staging_version")
  done < <(sed -n 's#^\t\(k8s\.io/[^ ]*\) => \./staging/src/.*#\1#p' "$gomod")
  [ "${#replaces[@]}" -gt 10 ] || { echo "found only ${#replaces[@]} staging modules in $gomod"; return 1; }
  echo "replacing ${#replaces[@]} staging modules with $staging_version"
  go mod edit -require="k8s.io/kubernetes@$KUBERNETES_VERSION" "${replaces[@]}"
}

# etcd's own main package is in the root module go.etcd.io/etcd/v3, which the proxy serves for
# few versions; the server module is served, and its etcdmain.Main is the whole program.
_etcd_setup() {
  go mod edit -require="go.etcd.io/etcd/server/v3@$ETCD_VERSION"
  mkdir -p etcd
  cat >etcd/main.go <<'GO'
// Command etcd is the etcd server: what etcd's own main package runs.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
GO
}

_kwok_setup() { go mod edit -require="sigs.k8s.io/kwok@$KWOK_VERSION"; }

if ! _kubernetes_cached kubernetes "$KUBERNETES_VERSION" "${KUBERNETES_BINARIES[@]}"; then
  minor="${KUBERNETES_VERSION#v1.}"; minor="${minor%%.*}"
  _kubernetes_go_build kubernetes "$KUBERNETES_VERSION" _kubernetes_setup -- \
    "${KUBERNETES_BINARIES[@]/#/k8s.io/kubernetes/cmd/}" -- \
    -ldflags "-s -w
      -X k8s.io/component-base/version.gitVersion=$KUBERNETES_VERSION
      -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor
      -X k8s.io/component-base/version.gitTreeState=clean
      -X k8s.io/client-go/pkg/version.gitVersion=$KUBERNETES_VERSION
      -X k8s.io/client-go/pkg/version.gitMajor=1 -X k8s.io/client-go/pkg/version.gitMinor=$minor
      -X k8s.io/client-go/pkg/version.gitTreeState=clean"
fi

if ! _kubernetes_cached etcd "$ETCD_VERSION" etcd; then
  _kubernetes_go_build etcd "$ETCD_VERSION" _etcd_setup -- opsbook.local/build/etcd/etcd -- -ldflags "-s -w"
fi

if ! _kubernetes_cached kwok "$KWOK_VERSION" kwok; then
  # kwok's pkg/consts carries its version in the source.
  _kubernetes_go_build kwok "$KWOK_VERSION" _kwok_setup -- sigs.k8s.io/kwok/cmd/kwok -- -ldflags "-s -w"
fi

# The kwok controller does nothing without Stages: the rules that move simulated nodes and pods
# through their lifecycle. kwokctl embeds kwok's "fast" set; the sandbox takes the same files from
# the kwok module it built (so they match its version) into one config file: nodes become Ready
# and renew their leases, pods become Ready at once, and deleted pods go away.
stages="$BIN_DIR/kwok-stages-$KWOK_VERSION.yaml"
if [ ! -s "$stages" ]; then
  kwok_dir="$(cd / && GOTOOLCHAIN=local go mod download -json "sigs.k8s.io/kwok@$KWOK_VERSION" \
    | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')"
  for f in node/fast/node-initialize.yaml node/heartbeat-with-lease/node-heartbeat-with-lease.yaml \
    pod/fast/pod-ready.yaml pod/fast/pod-complete.yaml pod/fast/pod-delete.yaml; do
    [ -s "$kwok_dir/kustomize/stage/$f" ] || die "kwok $KWOK_VERSION: stage file kustomize/stage/$f is missing"
    printf -- '---\n# from sigs.k8s.io/kwok@%s kustomize/stage/%s\n' "$KWOK_VERSION" "$f"
    cat "$kwok_dir/kustomize/stage/$f"
  done >"$stages.tmp"
  mv -f "$stages.tmp" "$stages"
fi
