#!/usr/bin/env bash
# The API contract, tried from outside: schemathesis (pinned) reads
# /api/openapi.json from the real binary and throws every phase at it
# (examples, coverage, fuzzing, stateful) with a real admin key, on SQLite
# and, when KEYWARD_TEST_DATABASE_URL names a PostgreSQL server, on
# PostgreSQL. Any answer the document does not describe fails the run.
#
#   scripts/contract.sh            # uses target/release/keyward (cargo build --release first)
#   KEYWARD_BIN=target/debug/keyward KEYWARD_CONTRACT_SECONDS=300 scripts/contract.sh
set -euo pipefail
cd "$(dirname "$0")/.."

version=4.32.5
bin=$(realpath "${KEYWARD_BIN:-target/release/keyward}")
seconds=${KEYWARD_CONTRACT_SECONDS:-120}
venv=target/schemathesis-$version
if [ ! -x "$venv/bin/schemathesis" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet "schemathesis==$version"
fi
schemathesis=$(realpath "$venv/bin/schemathesis")

. scripts/serve.sh

# Runs the whole contract against one database URL.
contract() {
  local database=$1 dir port org key pid status=0
  dir=$(mktemp -d)
  org=$(cd "$dir" && "$bin" admin create-org --name Contract --database "$database" 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
  key=$(cd "$dir" && "$bin" admin create-service-account --org "$org" --name contract --role admin --basic-auth --with-key \
    --database "$database" 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["key"]["secret"])')
  # Throttling would answer most of the fuzzer's bad credentials with 429
  # (documented, but it would hide the logic behind them).
  cd "$dir"
  serve_keyward "$dir/server.log" "$bin" serve --database "$database" --auth-failure-limit 1000000
  cd - >/dev/null
  pid=$kw_pid port=$kw_port
  echo "contract: $database, ${seconds}s"
  "$schemathesis" run "http://127.0.0.1:$port/api/openapi.json" -H "Authorization: $key" \
    --phases examples,coverage,fuzzing,stateful \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,negative_data_rejection,use_after_free \
    --max-time "$seconds" --no-color >"$dir/schemathesis.log" 2>&1 || status=$?
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  sed -n '/=== SUMMARY ===/,$p' "$dir/schemathesis.log"
  if [ "$status" -ne 0 ]; then
    sed -n '/=== FAILURES ===/,/=== SUMMARY ===/p' "$dir/schemathesis.log" | head -n 200
    echo "contract: failures on $database (full log: $dir/schemathesis.log)"
    return 1
  fi
  rm -rf "$dir"
}

contract "sqlite://$(mktemp -d)/contract.db"
if [ -n "${KEYWARD_TEST_DATABASE_URL:-}" ]; then
  db="keyward_contract_$$"
  server=${KEYWARD_TEST_DATABASE_URL%/*}
  psql "$KEYWARD_TEST_DATABASE_URL" -qc "CREATE DATABASE $db" >/dev/null
  trap 'psql "$KEYWARD_TEST_DATABASE_URL" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true' EXIT
  contract "$server/$db"
fi
