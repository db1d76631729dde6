# shellcheck shell=bash
# The sandbox's data set of the seeds' shape (sandbox/tools/seed_data.py): seed 001's users,
# frames and try-on sessions in FerretDB, seed 004's products and orders in PostgreSQL and its
# sessions in Redis; generated, idempotent (a marker per store records the data set's version).

seed_up() {
  { secret ferretdb_admin; secret postgres_admin; secret redis_admin; } \
    | "$REPO_DIR/.venv/bin/python" "$SANDBOX_DIR/tools/seed_data.py" --mongodb "$SANDBOX_HOST:$FERRETDB_PORT" \
        --postgres "$SANDBOX_HOST:$POSTGRES_PORT" --redis "$SANDBOX_HOST:$REDIS_PORT" >>"$LOG_DIR/seed.log" 2>&1 \
    || die "seeding the sandbox's data set failed" "$LOG_DIR/seed.log"
}
