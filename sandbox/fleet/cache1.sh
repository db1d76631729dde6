# cache1: Redis 7 from Debian on every address, port 6379, with ACL users (SHA-256 hashes, never
# passwords, in the ACL file): default off, opsbook_admin (everything), app (no dangerous commands).
apt_install redis-server
cat >/etc/redis/users.acl <<ACL
user default off
user opsbook_admin on #$REDIS_ADMIN_HASH ~* &* +@all
user app on #$REDIS_APP_HASH ~* &* +@all -@dangerous
ACL
chown redis:redis /etc/redis/users.acl; chmod 0640 /etc/redis/users.acl
grep -q '^# opsbook-fleet' /etc/redis/redis.conf || cat >>/etc/redis/redis.conf <<'CONF'
# opsbook-fleet: listen on the fleet's network, users from the ACL file.
bind 0.0.0.0
protected-mode yes
aclfile /etc/redis/users.acl
maxmemory 256mb
maxmemory-policy allkeys-lru
CONF
systemctl restart redis-server
