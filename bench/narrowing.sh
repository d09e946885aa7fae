#!/usr/bin/env bash
# What narrowing costs on the hot path: server CPU per request of
# GET /api/auth/v1/verify with a plain key, beside the same with a key that
# carries scopes, allowed ranges and a rate limit (and a ?scope= to check),
# on one node, SQLite. The server is pinned to core 0 and wrk to core 1;
# CPU time is read from /proc before and after each run; rounds alternate
# and the median is reported.
#
#   bench/narrowing.sh [SECONDS] [ROUNDS]      (defaults: 5 s, 3 rounds)
#
# Traffic stays on loopback and stops by itself.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
secs=${1:-5}
rounds=${2:-3}

need "apt-get install wrk" wrk
build_release
server=""
trap '[ -z "$server" ] || kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -rf "$work"' EXIT
cd "$work"

org=$("$bin" admin create-org --name bench 2>/dev/null | jq -r .id)
plain=$("$bin" admin create-service-account --org "$org" --name plain --with-key 2>/dev/null | jq -r .key.secret)
narrow=$("$bin" admin create-service-account --org "$org" --name narrow --with-key \
  --scope read --scope write --scope billing:export --allowed-cidr 127.0.0.0/8 --allowed-cidr 10.0.0.0/8 \
  --rate-limit 1000000/1 2>/dev/null | jq -r .key.secret)
KEYWARD_LOG=warn serve_keyward server.log taskset -c 0 "$bin" serve
server=$kw_pid port=$kw_port

ticks_per_sec=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$server/stat"; }

# One run: prints "requests cpu_microseconds_per_request".
run() {
  local key=$1 path=$2 before after out requests
  before=$(cpu_ticks)
  out=$(taskset -c 1 wrk -t1 -c64 -d"${secs}s" -H "Authorization: Bearer $key" "http://127.0.0.1:$port$path")
  after=$(cpu_ticks)
  requests=$(echo "$out" | awk '/requests in/ {print $1}')
  non2xx=$(echo "$out" | awk '/Non-2xx/ {print $NF}')
  [ -z "$non2xx" ] || { echo "unexpected non-2xx answers: $non2xx" >&2; exit 1; }
  awk -v n="$requests" -v t="$((after - before))" -v hz="$ticks_per_sec" 'BEGIN { printf "%d %.2f\n", n, t * 1e6 / hz / n }'
}

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

plain_cpu=(); narrow_cpu=(); plain_rps=(); narrow_rps=()
for _ in $(seq "$rounds"); do
  read -r n c < <(run "$plain" /api/auth/v1/verify); plain_cpu+=("$c"); plain_rps+=("$((n / secs))")
  read -r n c < <(run "$narrow" "/api/auth/v1/verify?scope=read&scope=billing:export"); narrow_cpu+=("$c"); narrow_rps+=("$((n / secs))")
done
p=$(printf '%s\n' "${plain_cpu[@]}" | median)
q=$(printf '%s\n' "${narrow_cpu[@]}" | median)
echo "# keyward $(git -C "$OLDPWD" rev-parse --short HEAD 2>/dev/null || echo '?'), server on core 0, wrk -t1 -c64 on core 1, ${secs}s x ${rounds} rounds (median)"
echo "| verify with | req/s | server CPU µs per request |"
echo "| --- | --- | --- |"
echo "| a plain key | $(printf '%s\n' "${plain_rps[@]}" | median) | $p |"
echo "| a key with 3 scopes, 2 ranges and a rate limit, ?scope= twice | $(printf '%s\n' "${narrow_rps[@]}" | median) | $q |"
awk -v p="$p" -v q="$q" 'BEGIN { printf "narrowing costs %+.1f%% server CPU per request\n", (q - p) * 100 / p }'
