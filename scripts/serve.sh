# Starts keyward for a script; sourced by scripts/ and bench/.
#
#   serve_keyward LOG COMMAND...
#
# Runs COMMAND (a `keyward serve` command line, perhaps behind taskset) with
# `--listen 127.0.0.1:0` added, in the background, its output to LOG. The
# server binds a port of the system's choosing and logs the address it
# bound; this waits for that line and sets kw_pid and kw_port. No port is
# picked before the server starts, so none can be taken in between. A build
# older than that line logs port 0 there: its socket is then looked up by
# its pid (ss). On failure the server is stopped and LOG is shown.
# KEYWARD_LOG is kept, with the server's start-up lines added (default:
# the server's own, info,sqlx=warn).
serve_keyward() {
  local log=$1 line _
  shift
  : >"$log"
  KEYWARD_LOG="${KEYWARD_LOG:-info,sqlx=warn},keyward::server=info" "$@" --listen 127.0.0.1:0 >>"$log" 2>&1 &
  kw_pid=$!
  kw_port=
  for _ in $(seq 6000); do
    # Whole lines only: the next field follows the address.
    line=$(grep -m 1 'keyward is serving listen=127\.0\.0\.1:[0-9]* ' "$log" || true)
    kw_port=$(sed -n 's/.*listen=127\.0\.0\.1:\([0-9]*\) .*/\1/p' <<<"$line")
    if [ "$kw_port" = 0 ]; then
      kw_port=$(ss -Hltnp 2>/dev/null | awk -v pid="pid=$kw_pid," 'index($0, pid) { n = split($4, a, ":"); print a[n]; exit }')
    fi
    [ -n "$kw_port" ] && return 0
    kill -0 "$kw_pid" 2>/dev/null || break
    sleep 0.01
  done
  kill "$kw_pid" 2>/dev/null || true
  wait "$kw_pid" 2>/dev/null || true
  cat "$log" >&2
  echo "keyward did not start serving (see above)" >&2
  return 1
}
