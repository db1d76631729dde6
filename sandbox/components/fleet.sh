# shellcheck shell=bash
# The fleet (opt-in: OPSBOOK_SANDBOX_FLEET=1, `make sandbox-up FLEET=1`): plain Debian hosts reached
# over SSH, the shape opsbook's users run it on. Each host is a container of $FLEET_IMAGE_TAG
# (sandbox/build/host-image.sh: python3, sshd, sudo, ca-certificates, systemd as init, an `ops` user
# with sudo) on the sandbox's Docker engine, with its own filesystem and its own address on the
# bridge network $FLEET_NETWORK; the controller reaches each host at that address over SSH with the
# key $FLEET_DIR/ssh/id_ed25519, and the hosts reach each other by address.
#
# One concern per host, the topology of seeds 001 and 004 (inventories/fleet/hosts.yml):
#   db1    FerretDB (the MongoDB-compatible server), a systemd service; its backups go here
#   pg1    PostgreSQL 15 (Debian's), two clusters: main on 5432 and the AI server on 5433 (seed 004)
#   cache1 Redis 7 (Debian's), ACL users
#   app1   the Compose project (API x2 + worker) with its env file; its containers run on the
#          sandbox's engine (the socket is mounted in app1) in app1's network namespace, so they
#          answer on app1's address
#   lb1    nginx with TLS for lb1.fleet.opsbook.test (a certificate of the fleet's own CA)
#   mon1   Prometheus and Alertmanager (Debian's)
#   dr1    nothing yet: the spare host restores go onto
# The platform's servers are provisioned here, as a user's servers come with their databases;
# what opsbook's runbooks need on each host (Python libraries, database clients, mongo-tools) is
# NOT installed here: roles/host_requirements does that, and the tests prove it.
#
# The platform's passwords are the throw-away ones of inventories/fleet/group_vars/all/vault.yml
# (vault password in inventories/fleet/vault-password.txt, like the example inventories').

FLEET_DIR="$STATE_DIR/fleet"
FLEET_NETWORK=opsbook-fleet
FLEET_SUBNET=172.30.213.0/24
FLEET_GATEWAY=172.30.213.1
FLEET_PREFIX=opsbook-fleet-
# name:address, in start order.
FLEET_HOSTS=(db1:172.30.213.12 pg1:172.30.213.13 cache1:172.30.213.14 app1:172.30.213.11 lb1:172.30.213.10
  mon1:172.30.213.15 dr1:172.30.213.16)
FLEET_INVENTORY="$REPO_DIR/inventories/fleet"
FLEET_VAULT_PASSWORD_FILE="$FLEET_INVENTORY/vault-password.txt"
# The fleet's S3 endpoint (its offsite store): a moto server of its own on the bridge's gateway,
# which the hosts reach and the controller too.
FLEET_S3_PORT=39000
FLEET_TLS_NAME=lb1.fleet.opsbook.test
FLEET_TLS_ALIAS=shop.fleet.opsbook.test
FLEET_WEBHOOK_LOG="$FLEET_DIR/webhook-sink/notifications.jsonl"

fleet_enabled() { [ "${OPSBOOK_SANDBOX_FLEET:-0}" = 1 ]; }

_fleet_address() {
  local entry
  for entry in "${FLEET_HOSTS[@]}"; do
    [ "${entry%%:*}" = "$1" ] && { echo "${entry#*:}"; return 0; }
  done
  return 1
}

# _fleet_exec HOST CMD...: run CMD as root on HOST (provisioning only; runbooks go over SSH).
_fleet_exec() { local host="$1"; shift; sandbox_docker exec -i "$FLEET_PREFIX$host" "$@"; }

# _fleet_secret NAME: one value of the fleet inventory's vault, decrypted with its throw-away password.
_fleet_secret() {
  "$REPO_DIR/.venv/bin/ansible-vault" view --vault-password-file "$FLEET_VAULT_PASSWORD_FILE" \
    "$FLEET_INVENTORY/group_vars/all/vault.yml" 2>>"$LOG_DIR/fleet.log" \
    | "$REPO_DIR/.venv/bin/python" -c "import sys, yaml; print(yaml.safe_load(sys.stdin)[sys.argv[1]])" "$1" \
    || die "fleet: cannot read $1 from the fleet inventory's vault" "$LOG_DIR/fleet.log"
}

fleet_up() {
  local tarball
  tarball="$("$SANDBOX_DIR/build/host-image.sh")" || die "building the fleet's host image failed" "$LOG_DIR/build-host-image.log"
  _fleet_image_import "$tarball"
  _fleet_network
  _fleet_ssh_key
  local entry
  for entry in "${FLEET_HOSTS[@]}"; do _fleet_host_start "${entry%%:*}" "${entry#*:}"; done
  for entry in "${FLEET_HOSTS[@]}"; do _fleet_wait_ssh "${entry%%:*}" "${entry#*:}"; done
  _fleet_known_hosts
  start_daemon fleet-s3 -- "$REPO_DIR/.venv/bin/moto_server" -H "$FLEET_GATEWAY" -p "$FLEET_S3_PORT"
  mkdir -p "$(dirname "$FLEET_WEBHOOK_LOG")"
  start_daemon fleet-webhook-sink -- python3 "$SANDBOX_DIR/tools/webhook_sink.py" \
    --host "$FLEET_GATEWAY" --port "$WEBHOOK_SINK_PORT" --out "$FLEET_WEBHOOK_LOG"
  _fleet_ca
  for entry in "${FLEET_HOSTS[@]}"; do _fleet_provision "${entry%%:*}"; done
  _fleet_seed
  _fleet_app_up
  # The credential rotation's vault store password (inventories/fleet/group_vars/all/rotation.yml).
  secret fleet_rotation_vault_password >/dev/null
}

# The data set of the seeds' shape. db1 keeps no oplog: FerretDB 1.24 neither caps one nor reads it
# but by scanning it, so after a few restores of the data set (each write is an oplog entry) every
# oplog read takes minutes; point-in-time recovery from an oplog is tested on FerretDBs of their
# own (tests/integration/test_restore_pitr.py). docs/sandbox.md says so.
_fleet_seed() {
  { _fleet_secret vault_mongodb_admin_password; _fleet_secret vault_postgres_admin_password
    _fleet_secret vault_redis_admin_password; } \
    | "$REPO_DIR/.venv/bin/python" "$SANDBOX_DIR/tools/seed_data.py" --mongodb "$(_fleet_address db1):27017" \
        --postgres "$(_fleet_address pg1):5432" --postgres-ai "$(_fleet_address pg1):5433" \
        --redis "$(_fleet_address cache1):6379" >>"$LOG_DIR/fleet.log" 2>&1 \
    || die "fleet: seeding the data set failed" "$LOG_DIR/fleet.log"
}

# The application's containers live in app1's network namespace: when app1 was recreated or
# restarted they must join its new one, which only recreating them does.
_fleet_app_up() {
  (exec 3<>"/dev/tcp/$(_fleet_address app1)/8000") 2>/dev/null && return 0
  log "fleet: (re)creating the application's containers in app1's network namespace"
  _fleet_exec app1 sh -c 'cd /srv/opsbook && docker compose up -d --force-recreate --wait --wait-timeout 90' \
    >>"$LOG_DIR/fleet.log" 2>&1 || die "fleet: the application on app1 did not come up" "$LOG_DIR/fleet.log"
}

# The fleet's own CA (its TLS names are those of lb1) and the certificate of lb1; every host
# trusts the CA (common.sh adds it to the system's store) and resolves the TLS names (--add-host).
_fleet_ca() {
  local tls="$FLEET_DIR/tls"
  mkdir -p "$tls"; chmod 0700 "$tls"
  if [ ! -s "$tls/server.crt" ]; then
    (umask 077
     openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=opsbook fleet CA" \
       -keyout "$tls/ca.key" -out "$tls/ca.crt"
     openssl req -newkey rsa:2048 -nodes -subj "/CN=$FLEET_TLS_NAME" -keyout "$tls/server.key" -out "$tls/server.csr"
     printf 'subjectAltName=DNS:%s,DNS:%s\nextendedKeyUsage=serverAuth\n' "$FLEET_TLS_NAME" "$FLEET_TLS_ALIAS" >"$tls/server.ext"
     openssl x509 -req -in "$tls/server.csr" -CA "$tls/ca.crt" -CAkey "$tls/ca.key" -CAcreateserial -days 365 \
       -extfile "$tls/server.ext" -out "$tls/server.crt") >>"$LOG_DIR/fleet.log" 2>&1 \
      || die "fleet: openssl could not make the fleet's CA and certificate" "$LOG_DIR/fleet.log"
    chmod 0644 "$tls/ca.crt" "$tls/server.crt"
  fi
  local entry
  for entry in "${FLEET_HOSTS[@]}"; do
    _fleet_exec "${entry%%:*}" test -s /usr/local/share/ca-certificates/opsbook-fleet-ca.crt \
      || _fleet_put "${entry%%:*}" 0644 /usr/local/share/ca-certificates/opsbook-fleet-ca.crt <"$tls/ca.crt"
  done
}

# _fleet_image_import TARBALL: the image of that root filesystem, tagged with its key
# ($FLEET_IMAGE_TAG-<key>), so a changed build makes new hosts from the new image.
_fleet_image_import() {
  local key="${1##*/host-image-}"
  FLEET_IMAGE="$FLEET_IMAGE_TAG-${key%.tar}"
  sandbox_docker image inspect "$FLEET_IMAGE" >/dev/null 2>&1 && return 0
  log "importing $1 as $FLEET_IMAGE"
  sandbox_docker import --change 'CMD ["/lib/systemd/systemd"]' "$1" "$FLEET_IMAGE" >/dev/null \
    || die "importing the fleet's host image failed"
}

_fleet_network() {
  sandbox_docker network inspect "$FLEET_NETWORK" >/dev/null 2>&1 && return 0
  _fleet_stale_bridges
  sandbox_docker network create --subnet "$FLEET_SUBNET" --gateway "$FLEET_GATEWAY" "$FLEET_NETWORK" \
    >>"$LOG_DIR/fleet.log" 2>&1 || die "fleet: creating network $FLEET_NETWORK ($FLEET_SUBNET) failed" "$LOG_DIR/fleet.log"
}

# A dockerd killed hard (a machine's processes stopped without `make sandbox-down`) leaves its
# bridges in the kernel. A new engine, knowing nothing of them, would make a second bridge with
# the fleet's subnet, and the kernel would route the fleet's addresses to the dead one: remove a
# leftover Docker bridge that holds the fleet's gateway address before the network is made.
_fleet_stale_bridges() {
  local dev
  for dev in $(ip -o -4 addr show 2>/dev/null | awk -v gw="$FLEET_GATEWAY/${FLEET_SUBNET#*/}" '$4 == gw {print $2}'); do
    case "$dev" in
      br-*) log "fleet: removing $dev, a bridge a stopped Docker engine left with the fleet's subnet"
            ip link delete "$dev" >>"$LOG_DIR/fleet.log" 2>&1 || die "fleet: cannot remove the stale bridge $dev" "$LOG_DIR/fleet.log" ;;
      *) die "fleet: $dev already holds $FLEET_GATEWAY; the fleet needs $FLEET_SUBNET for itself" ;;
    esac
  done
}

_fleet_ssh_key() {
  mkdir -p "$FLEET_DIR/ssh"; chmod 0700 "$FLEET_DIR" "$FLEET_DIR/ssh"
  [ -s "$FLEET_DIR/ssh/id_ed25519" ] && return 0
  ssh-keygen -q -t ed25519 -N "" -C "opsbook-fleet" -f "$FLEET_DIR/ssh/id_ed25519"
}

# _fleet_host_start NAME ADDRESS: create (first time) and start the host's container. Its root
# filesystem lives as long as the container: `make sandbox-down` stops it, `sandbox-clean` removes it.
_fleet_host_start() {
  local name="$1" address="$2" c="$FLEET_PREFIX$1"
  local state
  state="$(sandbox_docker inspect -f '{{.State.Running}}' "$c" 2>/dev/null)" || state=""
  [ "$state" = true ] && return 0
  if [ -z "$state" ]; then
    local extra=()
    # app1 runs the Compose project on the sandbox's engine, as a host with Docker installed would.
    [ "$name" = app1 ] && extra+=(-v "$DOCKER_SOCK:/var/run/docker.sock")
    # Downloaded packages are kept per host across fresh fleets (a local mirror's effect).
    mkdir -p "$CACHE_DIR/fleet-apt/$name"
    # systemd as init in an unprivileged container: cgroups read-only, /run on tmpfs. NET_ADMIN
    # lets nftables (the security incident's firewall) work in the host's own network namespace.
    sandbox_docker create --name "$c" --hostname "$name" --network "$FLEET_NETWORK" --ip "$address" \
      --network-alias "$name" --add-host "$FLEET_TLS_NAME:$(_fleet_address lb1)" \
      --add-host "$FLEET_TLS_ALIAS:$(_fleet_address lb1)" --label opsbook.fleet=1 --stop-signal SIGRTMIN+3 --tmpfs /run --tmpfs /run/lock \
      -v /sys/fs/cgroup:/sys/fs/cgroup:ro --cap-add NET_ADMIN \
      -v "$CACHE_DIR/fleet-apt/$name:/var/cache/apt/archives" "${extra[@]}" \
      "$FLEET_IMAGE" >>"$LOG_DIR/fleet.log" 2>&1 || die "fleet: creating host $name failed" "$LOG_DIR/fleet.log"
    sandbox_docker cp "$FLEET_DIR/ssh/id_ed25519.pub" "$c:/home/ops/.ssh/authorized_keys" >>"$LOG_DIR/fleet.log" 2>&1 \
      || die "fleet: installing the SSH key on $name failed" "$LOG_DIR/fleet.log"
  fi
  sandbox_docker start "$c" >>"$LOG_DIR/fleet.log" 2>&1 || die "fleet: starting host $name failed" "$LOG_DIR/fleet.log"
}

_fleet_wait_ssh() {
  local name="$1" address="$2" i
  for i in $(seq 1 300); do
    if (exec 3<>"/dev/tcp/$address/22") 2>/dev/null; then
      _fleet_exec "$name" chown -R ops:ops /home/ops/.ssh
      _fleet_exec "$name" chmod 0600 /home/ops/.ssh/authorized_keys
      return 0
    fi
    sleep 0.2
  done
  { echo "== $name: container state, route, last boot messages"
    sandbox_docker inspect -f '{{.State.Status}} pid={{.State.Pid}} ip={{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "$FLEET_PREFIX$name"
    ip route get "$address"
    sandbox_docker logs --tail 30 "$FLEET_PREFIX$name"; } >>"$LOG_DIR/fleet.log" 2>&1
  die "fleet: $name's sshd did not listen on $address:22 within 60s" "$LOG_DIR/fleet.log"
}

# Host key checking stays on: the known_hosts file the fleet inventory names holds each host's
# key as it made it on its first boot.
_fleet_known_hosts() {
  local entry addresses=()
  for entry in "${FLEET_HOSTS[@]}"; do addresses+=("${entry#*:}"); done
  ssh-keyscan -t ed25519 "${addresses[@]}" >"$FLEET_DIR/ssh/known_hosts.tmp" 2>>"$LOG_DIR/fleet.log"
  [ "$(wc -l <"$FLEET_DIR/ssh/known_hosts.tmp")" -eq "${#addresses[@]}" ] \
    || die "fleet: ssh-keyscan did not get every host's key" "$LOG_DIR/fleet.log"
  mv -f "$FLEET_DIR/ssh/known_hosts.tmp" "$FLEET_DIR/ssh/known_hosts"
}

# _fleet_provision HOST: install and configure the platform's server on HOST, once per version of
# sandbox/fleet/HOST.sh (a marker in the host records which version ran).
_fleet_provision() {
  local name="$1" script="$SANDBOX_DIR/fleet/$1.sh" marker hash
  [ -f "$script" ] || return 0
  hash="$(cat "$script" "$SANDBOX_DIR/fleet/common.sh" | sha256sum | cut -c1-12)"
  marker="/etc/opsbook-fleet/provisioned-$hash"
  _fleet_exec "$name" test -e "$marker" && return 0
  log "fleet: provisioning $name (log: $LOG_DIR/fleet.log)"
  "_fleet_prepare_$name" 2>>"$LOG_DIR/fleet.log" || die "fleet: preparing $name failed" "$LOG_DIR/fleet.log"
  # The script runs as root in the host; secrets reach it in a 0600 file, removed after it ran.
  { cat "$SANDBOX_DIR/fleet/common.sh" "$script"; printf '\nmkdir -p /etc/opsbook-fleet && touch %s\n' "$marker"; } \
    | _fleet_exec "$name" bash -s >>"$LOG_DIR/fleet.log" 2>&1 || die "fleet: provisioning $name failed" "$LOG_DIR/fleet.log"
  "_fleet_finish_$name" 2>>"$LOG_DIR/fleet.log" || die "fleet: finishing $name failed" "$LOG_DIR/fleet.log"
}

# _fleet_put HOST MODE DEST < CONTENT: write a file on HOST (root-owned, MODE).
_fleet_put() { _fleet_exec "$1" sh -c "umask 077; mkdir -p \"\$(dirname '$3')\"; cat >'$3' && chmod $2 '$3'"; }

# What each host needs from the controller before and after its script runs.
_fleet_prepare_db1() {
  sandbox_docker cp "$BIN_DIR/ferretdb" "${FLEET_PREFIX}db1:/usr/local/bin/ferretdb"
  printf 'FERRETDB_SETUP_PASSWORD=%s\n' "$(_fleet_secret vault_mongodb_admin_password)" \
    | _fleet_put db1 0600 /etc/ferretdb/setup.env
}
_fleet_finish_db1() {
  # The application's user and the oplog, as sandbox/components/ferretdb.sh makes them.
  { _fleet_secret vault_mongodb_admin_password; _fleet_secret vault_mongodb_app_password; } | "$REPO_DIR/.venv/bin/python" -c "
import sys, pymongo
admin_pw, app_pw = sys.stdin.read().split()
c = pymongo.MongoClient(host='$(_fleet_address db1)', port=27017, username='opsbook_admin', password=admin_pw,
                        authSource='admin', authMechanism='SCRAM-SHA-256', serverSelectionTimeoutMS=30000, directConnection=True)
db = c['opsbook_app']
if not db.command('usersInfo', 'app')['users']:
    db.command('createUser', 'app', pwd=app_pw, roles=[])
"
}

_fleet_prepare_pg1() {
  {
    printf 'PG_ADMIN_VERIFIER=%q\n' "$(_fleet_secret vault_postgres_admin_password | scram_verifier)"
    printf 'PG_APP_VERIFIER=%q\n' "$(_fleet_secret vault_postgres_app_password | scram_verifier)"
    printf 'FLEET_SUBNET=%s\n' "$FLEET_SUBNET"
  } | _fleet_put pg1 0600 /root/.fleet-provision.env
}
_fleet_finish_pg1() { :; }

_fleet_prepare_cache1() {
  {
    printf 'REDIS_ADMIN_HASH=%s\n' "$(_fleet_secret vault_redis_admin_password | tr -d '\n' | sha256sum | cut -d' ' -f1)"
    printf 'REDIS_APP_HASH=%s\n' "$(_fleet_secret vault_redis_app_password | tr -d '\n' | sha256sum | cut -d' ' -f1)"
  } | _fleet_put cache1 0600 /root/.fleet-provision.env
}
_fleet_finish_cache1() { :; }

_fleet_prepare_app1() {
  sandbox_docker cp "$(command -v docker)" "${FLEET_PREFIX}app1:/usr/local/bin/docker"
  _fleet_exec app1 mkdir -p /usr/local/lib/docker/cli-plugins
  sandbox_docker cp "$BIN_DIR/docker-compose" "${FLEET_PREFIX}app1:/usr/local/lib/docker/cli-plugins/docker-compose"
  sandbox_docker cp "$SANDBOX_DIR/app/compose.yml" "${FLEET_PREFIX}app1:/srv/opsbook/compose.yml" 2>/dev/null \
    || { _fleet_exec app1 mkdir -p /srv/opsbook; sandbox_docker cp "$SANDBOX_DIR/app/compose.yml" "${FLEET_PREFIX}app1:/srv/opsbook/compose.yml"; }
  local db cache
  db="$(_fleet_address db1)"; cache="$(_fleet_address cache1)"
  {
    printf 'MONGO_URL=mongodb://app:%s@%s:27017/opsbook_app?authSource=opsbook_app&directConnection=true\n' \
      "$(_fleet_secret vault_mongodb_app_password)" "$db"
    printf 'REDIS_URL=redis://app:%s@%s:6379/0\n' "$(_fleet_secret vault_redis_app_password)" "$cache"
    printf 'READ_ONLY_MODE=false\nAPI_KEYS=\n'
  } | _fleet_put app1 0600 /srv/opsbook/app.env.new
  # Compose's own interpolation file: where the env file is, the ports, and app1's network namespace.
  printf 'COMPOSE_PROJECT_NAME=opsbook-fleet\nAPP_ENV_FILE=/srv/opsbook/app.env\nAPP_API_PORT=8000\nAPP_API2_PORT=8001\nAPP_BIND=0.0.0.0\nAPP_NETWORK_MODE=container:%s\nAPP_IMAGE=%s\n' \
    "${FLEET_PREFIX}app1" "$APP_IMAGE_TAG" | _fleet_put app1 0644 /srv/opsbook/.env
}
_fleet_finish_app1() { :; }

_fleet_prepare_lb1() {
  local tls="$FLEET_DIR/tls"
  _fleet_put lb1 0644 "/etc/nginx/tls/$FLEET_TLS_NAME.crt" <"$tls/server.crt"
  _fleet_put lb1 0600 "/etc/nginx/tls/$FLEET_TLS_NAME.key" <"$tls/server.key"
  printf 'APP_ADDRESS=%s\nTLS_NAME=%s\nTLS_ALIAS=%s\n' "$(_fleet_address app1)" "$FLEET_TLS_NAME" "$FLEET_TLS_ALIAS" | _fleet_put lb1 0600 /root/.fleet-provision.env
}
_fleet_finish_lb1() { :; }

_fleet_prepare_mon1() {
  printf 'APP_ADDRESS=%s\nDB_ADDRESS=%s\n' "$(_fleet_address app1)" "$(_fleet_address db1)" \
    | _fleet_put mon1 0600 /root/.fleet-provision.env
}
_fleet_finish_mon1() { :; }

_fleet_prepare_dr1() { :; }
_fleet_finish_dr1() { :; }

fleet_check() {
  fleet_enabled || sandbox_docker inspect "${FLEET_PREFIX}db1" >/dev/null 2>&1 || return 0
  local entry name address up=() down=()
  for entry in "${FLEET_HOSTS[@]}"; do
    name="${entry%%:*}"; address="${entry#*:}"
    if (exec 3<>"/dev/tcp/$address/22") 2>/dev/null; then up+=("$name"); else down+=("$name"); fi
  done
  report_status fleet "${#up[@]}/${#FLEET_HOSTS[@]} hosts answer SSH on $FLEET_SUBNET${down:+ (down: ${down[*]})}" fleet \
    test "${#down[@]}" -eq 0
}

fleet_down() {
  stop_daemon fleet-s3
  stop_daemon fleet-webhook-sink
  [ -S "$DOCKER_SOCK" ] || return 0
  local ids
  ids="$(sandbox_docker ps -q --filter label=opsbook.fleet=1 2>/dev/null)"
  # The Compose project on app1 shares app1's network: stop it first.
  [ -n "$ids" ] && _fleet_exec app1 sh -c 'cd /srv/opsbook && docker compose stop' >>"$LOG_DIR/fleet.log" 2>&1
  # shellcheck disable=SC2086
  [ -z "$ids" ] || sandbox_docker stop -t 20 $ids >>"$LOG_DIR/fleet.log" 2>&1
  return 0
}
