#!/usr/bin/env bash
# Build the fleet's host image without any registry: a plain Debian bookworm server as a user's
# would start, debootstrapped (minbase) with python3, openssh-server, sudo, ca-certificates and
# systemd as init, nothing of opsbook's (no pymongo, psycopg2, redis, docker or boto3 libraries,
# no mongo-tools, no database clients). An `ops` user becomes root through sudo; SSH takes keys
# only; host keys are made on each host's first boot. The root filesystem is cached as a tarball
# in $CACHE_DIR, keyed by this script and its package list; the script prints the tarball's path,
# which sandbox/components/fleet.sh imports as $FLEET_IMAGE_TAG-<key>.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
ensure_dirs

PACKAGES=python3,openssh-server,sudo,ca-certificates,systemd,systemd-sysv
MIRROR="${OPSBOOK_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
key="$(printf '%s|%s|%s' "$FLEET_IMAGE_TAG" "$PACKAGES" "$(sha256sum <"${BASH_SOURCE[0]}")" | sha256sum | cut -c1-12)"
tarball="$CACHE_DIR/host-image-$key.tar"
[ -s "$tarball" ] && { echo "$tarball"; exit 0; }

command -v debootstrap >/dev/null || die "building the host image needs debootstrap (sandbox/install.sh installs it)"
logf="$LOG_DIR/build-host-image.log"
rootfs="$(mktemp -d "$CACHE_DIR/host-rootfs.XXXXXX")"
trap 'rm -rf "$rootfs" "$tarball.tmp"' EXIT
log "debootstrapping the fleet's host image (Debian bookworm) into $rootfs (log: $logf)"
start=$SECONDS
debootstrap --variant=minbase --include="$PACKAGES" bookworm "$rootfs" "$MIRROR" >>"$logf" 2>&1 \
  || die "debootstrap of the host image failed" "$logf"

# The operations user: a key login (its authorized_keys is put in place per host by the fleet
# component) and sudo without a password, as the issue's user story has it.
chroot "$rootfs" useradd --create-home --shell /bin/bash --uid 1000 ops
install -d -m 0700 -o 1000 -g 1000 "$rootfs/home/ops/.ssh"
printf 'ops ALL=(ALL:ALL) NOPASSWD: ALL\n' >"$rootfs/etc/sudoers.d/ops"
chmod 0440 "$rootfs/etc/sudoers.d/ops"

# sshd: keys only, no root login. Host keys are made on first boot, per host.
rm -f "$rootfs"/etc/ssh/ssh_host_*
cat >"$rootfs/etc/ssh/sshd_config.d/opsbook-fleet.conf" <<'CONF'
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin no
CONF
cat >"$rootfs/etc/systemd/system/ssh-hostkeys.service" <<'UNIT'
[Unit]
Description=Make this host's SSH host keys on its first boot
Before=ssh.service
ConditionPathExists=!/etc/ssh/ssh_host_ed25519_key

[Service]
Type=oneshot
ExecStart=/usr/bin/ssh-keygen -A

[Install]
WantedBy=multi-user.target
UNIT
ln -s /etc/systemd/system/ssh-hostkeys.service "$rootfs/etc/systemd/system/multi-user.target.wants/ssh-hostkeys.service"
# The one concession to running as an unprivileged container: services that ask systemd for a
# user namespace of their own (PrivateUsers=, e.g. Debian's redis-server) cannot get one here,
# and would not start. Every other sandboxing option of the packages' units stays as shipped.
mkdir -p "$rootfs/etc/systemd/system/service.d"
printf '[Service]\nPrivateUsers=no\n' >"$rootfs/etc/systemd/system/service.d/opsbook-container.conf"
# Units that have nothing to do in a container (no consoles, no kernel modules to load).
for unit in getty@tty1.service console-getty.service systemd-modules-load.service; do
  ln -sf /dev/null "$rootfs/etc/systemd/system/$unit"
done
# Each host gets its own machine id on first boot.
: >"$rootfs/etc/machine-id"
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/*
echo "opsbook-host" >"$rootfs/etc/hostname"

tar -C "$rootfs" --numeric-owner -cf "$tarball.tmp" . || die "archiving the host image failed"
mv -f "$tarball.tmp" "$tarball"
log "built the fleet's host image rootfs in $((SECONDS - start))s: $tarball"
echo "$tarball"
