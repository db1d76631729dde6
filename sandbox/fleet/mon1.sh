# mon1: Prometheus and Alertmanager from Debian. Prometheus scrapes itself, Alertmanager, the two
# API instances on app1 and FerretDB's metrics on db1; the alert rules are opsbook's own
# (monitoring_configure.yml renders them from the alert catalog).
apt_install prometheus prometheus-alertmanager
install -d -m 0755 /etc/prometheus/rules
cat >/etc/prometheus/prometheus.yml <<CONF
global:
  scrape_interval: 15s
  evaluation_interval: 15s
alerting:
  alertmanagers:
    - static_configs:
        - targets: ["127.0.0.1:9093"]
rule_files:
  - /etc/prometheus/rules/*.yml
scrape_configs:
  - job_name: prometheus
    static_configs:
      - targets: ["127.0.0.1:9090"]
  - job_name: alertmanager
    static_configs:
      - targets: ["127.0.0.1:9093"]
  - job_name: api
    static_configs:
      - targets: ["$APP_ADDRESS:8000", "$APP_ADDRESS:8001"]
  - job_name: mongodb
    metrics_path: /debug/metrics
    static_configs:
      - targets: ["$DB_ADDRESS:8088"]
CONF
# opsbook's alerting role reloads both through their /-/reload endpoints.
grep -q 'web.enable-lifecycle' /etc/default/prometheus || sed -i 's/^ARGS="/ARGS="--web.enable-lifecycle /' /etc/default/prometheus
systemctl restart prometheus prometheus-alertmanager
