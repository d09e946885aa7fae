# What the benchmark scripts share; each sources it after `set -euo pipefail`.

# serve_keyward: a server on a port of its own choosing.
. scripts/serve.sh

# The script's own header comment, as its --help.
usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }

# Ends the script on an option it does not know.
unknown_option() { echo "unknown argument $1 (see --help)" >&2; exit 2; }

# Ends the script unless every named program is on PATH; HINT says where to get them.
need() {
  local hint=$1 tool
  shift
  for tool in "$@"; do
    command -v "$tool" >/dev/null || { echo "$tool is needed${hint:+ ($hint)}" >&2; exit 1; }
  done
}

# Builds the release binary and makes a scratch folder: sets bin and work.
build_release() {
  cargo build --release --quiet
  bin=$PWD/target/release/keyward
  work=$(mktemp -d)
}
