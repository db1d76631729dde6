# app1: the Compose project `opsbook-fleet` in /srv/opsbook (compose.yml, its env file app.env
# with the credentials, 0600). Its containers run on the sandbox's Docker engine (the socket is
# mounted at /var/run/docker.sock) in app1's network namespace: the API answers on app1's
# address, ports 8000 and 8001.
chmod 0755 /usr/local/bin/docker /usr/local/lib/docker/cli-plugins/docker-compose
cd /srv/opsbook
# The env file is the application's: a rotation's edits survive a re-provisioning.
if [ -s app.env ]; then rm -f app.env.new; else mv app.env.new app.env; fi
chmod 0600 app.env
install -d -m 0755 /srv/opsbook/uploads /var/log/opsbook
docker compose up -d --wait --wait-timeout 90
