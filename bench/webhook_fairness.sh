#!/usr/bin/env bash
# Webhook fairness under load: one tenant cannot slow another. A slow
# tenant registers --slow-endpoints endpoints (default 20, the most an
# organization may have) on a receiver that answers after --slow-delay
# seconds (default 9, longer than an attempt may take) and makes a change
# every --slow-every seconds (default 0.5: 40 deliveries a second, which all
# time out and are retried, so its backlog only grows). A normal tenant
# has one endpoint on a receiver that answers at once and makes a change
# every --normal-every seconds (default 0.2). After --seconds (default 60)
# of this, the normal tenant's deliveries still on their way get up to 20 s
# more; then the script prints the normal tenant's delivery latency (from
# just before its API call to the receiver getting the message: p50, p99,
# max) and what the slow tenant cost (its changes, the attempts its
# receiver saw).
#
#   bench/webhook_fairness.sh [--seconds 60] [--slow-endpoints 20] [--slow-delay 9]
#                             [--slow-every 0.5] [--normal-every 0.2]
#                             [--database sqlite|postgres] [--postgres URL]
#   KEYWARD_BIN=target/debug/keyward bench/webhook_fairness.sh --seconds 30
#
# Builds the release binary unless KEYWARD_BIN names one (any build of
# keyward, an older one too, to compare). The receivers are one Python
# process on 127.0.0.1; keyward runs with --webhook-allow-private to reach
# them, and on nothing but loopback. Stops by itself.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

seconds=60
slow_endpoints=20
slow_delay=9
slow_every=0.5
normal_every=0.2
engine=sqlite
postgres=${KEYWARD_TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}
while [ $# -gt 0 ]; do
  case $1 in
    --seconds) seconds=$2 ;;
    --slow-endpoints) slow_endpoints=$2 ;;
    --slow-delay) slow_delay=$2 ;;
    --slow-every) slow_every=$2 ;;
    --normal-every) normal_every=$2 ;;
    --database) engine=$2 ;;
    --postgres) postgres=$2 ;;
    -h | --help) usage; exit 0 ;;
    *) unknown_option "$1" ;;
  esac
  shift 2
done
need "" jq curl python3

if [ -n "${KEYWARD_BIN:-}" ]; then
  bin=$(realpath "$KEYWARD_BIN")
  work=$(mktemp -d)
else
  build_release
fi
server=""
receivers=""
pg_db=""
loads=()
cleanup() {
  for pid in "${loads[@]}"; do kill "$pid" 2>/dev/null || true; done
  [ -z "$server" ] || { kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; }
  [ -z "$receivers" ] || { kill "$receivers" 2>/dev/null || true; wait "$receivers" 2>/dev/null || true; }
  [ -z "$pg_db" ] || psql "$postgres" -qc "DROP DATABASE IF EXISTS $pg_db WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

case $engine in
  sqlite) db="sqlite://$work/keyward.db" ;;
  postgres)
    pg_db="keyward_webhook_fairness_$$"
    psql "$postgres" -qc "CREATE DATABASE $pg_db" >/dev/null
    db="${postgres%/*}/$pg_db"
    ;;
  *) echo "--database sqlite or postgres" >&2; exit 2 ;;
esac

# The receivers: /slow/N holds each request --slow-delay seconds; /normal
# answers at once and writes "latency_ms webhook-id" for each normal
# change (its account is named n-<milliseconds before the API call>).
# GET /stats tells how many requests /slow/* got.
cat >"$work/receivers.py" <<'PY'
import http.server, json, socketserver, sys, threading, time

port_file, latencies, delay = sys.argv[1], sys.argv[2], float(sys.argv[3])
lock = threading.Lock()
slow = {"requests": 0}
out = open(latencies, "a", buffering=1)


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self, body=b""):
        try:
            self.send_response(200)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except OSError:
            pass  # keyward gave up on the attempt

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        now_ms = time.time() * 1000
        if self.path.startswith("/slow/"):
            with lock:
                slow["requests"] += 1
            time.sleep(delay)
        else:
            name = json.loads(body).get("data", {}).get("name") or ""
            if name.startswith("n-"):
                out.write("%d %s\n" % (now_ms - int(name[2:]), self.headers.get("webhook-id", "")))
        self.answer()

    def do_GET(self):
        with lock:
            self.answer(json.dumps(slow).encode())


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    request_queue_size = 1024


server = Server(("127.0.0.1", 0), Handler)
with open(port_file + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
import os
os.rename(port_file + ".tmp", port_file)
server.serve_forever()
PY
python3 "$work/receivers.py" "$work/receiver.port" "$work/latencies.txt" "$slow_delay" &
receivers=$!
for _ in $(seq 500); do [ -s "$work/receiver.port" ] && break; sleep 0.01; done
[ -s "$work/receiver.port" ] || { echo "webhook_fairness: the receivers did not start" >&2; exit 1; }
hooks="http://127.0.0.1:$(cat "$work/receiver.port")"

cd "$work"
admin_key() {
  local org
  org=$("$bin" admin create-org --name "$1" --database "$db" 2>/dev/null | jq -r .id)
  "$bin" admin create-service-account --org "$org" --name "$1-admin" --role admin --with-key --database "$db" \
    2>/dev/null | jq -r .key.secret
}
slow_key=$(admin_key slow)
normal_key=$(admin_key normal)
KEYWARD_LOG=warn serve_keyward "$work/server.log" "$bin" serve --database "$db" --webhook-allow-private
server=$kw_pid
cd - >/dev/null
api="http://127.0.0.1:$kw_port/api"
post() { curl -sf -o /dev/null -H "Authorization: Bearer $1" -H 'Content-Type: application/json' -d "$3" "$api$2"; }
for i in $(seq "$slow_endpoints"); do
  post "$slow_key" /webhook/v1/webhook "{\"url\": \"$hooks/slow/$i\", \"events\": [\"account.*\"]}"
done
post "$normal_key" /webhook/v1/webhook "{\"url\": \"$hooks/normal\", \"events\": [\"account.*\"]}"
echo "webhook_fairness: $engine, $(basename "$bin") ($("$bin" --version 2>/dev/null || echo '?')):" \
  "$slow_endpoints slow endpoints (${slow_delay}s), a slow change every ${slow_every}s," \
  "a normal change every ${normal_every}s, for ${seconds}s" >&2

end=$(($(date +%s) + seconds))
(
  n=0
  while [ "$(date +%s)" -lt "$end" ]; do
    n=$((n + 1))
    post "$slow_key" /service-account/v1/service-account "{\"name\": \"s-$n\"}" && echo >>"$work/slow-changes" &
    sleep "$slow_every"
  done
  wait
) &
loads+=($!)
(
  while [ "$(date +%s)" -lt "$end" ]; do
    post "$normal_key" /service-account/v1/service-account "{\"name\": \"n-$(date +%s%3N)\"}" &&
      echo >>"$work/normal-changes" &
    sleep "$normal_every"
  done
  wait
) &
loads+=($!)
wait "${loads[@]}"
loads=()

# The normal tenant's messages still on their way get 20 s more.
made=$(wc -l <"$work/normal-changes" 2>/dev/null || echo 0)
for _ in $(seq 200); do
  [ "$(cut -d' ' -f2 "$work/latencies.txt" 2>/dev/null | sort -u | wc -l)" -ge "$made" ] && break
  sleep 0.1
done
slow_made=$(wc -l <"$work/slow-changes" 2>/dev/null || echo 0)
slow_attempts=$(curl -sf "$hooks/stats" | jq -r .requests)
sort -n -k1,1 "$work/latencies.txt" | awk '!seen[$2]++ {print $1}' | sort -n >"$work/sorted.txt"
got=$(wc -l <"$work/sorted.txt")
pct() { [ "$got" -gt 0 ] && sed -n "$(((got * $1 + 99) / 100))p" "$work/sorted.txt" || echo "-"; }
echo
echo "| engine | normal changes | delivered (within 20 s of the end) | p50 | p99 | max | slow changes | slow deliveries queued | attempts the slow receiver saw |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"
echo "| $engine | $made | $got | $(pct 50) ms | $(pct 99) ms | $(tail -n 1 "$work/sorted.txt" 2>/dev/null || echo -) ms |" \
  "$slow_made | $((slow_made * slow_endpoints)) | $slow_attempts |"
