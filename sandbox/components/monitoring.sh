# shellcheck shell=bash
# Prometheus and Alertmanager (Debian packages) on loopback, and a webhook sink that records
# every notification Alertmanager sends (the receivers' stand-in in tests).
# Prometheus loads every rule file in $STATE_DIR/prometheus/rules/ and scrapes itself,
# Alertmanager and the application.

PROM_DIR="$STATE_DIR/prometheus"
AM_DIR="$STATE_DIR/alertmanager"
WEBHOOK_LOG="$STATE_DIR/webhook-sink/notifications.jsonl"

webhook_sink_up() {
  mkdir -p "$(dirname "$WEBHOOK_LOG")"
  start_daemon webhook-sink -- python3 "$SANDBOX_DIR/tools/webhook_sink.py" \
    --host "$SANDBOX_HOST" --port "$WEBHOOK_SINK_PORT" --out "$WEBHOOK_LOG"
  wait_tcp webhook-sink "$WEBHOOK_SINK_PORT" 20
}

alertmanager_up() {
  mkdir -p "$AM_DIR/data"
  # Each route posts to its own path on the sink, so tests can tell which route an alert took.
  if [ ! -s "$AM_DIR/alertmanager.yml" ]; then
    cat >"$AM_DIR/alertmanager.yml" <<CONF
route:
  receiver: default
  group_by: [alertname]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: default
    webhook_configs:
      - url: http://$SANDBOX_HOST:$WEBHOOK_SINK_PORT/default
CONF
  fi
  start_daemon alertmanager -- prometheus-alertmanager --config.file="$AM_DIR/alertmanager.yml" \
    --storage.path="$AM_DIR/data" --web.listen-address="$SANDBOX_HOST:$ALERTMANAGER_PORT" \
    --cluster.listen-address=""
  wait_tcp alertmanager "$ALERTMANAGER_PORT" 30
}

prometheus_up() {
  mkdir -p "$PROM_DIR/data" "$PROM_DIR/rules"
  if [ ! -s "$PROM_DIR/prometheus.yml" ]; then
    cat >"$PROM_DIR/prometheus.yml" <<CONF
global:
  scrape_interval: 15s
  evaluation_interval: 15s
alerting:
  alertmanagers:
    - static_configs:
        - targets: ["$SANDBOX_HOST:$ALERTMANAGER_PORT"]
rule_files:
  - $PROM_DIR/rules/*.yml
scrape_configs:
  - job_name: prometheus
    static_configs:
      - targets: ["$SANDBOX_HOST:$PROMETHEUS_PORT"]
  - job_name: alertmanager
    static_configs:
      - targets: ["$SANDBOX_HOST:$ALERTMANAGER_PORT"]
  - job_name: api
    static_configs:
      - targets: ["$SANDBOX_HOST:$APP_API_PORT", "$SANDBOX_HOST:$APP_API2_PORT"]
CONF
  fi
  start_daemon prometheus -- prometheus --config.file="$PROM_DIR/prometheus.yml" \
    --storage.tsdb.path="$PROM_DIR/data" --web.listen-address="$SANDBOX_HOST:$PROMETHEUS_PORT" \
    --web.enable-lifecycle --storage.tsdb.retention.time=2d
  wait_tcp prometheus "$PROMETHEUS_PORT" 60
}

monitoring_up() { webhook_sink_up; alertmanager_up; prometheus_up; }

# monitoring_configure: replace the minimal configurations above by the ones the alerting role
# renders from the alert catalog and the inventory (playbooks/monitoring_configure.yml: rules,
# scrape jobs labelled by service and criticality, the seed 004 routing to the webhook sink). It
# runs once, while a minimal configuration is in place, so a warm `up.sh` stays fast; after a
# catalog or inventory change, run the playbook again (the alerting integration tests do).
monitoring_configure() {
  local marker='^# Rendered by the opsbook alerting role' playbook="$REPO_DIR/.venv/bin/ansible-playbook"
  local logf="$LOG_DIR/monitoring-configure.log"
  if grep -q "$marker" "$PROM_DIR/prometheus.yml" 2>/dev/null && grep -q "$marker" "$AM_DIR/alertmanager.yml" 2>/dev/null \
    && [ -s "$PROM_DIR/rules/opsbook.rules.yml" ]; then
    return 0
  fi
  if [ ! -x "$playbook" ]; then
    log "no $playbook: Prometheus and Alertmanager keep their minimal configuration (run make venv, then sandbox/up.sh)"
    return 0
  fi
  log "configuring Prometheus and Alertmanager from the alert catalog (log: $logf)"
  (cd "$REPO_DIR" && ANSIBLE_CONFIG="$REPO_DIR/ansible.cfg" OPSBOOK_SANDBOX_STATE="$STATE_DIR" \
    "$playbook" -i inventories/local playbooks/monitoring_configure.yml) >"$logf" 2>&1 \
    || die "playbooks/monitoring_configure.yml failed" "$logf"
}

monitoring_check() {
  local rc=0 name port path
  for name in prometheus:$PROMETHEUS_PORT:/-/healthy alertmanager:$ALERTMANAGER_PORT:/-/healthy webhook-sink:$WEBHOOK_SINK_PORT:/health; do
    IFS=: read -r name port path <<<"$name"
    report_status "$name" "http://$SANDBOX_HOST:$port" "$name" \
      curl -fsS --max-time 5 "http://$SANDBOX_HOST:$port$path" || rc=1
  done
  return $rc
}

monitoring_down() { stop_daemon prometheus; stop_daemon alertmanager; stop_daemon webhook-sink; }
