# shellcheck shell=bash
# nginx (Debian) as the TLS reverse proxy in front of the application's two API instances, on
# https://127.0.0.1:$NGINX_HTTPS_PORT, with a self-signed certificate made by openssl.
# Clients trust it through $STATE_DIR/nginx/tls/server.crt.

NGINX_DIR="$STATE_DIR/nginx"

nginx_up() {
  mkdir -p "$NGINX_DIR/tls" "$NGINX_DIR/tmp" "$NGINX_DIR/conf"
  chown nobody "$NGINX_DIR/tmp"
  if [ ! -s "$NGINX_DIR/tls/server.crt" ]; then
    log "creating the sandbox's self-signed TLS certificate"
    (umask 077; openssl req -x509 -newkey rsa:2048 -nodes -days 365 -subj "/CN=localhost" \
      -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
      -keyout "$NGINX_DIR/tls/server.key" -out "$NGINX_DIR/tls/server.crt" >>"$LOG_DIR/nginx.log" 2>&1) \
      || die "nginx: openssl could not create the certificate" "$LOG_DIR/nginx.log"
    chmod 0644 "$NGINX_DIR/tls/server.crt"
  fi
  cat >"$NGINX_DIR/conf/nginx.conf" <<CONF
worker_processes 1;
pid $RUN_DIR/nginx.master.pid;
error_log $LOG_DIR/nginx.log warn;
events { worker_connections 256; }
http {
  access_log $LOG_DIR/nginx-access.log;
  client_body_temp_path $NGINX_DIR/tmp/body;
  proxy_temp_path $NGINX_DIR/tmp/proxy;
  fastcgi_temp_path $NGINX_DIR/tmp/fastcgi;
  uwsgi_temp_path $NGINX_DIR/tmp/uwsgi;
  scgi_temp_path $NGINX_DIR/tmp/scgi;
  # Two API instances, as seed 001 balances api1..api3: a request the instance being recreated
  # cannot take (connection refused) goes to the other (proxy_next_upstream's default, error and
  # timeout), so rolling the instances one at a time leaves no request unanswered. max_fails=0:
  # a refused connection on loopback costs nothing to retry, and an instance that was marked
  # failed while it was recreated must not stay out of rotation while the other one is recreated.
  upstream opsbook_api {
    least_conn;
    server 127.0.0.1:$APP_API_PORT max_fails=0;
    server 127.0.0.1:$APP_API2_PORT max_fails=0;
  }
  server {
    listen 127.0.0.1:$NGINX_HTTPS_PORT ssl;
    server_name localhost;
    ssl_certificate $NGINX_DIR/tls/server.crt;
    ssl_certificate_key $NGINX_DIR/tls/server.key;
    ssl_protocols TLSv1.2 TLSv1.3;
    location = /nginx-health { return 200 "ok\n"; }
    location / {
      proxy_pass http://opsbook_api;
      proxy_set_header Host \$host;
      proxy_set_header X-Real-IP \$remote_addr;
      proxy_connect_timeout 5s;
      proxy_read_timeout 30s;
    }
  }
}
CONF
  nginx -t -p "$NGINX_DIR" -c "$NGINX_DIR/conf/nginx.conf" >>"$LOG_DIR/nginx.log" 2>&1 \
    || die "nginx: configuration test failed" "$LOG_DIR/nginx.log"
  if pid_alive nginx; then
    kill -HUP "$(cat "$RUN_DIR/nginx.pid")"   # reload a changed configuration
  else
    start_daemon nginx -- nginx -p "$NGINX_DIR" -c "$NGINX_DIR/conf/nginx.conf" -g 'daemon off;'
  fi
  wait_tcp nginx "$NGINX_HTTPS_PORT" 30
}

nginx_check() {
  report_status nginx "https://localhost:$NGINX_HTTPS_PORT" nginx \
    curl -fsS --max-time 5 --cacert "$NGINX_DIR/tls/server.crt" "https://localhost:$NGINX_HTTPS_PORT/nginx-health"
}

nginx_down() { stop_daemon nginx; }
