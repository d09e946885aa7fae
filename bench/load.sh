#!/usr/bin/env bash
# HTTP load on one node: builds the release binary, starts it on a fresh
# SQLite file in a temporary folder on 127.0.0.1, makes a key, and drives
# GET /api/auth/v1/verify (the gateway check) and whoami with wrk.
#
#   bench/load.sh [SECONDS] [CONNECTIONS]      (defaults: 10 s, 32 connections)
#
# Traffic stays on loopback and stops by itself after SECONDS per run.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
secs=${1:-10}
conns=${2:-32}

need "apt-get install wrk" wrk
build_release
server=""
trap '[ -z "$server" ] || kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -rf "$work"' EXIT
cd "$work"

org=$("$bin" admin create-org --name load 2>/dev/null | jq -r .id)
key=$("$bin" admin create-service-account --org "$org" --name load --with-key 2>/dev/null | jq -r .key.secret)
KEYWARD_LOG=warn serve_keyward server.log "$bin" serve
server=$kw_pid port=$kw_port

echo "# keyward $(git -C "$OLDPWD" rev-parse --short HEAD 2>/dev/null || echo '?'), $(nproc) cores, ${secs}s, ${conns} connections, wrk -t2"
for path in /api/auth/v1/verify /api/service-account/v1/whoami; do
  echo "## GET $path (valid key)"
  wrk -t2 -c"$conns" -d"${secs}s" --latency -H "Authorization: Bearer $key" "http://127.0.0.1:$port$path"
done
echo "## GET /api/auth/v1/verify (unknown key: checksum valid, not stored)"
bad=$("$bin" admin create-service-account --org "$org" --name gone --with-key 2>/dev/null | jq -r .key.secret)
sqlite3 keyward.db "DELETE FROM api_keys WHERE secret_hash = (SELECT secret_hash FROM api_keys ORDER BY id DESC LIMIT 1)" 2>/dev/null || true
wrk -t2 -c"$conns" -d"${secs}s" --latency -H "Authorization: Bearer $bad" "http://127.0.0.1:$port/api/auth/v1/verify"
