#!/usr/bin/env bash
# Prints the Secrets deploy/k8s mounts as manifests, from a make-credentials.sh folder plus the
# Postgres URL and S3 keys you already have. Nothing is sent anywhere (kubectl --dry-run=client) and
# nothing belongs in git; pipe it into kubectl:
#
#   REFIT_PG_URL='postgres://refit:…@db:5432/refit' REFIT_S3_ACCESS_KEY=… REFIT_S3_SECRET_KEY=… \
#     deploy/k8s/render-secrets.sh <dir> | kubectl apply -n refit -f -
#
# REFIT_PG_URL is the services' Postgres user. For the prod overlay, whose migrate Jobs connect as the
# owner of the schemas, set REFIT_PG_OWNER_URL too (the Secret refit-postgres-owner; README, "Deploying").
#
# --without-tls leaves out the refit-<service>-tls Secrets, for cert-manager to make
# (deploy/k8s/cert-manager).
set -euo pipefail

dir=${1:?usage: render-secrets.sh <dir> [--without-tls]}
with_tls=1
[ "${2:-}" = "--without-tls" ] && with_tls=0
: "${REFIT_PG_URL:?set REFIT_PG_URL: the services\' Postgres URL, with its password}"
: "${REFIT_S3_ACCESS_KEY:?set REFIT_S3_ACCESS_KEY: the object store access key}"
: "${REFIT_S3_SECRET_KEY:?set REFIT_S3_SECRET_KEY: the object store secret key}"
services=(trigger ingestion feature trainer evaluator registry deployer)

secret() {
  echo ---
  kubectl create secret generic "$@" --dry-run=client -o yaml
}

for s in "${services[@]}"; do
  sd="$dir/services/$s"
  if [ "$with_tls" = 1 ]; then
    secret "refit-$s-tls" --type=kubernetes.io/tls --from-file="ca.crt=$sd/ca.crt" --from-file="tls.crt=$sd/tls.crt" --from-file="tls.key=$sd/tls.key"
  fi
  secret "refit-$s-event-key" --from-file="event.key=$sd/event.key"
done
secret refit-event-public-keys --from-file="$dir/event-keys"
secret refit-token-public-key --from-file="token.pub.pem=$dir/tokens/issuer.pub.pem"
# The console's: the CA certificate alone (never its key), to verify the services with.
secret refit-console-ca --from-file="ca.crt=$dir/ca/ca.crt"
secret refit-ledger-key --from-file="ledger.key=$dir/ledger.key"
secret refit-nats --from-env-file="$dir/nats/nats.env"
# Values through file descriptors, not arguments: they never show in the process list.
secret refit-postgres --from-file=url=<(printf %s "$REFIT_PG_URL")
if [ -n "${REFIT_PG_OWNER_URL:-}" ]; then
  secret refit-postgres-owner --from-file=url=<(printf %s "$REFIT_PG_OWNER_URL")
fi
secret refit-s3 --from-file=access-key=<(printf %s "$REFIT_S3_ACCESS_KEY") --from-file=secret-key=<(printf %s "$REFIT_S3_SECRET_KEY")
