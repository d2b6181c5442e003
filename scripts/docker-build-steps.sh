#!/usr/bin/env bash
# Replays the Dockerfile's stages in a temporary folder, for machines without a Docker engine:
# build (npm ci --ignore-scripts, npm run build), prod-deps (npm ci --omit=dev, sqlite3 compiled
# from source), then the runtime layout (package.json + prod node_modules + dist) started once with
# an empty environment: it must load every module and stop with "Configuration problems", exit 1;
# the store migration tool must load there too.
# Usage: scripts/docker-build-steps.sh [--npm10]   (--npm10: use npm 10 as bundled with Node 20)
# Keep the steps in step with the Dockerfile.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
npm_cmd=(npm)
if [[ "${1:-}" == "--npm10" ]]; then
  npm_cmd=(npx --yes npm@10)
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
echo "replaying the Docker stages in $work with $("${npm_cmd[@]}" --version | tail -1 | sed 's/^/npm /')"

copy_manifests() {
  mkdir -p "$1"
  cp "$repo/package.json" "$repo/package-lock.json" "$repo/.npmrc" "$1/"
}

echo "== build =="
copy_manifests "$work/build"
(cd "$work/build" && "${npm_cmd[@]}" ci --ignore-scripts --no-audit --no-fund)
cp "$repo/tsconfig.json" "$repo/tsconfig.build.json" "$work/build/"
cp -R "$repo/src" "$repo/commands" "$work/build/"
(cd "$work/build" && npm run build)

echo "== prod-deps =="
copy_manifests "$work/prod-deps"
(cd "$work/prod-deps" \
  && npm_config_build_from_source=true "${npm_cmd[@]}" ci --omit=dev --no-audit --no-fund \
  && node -e "require('sqlite3')")

echo "== runtime =="
mkdir -p "$work/runtime"
cp "$repo/package.json" "$work/runtime/"
mv "$work/prod-deps/node_modules" "$work/runtime/"
mv "$work/build/dist" "$work/runtime/"
status=0
output="$(cd "$work/runtime" && env -i PATH="$PATH" NODE_ENV=production \
  node --enable-source-maps dist/src/main.js 2>&1)" || status=$?
echo "$output"
if [[ $status -eq 1 && "$output" == *"Configuration problems:"* ]]; then
  echo "runtime layout loads and stops on the missing configuration, as expected"
else
  echo "unexpected start-up (exit code $status)" >&2
  exit 1
fi
# The store migration tool ships in the image too (`docker run … node dist/src/migrate-store.js`).
(cd "$work/runtime" && env -i PATH="$PATH" NODE_ENV=production node dist/src/migrate-store.js --help >/dev/null)
echo "dist/src/migrate-store.js loads in the runtime layout"
