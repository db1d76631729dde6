# shellcheck shell=bash
# Redis (Debian) on 127.0.0.1:$REDIS_PORT, run as the `redis` user, with ACL users:
# `default` off, `opsbook_admin` (all commands) and `app` (no dangerous commands).
# The ACL file holds SHA-256 hashes of the passwords, never the passwords.

REDIS_DIR="$STATE_DIR/redis"

redis_up() {
  mkdir -p "$REDIS_DIR"
  if [ ! -s "$REDIS_DIR/users.acl" ]; then
    local admin_hash app_hash
    admin_hash="$(secret redis_admin | tr -d '\n' | sha256sum | cut -d' ' -f1)"
    app_hash="$(secret redis_app | tr -d '\n' | sha256sum | cut -d' ' -f1)"
    cat >"$REDIS_DIR/users.acl" <<ACL
user default off
user opsbook_admin on #$admin_hash ~* &* +@all
user app on #$app_hash ~* &* +@all -@dangerous
ACL
  fi
  cat >"$REDIS_DIR/redis.conf" <<CONF
bind 127.0.0.1
port $REDIS_PORT
protected-mode yes
daemonize no
dir $REDIS_DIR
dbfilename dump.rdb
appendonly no
maxmemory 256mb
maxmemory-policy allkeys-lru
aclfile $REDIS_DIR/users.acl
logfile ""
CONF
  chown -R redis:redis "$REDIS_DIR"; chmod 0700 "$REDIS_DIR"; chmod 0600 "$REDIS_DIR/users.acl"
  start_daemon redis --user redis -- /usr/bin/redis-server "$REDIS_DIR/redis.conf"
  wait_tcp redis "$REDIS_PORT" 30
}

# redis_cli ARGS...: redis-cli as opsbook_admin; the password goes through REDISCLI_AUTH, not argv.
redis_cli() {
  REDISCLI_AUTH="$(secret redis_admin)" redis-cli --user opsbook_admin -h "$SANDBOX_HOST" -p "$REDIS_PORT" "$@"
}

_redis_pong() { [ "$(redis_cli ping 2>/dev/null)" = "PONG" ]; }

redis_check() { report_status redis "$SANDBOX_HOST:$REDIS_PORT" redis _redis_pong; }

redis_down() { stop_daemon redis; }
