# lb1: nginx from Debian, TLS for $TLS_NAME (certificate of the fleet's CA, key 0600) in front of
# the two API instances on app1.
apt_install nginx
rm -f /etc/nginx/sites-enabled/default
cat >/etc/nginx/sites-available/opsbook <<CONF
upstream opsbook_api {
  least_conn;
  server $APP_ADDRESS:8000 max_fails=0;
  server $APP_ADDRESS:8001 max_fails=0;
}
server {
  listen 443 ssl;
  server_name $TLS_NAME $TLS_ALIAS;
  ssl_certificate /etc/nginx/tls/$TLS_NAME.crt;
  ssl_certificate_key /etc/nginx/tls/$TLS_NAME.key;
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
CONF
ln -sf /etc/nginx/sites-available/opsbook /etc/nginx/sites-enabled/opsbook
nginx -t
systemctl reload-or-restart nginx
