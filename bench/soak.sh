#!/usr/bin/env bash
# Soak: a long run of mixed traffic at about half the measured capacity, on
# SQLite and, when KEYWARD_TEST_DATABASE_URL names a PostgreSQL server, on
# PostgreSQL. Builds the release binary; per engine it seeds an organization,
# an admin key and a user, starts `keyward serve` on 127.0.0.1, measures the
# capacity of the mix with wrk at full speed, then runs the mix for SECONDS
# paced (per connection, in wrk's Lua `delay()`) at half that rate.
#
#   bench/soak.sh [SECONDS] [CONNECTIONS]      (defaults: 600 s, 16 connections)
#   KEYWARD_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres bench/soak.sh 600
#   SOAK_PIN=1 bench/soak.sh 600               (the server on CPU 0, wrk on CPU 1)
#   SOAK_BIN=/path/to/keyward bench/soak.sh    (that binary, not a fresh build:
#                                               to compare two builds)
#
# The mix, each request checked against the statuses expected for its kind
# (the server keeps its default throttling: 20 failures a minute per client
# address, so most bad keys and failed logins are answered 429, by design):
#   reads (80%)   GET an account, list accounts (limit=10, following cursors),
#                 whoami, verify with a valid key                 -> 200
#   writes (12%)  a cycle per connection: create an account (201), add a key
#                 (201), rotate it (201), delete the new key (204), delete the
#                 account (204, a soft delete: the rows stay, so the database
#                 grows steadily)
#   bad keys (7%) verify with a well-formed unknown key (deleted) and with a
#                 malformed one                                   -> 401 or 429
#   logins (1%)   a real user's email with a wrong password       -> 401 or 429
# The server's RSS (VmRSS), its open file descriptors, the requests it has
# served (from /metrics), its CPU time and the machine's load average are
# sampled every 5 s.
# Passes when no answer is unexpected and no request failed at the socket
# (while measuring capacity too), the server is still up at the end, the
# rate held at least 90% of the target,
# RSS at the end is less than 10% above the sample at warm-up (10% of the
# run), and the descriptors at the end are at most 4 above warm-up (pool
# connections may come and go). Prints a markdown table per engine; exits
# non-zero when a check fails.
#
# Traffic stays on loopback and stops by itself.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
secs=${1:-600}
conns=${2:-16}
capacity_secs=${SOAK_CAPACITY_SECONDS:-15}
sample_every=5

need "apt-get install wrk" wrk
root=$PWD
if [ -n "${SOAK_BIN:-}" ]; then
  bin=$(realpath "$SOAK_BIN")
else
  cargo build --release --quiet
  bin=$root/target/release/keyward
fi
pin_server=() pin_wrk=()
if [ -n "${SOAK_PIN:-}" ]; then
  need "apt-get install util-linux" taskset
  pin_server=(taskset -c 0) pin_wrk=(taskset -c 1)
fi
commit=$(git rev-parse --short HEAD 2>/dev/null || echo '?')
work=$(mktemp -d)
server=""
sampler=""
pg_db=""
cleanup() {
  [ -z "$sampler" ] || kill "$sampler" 2>/dev/null || true
  [ -z "$server" ] || { kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; }
  [ -z "$pg_db" ] || psql "$KEYWARD_TEST_DATABASE_URL" -qc "DROP DATABASE IF EXISTS $pg_db WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

# The wrk script. One connection per thread, so each thread's requests and
# answers alternate and every answer is judged by the kind of its request.
# Counts are plain numbers in globals (n_KIND, u_KIND, sample1..5): wrk 4.1's
# thread:get() crashes copying a table of several entries.
cat >"$work/mix.lua" <<'LUA'
local ffi = require("ffi")
ffi.cdef [[
  typedef struct { long tv_sec; long tv_nsec; } soak_timespec;
  int clock_gettime(int clock, soak_timespec *ts);
]]
local ts = ffi.new("soak_timespec")
local function now_ms()
  ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
  return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
end

local key = os.getenv("SOAK_KEY")
local bad_key = os.getenv("SOAK_BAD_KEY")
local account = os.getenv("SOAK_ACCOUNT")
local email = os.getenv("SOAK_EMAIL")
local tag = os.getenv("SOAK_TAG")
local rate = tonumber(os.getenv("SOAK_RATE") or "0") -- per connection, 0: full speed
local base = "/api/service-account/v1/service-account"

local expected = {
  get = { [200] = true }, list = { [200] = true }, whoami = { [200] = true }, verify = { [200] = true },
  create = { [201] = true }, add_key = { [201] = true }, rotate = { [201] = true },
  delete_key = { [204] = true }, delete_account = { [204] = true },
  unknown_key = { [401] = true, [429] = true }, malformed_key = { [401] = true, [429] = true },
  login = { [401] = true, [429] = true },
}

-- Setup (main state): give each thread its number, keep them for done().
local threads = {}
function setup(thread)
  thread:set("id", #threads + 1)
  table.insert(threads, thread)
end

-- Running (one state per thread).
local count_name, unexpected_name, samples = {}, {}, 0
local pending, cursor, step, serial = nil, nil, 1, 0
local account_id, key_id, next_at
local auth = { ["Authorization"] = "Bearer " .. (key or "") }
local auth_json = { ["Authorization"] = "Bearer " .. (key or ""), ["Content-Type"] = "application/json" }
local writes = { "create", "add_key", "rotate", "delete_key", "delete_account" }

function init(args)
  math.randomseed((id or 0) * 7919 + os.time())
  for kind in pairs(expected) do
    count_name[kind], unexpected_name[kind] = "n_" .. kind, "u_" .. kind
    _G[count_name[kind]], _G[unexpected_name[kind]] = 0, 0
  end
end

if rate > 0 then
  local interval = 1000 / rate
  function delay()
    local now = now_ms()
    next_at = (next_at or now) + interval
    if next_at < now - 1000 then next_at = now end -- after a stall, no burst of more than a second
    local d = next_at - now
    return d > 0 and math.floor(d) or 0
  end
end

local function write_request(kind)
  if kind == "create" then
    serial = serial + 1
    return wrk.format("POST", base, auth_json,
      string.format('{"name":"soak-%s-%d-%d","role":"viewer"}', tag, id, serial))
  elseif kind == "add_key" then
    return wrk.format("POST", base .. "/" .. account_id .. "/key", auth_json, '{"name":"soak"}')
  elseif kind == "rotate" then
    return wrk.format("POST", base .. "/" .. account_id .. "/key/" .. key_id .. "/rotate", auth_json, '{}')
  elseif kind == "delete_key" then
    return wrk.format("DELETE", base .. "/" .. account_id .. "/key/" .. key_id, auth)
  else
    return wrk.format("DELETE", base .. "/" .. account_id, auth)
  end
end

function request()
  local r = math.random(1000)
  if r <= 200 then
    pending = "get"
    return wrk.format("GET", base .. "/" .. account, auth)
  elseif r <= 350 then
    pending = "list"
    return wrk.format("GET", base .. "?limit=10" .. (cursor and ("&cursor=" .. cursor) or ""), auth)
  elseif r <= 550 then
    pending = "whoami"
    return wrk.format("GET", "/api/service-account/v1/whoami", auth)
  elseif r <= 800 then
    pending = "verify"
    return wrk.format("GET", "/api/auth/v1/verify", auth)
  elseif r <= 920 then
    pending = writes[step]
    return write_request(pending)
  elseif r <= 960 then
    pending = "unknown_key"
    return wrk.format("GET", "/api/auth/v1/verify", { ["Authorization"] = "Bearer " .. bad_key })
  elseif r <= 990 then
    pending = "malformed_key"
    return wrk.format("GET", "/api/auth/v1/verify", { ["Authorization"] = "Bearer kw_not-a-key" })
  else
    pending = "login"
    return wrk.format("POST", "/api/session/v1/login", { ["Content-Type"] = "application/json" },
      string.format('{"email":"%s","password":"not the password %d"}', email, math.random(1000000)))
  end
end

function response(status, headers, body)
  local kind = pending
  if not kind then return end
  local pending_write = expected[kind][201] or expected[kind][204]
  pending = nil
  _G[count_name[kind]] = _G[count_name[kind]] + 1
  if not expected[kind][status] then
    _G[unexpected_name[kind]] = _G[unexpected_name[kind]] + 1
    if samples < 5 then
      samples = samples + 1
      _G["sample" .. samples] = string.format("%s %d %s", kind, status, string.sub(body or "", 1, 200))
    end
    if pending_write then step = 1 end -- the write cycle starts again
    return
  end
  if kind == "list" then
    cursor = string.match(body, '"nextCursor":"([^"]+)"')
  elseif kind == "create" then
    account_id = string.match(body, '"id":"([^"]+)"')
    step = account_id and 2 or 1
  elseif kind == "add_key" or kind == "rotate" then
    key_id = string.match(body, '"keyId":"([^"]+)"')
    step = key_id and step + 1 or 5
  elseif kind == "delete_key" then
    step = 5
  elseif kind == "delete_account" then
    step = 1
  end
end

function done(summary, latency, requests)
  local kinds = {}
  for kind in pairs(expected) do table.insert(kinds, kind) end
  table.sort(kinds)
  local printed = 0
  for _, kind in ipairs(kinds) do
    local n, bad = 0, 0
    for _, t in ipairs(threads) do
      n = n + (t:get("n_" .. kind) or 0)
      bad = bad + (t:get("u_" .. kind) or 0)
    end
    io.write(string.format("soak: kind %s %d %d\n", kind, n, bad))
  end
  for _, t in ipairs(threads) do
    for i = 1, 5 do
      local s = t:get("sample" .. i)
      if s and printed < 10 then
        io.write("soak: sample " .. string.gsub(s, "\n", " ") .. "\n")
        printed = printed + 1
      end
    end
  end
  local e = summary.errors
  io.write(string.format("soak: total %d %.3f %d\n", summary.requests, summary.duration / 1e6,
    e.connect + e.read + e.write + e.timeout))
  io.write(string.format("soak: latency %.2f %.2f %.2f\n", latency:percentile(50) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000))
end
LUA

# One wrk run of the mix; $1: seconds, $2: requests per second per
# connection (0: full speed), $3: a tag for account names. Writes its output to $4.
mix() {
  SOAK_RATE=$2 SOAK_TAG=$3 "${pin_wrk[@]}" wrk -t"$conns" -c"$conns" -d"$1s" --timeout 10s -s "$work/mix.lua" \
    "http://127.0.0.1:$port" >"$4" 2>&1
}

failed=0

# Runs the soak against one database URL; $1: engine name, $2: URL.
soak() {
  local engine=$1 database=$2 dir org admin account user_email bad_json bad_id bad
  dir="$work/$engine"
  mkdir -p "$dir"
  cd "$dir"
  org=$("$bin" admin create-org --name soak --database "$database" 2>/dev/null | jq -r .id)
  admin=$("$bin" admin create-service-account --org "$org" --name soak-admin --role admin --basic-auth --with-key \
    --database "$database" 2>/dev/null)
  account=$(jq -r .id <<<"$admin")
  SOAK_KEY=$(jq -r .key.secret <<<"$admin")
  user_email=soak@example.com
  echo "correct horse battery staple" |
    "$bin" admin create-user --org "$org" --email "$user_email" --role viewer --password-stdin --database "$database" >/dev/null 2>&1
  KEYWARD_LOG=warn serve_keyward server.log "${pin_server[@]}" "$bin" serve --database "$database"
  server=$kw_pid port=$kw_port
  local api="http://127.0.0.1:$port/api/service-account/v1/service-account"
  local auth=(-H "Authorization: Bearer $SOAK_KEY" -H "Content-Type: application/json")
  # Forty accounts to page through (four pages of ten and more).
  for i in $(seq 40); do
    curl -sf "${auth[@]}" -d "{\"name\":\"listed-$i\"}" "$api" >/dev/null
  done
  # A well-formed key that no longer exists: made, then deleted.
  bad_json=$(curl -sf "${auth[@]}" -d '{}' "$api/$account/key")
  bad_id=$(jq -r .keyId <<<"$bad_json")
  bad=$(jq -r .secret <<<"$bad_json")
  curl -sf -X DELETE "${auth[@]}" "$api/$account/key/$bad_id" >/dev/null
  export SOAK_KEY SOAK_BAD_KEY=$bad SOAK_ACCOUNT=$account SOAK_EMAIL=$user_email

  echo "soak: $engine: measuring capacity, ${capacity_secs}s at full speed" >&2
  mix "$capacity_secs" 0 cap capacity.out
  local capacity target
  capacity=$(awk '/^soak: total/ {printf "%d", $3 / $4}' capacity.out)
  [ -n "$capacity" ] && [ "$capacity" -gt 0 ] || { cat capacity.out >&2; echo "soak: no capacity measured" >&2; exit 1; }
  target=$((capacity / 2))
  echo "soak: $engine: capacity $capacity req/s; soaking ${secs}s at $target req/s" >&2

  (
    start=$(date +%s)
    while kill -0 "$server" 2>/dev/null; do
      rss=$(awk '/^VmRSS/ {print $2}' "/proc/$server/status" 2>/dev/null) || break
      fds=$(ls "/proc/$server/fd" 2>/dev/null | wc -l)
      served=$(curl -s --max-time 2 "http://127.0.0.1:$port/metrics" |
        awk '/^keyward_http_request_duration_seconds_count/ {s += $2} END {printf "%d", s}')
      cpu=$(awk '{print $14 + $15}' "/proc/$server/stat" 2>/dev/null) || break
      echo "$(($(date +%s) - start)) $rss $fds $served $(cut -d' ' -f1 /proc/loadavg) $cpu"
      sleep "$sample_every"
    done
  ) >samples.txt &
  sampler=$!
  mix "$secs" "$(awk -v t="$target" -v c="$conns" 'BEGIN {printf "%.3f", t / c}')" soak soak.out
  sleep 1
  kill "$sampler" 2>/dev/null || true
  wait "$sampler" 2>/dev/null || true
  sampler=""
  local alive=1
  kill -0 "$server" 2>/dev/null || alive=0
  kill "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  server=""
  local db_size
  case $database in
    sqlite://*) db_size=$({ cat "${database#sqlite://}" "${database#sqlite://}-wal" 2>/dev/null || true; } | wc -c) ;;
    *) db_size=$(psql "$database" -Atc "SELECT pg_database_size(current_database())") ;;
  esac

  # The samples from warm-up (10% of the run) to the last one taken while
  # wrk's connections were still open.
  local warm=$((secs / 10)) last=$((secs - 2)) requests duration errors unexpected p50 p99 lmax
  awk -v w="$warm" -v l="$last" '$1 >= w && $1 <= l' samples.txt >steady.txt
  read -r rss_warm fds_warm < <(head -n 1 steady.txt | awk '{print $2, $3}')
  read -r rss_end fds_end < <(tail -n 1 steady.txt | awk '{print $2, $3}')
  read -r rss_max fds_max < <(awk '{if ($2 > r) r = $2; if ($3 > f) f = $3} END {print r, f}' steady.txt)
  read -r requests duration errors < <(awk '/^soak: total/ {print $3, $4, $5}' soak.out)
  read -r p50 p99 lmax < <(awk '/^soak: latency/ {print $3, $4, $5}' soak.out)
  unexpected=$(awk '/^soak: kind/ {s += $5} END {print s + 0}' soak.out)
  read -r cap_unexpected cap_errors < <(awk '/^soak: kind/ {s += $5} /^soak: total/ {e = $5} END {print s + 0, e + 0}' capacity.out)
  local rate growth growth_max
  rate=$(awk -v n="$requests" -v d="$duration" 'BEGIN {printf "%d", n / d}')
  growth=$(awk -v a="$rss_warm" -v b="$rss_end" 'BEGIN {printf "%+.1f", (b - a) * 100 / a}')
  growth_max=$(awk -v a="$rss_warm" -v b="$rss_max" 'BEGIN {printf "%+.1f", (b - a) * 100 / a}')

  echo
  echo "### $engine ($commit, $(nproc) cores, ${secs}s, wrk -t$conns -c$conns)"
  echo
  echo "| | |"
  echo "| --- | --- |"
  echo "| capacity of the mix (${capacity_secs}s at full speed) | $capacity req/s ($cap_unexpected unexpected statuses, $cap_errors socket errors) |"
  echo "| soak rate | $rate req/s ($(awk -v r="$rate" -v c="$capacity" 'BEGIN {printf "%d", r * 100 / c}')% of capacity), $requests requests in ${duration}s |"
  echo "| latency p50 / p99 / max | $p50 / $p99 / $lmax ms |"
  echo "| unexpected statuses | $unexpected |"
  echo "| socket errors and timeouts | $errors |"
  echo "| RSS at warm-up (${warm}s) / end / max | $((rss_warm / 1024)) / $((rss_end / 1024)) / $((rss_max / 1024)) MiB ($growth% at the end, $growth_max% at the max) |"
  echo "| open fds at warm-up / end / max | $fds_warm / $fds_end / $fds_max |"
  echo "| RSS each minute (MiB) | $(awk '$1 % 60 < 5 {printf "%s%d", sep, $2 / 1024; sep = " "}' samples.txt) |"
  echo "| requests served each minute, per second | $(awk '$1 % 60 < 5 {if (t != "") {printf "%s%d", sep, ($4 - n) / ($1 - t); sep = " "} t = $1; n = $4}' samples.txt) |"
  echo "| server CPU per request each minute (µs) | $(awk -v hz="$(getconf CLK_TCK)" '$1 % 60 < 5 {if (t != "") {printf "%s%d", sep, ($6 - c) * 1e6 / hz / ($4 - n); sep = " "} t = $1; n = $4; c = $6}' samples.txt) |"
  echo "| the machine's load average each minute | $(awk '$1 % 60 < 5 {printf "%s%s", sep, $5; sep = " "}' samples.txt) |"
  echo "| database size at the end | $((db_size / 1048576)) MiB |"
  echo
  echo "| kind | requests | unexpected |"
  echo "| --- | --- | --- |"
  awk '/^soak: kind/ {printf "| %s | %d | %d |\n", $3, $4, $5}' soak.out
  grep -h '^soak: sample' capacity.out soak.out || true

  local ok=1
  [ "$alive" -eq 1 ] || { echo "FAIL $engine: the server exited during the run"; ok=0; }
  [ "$rate" -ge $((target * 9 / 10)) ] ||
    { echo "FAIL $engine: the rate fell short of half the capacity ($rate of $target req/s): a busy machine or a slower server"; ok=0; }
  [ "$((unexpected + cap_unexpected))" -eq 0 ] ||
    { echo "FAIL $engine: $unexpected unexpected statuses ($cap_unexpected more while measuring capacity)"; ok=0; }
  [ "$((errors + cap_errors))" -eq 0 ] ||
    { echo "FAIL $engine: $errors socket errors or timeouts ($cap_errors more while measuring capacity)"; ok=0; }
  awk -v a="$rss_warm" -v b="$rss_end" 'BEGIN {exit !((b - a) * 100 / a < 10)}' ||
    { echo "FAIL $engine: RSS grew $growth% after warm-up"; ok=0; }
  [ "$fds_end" -le $((fds_warm + 4)) ] || { echo "FAIL $engine: open fds went from $fds_warm to $fds_end"; ok=0; }
  if [ "$ok" -eq 1 ]; then echo "PASS $engine"; else failed=1; tail -n 20 server.log; fi
  cd "$root"
}

soak sqlite "sqlite://$work/soak.db"
if [ -n "${KEYWARD_TEST_DATABASE_URL:-}" ]; then
  pg_db="keyward_soak_$$"
  psql "$KEYWARD_TEST_DATABASE_URL" -qc "CREATE DATABASE $pg_db" >/dev/null
  soak postgresql "${KEYWARD_TEST_DATABASE_URL%/*}/$pg_db"
fi
exit "$failed"
