# shellcheck shell=bash
# FerretDB (built by sandbox/build/ferretdb.sh), the MongoDB-compatible server, with the SQLite
# backend under $STATE_DIR/ferretdb, on 127.0.0.1:$FERRETDB_PORT, SCRAM authentication on
# (FerretDB 1.x's "new authentication"), replica set name rs0. Its Prometheus metrics are on
# 127.0.0.1:$FERRETDB_DEBUG_PORT/debug/metrics.
# Users: opsbook_admin (created by FerretDB's setup from environment variables, never argv) and
# app (in opsbook_app; FerretDB 1.24 has no roles, so any authenticated user may do anything),
# both with sandbox secrets.

FERRETDB_DIR="$STATE_DIR/ferretdb"

ferretdb_up() {
  [ -x "$BIN_DIR/ferretdb" ] || die "ferretdb: $BIN_DIR/ferretdb is missing; run sandbox/build/ferretdb.sh (make install)"
  mkdir -p "$FERRETDB_DIR/data"; chmod 0700 "$FERRETDB_DIR"
  if ! pid_alive ferretdb; then
    FERRETDB_HANDLER=sqlite \
    FERRETDB_SQLITE_URL="file:$FERRETDB_DIR/data/" \
    FERRETDB_STATE_DIR="$FERRETDB_DIR" \
    FERRETDB_LISTEN_ADDR="$SANDBOX_HOST:$FERRETDB_PORT" \
    FERRETDB_DEBUG_ADDR="$SANDBOX_HOST:$FERRETDB_DEBUG_PORT" \
    FERRETDB_REPL_SET_NAME=rs0 \
    FERRETDB_TEST_ENABLE_NEW_AUTH=true \
    FERRETDB_SETUP_DATABASE=admin \
    FERRETDB_SETUP_USERNAME=opsbook_admin \
    FERRETDB_SETUP_PASSWORD="$(secret ferretdb_admin)" \
    FERRETDB_TELEMETRY=disable \
    FERRETDB_LOG_FORMAT=text \
      start_daemon ferretdb -- "$BIN_DIR/ferretdb"
  fi
  wait_tcp ferretdb "$FERRETDB_PORT" 60
  _ferretdb_bootstrap
}

# Run a Python snippet with pymongo as opsbook_admin; the password reaches it on stdin.
_ferretdb_admin_python() {
  local py="$REPO_DIR/.venv/bin/python"
  [ -x "$py" ] || die "ferretdb: $py is missing; run 'make venv'"
  { secret ferretdb_admin; secret ferretdb_app; } | "$py" -c "
import sys, pymongo
admin_pw, app_pw = sys.stdin.read().split()
c = pymongo.MongoClient(host='$SANDBOX_HOST', port=$FERRETDB_PORT, username='opsbook_admin', password=admin_pw,
                        authSource='admin', authMechanism='SCRAM-SHA-256', serverSelectionTimeoutMS=10000, directConnection=True)
$1
"
}

_ferretdb_bootstrap() {
  [ -f "$FERRETDB_DIR/.bootstrapped" ] && return 0
  _ferretdb_admin_python "
db = c['opsbook_app']
if not db.command('usersInfo', 'app')['users']:
    # FerretDB 1.24 authenticates but does not authorise: createUser accepts only roles=[]
    # ('support for field "roles" ... is not implemented yet'); see docs/sandbox.md.
    db.command('createUser', 'app', pwd=app_pw, roles=[])
" >>"$LOG_DIR/ferretdb.log" 2>&1 || die "ferretdb: creating user app failed" "$LOG_DIR/ferretdb.log"
  touch "$FERRETDB_DIR/.bootstrapped"
}

# ferretdb_oplog: with a replica set name, FerretDB 1.24 records writes in local.oplog.rs once that
# capped collection exists: the oplog mongodump --oplog and point-in-time recovery read. It is made
# after the data set is seeded (sandbox/components/seed.sh): FerretDB's SQLite backend reads the
# oplog by scanning it, so an oplog that held the seed's tens of thousands of inserts would make
# every mongodump --oplog take minutes (docs/sandbox.md).
ferretdb_oplog() {
  _ferretdb_admin_python "
if 'oplog.rs' not in c['local'].list_collection_names():
    c['local'].create_collection('oplog.rs', capped=True, size=256 * 1024 * 1024)
" >>"$LOG_DIR/ferretdb.log" 2>&1 || die "ferretdb: creating the oplog failed" "$LOG_DIR/ferretdb.log"
}

ferretdb_check() {
  report_status ferretdb "mongodb://$SANDBOX_HOST:$FERRETDB_PORT (FerretDB $FERRETDB_VERSION)" ferretdb \
    _ferretdb_admin_python "c.admin.command('ping')"
}

ferretdb_down() { stop_daemon ferretdb; }
