# pg1: PostgreSQL 15 from Debian, two clusters as seed 004 runs them: `main` on 5432 (database
# opsbook_app) and `ai` on 5433 (database opsbook_ai). Both listen on every address, take SCRAM
# logins from the fleet's network and preload pg_stat_statements. Passwords arrive as SCRAM
# verifiers ($PG_ADMIN_VERIFIER, $PG_APP_VERIFIER), never as cleartext.
apt_install postgresql-15
pg_lsclusters -h | grep -q '^15 *ai ' || pg_createcluster 15 ai --port 5433 >/dev/null
for cluster in main ai; do
  conf=/etc/postgresql/15/$cluster
  cat >"$conf/conf.d/opsbook-fleet.conf" <<CONF
listen_addresses = '*'
shared_preload_libraries = 'pg_stat_statements'
password_encryption = scram-sha-256
log_min_duration_statement = 100
CONF
  grep -q "opsbook-fleet" "$conf/pg_hba.conf" \
    || printf '# opsbook-fleet: the fleet network logs in with SCRAM\nhost all all %s scram-sha-256\n' "$FLEET_SUBNET" >>"$conf/pg_hba.conf"
  systemctl restart "postgresql@15-$cluster"
done
psql_as() { runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 -p "$1" "${@:2}"; }
for port in 5432 5433; do
  printf "ALTER ROLE postgres PASSWORD '%s';\n" "$PG_ADMIN_VERIFIER" | psql_as "$port" -d postgres
  if [ "$(psql_as "$port" -d postgres -tAc "SELECT 1 FROM pg_roles WHERE rolname = 'app'")" != 1 ]; then
    printf "CREATE ROLE app LOGIN PASSWORD '%s';\n" "$PG_APP_VERIFIER" | psql_as "$port" -d postgres
  fi
done
psql_as 5432 -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'opsbook_app'" | grep -q 1 \
  || psql_as 5432 -d postgres -c "CREATE DATABASE opsbook_app OWNER app"
psql_as 5433 -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'opsbook_ai'" | grep -q 1 \
  || psql_as 5433 -d postgres -c "CREATE DATABASE opsbook_ai OWNER app"
psql_as 5432 -d opsbook_app -c "CREATE EXTENSION IF NOT EXISTS pg_stat_statements"
psql_as 5433 -d opsbook_ai -c "CREATE EXTENSION IF NOT EXISTS pg_stat_statements"
