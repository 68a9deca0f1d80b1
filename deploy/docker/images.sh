#!/bin/sh
# `npm run images [-- <extra build options>]`: builds the eight images, refit-<service>:<version>
# (the root package.json's version), one target each of deploy/docker/Dockerfile, with docker when
# its daemon answers, else podman. Extra options go to every build, e.g.
#   npm run images -- --build-arg TFJS_NODE=1
#   npm run images -- --build-arg BASE_IMAGE=localhost/refit-base:node20-bookworm
# REFIT_IMAGE_ENGINE=docker|podman picks the engine; REFIT_IMAGES (space separated) builds fewer.
set -eu
cd "$(dirname "$0")/../.."
version=$(node -p "require('./package.json').version")
services=${REFIT_IMAGES:-"trigger ingestion feature trainer evaluator registry deployer console"}
engine=${REFIT_IMAGE_ENGINE:-}
if [ -z "$engine" ]; then
  if command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then engine=docker
  elif command -v podman >/dev/null 2>&1; then engine=podman
  else echo "npm run images: neither a docker daemon nor podman is available" >&2; exit 1; fi
fi
# podman: keep HEALTHCHECK (the OCI format has none) and read the Dockerfile's own ignore file.
extra=""
if [ "$engine" = podman ]; then extra="--format docker --ignorefile deploy/docker/Dockerfile.dockerignore"; fi
# The source label names where the tree came from: the git remote, or the commit when there is none.
source=$(git remote get-url origin 2>/dev/null || git rev-parse HEAD 2>/dev/null || echo unknown)
for s in $services; do
  echo "== refit-$s:$version ($engine)"
  # shellcheck disable=SC2086
  "$engine" build $extra -f deploy/docker/Dockerfile --target "$s" --build-arg "VERSION=$version" --build-arg "SOURCE=$source" -t "refit-$s:$version" "$@" .
done
