#!/usr/bin/env bash
# The typed clients under clients/, regenerated from the OpenAPI document that
# the real binary serves: the document goes to clients/openapi.json, the
# Python package to clients/python/keyward-client/ (openapi-python-client),
# the TypeScript types to clients/typescript/src/generated/ (openapi-typescript;
# openapi-fetch is the runtime). Generator versions are pinned here and in
# clients/typescript/package-lock.json. Nothing generated is edited by hand.
#
#   scripts/clients.sh            # builds target/debug/keyward, regenerates
#   scripts/clients.sh --check    # also fails when clients/ differs from what is committed
#   KEYWARD_BIN=target/release/keyward scripts/clients.sh --check
set -euo pipefail
cd "$(dirname "$0")/.."

check=false
case "${1:-}" in
  --check) check=true ;;
  "") ;;
  *) echo "usage: scripts/clients.sh [--check]" >&2; exit 2 ;;
esac

python_generator=0.29.1
target=${CARGO_TARGET_DIR:-target}
if [ -n "${KEYWARD_BIN:-}" ]; then
  bin=$(realpath "$KEYWARD_BIN")
else
  cargo build --quiet --bin keyward
  bin=$(realpath "$target/debug/keyward")
fi

# The generators: openapi-python-client (and the ruff it formats with) in a
# venv of its own; openapi-typescript from the lock file.
venv=$target/openapi-python-client-$python_generator
if [ ! -x "$venv/bin/openapi-python-client" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet "openapi-python-client==$python_generator"
fi
venv=$(realpath "$venv")
ts=clients/typescript
if [ ! -e "$ts/node_modules/.package-lock.json" ] || [ "$ts/package-lock.json" -nt "$ts/node_modules/.package-lock.json" ]; then
  (cd "$ts" && npm ci --no-audit --no-fund --loglevel=error)
fi

# The document, from a server on a fresh database.
dir=$(mktemp -d)
pid=
cleanup() {
  [ -n "$pid" ] && { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; }
  rm -rf "$dir"
}
trap cleanup EXIT
. scripts/serve.sh
cd "$dir"
serve_keyward "$dir/server.log" "$bin" serve --database "sqlite://$dir/clients.db"
cd - >/dev/null
pid=$kw_pid
curl -sf "http://127.0.0.1:$kw_port/api/openapi.json" >"$dir/served.json" || {
  cat "$dir/server.log" >&2
  echo "clients: the server did not serve /api/openapi.json" >&2
  exit 1
}
python3 -m json.tool --indent 2 --no-ensure-ascii "$dir/served.json" >clients/openapi.json

# Python: generated whole into a fresh folder, then put in place.
PATH="$venv/bin:$PATH" openapi-python-client generate --path clients/openapi.json --meta pdm \
  --config clients/python/generator.yaml --output-path "$dir/keyward-client" --fail-on-warning >"$dir/python.log" 2>&1 || {
  cat "$dir/python.log" >&2
  echo "clients: openapi-python-client failed" >&2
  exit 1
}
rm -rf clients/python/keyward-client "$dir/keyward-client/.ruff_cache"
cp -R "$dir/keyward-client" clients/python/keyward-client

# TypeScript: one module of types.
(cd "$ts" && node_modules/.bin/openapi-typescript ../openapi.json --output src/generated/schema.ts) >"$dir/typescript.log" 2>&1 || {
  cat "$dir/typescript.log" >&2
  echo "clients: openapi-typescript failed" >&2
  exit 1
}

if $check; then
  changed=$(git status --porcelain --untracked-files=all -- clients/)
  if [ -n "$changed" ]; then
    git --no-pager diff --stat -- clients/
    echo "$changed"
    echo "clients: clients/ differs from the committed clients; run scripts/clients.sh and commit the result" >&2
    exit 1
  fi
  echo "clients: clients/ matches the OpenAPI document"
fi
