# Starts keyward for a script; sourced by scripts/ and bench/.
#
#   serve_keyward LOG COMMAND...
#
# Runs COMMAND (a `keyward serve` command line, perhaps behind taskset) with
# `--listen 127.0.0.1:0` added, in the background, its output to LOG. The
# server binds a port of the system's choosing and logs the address it
# bound; this waits for that line and sets kw_pid and kw_port. No port is
# picked before the server starts, so none can be taken in between.
# KEYWARD_LOG keeps its level for everything else (info by default).
serve_keyward() {
  local log=$1 _
  shift
  KEYWARD_LOG="${KEYWARD_LOG:-info},keyward::server=info" "$@" --listen 127.0.0.1:0 >"$log" 2>&1 &
  kw_pid=$!
  kw_port=
  for _ in $(seq 6000); do
    kw_port=$(sed -n 's/.*keyward is serving listen=127\.0\.0\.1:\([0-9]*\).*/\1/p' "$log" | head -n 1)
    [ -n "$kw_port" ] && return 0
    kill -0 "$kw_pid" 2>/dev/null || break
    sleep 0.01
  done
  cat "$log" >&2
  echo "keyward did not start serving (see above)" >&2
  return 1
}
