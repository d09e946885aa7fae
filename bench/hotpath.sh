#!/usr/bin/env bash
# The hot path beside the floor. Builds the release binaries (keyward, and
# the examples `floor`, a bare axum route built from this workspace, and
# `seed`), then for each engine and key count: seeds a fresh database with
# that many service accounts of one key each, starts `keyward serve` pinned
# to core 0 (the floor runs pinned to core 0 too, idle while keyward is
# measured and the other way round) and drives it with wrk pinned to core 1,
# -c64, one request kind at a time:
#
#   healthz           GET /healthz
#   verify_raw        GET /api/auth/v1/verify, Authorization: <key>
#   verify_bearer     the same, Authorization: Bearer <key>
#   verify_basic      the same, Authorization: Basic base64(keyId:key)
#   verify_token      the same, Authorization: Bearer <access token> (minted
#                     ahead from the token endpoint for --tokens keys)
#   verify_wrong      a well-formed key that was never stored (401, then 429:
#                     one client address failing is throttled, as designed)
#   verify_malformed  a key with a typo: its checksum fails (401, then 429)
#   get_account       GET …/service-account/{id} of a seeded account (admin key)
#   list_first        GET …/service-account?limit=200 (admin key)
#   list_deep         the same from a cursor at the last full page of the seeded accounts
#   create            POST …/service-account then POST …/{id}/key, 64 clients
#                     each repeating the pair (wrk -t64 -c64)
#
# Every verify and get_account run spreads its requests over distinct keys or
# accounts (every seeded one, or --spread of them), each used once per pass in
# a shuffled order; the floor is driven with the verify_bearer requests. The
# node's credential cache is bounded (CACHE_CAPACITY in src/service/auth.rs):
# a spread larger than it measures mostly the storage lookup. Per run:
# requests/s, latency p50/p90/p99/max (wrk), keyward's CPU time per request
# from /proc/PID/stat (all threads, background work included; on SQLite that
# includes the database, on PostgreSQL the backends' CPU is read from /proc
# too and reported apart), the answers' statuses (from keyward's /metrics)
# and RSS. Per server: start-up time (exec to the first 200 on /healthz), RSS
# idle and peak, seeding time. Rounds run every kind in turn; the tables show
# the median round.
#
#   bench/hotpath.sh [--keys 1000,1000000] [--engines sqlite,postgres] [--seconds 5] [--rounds 3]
#                    [--spread N] [--tokens 1000] [--kinds K1,K2,…] [--out DIR]
#                    [--postgres postgres://postgres@127.0.0.1:5432/postgres]
#
# Results: DIR/results.jsonl (one JSON object per run and per server; default
# DIR: target/bench/hotpath-DATE), wrk's output under DIR/logs/, and markdown
# tables on stdout (`bench/hotpath.sh --table DIR/results.jsonl` prints them
# again). `bench/plot.py DIR/results.jsonl docs/img` draws them.
# PostgreSQL (the server named by --postgres or KEYWARD_TEST_DATABASE_URL)
# gets a fresh database per key count, dropped at the end. The secrets
# seeded live only in a temporary folder, removed at the end.
#
# Traffic stays on loopback and stops by itself.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
root=$PWD

# The tables from a results file: the median round of each kind, beside the
# floor of the same engine and key count.
tables() {
  jq -rs '
    def median: sort | .[((length - 1) / 2 | floor)];
    def med(f): [.[] | f | select(. != null)] | if length == 0 then null else median end;
    def fmt: if . == null then "–" elif . >= 100 then (round | tostring) else (. * 100 | round / 100 | tostring) end;
    [.[] | select(.record == "run" and .round > 0)] as $runs |
    ($runs | reduce (.[] | .kind) as $k ([]; if any(.[]; . == $k) then . else . + [$k] end)) as $order |
    "## Hot path beside the floor (\($runs[0].commit), server on core 0, wrk -c64 on core 1, " +
      "\($runs[0].seconds)s x \($runs | map(.round) | max) rounds, median)",
    "",
    (.[] | select(.record == "machine" and .when == "start") |
      "\(.cpu), \(.cores) cores, \(.mem_kb / 1048576 | round) GiB, \(.kernel), \(.wrk); load average \(.load) at the start", ""),
    "| engine | keys | request | distinct | req/s | p50 ms | p99 ms | server CPU µs/req | DB CPU µs/req | CPU × floor | req/s ÷ floor | statuses (last round; sockets: socket errors and timeouts) |",
    "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ($runs | group_by([.engine, .keys]) | .[] |
      ([.[] | select(.target == "floor")]) as $f |
      ($f | med(.cpu_us_per_req)) as $fc | ($f | med(.rps)) as $fr |
      (group_by([.target, .kind]) | sort_by(.[0].kind as $k | if .[0].target == "floor" then -1 else ($order | indices($k))[0] end) | .[] |
        (med(.cpu_us_per_req)) as $c | (med(.rps)) as $r |
        "| \(.[0].engine) | \(.[0].keys) | \(if .[0].target == "floor" then "**floor**" else .[0].kind end) | \(.[0].distinct // "–") | \($r | fmt)" +
        "\(if .[0].kind == "create" then " (\(med(.pairs_per_s) | fmt) pairs/s)" else "" end)" +
        " | \(med(.p50_ms) | fmt) | \(med(.p99_ms) | fmt) | \($c | fmt) | \(med(.db_cpu_us_per_req) | fmt)" +
        " | \(if $fc then ($c / $fc | fmt) else "–" end) | \(if $fr then ($r / $fr | fmt) else "–" end)" +
        " | \(max_by(.round) | .statuses + (if .socket_errors > 0 then " sockets=\(.socket_errors)" else "" end)) |")),
    "",
    "| engine | keys | seeding | seeding rate | start-up | RSS idle | RSS peak | database |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    (.[] | select(.record == "server") |
      "| \(.engine) | \(.keys) | \(.seed_seconds) s | \(.seed_per_second) keys/s | \(.startup_ms) ms" +
      " | \(.rss_idle_kb / 1024 | round) MiB | \(.rss_peak_kb / 1024 | round) MiB | \(.db_bytes / 1048576 | round) MiB |"),
    (.[] | select(.record == "machine" and .when == "end") | "", "load average \(.load) at the end")
  ' "$1"
}

keys_list=1000,1000000
engines=sqlite,postgres
secs=5
rounds=3
spread=0
tokens=1000
kinds=healthz,verify_raw,verify_bearer,verify_basic,verify_token,verify_wrong,verify_malformed,get_account,list_first,list_deep,create
out=""
postgres=${KEYWARD_TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}
while [ $# -gt 0 ]; do
  case $1 in
    --keys) keys_list=$2 ;;
    --engines) engines=$2 ;;
    --seconds) secs=$2 ;;
    --rounds) rounds=$2 ;;
    --spread) spread=$2 ;;
    --tokens) tokens=$2 ;;
    --kinds) kinds=$2 ;;
    --out) out=$2 ;;
    --postgres) postgres=$2 ;;
    --table) tables "$2"; exit 0 ;;
    -h | --help) usage; exit 0 ;;
    *) unknown_option "$1" ;;
  esac
  shift 2
done

need "apt-get install wrk jq curl util-linux openssl" wrk jq curl taskset openssl
[ "$(nproc)" -ge 2 ] || { echo "two cores are needed: one for the server, one for wrk" >&2; exit 1; }
case ",$engines," in *,postgres,*) command -v psql >/dev/null || { echo "psql is needed for --engines postgres" >&2; exit 1; } ;; esac

commit=$(git rev-parse --short HEAD 2>/dev/null || echo '?')
[ -z "$(git status --porcelain --untracked-files=no 2>/dev/null)" ] || commit="$commit+changes"
out=${out:-target/bench/hotpath-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$out/logs"
out=$(realpath "$out")
results=$out/results.jsonl
: >"$results"

machine() {
  jq -nc --arg cpu "$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)" --argjson cores "$(nproc)" \
    --argjson mem_kb "$(awk '/MemTotal/ {print $2}' /proc/meminfo)" --arg kernel "$(uname -sr)" \
    --arg wrk "$(wrk -v 2>&1 | head -n 1 | cut -d' ' -f1-2 || true)" --arg load "$(cut -d' ' -f1-3 /proc/loadavg)" \
    --arg when "$1" '{record: "machine", when: $when, cpu: $cpu, cores: $cores, mem_kb: $mem_kb, kernel: $kernel,
      wrk: $wrk, load: $load}' >>"$results"
}
machine start

echo "hotpath: building the release binaries" >&2
cargo build --release --quiet --bin keyward --example floor --example seed
work=$(mktemp -d)
# Copies, so that a rebuild in the tree during the run changes nothing here.
cp target/release/keyward target/release/examples/floor target/release/examples/seed "$work/"
bin=$work/keyward

server=""
floor=""
pg_db=""
cleanup() {
  [ -z "$server" ] || { kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; }
  [ -z "$floor" ] || { kill "$floor" 2>/dev/null || true; wait "$floor" 2>/dev/null || true; }
  [ -z "$pg_db" ] || psql "$postgres" -qc "DROP DATABASE IF EXISTS $pg_db WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

ticks_per_sec=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
status_kb() { awk -v f="$2:" '$1 == f {print $2}' "/proc/$1/status"; }
b64url() { base64 -w0 | tr '+/' '-_' | tr -d '='; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }

# The wrk script. Requests come from HOTPATH_REQUESTS, one per line:
# "PATH<TAB>AUTHORIZATION" (an empty one sends none), formatted once in
# init() (before wrk's clock starts) and sent in a shuffled order, each line
# once per pass. With HOTPATH_MODE=create, each thread (one connection)
# repeats: create an account, then a key for it, with the first line's
# Authorization. done() prints one line for the shell to read.
lua=$work/hotpath.lua
cat >"$lua" <<'LUA'
local mode = os.getenv("HOTPATH_MODE") or "read"
local threads = {}
function setup(thread)
  thread:set("id", #threads + 1)
  table.insert(threads, thread)
end

local reqs, n, i = {}, 0, 0
local auth
function init(args)
  math.randomseed((id or 1) * 7919 + os.time())
  local limit = tonumber(os.getenv("HOTPATH_SPREAD") or "0")
  local f = assert(io.open(os.getenv("HOTPATH_REQUESTS"), "r"))
  for line in f:lines() do
    local path, a = line:match("^([^\t]*)\t?(.*)$")
    auth = auth or a
    if mode ~= "create" then
      n = n + 1
      reqs[n] = wrk.format("GET", path, a ~= "" and { ["Authorization"] = a } or {})
      if limit > 0 and n >= limit then break end
    else
      break
    end
  end
  f:close()
  for j = n, 2, -1 do
    local k = math.random(j)
    reqs[j], reqs[k] = reqs[k], reqs[j]
  end
  i = n > 0 and math.random(n) - 1 or 0
  pairs_made, refused = 0, 0
end

if mode == "create" then
  local base = "/api/service-account/v1/service-account"
  local tag = os.getenv("HOTPATH_TAG") or "x"
  local serial, account = 0, nil
  function request()
    local h = { ["Authorization"] = auth, ["Content-Type"] = "application/json" }
    if account then
      return wrk.format("POST", base .. "/" .. account .. "/key", h, "{}")
    end
    serial = serial + 1
    return wrk.format("POST", base, h,
      string.format('{"name":"load-%s-%d-%d","enableBasicAuth":true}', tag, id, serial))
  end
  function response(status, headers, body)
    if account then
      account = nil
      if status == 201 then pairs_made = pairs_made + 1 else refused = refused + 1 end
    elseif status == 201 then
      account = string.match(body, '"id":"([^"]+)"')
    else
      refused = refused + 1
    end
  end
else
  function request()
    i = i + 1
    if i > n then i = 1 end
    return reqs[i]
  end
end

function done(summary, latency, requests)
  local made, bad = 0, 0
  for _, t in ipairs(threads) do
    made = made + (t:get("pairs_made") or 0)
    bad = bad + (t:get("refused") or 0)
  end
  local e = summary.errors
  io.write(string.format("hotpath: %d %.6f %.0f %.0f %.0f %.0f %d %d %d %d\n",
    summary.requests, summary.duration / 1e6, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, e.connect + e.read + e.write + e.timeout, e.status, made, bad))
end
LUA

# CPU ticks of the PostgreSQL backends serving the bench database, "pid ticks" per line.
db_ticks() {
  [ -n "$pg_db" ] || return 0
  local pid
  for pid in $(psql "$db_url" -Atc "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"); do
    [ -r "/proc/$pid/stat" ] && echo "$pid $(cpu_ticks "$pid" 2>/dev/null || echo 0)"
  done
  return 0
}

# Answers by status since the last call, from keyward's /metrics ("200=N 429=M").
metrics_file=$work/metrics.prev
http_counts() {
  curl -sf "http://127.0.0.1:$kw_port/metrics" |
    awk '/^(keyward_)?http_requests_total\{/ && !/route="\/metrics"/ {
      match($0, /status="[0-9]+"/); s = substr($0, RSTART + 8, RLENGTH - 9); n[s] += $NF
    } END { for (s in n) print s, n[s] }' | sort
}
statuses_since() {
  local now
  now=$(http_counts)
  join -a 1 -e 0 -o 0,1.2,2.2 <(echo "$now") <(cat "$metrics_file") |
    awk '$2 - $3 > 0 {printf "%s%s=%d", sep, $1, $2 - $3; sep = " "}'
  echo "$now" >"$metrics_file"
}

# One wrk run: $1 target (keyward or floor), $2 kind, $3 round. Appends a
# JSON line to the results.
run() {
  local target=$1 kind=$2 round=$3 pid port reqs mode=read threads=1 log
  if [ "$target" = floor ]; then pid=$floor; port=$floor_port; reqs=$reqdir/verify_bearer.tsv
  else pid=$server; port=$kw_port; reqs=$reqdir/$kind.tsv; fi
  [ "$kind" = create ] && { mode=create; threads=64; }
  [ "$target" = keyward ] && statuses_since >/dev/null
  log=$out/logs/$engine-$keys-$target-$kind-$round.txt
  local db_before before after db_after distinct
  distinct=$(wc -l <"$reqs")
  [ "$spread" -gt 0 ] && [ "$spread" -lt "$distinct" ] && distinct=$spread
  case $kind in healthz | create) distinct=null ;; esac
  db_before=$(db_ticks)
  before=$(cpu_ticks "$pid")
  HOTPATH_REQUESTS=$reqs HOTPATH_SPREAD=$spread HOTPATH_MODE=$mode HOTPATH_TAG="$round-$(date +%s%N)" \
    taskset -c 1 wrk -t"$threads" -c64 -d"${secs}s" --latency --timeout 10s -s "$lua" "http://127.0.0.1:$port" \
    >"$log" 2>&1 || { cat "$log" >&2; echo "hotpath: wrk failed" >&2; exit 1; }
  after=$(cpu_ticks "$pid")
  db_after=$(db_ticks)
  local rss statuses db_cpu line
  rss=$(status_kb "$pid" VmRSS)
  line=$(grep '^hotpath: ' "$log") || { cat "$log" >&2; exit 1; }
  read -r _ requests duration p50 p90 p99 max socket non2xx made bad <<<"$line"
  if [ "$target" = keyward ]; then statuses=$(statuses_since)
  else statuses=$(awk -v n="$requests" -v b="$non2xx" 'BEGIN {printf "2xx=%d%s", n - b, (b > 0 ? " other=" b : "")}'); fi
  db_cpu=$(join -a 1 -e 0 -o 0,1.2,2.2 <(echo "$db_after" | sort) <(echo "$db_before" | sort) |
    awk '{t += $2 - $3} END {print t + 0}')
  jq -nc --arg commit "$commit" --arg engine "$engine" --argjson keys "$keys" --argjson spread "$spread_used" \
    --argjson distinct "$distinct" --arg target "$target" --arg kind "$kind" --argjson round "$round" --argjson secs "$secs" \
    --argjson requests "$requests" --argjson duration "$duration" \
    --argjson p50 "$p50" --argjson p90 "$p90" --argjson p99 "$p99" --argjson max "$max" \
    --argjson ticks "$((after - before))" --argjson db_ticks "$db_cpu" --argjson hz "$ticks_per_sec" \
    --argjson socket "$socket" --argjson non2xx "$non2xx" --argjson made "$made" --argjson bad "$bad" \
    --arg statuses "$statuses" --argjson rss "${rss:-0}" --arg pg "$([ -n "$pg_db" ] && echo 1)" '
    {record: "run", commit: $commit, engine: $engine, keys: $keys, spread: $spread, distinct: $distinct, target: $target,
     kind: $kind, round: $round, seconds: $secs, requests: $requests, duration_s: $duration,
     rps: ($requests / $duration | round), p50_ms: ($p50 / 1000), p90_ms: ($p90 / 1000),
     p99_ms: ($p99 / 1000), max_ms: ($max / 1000),
     cpu_us_per_req: (if $requests > 0 then ($ticks * 1e6 / $hz / $requests * 100 | round) / 100 else null end),
     db_cpu_us_per_req: (if $pg == "1" and $target == "keyward" and $requests > 0
       then ($db_ticks * 1e6 / $hz / $requests * 100 | round) / 100 else null end),
     statuses: $statuses, socket_errors: $socket, non_2xx: $non2xx, rss_kb: $rss}
    + (if $kind == "create" then {pairs: $made, pairs_per_s: ($made / $duration | round), refused: $bad} else {} end)' \
    >>"$results"
  tail -n 1 "$results" | jq -r '"hotpath: \(.engine) \(.keys) \(.target) \(.kind) r\(.round): \(.rps) req/s, p50 \(.p50_ms) ms, p99 \(.p99_ms) ms, \(.cpu_us_per_req) µs CPU/req, \(.statuses)"' >&2
}

taskset -c 0 "$work/floor" --listen 127.0.0.1:0 2>"$out/logs/floor.log" &
floor=$!
floor_port=
for _ in $(seq 200); do
  floor_port=$(sed -n 's/^floor: listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$out/logs/floor.log")
  [ -n "$floor_port" ] && break
  sleep 0.05
done
[ -n "$floor_port" ] || { cat "$out/logs/floor.log" >&2; echo "hotpath: the floor did not start" >&2; exit 1; }

IFS=, read -r -a engine_list <<<"$engines"
IFS=, read -r -a keys_counts <<<"$keys_list"
IFS=, read -r -a kind_list <<<"$kinds"
for engine in "${engine_list[@]}"; do
  for keys in "${keys_counts[@]}"; do
    dir=$work/$engine-$keys
    mkdir -p "$dir"
    case $engine in
      sqlite) db_url="sqlite://$dir/keyward.db"; jobs=2 ;;
      postgres)
        pg_db="keyward_hotpath_$$_$keys"
        psql "$postgres" -qc "CREATE DATABASE $pg_db" >/dev/null
        db_url="${postgres%/*}/$pg_db"; jobs=4 ;;
      *) echo "unknown engine $engine" >&2; exit 2 ;;
    esac

    echo "hotpath: $engine, $keys keys: seeding" >&2
    "$work/seed" --database "$db_url" --data-dir "$dir" --accounts "$keys" --out "$dir/seed" --jobs "$jobs" \
      >"$dir/seed.json" 2>"$out/logs/$engine-$keys-seed.log"
    admin=$(jq -r .secret "$dir/seed/admin.json")

    started=$(now_ms)
    KEYWARD_LOG=warn serve_keyward "$out/logs/$engine-$keys-server.log" \
      taskset -c 0 "$bin" serve --database "$db_url" --data-dir "$dir"
    server=$kw_pid
    until [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$kw_port/healthz")" = 200 ]; do
      kill -0 "$server" 2>/dev/null || { tail "$out/logs/$engine-$keys-server.log" >&2; exit 1; }
      [ $(($(now_ms) - started)) -lt 300000 ] || { echo "hotpath: keyward did not start in 5 minutes" >&2; exit 1; }
      sleep 0.01
    done
    startup_ms=$(($(now_ms) - started))
    sleep 1
    rss_idle=$(status_kb "$server" VmRSS)
    api=http://127.0.0.1:$kw_port/api/service-account/v1/service-account
    verify=/api/auth/v1/verify

    # The requests of each kind.
    reqdir=$dir/requests
    mkdir -p "$reqdir"
    tsv=$dir/seed/keys.tsv
    printf '/healthz\t\n' >"$reqdir/healthz.tsv"
    awk -F'\t' -v p="$verify" '{print p "\t" $3}' "$tsv" >"$reqdir/verify_raw.tsv"
    awk -F'\t' -v p="$verify" '{print p "\tBearer " $3}' "$tsv" >"$reqdir/verify_bearer.tsv"
    awk -F'\t' -v p="$verify" '{print p "\tBasic " $4}' "$tsv" >"$reqdir/verify_basic.tsv"
    awk -v p="$verify" '{print p "\tBearer " $1}' "$dir/seed/unknown.txt" >"$reqdir/verify_wrong.tsv"
    awk -v p="$verify" '{s = $1; c = substr(s, length(s)); print p "\tBearer " substr(s, 1, length(s) - 1) (c == "A" ? "B" : "A")}' \
      "$dir/seed/unknown.txt" >"$reqdir/verify_malformed.tsv"
    awk -F'\t' -v p="/api/service-account/v1/service-account/" -v a="Bearer $admin" '{print p $1 "\t" a}' "$tsv" \
      >"$reqdir/get_account.tsv"
    printf '/api/service-account/v1/service-account?limit=200\tBearer %s\n' "$admin" >"$reqdir/list_first.tsv"
    printf 'x\tBearer %s\n' "$admin" >"$reqdir/create.tsv"
    spread_used=$keys
    [ "$spread" -gt 0 ] && [ "$spread" -lt "$keys" ] && spread_used=$spread

    # The deep page: the cursor format of the first page's nextCursor, at the
    # account after which the last full page of seeded accounts begins.
    first=$(curl -sf -H "Authorization: Bearer $admin" "$api?limit=200")
    cursor=$(jq -r '.nextCursor // empty' <<<"$first")
    if [ -n "$cursor" ] && [ "$keys" -gt 200 ]; then
      padded=$(printf '%s' "$cursor" | tr '_-' '/+')
      while [ $((${#padded} % 4)) -ne 0 ]; do padded="$padded="; done
      listing=$(printf '%s' "$padded" | base64 -d | cut -d: -f1)
      after=$(cut -f1 "$tsv" | sort | sed -n "$((keys - 200))p")
      deep=$(printf '%s:%s' "$listing" "$after" | b64url)
    else
      deep=""
    fi
    printf '/api/service-account/v1/service-account?limit=200%s\tBearer %s\n' "${deep:+&cursor=$deep}" "$admin" \
      >"$reqdir/list_deep.tsv"
    deep_items=$(curl -sf -H "Authorization: Bearer $admin" "$api?limit=200${deep:+&cursor=$deep}" | jq '.items | length')
    [ "$deep_items" -eq "$((keys < 200 ? keys + 1 : 200))" ] ||
      { echo "hotpath: the deep page has $deep_items accounts" >&2; exit 1; }

    # Access tokens for the first --tokens keys (client credentials over
    # Basic, one connection), and one JWT bearer grant: it opens the sealed
    # assertion key, so it proves the seeded rows are whole.
    head -n "$tokens" "$tsv" | awk -F'\t' -v u="http://127.0.0.1:$kw_port/api/auth/v1/oauth/token" \
      '{print (NR > 1 ? "next\n" : "") "url = \"" u "\"\nuser = \"" $2 ":" $3 "\"\ndata = \"grant_type=client_credentials\""}' >"$dir/tokens.curl"
    curl -s -K "$dir/tokens.curl" | jq -r '.access_token // empty' |
      awk -v p="$verify" '{print p "\tBearer " $1}' >"$reqdir/verify_token.tsv"
    want=$(head -n "$tokens" "$tsv" | wc -l)
    [ "$(wc -l <"$reqdir/verify_token.tsv")" -eq "$want" ] ||
      { echo "hotpath: minted $(wc -l <"$reqdir/verify_token.tsv") access tokens of $want" >&2; exit 1; }
    IFS=$'\t' read -r acct kid secret basic < <(tail -n 1 "$tsv")
    t=$(date +%s)
    h=$(printf '{"alg":"HS256","typ":"JWT","kid":"%s"}' "$kid" | b64url)
    c=$(printf '{"iss":"%s","sub":"%s","aud":"http://127.0.0.1:%s/api/auth/v1/oauth/token","exp":%d,"iat":%d,"jti":"%s"}' \
      "$acct" "$acct" "$kw_port" $((t + 300)) "$t" "$(date +%s%N)" | b64url)
    s=$(printf '%s.%s' "$h" "$c" | openssl dgst -sha256 -hmac "$secret" -binary | b64url)
    grant=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$kw_port/api/auth/v1/oauth/token" \
      -d "grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=$h.$c.$s")
    code() { curl -s -o /dev/null -w '%{http_code}' -H "Authorization: $1" "http://127.0.0.1:$kw_port$verify"; }
    checks="$(code "$secret") $(code "Bearer $(head -n 1 "$tsv" | cut -f3)") $(code "Basic $basic") $grant"
    checks="$checks $(code "$(head -n 1 "$reqdir/verify_token.tsv" | cut -f2)") $(code "Bearer $(head -n 1 "$dir/seed/unknown.txt")")"
    [ "$checks" = "200 200 200 200 200 401" ] ||
      { echo "hotpath: seeded keys answer $checks, not 200 200 200 200 200 401 (raw, Bearer, Basic, JWT grant, token, unknown)" >&2; exit 1; }

    http_counts >"$metrics_file"
    # The warm-up passes over the keys in play at least once (a cold lookup
    # runs at some 8,000 a second here), so that the rounds measure a node
    # that has seen its working set, as a node in service has.
    in_play=$(wc -l <"$reqdir/verify_raw.tsv")
    [ "$spread" -gt 0 ] && [ "$spread" -lt "$in_play" ] && in_play=$spread
    measured=$secs
    secs=$((measured + in_play / 8000))
    echo "hotpath: $engine, $keys keys: started in $startup_ms ms; warming up ${secs}s, then $rounds rounds of ${measured}s" >&2
    run keyward verify_raw 0
    secs=$measured
    for round in $(seq "$rounds"); do
      run floor floor "$round"
      for kind in "${kind_list[@]}"; do
        run keyward "$kind" "$round"
      done
    done

    rss_peak=$(status_kb "$server" VmHWM)
    kill "$server"
    wait "$server" 2>/dev/null || true
    server=""
    if [ -n "$pg_db" ]; then
      db_size=$(psql "$postgres" -Atc "SELECT pg_database_size('$pg_db')")
      psql "$postgres" -qc "DROP DATABASE IF EXISTS $pg_db WITH (FORCE)" >/dev/null
      pg_db=""
    else
      db_size=$(du -cb "$dir"/keyward.db* | tail -n 1 | cut -f1)
    fi
    jq -c --arg commit "$commit" --arg engine "$engine" --argjson keys "$keys" --argjson startup "$startup_ms" \
      --argjson idle "$rss_idle" --argjson peak "$rss_peak" --argjson size "$db_size" '
      {record: "server", commit: $commit, engine: $engine, keys: $keys, seed_seconds: .bulkSeconds,
       seed_per_second: .perSecond, startup_ms: $startup, rss_idle_kb: $idle, rss_peak_kb: $peak, db_bytes: $size}' \
      "$dir/seed.json" >>"$results"
    rm -rf "$dir"
  done
done

machine end
tables "$results"
echo "results: $results" >&2
