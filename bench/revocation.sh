#!/usr/bin/env bash
# Revocation at scale: two nodes on one database of N keys (default
# 1,000,000), each node's cache warmed with --warm distinct keys (default
# 100,000), then --trials revocations made on node 1, alternating: a key
# disabled, a key deleted, an account disabled. For each: node 1 must refuse
# the key at its very next request, node 2 within one second; twenty keys
# that were not touched must keep working on both, and node 2 must have
# looked up in storage only the key the change touched (its
# keyward_credential_lookups_total), not the untouched ones again. Fails on
# the first broken promise; prints the delays.
#
#   bench/revocation.sh [--keys 1000000] [--warm 100000] [--trials 30]
#                       [--database sqlite|postgres] [--postgres URL]
#
# Builds the release binaries (keyward, examples/seed); the seeded secrets
# live in a temporary folder removed at the end. Loopback only.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

keys=1000000
warm=100000
trials=30
engine=sqlite
postgres=${KEYWARD_TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}
while [ $# -gt 0 ]; do
  case $1 in
    --keys) keys=$2 ;;
    --warm) warm=$2 ;;
    --trials) trials=$2 ;;
    --database) engine=$2 ;;
    --postgres) postgres=$2 ;;
    -h | --help) usage; exit 0 ;;
    *) unknown_option "$1" ;;
  esac
  shift 2
done
need "" wrk jq curl

cargo build --release --quiet --bin keyward --example seed
work=$(mktemp -d)
cp target/release/keyward target/release/examples/seed "$work/"
nodes=()
pg_db=""
cleanup() {
  for pid in "${nodes[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  [ -z "$pg_db" ] || psql "$postgres" -qc "DROP DATABASE IF EXISTS $pg_db WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

case $engine in
  sqlite) db="sqlite://$work/keyward.db" ;;
  postgres)
    pg_db="keyward_revocation_$$"
    psql "$postgres" -qc "CREATE DATABASE $pg_db" >/dev/null
    db="${postgres%/*}/$pg_db"
    ;;
  *) echo "--database sqlite or postgres" >&2; exit 2 ;;
esac

echo "revocation: seeding $keys keys ($engine)" >&2
mkdir -p "$work/out"
"$work/seed" --database "$db" --data-dir "$work" --accounts "$keys" --out "$work/out" --unknown 0 >"$work/seeded.json"
jq -c . "$work/seeded.json" >&2
admin=$(jq -r .secret "$work/out/admin.json")

ports=()
cd "$work"
for n in 1 2; do
  # Failures are expected by the thousand here; throttling would turn them into 429s.
  serve_keyward "$work/node-$n.log" ./keyward serve --database "$db" --auth-failure-limit 100000000
  nodes+=("$kw_pid")
  ports+=("$kw_port")
done
cd - >/dev/null
url() { echo "http://127.0.0.1:${ports[$1]}$2"; }
code() { curl -s -o /dev/null -w '%{http_code}' -H "Authorization: $2" "$(url "$1" /api/auth/v1/verify)"; }
lookups() {
  curl -s "$(url "$1" /metrics)" | awk '/^keyward_credential_lookups_total\{/ {s += $2} END {printf "%d", s}'
}

# Warm both caches with the first --warm keys, each used once.
head -n "$warm" "$work/out/keys.tsv" | awk -F'\t' '{print "/api/auth/v1/verify\t" $3}' >"$work/warm.tsv"
cat >"$work/warm.lua" <<'LUA'
local reqs, n, i = {}, 0, 0
function init(args)
  for line in io.lines(os.getenv("WARM")) do
    local path, a = line:match("^([^\t]*)\t(.*)$")
    n = n + 1
    reqs[n] = wrk.format("GET", path, { ["Authorization"] = a })
  end
end
function request()
  i = i % n + 1
  return reqs[i]
end
LUA
for n in 0 1; do
  WARM="$work/warm.tsv" wrk -t1 -c16 -d"$((warm / 4000 + 5))s" -s "$work/warm.lua" "$(url "$n" /)" >/dev/null
done
echo "revocation: both nodes warmed with $warm keys; lookups so far: node 1 $(lookups 0), node 2 $(lookups 1)" >&2

# Untouched witnesses: twenty keys of the warm set whose accounts are never
# changed. Were a revocation to empty a node's cache, each would cost a lookup.
mapfile -t witnesses < <(sed -n '1,20p' "$work/out/keys.tsv" | cut -f3)
delays=()
for t in $(seq 1 "$trials"); do
  line=$(sed -n "$((warm / 2 + t * 7))p" "$work/out/keys.tsv")
  account=$(cut -f1 <<<"$line")
  key_id=$(cut -f2 <<<"$line")
  secret=$(cut -f3 <<<"$line")
  [ "$(code 0 "$secret")" = 200 ] && [ "$(code 1 "$secret")" = 200 ] || { echo "trial $t: the key did not work before" >&2; exit 1; }
  before=$(lookups 1)
  sa="/api/service-account/v1/service-account/$account"
  case $((t % 3)) in
    0) kind="key disabled"; req=(-X PATCH -H 'Content-Type: application/json' -d '{"disabled": true}' "$(url 0 "$sa/key/$key_id")") ;;
    1) kind="key deleted"; req=(-X DELETE "$(url 0 "$sa/key/$key_id")") ;;
    2) kind="account disabled"; req=(-X PATCH -H 'Content-Type: application/json' -d '{"disabled": true}' "$(url 0 "$sa")") ;;
  esac
  status=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: $admin" "${req[@]}")
  changed=$(date +%s%N)
  [[ $status == 2* ]] || { echo "trial $t: $kind answered $status" >&2; exit 1; }
  [ "$(code 0 "$secret")" = 401 ] || { echo "trial $t: node 1 still accepts a key after '$kind'" >&2; exit 1; }
  while [ "$(code 1 "$secret")" != 401 ]; do
    [ $(($(date +%s%N) - changed)) -lt 1000000000 ] || { echo "trial $t: node 2 accepted the key a second after '$kind'" >&2; exit 1; }
    sleep 0.005
  done
  delays+=($((($(date +%s%N) - changed) / 1000000)))
  for w in "${witnesses[@]}"; do
    [ "$(code 0 "$w")" = 200 ] && [ "$(code 1 "$w")" = 200 ] || { echo "trial $t: an untouched key was refused" >&2; exit 1; }
  done
  # The revoked key's one lookup (its refusal is then remembered); the
  # witnesses were answered from memory.
  extra=$(($(lookups 1) - before))
  [ "$extra" -le 1 ] || { echo "trial $t: node 2 looked up $extra keys after '$kind'" >&2; exit 1; }
done
sorted=$(printf '%s\n' "${delays[@]}" | sort -n)
echo "revocation: $trials revocations at $keys keys ($engine), $warm warm keys per node:" \
  "refused at once on the changing node; on the other after median $(sed -n "$(((trials + 1) / 2))p" <<<"$sorted") ms," \
  "max $(tail -n 1 <<<"$sorted") ms; untouched keys kept working and cost node 2 no lookup"
