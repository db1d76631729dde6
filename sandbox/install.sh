#!/usr/bin/env bash
# Install what the sandbox needs on this machine: Debian packages (skipped when present) and the
# components built from source (each build script is a no-op when its cached binary exists).
# Idempotent; a second run on a machine where everything is installed takes about a second.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
ensure_dirs

APT_PACKAGES=(
  docker.io debootstrap redis-server postgresql-15 nginx prometheus prometheus-alertmanager
  age rsync nftables iptables openssl curl jq sqlite3 iproute2 procps python3-venv
)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  log "installing Debian packages: ${missing[*]}"
  # Keep the packages' own init scripts from starting system-wide services: the sandbox starts
  # its own instances under $STATE_DIR.
  policy=/usr/sbin/policy-rc.d
  created_policy=false
  if [ ! -e "$policy" ]; then printf '#!/bin/sh\nexit 101\n' >"$policy"; chmod 0755 "$policy"; created_policy=true; fi
  apt-get update -qq >>"$LOG_DIR/install.log" 2>&1 || die "apt-get update failed" "$LOG_DIR/install.log"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" \
    >>"$LOG_DIR/install.log" 2>&1 || die "apt-get install failed" "$LOG_DIR/install.log"
  if $created_policy; then rm -f "$policy"; fi
fi

for build in ferretdb mongo-tools compose base-image; do
  "$SANDBOX_DIR/build/$build.sh" || die "building $build failed" "$LOG_DIR/build-$build.log"
done
# The Kubernetes control plane is opt-in: its cold build takes several minutes.
if [ "${OPSBOOK_SANDBOX_FLEET:-0}" = 1 ]; then
  "$SANDBOX_DIR/build/host-image.sh" >/dev/null || die "building the fleet's host image failed" "$LOG_DIR/build-host-image.log"
fi
if [ "${OPSBOOK_SANDBOX_KUBERNETES:-0}" = 1 ]; then
  "$SANDBOX_DIR/build/kubernetes.sh" || die "building the Kubernetes control plane failed" "$LOG_DIR/build-kubernetes.log"
fi
