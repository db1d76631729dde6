# shellcheck shell=bash
# The sandbox's own Docker engine: Debian's dockerd 20.10 (API 1.41) with its managed containerd,
# on the unix socket $DOCKER_SOCK only (DOCKER_HOST=unix://$DOCKER_SOCK), data under
# $STATE_DIR/docker, exec root and its own pid file under $RUN_DIR (short paths: containerd's
# sockets live under the exec root and a unix socket path must fit in 108 bytes).
# Storage driver overlay2 (ext4 root file system, overlay in the kernel).
# docker_up also imports the base image (sandbox/build/base-image.sh) when the engine lacks it.

DOCKER_DATA_ROOT="$STATE_DIR/docker"
DOCKER_EXEC_ROOT="$RUN_DIR/dockerd"
DOCKER_TMP="$RUN_DIR/dockerd-tmp"
DOCKER_OWN_PIDFILE="$RUN_DIR/dockerd.own.pid"

# sandbox_docker ARGS...: the docker CLI against the sandbox engine.
sandbox_docker() { docker -H "unix://$DOCKER_SOCK" "$@"; }

docker_ping() { sandbox_docker info --format '{{.ServerVersion}}' >/dev/null 2>&1; }

docker_up() {
  _dockerd_start
  base_image_import
}

_dockerd_start() {
  if pid_alive dockerd && docker_ping; then return 0; fi
  command -v dockerd >/dev/null || die "dockerd is not installed (sandbox/install.sh installs docker.io)"
  local logf="$LOG_DIR/dockerd.log" i
  mkdir -p "$DOCKER_DATA_ROOT" "$DOCKER_EXEC_ROOT"
  # The engine's temporary files (runc's process specs of `docker exec` and health checks carry
  # the container's environment, the application's secrets among them) stay in the sandbox's own
  # state, 0700, not in the system's temporary directory.
  install -d -m 0700 "$DOCKER_TMP"
  if ! pid_alive dockerd; then
    # A dockerd killed hard leaves its pid file, socket and containerd behind.
    _docker_kill_leftovers
    rm -f "$DOCKER_OWN_PIDFILE" "$DOCKER_SOCK"
  fi
  start_daemon dockerd -- env TMPDIR="$DOCKER_TMP" dockerd \
    --host "unix://$DOCKER_SOCK" \
    --data-root "$DOCKER_DATA_ROOT" \
    --exec-root "$DOCKER_EXEC_ROOT" \
    --pidfile "$DOCKER_OWN_PIDFILE" \
    --storage-driver overlay2
  for i in $(seq 1 150); do
    docker_ping && return 0
    pid_alive dockerd || die "dockerd exited during start-up" "$logf"
    sleep 0.2
  done
  die "dockerd did not answer on unix://$DOCKER_SOCK within 30s" "$logf"
}

# Pids of this engine's containerd and containerd shims (their command lines name the exec
# root), never those of another Docker on the machine.
_docker_own_pids() {
  local p cmd
  for p in /proc/[0-9]*; do
    cmd="$(tr '\0' ' ' <"$p/cmdline" 2>/dev/null)" || continue
    case "$cmd" in *containerd*"$DOCKER_EXEC_ROOT/"*) echo "${p#/proc/}" ;; esac
  done
}

_docker_kill_leftovers() {
  local pids
  pids="$(_docker_own_pids)"; [ -n "$pids" ] || return 0
  # shellcheck disable=SC2086
  kill -TERM $pids 2>/dev/null || true
  sleep 1
  pids="$(_docker_own_pids)"
  # shellcheck disable=SC2086
  [ -z "$pids" ] || kill -KILL $pids 2>/dev/null || true
}

docker_down() {
  # On TERM dockerd stops its containers and its containerd; give it time before the KILL.
  stop_daemon dockerd 30
  _docker_kill_leftovers
  # dockerd leaves its network namespace bind mount behind; without this the state directory
  # cannot be removed.
  local mnt
  for mnt in "$DOCKER_EXEC_ROOT"/netns/*; do
    mountpoint -q "$mnt" 2>/dev/null && umount "$mnt"
  done
  rm -f "$DOCKER_OWN_PIDFILE"
}

# base_image_import: import the rootfs tarball made by sandbox/build/base-image.sh as
# $BASE_IMAGE_TAG unless the engine has it. Host keys are made per container at start.
base_image_import() {
  sandbox_docker image inspect "$BASE_IMAGE_TAG" >/dev/null 2>&1 && return 0
  local tarball
  tarball="$(ls -t "$CACHE_DIR"/base-image-*.tar 2>/dev/null | head -n1)"
  [ -s "$tarball" ] || die "no base image rootfs in $CACHE_DIR; run sandbox/build/base-image.sh"
  log "importing $tarball as $BASE_IMAGE_TAG"
  sandbox_docker import \
    --change 'EXPOSE 22' \
    --change 'CMD ["/bin/sh","-c","ssh-keygen -A >/dev/null && mkdir -p /run/sshd && exec /usr/sbin/sshd -D -e"]' \
    "$tarball" "$BASE_IMAGE_TAG" >/dev/null || die "importing the base image failed"
}

docker_check() {
  local v
  v="$(sandbox_docker info --format '{{.ServerVersion}} {{.Driver}}' 2>/dev/null)" || v=""
  report_status docker "unix://$DOCKER_SOCK${v:+ (dockerd $v)}" dockerd _docker_alive
}

_docker_alive() { pid_alive dockerd && docker_ping; }
