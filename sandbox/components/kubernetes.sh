# shellcheck shell=bash
# The Kubernetes control plane, opt-in (OPSBOOK_SANDBOX_KUBERNETES=1, `make sandbox-up K8S=1`):
# etcd, kube-apiserver, kube-controller-manager and kube-scheduler of $KUBERNETES_VERSION, and
# the kwok controller simulating $KUBE_NODE_COUNT nodes and the pods on them (no kubelet, no
# containers). Built by sandbox/build/kubernetes.sh; everything listens on 127.0.0.1.
#
# $STATE_DIR/kubernetes holds the cluster's state: pki/ (a CA, serving and client certificates
# and the service-account signing key made by openssl, keys 0600), admin.kubeconfig (the
# operator's credentials, group system:masters, 0600) and one kubeconfig per component, the etcd
# data directory, and the encryption key that keeps Secrets encrypted in etcd.
# Once the API answers, sandbox/kubernetes/workload.yml (kubernetes.core.k8s) registers the
# nodes and deploys the demo workload: see docs/kubernetes.md.

KUBE_DIR="$STATE_DIR/kubernetes"
KUBE_PKI="$KUBE_DIR/pki"
KUBE_ADMIN_KUBECONFIG="$KUBE_DIR/admin.kubeconfig"
KUBE_SERVICE_CIDR=10.96.0.0/16
KUBE_POD_CIDR=10.244.0.0/16
KUBE_DAEMONS=(etcd kube-apiserver kube-controller-manager kube-scheduler kwok)

# The control plane starts only when asked for, or when it already runs (so a plain
# `make sandbox-up` neither starts nor forgets it).
kubernetes_enabled() {
  [ "${OPSBOOK_SANDBOX_KUBERNETES:-0}" = 1 ] && return 0
  local d
  for d in "${KUBE_DAEMONS[@]}"; do [ -s "$RUN_DIR/$d.pid" ] && return 0; done
  return 1
}

# _kube_cert NAME SUBJECT EXTENDED_KEY_USAGE [SUBJECT_ALT_NAMES]: a key and a certificate signed
# by the sandbox's CA, made once.
_kube_cert() {
  local name="$1" subj="$2" eku="$3" san="${4:-}"
  [ -s "$KUBE_PKI/$name.crt" ] && return 0
  {
    printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n'
    printf 'extendedKeyUsage=%s\n' "$eku"
    [ -n "$san" ] && printf 'subjectAltName=%s\n' "$san"
  } >"$KUBE_PKI/$name.ext"
  (umask 077; openssl req -new -newkey rsa:2048 -nodes -subj "$subj" -keyout "$KUBE_PKI/$name.key" \
      -out "$KUBE_PKI/$name.csr" \
    && openssl x509 -req -in "$KUBE_PKI/$name.csr" -CA "$KUBE_PKI/ca.crt" -CAkey "$KUBE_PKI/ca.key" \
      -CAcreateserial -days 825 -sha256 -extfile "$KUBE_PKI/$name.ext" -out "$KUBE_PKI/$name.crt.tmp") \
    >>"$LOG_DIR/kubernetes.log" 2>&1 || die "kubernetes: openssl could not make the $name certificate" "$LOG_DIR/kubernetes.log"
  mv -f "$KUBE_PKI/$name.crt.tmp" "$KUBE_PKI/$name.crt"
  chmod 0644 "$KUBE_PKI/$name.crt"
  rm -f "$KUBE_PKI/$name.csr" "$KUBE_PKI/$name.ext"
}

# _kube_kubeconfig NAME CERT: a kubeconfig for the client certificate CERT, embedding it (0600).
_kube_kubeconfig() {
  local name="$1" cert="$2" f="$KUBE_DIR/$1.kubeconfig"
  [ -s "$f" ] && return 0
  (umask 077; cat >"$f.tmp" <<YAML
apiVersion: v1
kind: Config
clusters:
  - name: opsbook-sandbox
    cluster:
      server: https://$SANDBOX_HOST:$KUBE_APISERVER_PORT
      certificate-authority-data: $(base64 -w0 "$KUBE_PKI/ca.crt")
users:
  - name: $name
    user:
      client-certificate-data: $(base64 -w0 "$KUBE_PKI/$cert.crt")
      client-key-data: $(base64 -w0 "$KUBE_PKI/$cert.key")
contexts:
  - name: opsbook-sandbox
    context:
      cluster: opsbook-sandbox
      user: $name
current-context: opsbook-sandbox
YAML
  )
  mv -f "$f.tmp" "$f"
}

_kube_pki() {
  mkdir -p "$KUBE_PKI"; chmod 0700 "$KUBE_DIR" "$KUBE_PKI"
  if [ ! -s "$KUBE_PKI/ca.crt" ]; then
    log "kubernetes: creating the cluster's CA, certificates and service-account key"
    (umask 077; openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -sha256 -subj "/CN=opsbook-sandbox-kubernetes-ca" \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" \
      -keyout "$KUBE_PKI/ca.key" -out "$KUBE_PKI/ca.crt.tmp") >>"$LOG_DIR/kubernetes.log" 2>&1 \
      || die "kubernetes: openssl could not make the CA" "$LOG_DIR/kubernetes.log"
    chmod 0644 "$KUBE_PKI/ca.crt.tmp"; mv -f "$KUBE_PKI/ca.crt.tmp" "$KUBE_PKI/ca.crt"
  fi
  _kube_cert apiserver "/CN=kube-apiserver" serverAuth \
    "DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,IP:127.0.0.1,IP:10.96.0.1"
  _kube_cert apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client" clientAuth
  _kube_cert admin "/O=system:masters/CN=opsbook-admin" clientAuth
  _kube_cert controller-manager "/CN=system:kube-controller-manager" clientAuth
  _kube_cert scheduler "/CN=system:kube-scheduler" clientAuth
  # kwok plays the kubelet of every simulated node, so it acts as the cluster's administrator.
  _kube_cert kwok "/O=system:masters/CN=kwok-controller" clientAuth
  # The kubelet endpoint kwok serves for its nodes (logs, exec): the API server checks it.
  _kube_cert kwok-serving "/CN=kwok" serverAuth "DNS:localhost,IP:127.0.0.1"
  if [ ! -s "$KUBE_PKI/sa.pub" ]; then
    (umask 077; openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$KUBE_PKI/sa.key" \
      && openssl pkey -in "$KUBE_PKI/sa.key" -pubout -out "$KUBE_PKI/sa.pub.tmp") >>"$LOG_DIR/kubernetes.log" 2>&1 \
      || die "kubernetes: openssl could not make the service-account key" "$LOG_DIR/kubernetes.log"
    mv -f "$KUBE_PKI/sa.pub.tmp" "$KUBE_PKI/sa.pub"
  fi
  if [ ! -s "$KUBE_DIR/encryption.yaml" ]; then
    (umask 077; cat >"$KUBE_DIR/encryption.yaml.tmp" <<YAML
apiVersion: apiserver.config.k8s.io/v1
kind: EncryptionConfiguration
resources:
  - resources: [secrets]
    providers:
      - aescbc:
          keys:
            - name: key1
              secret: $(head -c 32 /dev/urandom | base64 -w0)
      - identity: {}
YAML
    )
    mv -f "$KUBE_DIR/encryption.yaml.tmp" "$KUBE_DIR/encryption.yaml"
  fi
  _kube_kubeconfig admin admin
  _kube_kubeconfig controller-manager controller-manager
  _kube_kubeconfig scheduler scheduler
  _kube_kubeconfig kwok kwok
}

# _kube_https_ok URL [CA]: true when URL answers 200 over TLS verified against CA (default: the
# cluster's CA).
_kube_https_ok() {
  curl -fs --max-time 5 --cacert "${2:-$KUBE_PKI/ca.crt}" "$1" >/dev/null 2>&1
}

# _kube_wait NAME SECONDS CMD...: wait until CMD succeeds, or fail naming NAME and its log.
_kube_wait() {
  local name="$1" secs="$2" i
  shift 2
  for i in $(seq 1 $((secs * 2))); do
    "$@" && return 0
    if ! pid_alive "$name"; then die "$name exited during start-up" "$LOG_DIR/$name.log"; fi
    sleep 0.5
  done
  die "$name was not ready within ${secs}s" "$LOG_DIR/$name.log"
}

# _kube_port_free NAME PORT: a port owned by another process (another sandbox's control plane?)
# would make the health checks pass against the wrong server.
_kube_port_free() {
  pid_alive "$1" && return 0
  if (exec 3<>"/dev/tcp/$SANDBOX_HOST/$2") 2>/dev/null; then
    die "kubernetes: $SANDBOX_HOST:$2, the port of $1, is taken by a process this sandbox did not start; stop it (another clone's sandbox/down.sh?) and retry"
  fi
}

kubernetes_up() {
  local bin
  for bin in etcd kube-apiserver kube-controller-manager kube-scheduler kubectl kwok; do
    [ -x "$BIN_DIR/$bin" ] || die "kubernetes: $BIN_DIR/$bin is missing; run sandbox/build/kubernetes.sh (make install K8S=1)"
  done
  local stages="$BIN_DIR/kwok-stages-$KWOK_VERSION.yaml"
  [ -s "$stages" ] || die "kubernetes: $stages is missing; run sandbox/build/kubernetes.sh"
  _kube_pki
  mkdir -p "$KUBE_DIR/etcd" "$KUBE_DIR/controller-manager" "$KUBE_DIR/scheduler"
  chmod 0700 "$KUBE_DIR/etcd"

  _kube_port_free etcd "$ETCD_PORT"
  start_daemon etcd -- "$BIN_DIR/etcd" --name sandbox --data-dir "$KUBE_DIR/etcd" \
    --listen-client-urls "http://$SANDBOX_HOST:$ETCD_PORT" --advertise-client-urls "http://$SANDBOX_HOST:$ETCD_PORT" \
    --listen-peer-urls "http://$SANDBOX_HOST:$ETCD_PEER_PORT" --initial-advertise-peer-urls "http://$SANDBOX_HOST:$ETCD_PEER_PORT" \
    --initial-cluster "sandbox=http://$SANDBOX_HOST:$ETCD_PEER_PORT" --quota-backend-bytes 1073741824 \
    --log-level warn
  _kube_wait etcd 60 curl -fs --max-time 5 "http://$SANDBOX_HOST:$ETCD_PORT/health" -o /dev/null

  _kube_port_free kube-apiserver "$KUBE_APISERVER_PORT"
  start_daemon kube-apiserver -- "$BIN_DIR/kube-apiserver" \
    --bind-address="$SANDBOX_HOST" --advertise-address="$SANDBOX_HOST" --secure-port="$KUBE_APISERVER_PORT" \
    --etcd-servers="http://$SANDBOX_HOST:$ETCD_PORT" \
    --encryption-provider-config="$KUBE_DIR/encryption.yaml" \
    --tls-cert-file="$KUBE_PKI/apiserver.crt" --tls-private-key-file="$KUBE_PKI/apiserver.key" \
    --client-ca-file="$KUBE_PKI/ca.crt" \
    --kubelet-client-certificate="$KUBE_PKI/apiserver-kubelet-client.crt" \
    --kubelet-client-key="$KUBE_PKI/apiserver-kubelet-client.key" \
    --kubelet-certificate-authority="$KUBE_PKI/ca.crt" --kubelet-preferred-address-types=InternalIP \
    --service-account-issuer=https://kubernetes.default.svc.cluster.local \
    --service-account-key-file="$KUBE_PKI/sa.pub" --service-account-signing-key-file="$KUBE_PKI/sa.key" \
    --service-cluster-ip-range="$KUBE_SERVICE_CIDR" \
    --authorization-mode=Node,RBAC --enable-admission-plugins=NodeRestriction \
    --endpoint-reconciler-type=none --allow-privileged=false --profiling=false
  _kube_wait kube-apiserver 120 _kube_https_ok "https://$SANDBOX_HOST:$KUBE_APISERVER_PORT/readyz"

  _kube_port_free kube-controller-manager "$KUBE_CONTROLLER_MANAGER_PORT"
  start_daemon kube-controller-manager -- "$BIN_DIR/kube-controller-manager" \
    --kubeconfig="$KUBE_DIR/controller-manager.kubeconfig" \
    --authentication-kubeconfig="$KUBE_DIR/controller-manager.kubeconfig" \
    --authorization-kubeconfig="$KUBE_DIR/controller-manager.kubeconfig" \
    --bind-address="$SANDBOX_HOST" --secure-port="$KUBE_CONTROLLER_MANAGER_PORT" --cert-dir="$KUBE_DIR/controller-manager" \
    --leader-elect=false --use-service-account-credentials=true \
    --service-account-private-key-file="$KUBE_PKI/sa.key" --root-ca-file="$KUBE_PKI/ca.crt" \
    --cluster-signing-cert-file="$KUBE_PKI/ca.crt" --cluster-signing-key-file="$KUBE_PKI/ca.key" \
    --profiling=false
  _kube_port_free kube-scheduler "$KUBE_SCHEDULER_PORT"
  start_daemon kube-scheduler -- "$BIN_DIR/kube-scheduler" \
    --kubeconfig="$KUBE_DIR/scheduler.kubeconfig" \
    --authentication-kubeconfig="$KUBE_DIR/scheduler.kubeconfig" \
    --authorization-kubeconfig="$KUBE_DIR/scheduler.kubeconfig" \
    --bind-address="$SANDBOX_HOST" --secure-port="$KUBE_SCHEDULER_PORT" --cert-dir="$KUBE_DIR/scheduler" \
    --leader-elect=false --profiling=false
  _kube_port_free kwok "$KWOK_PORT"
  # Pod and node addresses are simulated: nothing listens on the pod CIDR. The nodes' kubelet
  # endpoint is kwok's own server on loopback. Node leases are renewed every 40 s / 4 (the flag is
  # needed: without a KwokConfiguration document kwok leaves leases off, and the node lifecycle
  # controller then marks the nodes NotReady after its grace period).
  start_daemon kwok -- "$BIN_DIR/kwok" --kubeconfig="$KUBE_DIR/kwok.kubeconfig" \
    --config="$stages" --config="$SANDBOX_DIR/kubernetes/kwok-stages.yaml" \
    --manage-all-nodes=false --manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake \
    --cidr="$KUBE_POD_CIDR" --node-ip="$SANDBOX_HOST" --node-port="$KWOK_PORT" \
    --server-address="$SANDBOX_HOST:$KWOK_PORT" --node-lease-duration-seconds=40 \
    --tls-cert-file="$KUBE_PKI/kwok-serving.crt" --tls-private-key-file="$KUBE_PKI/kwok-serving.key"
  _kube_wait kube-controller-manager 60 curl -fsk --max-time 5 "https://$SANDBOX_HOST:$KUBE_CONTROLLER_MANAGER_PORT/healthz" -o /dev/null
  _kube_wait kube-scheduler 60 curl -fsk --max-time 5 "https://$SANDBOX_HOST:$KUBE_SCHEDULER_PORT/healthz" -o /dev/null
  _kube_wait kwok 60 _kube_https_ok "https://$SANDBOX_HOST:$KWOK_PORT/healthz"

  _kubernetes_workload
}

# The nodes and the demo workload, applied with kubernetes.core.k8s by the sandbox's playbook
# against inventories/local-kubernetes; idempotent, so a second `make sandbox-up` changes nothing.
_kubernetes_workload() {
  local playbook="$REPO_DIR/.venv/bin/ansible-playbook"
  [ -x "$playbook" ] || die "kubernetes: $playbook is missing; run 'make venv'"
  (cd "$REPO_DIR" && ANSIBLE_CONFIG="$REPO_DIR/ansible.cfg" OPSBOOK_SANDBOX_STATE="$STATE_DIR" ANSIBLE_NOCOLOR=1 \
    "$playbook" -i inventories/local-kubernetes sandbox/kubernetes/workload.yml) >>"$LOG_DIR/kubernetes.log" 2>&1 \
    || die "kubernetes: deploying the nodes and the demo workload (sandbox/kubernetes/workload.yml) failed" "$LOG_DIR/kubernetes.log"
}

kubectl_sandbox() { "$BIN_DIR/kubectl" --kubeconfig "$KUBE_ADMIN_KUBECONFIG" "$@"; }

_kubernetes_ready() {
  _kube_https_ok "https://$SANDBOX_HOST:$KUBE_APISERVER_PORT/readyz" || return 1
  curl -fsk --max-time 5 "https://$SANDBOX_HOST:$KUBE_CONTROLLER_MANAGER_PORT/healthz" -o /dev/null || return 1
  curl -fsk --max-time 5 "https://$SANDBOX_HOST:$KUBE_SCHEDULER_PORT/healthz" -o /dev/null || return 1
  _kube_https_ok "https://$SANDBOX_HOST:$KWOK_PORT/healthz" || return 1
  # There are simulated nodes, and every one reports Ready.
  local ready
  ready="$(kubectl_sandbox get nodes -l type=kwok \
    -o jsonpath='{range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}' 2>/dev/null)" || return 1
  [ -n "$ready" ] && ! grep -qv '^True$' <<<"$ready"
}

kubernetes_check() {
  if ! kubernetes_enabled; then
    printf '%-13s off   opt-in: make sandbox-up K8S=1 (OPSBOOK_SANDBOX_KUBERNETES=1)\n' kubernetes
    return 0
  fi
  report_status kubernetes "https://$SANDBOX_HOST:$KUBE_APISERVER_PORT (Kubernetes $KUBERNETES_VERSION, kwok nodes; kubeconfig $KUBE_ADMIN_KUBECONFIG)" \
    kube-apiserver _kubernetes_ready
}

kubernetes_down() {
  local d i
  for (( i=${#KUBE_DAEMONS[@]}-1; i>=0; i-- )); do
    d="${KUBE_DAEMONS[$i]}"
    stop_daemon "$d" 20
  done
  return 0
}
