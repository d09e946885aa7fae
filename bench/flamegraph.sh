#!/usr/bin/env bash
# A flame graph of keyward under verify load: where the server's CPU goes
# per request, from stacks sampled with perf.
#
#   bench/flamegraph.sh [--bin PATH] [--seconds 10] [--out docs/img/verify-flame.svg] [--title TEXT]
#
# Without --bin, builds this tree's release binary (its profile keeps line
# tables, so that perf can walk the stacks with --call-graph dwarf); give
# --bin to profile another build, such as an earlier commit's. The
# server runs on a fresh SQLite database with one service account and one
# key, pinned to core 0; wrk -t1 -c64 on core 1 sends
# GET /api/auth/v1/verify with that key (the cached path, the steady state)
# while perf samples the server at 999 Hz. The SVG is drawn by inferno
# (cargo install inferno). Access log on at the default level, as shipped.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

bin=""
secs=10
out=docs/img/verify-flame.svg
title="keyward: GET /api/auth/v1/verify, valid key, cached"
while [ $# -gt 0 ]; do
  case $1 in
    --bin) bin=$2 ;;
    --seconds) secs=$2 ;;
    --out) out=$2 ;;
    --title) title=$2 ;;
    -h | --help) usage; exit 0 ;;
    *) unknown_option "$1" ;;
  esac
  shift 2
done
need "perf: linux-perf; inferno: cargo install inferno" perf wrk jq curl taskset inferno-collapse-perf inferno-flamegraph

if [ -z "$bin" ]; then
  echo "flamegraph: building the release binary" >&2
  cargo build --release --quiet --bin keyward
  bin=target/release/keyward
fi
work=$(mktemp -d)
server=""
cleanup() {
  [ -z "$server" ] || { kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; }
  rm -rf "$work"
}
trap cleanup EXIT

bin=$(realpath "$bin")
db="sqlite://$work/keyward.db"
# In the server's folder: the commands and the server share its secret.key.
org=$(cd "$work" && "$bin" admin create-org --name bench --database "$db" 2>/dev/null | jq -r .id)
secret=$(cd "$work" && "$bin" admin create-service-account --org "$org" --name caller --with-key --database "$db" 2>/dev/null |
  jq -r .key.secret)
cd "$work"
serve_keyward "$work/server.log" taskset -c 0 "$bin" serve --database "$db"
cd - >/dev/null
server=$kw_pid port=$kw_port
url="http://127.0.0.1:$port/api/auth/v1/verify"
[ "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: $secret" "$url")" = 200 ] || { echo "the key does not verify" >&2; exit 1; }

# Warm up, then sample the middle of a longer run.
taskset -c 1 wrk -t1 -c64 -d2s -H "Authorization: $secret" "$url" >/dev/null
taskset -c 1 wrk -t1 -c64 -d"$((secs + 4))s" -H "Authorization: $secret" "$url" >"$work/wrk.txt" &
load=$!
sleep 2
perf record -q -F 999 --call-graph dwarf,16384 -p "$server" -o "$work/perf.data" -- sleep "$secs" 2>/dev/null
wait "$load"
mkdir -p "$(dirname "$out")"
perf script -i "$work/perf.data" 2>/dev/null | inferno-collapse-perf >"$work/folded"
# Tokio's worker names differ by thread; one name lets equal stacks merge.
# Frames narrower than a pixel are left out: they make the file large and
# cannot be read anyway. The whole stacks are kept in target/flamegraph/.
mkdir -p target/flamegraph
folded=target/flamegraph/$(basename "${out%.svg}").folded
sed -E 's/^tokio-runtime-w[^;]*;/tokio-runtime-worker;/' "$work/folded" >"$folded"
inferno-flamegraph --title "$title" --width 1400 --minwidth 1 <"$folded" >"$out"
echo "flamegraph: $(grep Requests/sec "$work/wrk.txt" | awk '{print $2}') req/s during sampling; $out; stacks in $folded" >&2
