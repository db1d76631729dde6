# Shared start of every fleet host's provisioning script (sandbox/components/fleet.sh runs
# common.sh followed by HOST.sh as root inside the host). The platform's own servers only: nothing
# that opsbook's runbooks need is installed here.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
apt_install() {
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}
# Every host trusts the fleet's CA (the organisation's internal CA, as on a user's servers).
if [ -s /usr/local/share/ca-certificates/opsbook-fleet-ca.crt ] && ! [ -e /etc/ssl/certs/opsbook-fleet-ca.pem ]; then
  update-ca-certificates >/dev/null
fi
# Values the controller put here for this script (0600), removed once read.
if [ -f /root/.fleet-provision.env ]; then
  # shellcheck disable=SC1091
  . /root/.fleet-provision.env
  rm -f /root/.fleet-provision.env
fi
