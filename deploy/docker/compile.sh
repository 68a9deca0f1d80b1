#!/bin/sh
# Compiles the workspace libraries and services a runtime image holds (tsc, in dependency order:
# a library resolves its workspace imports through their compiled dist/*.d.ts) and lays each out
# under $1 as <project>/{package.json,dist}, without declarations and source maps, so that one
# COPY per project puts it in an image. Runs in the Dockerfile's build stage, from /app.
set -eu
out=$1
# Libraries first (each after the ones it imports), then the services.
projects="libs/contracts libs/ml libs/spec libs/modeling libs/platform libs/views
  services/trigger services/ingestion services/feature services/trainer services/evaluator
  services/registry services/deployer services/console"
for p in $projects; do
  npx tsc -p "$p/tsconfig.lib.json"
  if [ -d "$p/src/migrations" ]; then cp -r "$p/src/migrations" "$p/dist/"; fi
  mkdir -p "$out/$p"
  cp "$p/package.json" "$out/$p/"
  cp -r "$p/dist" "$out/$p/"
done
find "$out" \( -name '*.d.ts' -o -name '*.map' \) -delete
