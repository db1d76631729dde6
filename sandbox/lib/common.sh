# shellcheck shell=bash
# Shared definitions for the opsbook sandbox: paths, ports and process helpers.
# Sourced by sandbox/up.sh, sandbox/down.sh, sandbox/install.sh and sandbox/components/*.sh.

SANDBOX_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
REPO_DIR="$(cd "$SANDBOX_DIR/.." && pwd)"

# All runtime state (data, logs, pid files, sockets, certificates) lives here, git-ignored.
# It is 0711 so that the postgres and redis users can reach their own 0700 data directories;
# secrets/ inside it is 0700.
STATE_DIR="${OPSBOOK_SANDBOX_STATE:-$REPO_DIR/.sandbox}"
LOG_DIR="$STATE_DIR/log"
RUN_DIR="$STATE_DIR/run"
# Build results (Go binaries, the base image rootfs) are cached per machine, outside the
# clone, so a fresh clone (CI) reuses them; each is keyed by its version.
CACHE_DIR="${OPSBOOK_CACHE:-$HOME/.cache/opsbook}"
BIN_DIR="$CACHE_DIR/bin"

# One loopback port per service.
SANDBOX_HOST=127.0.0.1
FERRETDB_PORT=37017
FERRETDB_DEBUG_PORT=37018
POSTGRES_PORT=35432
REDIS_PORT=36379
NGINX_HTTPS_PORT=38443
APP_API_PORT=38000
APP_API2_PORT=38001
PROMETHEUS_PORT=39090
ALERTMANAGER_PORT=39093
WEBHOOK_SINK_PORT=39095
S3_PORT=39000
# The Kubernetes control plane (opt-in: OPSBOOK_SANDBOX_KUBERNETES=1, see sandbox/components/kubernetes.sh).
KUBE_APISERVER_PORT=36443
ETCD_PORT=32379
ETCD_PEER_PORT=32380
KUBE_CONTROLLER_MANAGER_PORT=36257
KUBE_SCHEDULER_PORT=36259
KWOK_PORT=36247
DOCKER_SOCK="$RUN_DIR/docker.sock"

# Versions of what the sandbox builds from source (see sandbox/build/).
FERRETDB_VERSION="${FERRETDB_VERSION:-v1.24.0}"
# mongo-tools tags (100.x.y) carry no "v", so the module proxy serves commits as pseudo-versions;
# this one is mongo-tools master of 2024-07-24 (the 100.10 line). Later commits send the insert
# flag bypassEmptyTsReplacement to servers reporting 7.0.13+, which FerretDB (reporting 7.0.42)
# rejects. Its checksum is pinned in sandbox/build/go.sum.pinned (the checksum database reachable
# here has no entry for mongo-tools).
MONGO_TOOLS_VERSION="${MONGO_TOOLS_VERSION:-v0.0.0-20240724183527-6d4f001be3fc}"
COMPOSE_VERSION="${COMPOSE_VERSION:-v2.29.7}"
BASE_IMAGE_TAG=opsbook/base:bookworm
# The fleet (OPSBOOK_SANDBOX_FLEET=1, sandbox/components/fleet.sh): plain Debian hosts reached over SSH.
FLEET_IMAGE_TAG=opsbook/host:bookworm
APP_IMAGE_TAG="${APP_IMAGE_TAG:-opsbook/app:1.0}"
# Kubernetes v1.37.2 is the newest release and needs Go 1.26 (go.mod: go 1.26.0). etcd 3.6 is the line
# Kubernetes 1.37 is tested with; Debian 12's etcd-server is 3.4.23, older than the 3.4.29 whose
# health-check endpoints kube-apiserver 1.31+ relies on.
KUBERNETES_VERSION="${KUBERNETES_VERSION:-v1.37.2}"
ETCD_VERSION="${ETCD_VERSION:-v3.6.16}"
KWOK_VERSION="${KWOK_VERSION:-v0.8.0}"

log() { printf '[sandbox] %s\n' "$*" >&2; }

# die MESSAGE [LOGFILE]: stop with a message naming the component and its log.
die() {
  printf '[sandbox] ERROR: %s\n' "$1" >&2
  if [ -n "${2:-}" ]; then
    printf '[sandbox] see %s; its last lines:\n' "$2" >&2
    tail -n 20 "$2" >&2 2>/dev/null || true
  fi
  exit 1
}

ensure_dirs() {
  mkdir -p "$STATE_DIR" "$LOG_DIR" "$RUN_DIR" "$BIN_DIR"
  chmod 0711 "$STATE_DIR"
  # PostgreSQL and Redis run as their own users and must be able to reach their directories.
  runuser -u nobody -- test -x "$STATE_DIR" 2>/dev/null \
    || die "the sandbox state directory $STATE_DIR is not reachable by unprivileged users (a 0700 parent?); set OPSBOOK_SANDBOX_STATE to a directory under /var/tmp"
  # A unix socket path must fit in 108 bytes.
  [ "${#DOCKER_SOCK}" -lt 100 ] \
    || die "the Docker socket path $DOCKER_SOCK is too long for a unix socket; set OPSBOOK_SANDBOX_STATE to a shorter directory"
}

# pid_alive NAME: true when the daemon started under NAME is running.
pid_alive() {
  local f="$RUN_DIR/$1.pid"
  [ -s "$f" ] && kill -0 "$(cat "$f")" 2>/dev/null
}

# start_daemon NAME [--user USER] -- CMD...: start CMD detached, logging to $LOG_DIR/NAME.log,
# recording its pid in $RUN_DIR/NAME.pid. Does nothing when it already runs.
start_daemon() {
  local name="$1"; shift
  local user=""
  if [ "${1:-}" = "--user" ]; then user="$2"; shift 2; fi
  [ "${1:-}" = "--" ] && shift
  if pid_alive "$name"; then return 0; fi
  local logf="$LOG_DIR/$name.log"
  if [ -n "$user" ]; then
    setsid runuser -u "$user" -- "$@" >>"$logf" 2>&1 </dev/null &
  else
    setsid "$@" >>"$logf" 2>&1 </dev/null &
  fi
  echo $! >"$RUN_DIR/$name.pid"
}

# stop_daemon NAME [SECONDS]: TERM the process group started by start_daemon, KILL it after
# SECONDS (default 10).
stop_daemon() {
  local f="$RUN_DIR/$1.pid" secs="${2:-10}" pid i
  [ -s "$f" ] || return 0
  pid="$(cat "$f")"
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 1 $((secs * 10))); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$pid" 2>/dev/null || true
  fi
  rm -f "$f"
}

# wait_tcp NAME PORT [SECONDS]: wait until 127.0.0.1:PORT accepts connections,
# or fail naming NAME and its log.
wait_tcp() {
  local name="$1" port="$2" secs="${3:-60}" i
  for i in $(seq 1 $((secs * 5))); do
    if (exec 3<>"/dev/tcp/$SANDBOX_HOST/$port") 2>/dev/null; then return 0; fi
    if [ -f "$RUN_DIR/$name.pid" ] && ! pid_alive "$name"; then
      die "$name exited during start-up" "$LOG_DIR/$name.log"
    fi
    sleep 0.2
  done
  die "$name did not listen on $SANDBOX_HOST:$port within ${secs}s" "$LOG_DIR/$name.log"
}

# report_status NAME ADDRESS LOG CMD...: print one aligned status line for a component, "up" when
# CMD succeeds, else "DOWN" with the path of its log $LOG_DIR/LOG.log (and return 1).
report_status() {
  local name="$1" address="$2" logname="$3"
  shift 3
  if "$@" >/dev/null 2>&1; then
    printf '%-13s up    %s\n' "$name" "$address"
  else
    printf '%-13s DOWN  %s (log: %s)\n' "$name" "$address" "$LOG_DIR/$logname.log"
    return 1
  fi
}

# scram_verifier < PASSWORD: the PostgreSQL SCRAM-SHA-256 verifier of the password on standard
# input, as psql's \password computes it, so a role gets its password without the password ever
# being in an SQL statement's text (pg_stat_statements and the server log keep statement texts).
scram_verifier() {
  "$REPO_DIR/.venv/bin/python" -c "
import base64, hashlib, hmac, os, sys
pw = sys.stdin.read().strip().encode(); salt = os.urandom(16); n = 4096
salted = hashlib.pbkdf2_hmac('sha256', pw, salt, n)
client = hmac.new(salted, b'Client Key', 'sha256').digest(); server = hmac.new(salted, b'Server Key', 'sha256').digest()
b = lambda x: base64.b64encode(x).decode()
print(f'SCRAM-SHA-256\${n}:{b(salt)}\${b(hashlib.sha256(client).digest())}:{b(server)}')"
}

# secret NAME: a random password generated once and kept 0600 under the state dir.
secret() {
  local f="$STATE_DIR/secrets/$1"
  if [ ! -s "$f" ]; then
    mkdir -p "$STATE_DIR/secrets"; chmod 0700 "$STATE_DIR/secrets"
    (umask 077; head -c 24 /dev/urandom | base64 | tr -d '/+=' >"$f")
  fi
  cat "$f"
}
