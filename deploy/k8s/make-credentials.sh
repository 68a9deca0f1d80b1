#!/usr/bin/env bash
# Makes the security material of a Refit deployment in one folder, with OpenSSL (1.1.1 or newer)
# only: nothing is downloaded and nothing leaves the folder. Files that exist are kept, so running
# it again fills in only what is missing (a new service, a removed certificate to reissue).
#
#   deploy/k8s/make-credentials.sh <dir> [namespace]        (namespace: default refit)
#
# The layout is the local stack's (libs/platform/src/auth/local-credentials.ts), so `refit auth
# token --home <dir>` and `refit auth cert --home <dir>` issue people's credentials from it:
#
#   ca/ca.crt, ca/ca.key                                  the CA (keep ca.key off the cluster)
#   services/<service>/{ca.crt,tls.crt,tls.key,event.key} Secrets refit-<service>-tls, refit-<service>-event-key
#   event-keys/<service>.pub.pem                          Secret refit-event-public-keys
#   tokens/issuer.key, tokens/issuer.pub.pem              refit auth token / Secret refit-token-public-key
#   nats/nats.env                                         Secret refit-nats (REFIT_NATS_<USER>_PASSWORD=…)
#   ledger.key                                            Secret refit-ledger-key
#
# Each service certificate has subject CN=<service>, OU=refit-service, is valid for server and
# client auth, and names refit-<service>, refit-<service>.<namespace>.svc and
# refit-<service>.<namespace>.svc.cluster.local. deploy/k8s/render-secrets.sh turns the folder into
# Secrets.
set -euo pipefail

dir=${1:?usage: make-credentials.sh <dir> [namespace]}
ns=${2:-refit}
services=(trigger ingestion feature trainer evaluator registry deployer)
nats_users=("${services[@]}" external admin)
umask 077
mkdir -p "$dir"/ca "$dir"/services "$dir"/event-keys "$dir"/tokens "$dir"/nats

ec_key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1"; }
ed_pair() { openssl genpkey -algorithm ed25519 -out "$1" && openssl pkey -in "$1" -pubout -out "$2"; }

if [ ! -f "$dir/ca/ca.key" ]; then
  ec_key "$dir/ca/ca.key"
  openssl req -x509 -new -key "$dir/ca/ca.key" -sha256 -days 3650 -out "$dir/ca/ca.crt" -config <(cat <<'CNF'
[req]
prompt = no
distinguished_name = dn
x509_extensions = ext
[dn]
O = Refit
CN = Refit CA
[ext]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
CNF
)
fi

for s in "${services[@]}"; do
  sd="$dir/services/$s"
  mkdir -p "$sd"
  if [ ! -f "$sd/tls.key" ]; then
    ec_key "$sd/tls.key"
    openssl req -new -key "$sd/tls.key" -subj "/O=Refit/OU=refit-service/CN=$s" -out "$sd/tls.csr"
    openssl x509 -req -in "$sd/tls.csr" -CA "$dir/ca/ca.crt" -CAkey "$dir/ca/ca.key" -set_serial "0x$(openssl rand -hex 16)" \
      -days 825 -sha256 -out "$sd/tls.crt" -extensions ext -extfile <(cat <<CNF
[ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyAgreement
extendedKeyUsage = serverAuth, clientAuth
subjectAltName = DNS:refit-$s, DNS:refit-$s.$ns.svc, DNS:refit-$s.$ns.svc.cluster.local
authorityKeyIdentifier = keyid
subjectKeyIdentifier = hash
CNF
)
    rm "$sd/tls.csr"
    cp "$dir/ca/ca.crt" "$sd/ca.crt"
  fi
  [ -f "$sd/event.key" ] || ed_pair "$sd/event.key" "$dir/event-keys/$s.pub.pem"
done

[ -f "$dir/tokens/issuer.key" ] || ed_pair "$dir/tokens/issuer.key" "$dir/tokens/issuer.pub.pem"
[ -f "$dir/ledger.key" ] || openssl rand -out "$dir/ledger.key" 32

# nats-server reads each $REFIT_NATS_<USER>_PASSWORD as a config value: one starting with a digit
# could be taken for a number, so every password starts with a letter.
touch "$dir/nats/nats.env"
for u in "${nats_users[@]}"; do
  var="REFIT_NATS_$(echo "$u" | tr "[:lower:]" "[:upper:]")_PASSWORD"
  grep -q "^$var=" "$dir/nats/nats.env" || echo "$var=n$(openssl rand -hex 24)" >> "$dir/nats/nats.env"
done

echo "credentials for namespace $ns in $dir (keep ca/ca.key and tokens/issuer.key off the cluster)"
