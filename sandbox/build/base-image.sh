#!/usr/bin/env bash
# Build the sandbox's base image without any registry: debootstrap Debian bookworm (minbase)
# with python3, openssh-server and the application's Python libraries, cache the root
# filesystem as a tarball in $CACHE_DIR, and `docker import` it as opsbook/base:bookworm when
# the sandbox's engine lacks it (see sandbox/components/docker.sh, base_image_import).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
ensure_dirs

PACKAGES=python3,python3-pymongo,python3-redis,openssh-server,ca-certificates,iproute2,procps,curl,sudo
MIRROR="${OPSBOOK_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
key="$(printf '%s|%s' "$BASE_IMAGE_TAG" "$PACKAGES" | sha256sum | cut -c1-12)"
tarball="$CACHE_DIR/base-image-$key.tar"
[ -s "$tarball" ] && exit 0

command -v debootstrap >/dev/null || die "building the base image needs debootstrap (sandbox/install.sh installs it)"
logf="$LOG_DIR/build-base-image.log"
rootfs="$(mktemp -d "$CACHE_DIR/rootfs.XXXXXX")"
trap 'rm -rf "$rootfs" "$tarball.tmp"' EXIT
log "debootstrapping Debian bookworm into $rootfs (log: $logf)"
start=$SECONDS
debootstrap --variant=minbase --include="$PACKAGES" bookworm "$rootfs" "$MIRROR" >>"$logf" 2>&1 \
  || die "debootstrap of the base image failed" "$logf"

# sshd ready for Ansible and molecule: host keys are made per container at start (see CMD in
# docker.sh), root logs in with a key only; apt caches and docs are dropped.
mkdir -p "$rootfs/run/sshd" "$rootfs/root/.ssh"
chmod 0700 "$rootfs/root/.ssh"
rm -f "$rootfs"/etc/ssh/ssh_host_*
sed -i 's/^#\?PermitRootLogin.*/PermitRootLogin prohibit-password/; s/^#\?PasswordAuthentication.*/PasswordAuthentication no/' \
  "$rootfs/etc/ssh/sshd_config"
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/*
echo "opsbook-base" >"$rootfs/etc/hostname"

tar -C "$rootfs" --numeric-owner -cf "$tarball.tmp" . || die "archiving the base image failed"
mv -f "$tarball.tmp" "$tarball"
log "built the base image rootfs in $((SECONDS - start))s: $tarball"
