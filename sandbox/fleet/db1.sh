# db1: FerretDB, the MongoDB-compatible server (a static binary the controller copied to
# /usr/local/bin), with its SQLite data under /var/lib/ferretdb, as a systemd service on every
# address: 27017 for clients, 8088 for its Prometheus metrics. Replica set rs0 with an oplog.
id ferretdb >/dev/null 2>&1 || useradd --system --home-dir /var/lib/ferretdb --shell /usr/sbin/nologin ferretdb
install -d -m 0700 -o ferretdb -g ferretdb /var/lib/ferretdb /var/lib/ferretdb/data
chmod 0755 /usr/local/bin/ferretdb
cat >/etc/ferretdb/ferretdb.env <<'ENV'
FERRETDB_HANDLER=sqlite
FERRETDB_SQLITE_URL=file:/var/lib/ferretdb/data/
FERRETDB_STATE_DIR=/var/lib/ferretdb
FERRETDB_LISTEN_ADDR=0.0.0.0:27017
FERRETDB_DEBUG_ADDR=0.0.0.0:8088
FERRETDB_REPL_SET_NAME=rs0
FERRETDB_TEST_ENABLE_NEW_AUTH=true
FERRETDB_SETUP_DATABASE=admin
FERRETDB_SETUP_USERNAME=opsbook_admin
FERRETDB_TELEMETRY=disable
FERRETDB_LOG_FORMAT=text
ENV
chmod 0644 /etc/ferretdb/ferretdb.env
cat >/etc/systemd/system/ferretdb.service <<'UNIT'
[Unit]
Description=FerretDB, a MongoDB-compatible database
After=network.target

[Service]
User=ferretdb
EnvironmentFile=/etc/ferretdb/ferretdb.env
EnvironmentFile=/etc/ferretdb/setup.env
ExecStart=/usr/local/bin/ferretdb
Restart=on-failure

[Install]
WantedBy=multi-user.target
UNIT
chown root:ferretdb /etc/ferretdb/setup.env; chmod 0640 /etc/ferretdb/setup.env
systemctl daemon-reload
systemctl enable --now ferretdb.service
for _i in $(seq 1 150); do (exec 3<>/dev/tcp/127.0.0.1/27017) 2>/dev/null && break; sleep 0.2; done
