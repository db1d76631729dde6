# shellcheck shell=bash
# PostgreSQL 15 (Debian) as a cluster owned by the non-root `postgres` user, on 127.0.0.1:$POSTGRES_PORT.
# Superuser `postgres` and application role `app` (owner of database opsbook_app) use SCRAM;
# their passwords are sandbox secrets. pg_stat_statements is preloaded.

PG_BIN=/usr/lib/postgresql/15/bin
PG_DIR="$STATE_DIR/postgres"

postgres_up() {
  local data="$PG_DIR/data"
  mkdir -p "$PG_DIR/run"
  chown postgres:postgres "$PG_DIR" "$PG_DIR/run"; chmod 0700 "$PG_DIR"
  if [ ! -s "$data/PG_VERSION" ]; then
    log "initialising PostgreSQL cluster in $data"
    local pwfile="$PG_DIR/.pwfile"
    (umask 077; secret postgres_admin >"$pwfile"); chown postgres "$pwfile"
    runuser -u postgres -- "$PG_BIN/initdb" -D "$data" -U postgres --auth=scram-sha-256 \
      --pwfile="$pwfile" --encoding=UTF8 >>"$LOG_DIR/postgres.log" 2>&1 \
      || { rm -f "$pwfile"; die "postgres initdb failed" "$LOG_DIR/postgres.log"; }
    rm -f "$pwfile"
    cat >>"$data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $POSTGRES_PORT
unix_socket_directories = '$PG_DIR/run'
shared_preload_libraries = 'pg_stat_statements'
log_min_duration_statement = 100
CONF
  fi
  touch "$LOG_DIR/postgres.log"; chown postgres "$LOG_DIR/postgres.log"
  start_daemon postgres --user postgres -- "$PG_BIN/postgres" -D "$data"
  wait_tcp postgres "$POSTGRES_PORT" 60
  local i
  for i in $(seq 1 50); do
    "$PG_BIN/pg_isready" -q -h "$SANDBOX_HOST" -p "$POSTGRES_PORT" && break; sleep 0.2
  done
  _postgres_bootstrap
}

# Run SQL as the superuser; the password reaches psql through a 0600 PGPASSFILE.
_postgres_psql() {
  local passfile="$PG_DIR/.pgpass"
  if [ ! -s "$passfile" ]; then
    (umask 077; printf '%s:%s:*:postgres:%s\n' "$SANDBOX_HOST" "$POSTGRES_PORT" "$(secret postgres_admin)" >"$passfile")
  fi
  PGPASSFILE="$passfile" psql -X -q -v ON_ERROR_STOP=1 -h "$SANDBOX_HOST" -p "$POSTGRES_PORT" -U postgres "$@"
}

_postgres_bootstrap() {
  if [ "$(_postgres_psql -d postgres -tAc "SELECT 1 FROM pg_roles WHERE rolname='app'")" != "1" ]; then
    log "creating PostgreSQL role app and database opsbook_app"
    # A SCRAM verifier on psql's stdin: the password is neither on a command line nor in the
    # statement's text.
    printf "CREATE ROLE app LOGIN PASSWORD '%s';\n" "$(secret postgres_app | scram_verifier)" | _postgres_psql -d postgres \
      || die "postgres: creating role app failed" "$LOG_DIR/postgres.log"
    _postgres_psql -d postgres -c "CREATE DATABASE opsbook_app OWNER app" >/dev/null
    _postgres_psql -d opsbook_app -c "CREATE EXTENSION IF NOT EXISTS pg_stat_statements" >/dev/null
  fi
}

postgres_check() {
  report_status postgres "$SANDBOX_HOST:$POSTGRES_PORT" postgres \
    "$PG_BIN/pg_isready" -q -h "$SANDBOX_HOST" -p "$POSTGRES_PORT"
}

postgres_down() { stop_daemon postgres; }
