# shellcheck shell=bash
# The platform under operation: the Compose project `opsbook` (sandbox/app/compose.yml) with
# services api, api2 (a second API instance, as seed 001's nginx balances api1..api3) and worker,
# from image $APP_IMAGE_TAG built locally on the base image.
# Its env file, $STATE_DIR/app/app.env (0600), holds the MongoDB and Redis credentials of user
# `app`; runbooks (read-only mode, credential rotation) edit that file and recreate services.

APP_DIR="$STATE_DIR/app"
APP_ENV_FILE="$APP_DIR/app.env"

sandbox_compose() {
  APP_ENV_FILE="$APP_ENV_FILE" APP_API_PORT="$APP_API_PORT" APP_API2_PORT="$APP_API2_PORT" APP_IMAGE="$APP_IMAGE_TAG" \
    docker -H "unix://$DOCKER_SOCK" compose -p opsbook -f "$SANDBOX_DIR/app/compose.yml" "$@"
}

# app_image_build [TAG] [VERSION]: build the application image unless the engine has TAG built
# from the current source (the image carries a label with the source's hash).
app_image_build() {
  local tag="${1:-$APP_IMAGE_TAG}" version hash
  version="${2:-${tag##*:}}"
  hash="$(cat "$SANDBOX_DIR/app/Dockerfile" "$SANDBOX_DIR/app/opsbook_app.py" | sha256sum | cut -c1-16)"
  if [ "$(sandbox_docker image inspect -f '{{index .Config.Labels "opsbook.source"}}' "$tag" 2>/dev/null)" = "$hash" ]; then
    return 0
  fi
  log "building image $tag"
  DOCKER_BUILDKIT=0 sandbox_docker build -q --label "opsbook.source=$hash" --build-arg "APP_VERSION=$version" \
    -t "$tag" "$SANDBOX_DIR/app" >>"$LOG_DIR/app.log" 2>&1 || die "app: building image $tag failed" "$LOG_DIR/app.log"
}

app_up() {
  mkdir -p "$APP_DIR"; chmod 0700 "$APP_DIR"
  if [ ! -s "$APP_ENV_FILE" ]; then
    (umask 077; cat >"$APP_ENV_FILE" <<ENV
MONGO_URL=mongodb://app:$(secret ferretdb_app)@$SANDBOX_HOST:$FERRETDB_PORT/opsbook_app?authSource=opsbook_app&directConnection=true
REDIS_URL=redis://app:$(secret redis_app)@$SANDBOX_HOST:$REDIS_PORT/0
READ_ONLY_MODE=false
API_KEYS=
ENV
    )
  fi
  # The password of the credential rotation's vault store (inventories/local/group_vars/all/
  # rotation.yml), so that README's rotate_credentials.yml example runs on a fresh sandbox.
  secret rotation_vault_password >/dev/null
  app_image_build
  sandbox_compose up -d --wait --wait-timeout 60 >>"$LOG_DIR/app.log" 2>&1 \
    || die "app: docker compose up failed" "$LOG_DIR/app.log"
}

app_check() {
  report_status app "http://$SANDBOX_HOST:$APP_API_PORT and :$APP_API2_PORT (Compose project opsbook)" app \
    curl -fsS --fail-early --max-time 5 "http://$SANDBOX_HOST:$APP_API_PORT/health" "http://$SANDBOX_HOST:$APP_API2_PORT/health"
}

app_down() {
  [ -S "$DOCKER_SOCK" ] && sandbox_compose stop >>"$LOG_DIR/app.log" 2>&1
  return 0
}
