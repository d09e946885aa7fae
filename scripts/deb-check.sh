#!/usr/bin/env bash
# The Debian package, end to end on this machine: build it from the release
# binary (`cargo build --release` first), look inside, check its unit with
# systemd-analyze, install it with dpkg, run the installed binary as
# keyward.service would, get 200 from /healthz, stop it with SIGTERM, purge
# the package and check that nothing is left.
#
# There is no systemd as PID 1 here (a container), so the unit is not
# started by systemctl: its ExecStart= runs under the unit's user, working
# directory, umask, state directory and capability and privilege settings,
# traced by strace; then every system call, socket family, memory mapping,
# written path and /proc file it used is checked against what the unit's
# SystemCallFilter=, RestrictAddressFamilies=, MemoryDenyWriteExecute=,
# ProtectSystem= and ProcSubset= would allow.
#
# Needs root. Purges an earlier run's package first, so it can run again.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf -- '-- %s\n' "$*"; }
fail() {
  printf 'deb-check: FAILED: %s\n' "$*" >&2
  exit 1
}

[ "$(id -u)" = 0 ] || fail "run as root: it installs and purges the package"
for tool in cargo-deb dpkg-deb systemd-analyze setpriv strace curl python3; do
  command -v "$tool" >/dev/null || fail "$tool is missing"
done
target=${CARGO_TARGET_DIR:-target}
[ -x "$target/release/keyward" ] || fail "no $target/release/keyward: run cargo build --release first"

unit_path=/usr/lib/systemd/system/keyward.service
work=$(mktemp -d)
server=
cleanup() {
  local status=$?
  if [ -n "$server" ] && kill -0 "$server" 2>/dev/null; then
    # keyward first: strace killed alone would let it run on untraced.
    pkill -KILL -P "$server" 2>/dev/null || true
    kill -KILL "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
  fi
  if [ "$status" != 0 ]; then
    [ -s "$work/server.log" ] && { echo "--- the server's log"; tail -n 40 "$work/server.log"; } >&2
    # Leave the machine as it was found, even after a failure (but for the
    # keyward user, which a purge keeps).
    dpkg --purge keyward >/dev/null 2>&1 || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

installed() { dpkg-query -W -f='${db:Status-Status}' keyward 2>/dev/null | grep -qv '^not-installed$'; }
# What this check installs it marks, so that it only ever purges its own:
# purging deletes /var/lib/keyward, a real installation's database and key.
marker=/var/lib/keyward/.installed-by-deb-check
if installed; then
  [ -e "$marker" ] || [ "${KEYWARD_DEB_CHECK_PURGE:-}" = 1 ] ||
    fail "keyward is installed here and not by this check: purging it would delete /var/lib/keyward; set KEYWARD_DEB_CHECK_PURGE=1 to allow it"
  step "purging the package an earlier run left"
  dpkg --purge keyward >/dev/null
fi
# A purge keeps the keyward user (as Debian keeps system users). One that an
# earlier run's install created goes, so that this run sees install make it.
user_marker=/var/lib/keyward-deb-check.user-created
if ! installed && [ -e "$user_marker" ] && getent passwd keyward >/dev/null; then
  step "removing the keyward user an earlier run's install created"
  userdel keyward
  ! getent group keyward >/dev/null || groupdel keyward
fi
rm -f "$user_marker"
user_before=$(getent passwd keyward >/dev/null && echo yes || echo no)

# --- build and look inside ---------------------------------------------------
# --fast: the same contents, lighter compression (xz at its usual level
# takes minutes on a 2-core machine).
step "cargo deb --no-build --fast"
rm -f "$target"/debian/keyward_*.deb
cargo deb --no-build --fast --quiet >/dev/null
debs=("$target"/debian/keyward_*.deb)
[ ${#debs[@]} = 1 ] && [ -f "${debs[0]}" ] || fail "expected one .deb in $target/debian, found: ${debs[*]}"
deb=${debs[0]}
echo "$deb ($(du -h "$deb" | cut -f1))"

dpkg-deb --info "$deb" >"$work/info"
grep -q '^ Package: keyward$' "$work/info" || fail "the package is not named keyward"
grep -q '^ Depends: .*systemd' "$work/info" || fail "the package does not depend on systemd (sysusers)"
[ "$(dpkg-deb --info "$deb" conffiles)" = /etc/keyward/keyward.toml ] ||
  fail "/etc/keyward/keyward.toml is not the one conffile"
dpkg-deb --contents "$deb" | awk '{ print $1, $6 }' >"$work/contents"
for entry in \
  "-rwxr-xr-x ./usr/bin/keyward" \
  "-rw-r----- ./etc/keyward/keyward.toml" \
  "-rw-r--r-- .$unit_path" \
  "-rw-r--r-- ./usr/lib/sysusers.d/keyward.conf" \
  "-rw-r--r-- ./usr/share/doc/keyward/README.md" \
  "-rw-r--r-- ./usr/share/doc/keyward/docs/deploy.md" \
  "-rw-r--r-- ./usr/share/doc/keyward/copyright"; do
  grep -qxF -- "$entry" "$work/contents" || fail "the package lacks $entry; it holds:$(printf '\n%s' "$(cat "$work/contents")")"
done

# --- install -----------------------------------------------------------------
step "dpkg -i"
dpkg -i "$deb" >/dev/null
installed || fail "dpkg -i did not install keyward"
touch "$marker"
getent passwd keyward >/dev/null || fail "no keyward user after install"
if [ "$user_before" = no ]; then
  touch "$user_marker"
else
  echo "the keyward user was there before the install (not made by this check); install kept it"
fi
[ "$(stat -c '%U:%G %a' /etc/keyward/keyward.toml)" = "root:keyward 640" ] ||
  fail "/etc/keyward/keyward.toml is $(stat -c '%U:%G %a' /etc/keyward/keyward.toml), not root:keyward 640"
[ -L /etc/systemd/system/multi-user.target.wants/keyward.service ] || fail "the unit is not enabled"
/usr/bin/keyward --help >/dev/null || fail "keyward --help"

step "systemd-analyze verify $unit_path"
systemd-analyze verify "$unit_path" >"$work/verify" 2>&1 || { cat "$work/verify"; fail "systemd-analyze verify"; }
# Warnings about our unit fail; those about the machine's other units do not.
if grep -i keyward "$work/verify"; then fail "systemd-analyze verify warns about the unit"; fi
# Exposure in tenths: the unit rates 1.2; a change that loosens it past 2.0
# fails.
systemd-analyze security --offline=true --threshold=20 --no-pager "$unit_path" >"$work/security" 2>&1 ||
  { cat "$work/security"; fail "systemd-analyze security rates the unit above 2.0"; }
tail -n 1 "$work/security"

# --- run the installed binary as the unit would -------------------------------
# The [Service] section's last value of KEY=.
unit() { awk -v key="$1" -F= '/^\[/ { s = ($0 == "[Service]") } s && $1 == key { sub(/^[^=]*=/, ""); v = $0 } END { print v }' "$unit_path"; }
unit_all() { awk -v key="$1" -F= '/^\[/ { s = ($0 == "[Service]") } s && $1 == key { sub(/^[^=]*=/, ""); print }' "$unit_path"; }

exec_start=$(unit ExecStart)
case "$exec_start" in
  /*) ;;
  *) fail "ExecStart= $exec_start: only a plain absolute command line is run here" ;;
esac
case "$exec_start" in *[\"\'\$%\\]*) fail "ExecStart= $exec_start: quotes, variables and specifiers are not parsed here" ;; esac
read -r -a command <<<"$exec_start"
user=$(unit User)
group=$(unit Group)
workdir=$(unit WorkingDirectory)
state=/var/lib/$(unit StateDirectory)
state_mode=$(unit StateDirectoryMode)
umask_value=$(unit UMask)
nofile=$(unit LimitNOFILE)
[ "$(unit NoNewPrivileges)" = yes ] || fail "the unit should set NoNewPrivileges=yes"
[ -z "$(unit CapabilityBoundingSet)" ] || fail "the unit should keep no capabilities"
for v in user group workdir state_mode umask_value nofile; do [ -n "${!v}" ] || fail "the unit sets no $v"; done

# As systemd does at start: the state directory, the user's.
[ -d "$state" ] || install -d -o "$user" -g "$group" -m "$state_mode" "$state"
[ "$(stat -c '%U:%G %a' "$state")" = "$user:$group ${state_mode#0}" ] ||
  fail "$state is $(stat -c '%U:%G %a' "$state"), not $user:$group ${state_mode#0}"

# A free port, so that a server already on the configured one does not
# answer for this one: the environment beats the file.
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
home=$(getent passwd "$user" | cut -d: -f6)
shell=$(getent passwd "$user" | cut -d: -f7)
# The hard limit can only be lowered here (no CAP_SYS_RESOURCE on some
# machines): then the run takes the highest it may.
hard=$(ulimit -Hn)
if [ "$hard" != unlimited ] && [ "$hard" -lt "$nofile" ]; then
  echo "note: LimitNOFILE=$nofile is above this shell's hard limit $hard; running with $hard"
  nofile=$hard
fi

step "running '$exec_start' as $user in $workdir on 127.0.0.1:$port"
chmod 755 "$work"
: >"$work/trace"
chown "$user" "$work/trace"
(
  cd "$workdir"
  umask "$umask_value"
  ulimit -n "$nofile"
  exec env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    HOME="$home" USER="$user" LOGNAME="$user" SHELL="$shell" STATE_DIRECTORY="$state" \
    KEYWARD_LISTEN="127.0.0.1:$port" \
    setpriv --reuid="$user" --regid="$group" --init-groups --no-new-privs \
    --bounding-set=-all --inh-caps=-all -- \
    strace -f -qq -o "$work/trace" -- "${command[@]}"
) 2>"$work/server.log" &
server=$!

code=
for _ in $(seq 150); do
  kill -0 "$server" 2>/dev/null || fail "the server exited before answering"
  code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$port/healthz" || true)
  [ "$code" = 200 ] && break
  sleep 0.2
done
[ "$code" = 200 ] || fail "/healthz answered '$code', not 200, within 30 s"
echo "/healthz: 200"
grep -q 'open this one-time link' "$work/server.log" || fail "no first-run setup link in the log"
for file in keyward.db secret.key; do
  [ "$(stat -c '%U %a' "$state/$file")" = "$user 600" ] ||
    fail "$state/$file is $(stat -c '%U %a' "$state/$file" 2>&1), not $user 600"
done

step "SIGTERM"
keyward_pid=$(pgrep -P "$server" -x keyward || true)
[ -n "$keyward_pid" ] || fail "no keyward process under strace"
kill -TERM "$keyward_pid"
status=0
wait "$server" || status=$?
server=
[ "$status" = 0 ] || fail "the server exited with $status after SIGTERM"
grep -q 'server: stopped$' "$work/server.log" || fail "the server did not log that it stopped"

# --- what the unit's filters would have refused --------------------------------
step "what keyward did against what the unit allows"
expand() {
  local name
  for name in "$@"; do
    case "$name" in
      @*) expand $(systemd-analyze syscall-filter --no-pager "$name" | awk 'NR > 1 && $1 !~ /^#/ { print $1 }') ;;
      *) echo "$name" ;;
    esac
  done
}
declare -A allowed=()
while read -r filter; do
  if [[ $filter == ~* ]]; then
    # shellcheck disable=SC2086
    for name in $(expand ${filter#\~}); do unset "allowed[$name]"; done
  else
    # shellcheck disable=SC2086
    for name in $(expand $filter); do allowed[$name]=1; done
  fi
done < <(unit_all SystemCallFilter)
[ ${#allowed[@]} -gt 100 ] || fail "could not read the unit's SystemCallFilter="
used=$(sed -nE 's/^[0-9]+ +([a-z0-9_]+)\(.*/\1/p' "$work/trace" | sort -u)
[ -n "$used" ] || fail "strace recorded no system call"
refused=()
for name in $used; do [ -n "${allowed[$name]:-}" ] || refused+=("$name"); done
[ ${#refused[@]} = 0 ] || fail "SystemCallFilter= refuses what keyward used: ${refused[*]}"
echo "$(wc -w <<<"$used") distinct system calls, all allowed"
families=$(unit RestrictAddressFamilies)
for family in $(grep -oE '^[0-9]+ +socket\(AF_[A-Z0-9]+' "$work/trace" | grep -oE 'AF_[A-Z0-9]+' | sort -u); do
  [[ " $families " == *" $family "* ]] || fail "RestrictAddressFamilies= refuses $family, which keyward used"
done
if [ "$(unit MemoryDenyWriteExecute)" = yes ] &&
  grep -E '^[0-9]+ +(mmap|mprotect|pkey_mprotect)\(' "$work/trace" |
  grep -E 'mprotect\(.*PROT_EXEC|mmap\(.*(PROT_WRITE\|PROT_EXEC|PROT_EXEC\|PROT_WRITE)'; then
  fail "MemoryDenyWriteExecute= refuses the mapping above"
fi

# ProtectSystem=strict leaves the state directory writable (PrivateTmp=
# gives a /tmp of its own); ProcSubset=pid hides /proc but the processes'.
[ "$(unit ProtectSystem)" = strict ] || fail "the unit should set ProtectSystem=strict"
writes=$(grep -E '^[0-9]+ +(openat\(.*O_(WRONLY|RDWR|CREAT)|mkdir(at)?\(|unlink(at)?\(|rename(at2?)?\(|link(at)?\()' "$work/trace" |
  grep -oE '"[^"]*"' | tr -d '"' | sort -u)
for path in $writes; do
  case "$path" in
    /*) ;;
    *) path=$workdir/$path ;;
  esac
  case "$path" in
    "$state" | "$state"/* | /tmp/* | /dev/null) ;;
    *) fail "ProtectSystem=strict refuses writing $path, which keyward wrote" ;;
  esac
done
if [ "$(unit ProcSubset)" = pid ]; then
  for path in $(grep -oE '"/proc/[^"]*"' "$work/trace" | tr -d '"' | sort -u); do
    [[ $path =~ ^/proc/(self|thread-self|[0-9]+)(/|$) ]] || fail "ProcSubset=pid hides $path, which keyward read"
  done
fi

step "keyward admin as the docs say"
runuser -u keyward -- /usr/bin/keyward --config /etc/keyward/keyward.toml migrate | grep -q '"migrated":true' ||
  fail "keyward migrate as the keyward user"

# --- upgrade and remove ------------------------------------------------------
step "dpkg -i again keeps an edited configuration and the data"
echo '# edited here' >>/etc/keyward/keyward.toml
dpkg -i "$deb" >/dev/null
grep -qx '# edited here' /etc/keyward/keyward.toml || fail "reinstalling lost an edit to /etc/keyward/keyward.toml"
[ -s "$state/keyward.db" ] && [ -s "$state/secret.key" ] || fail "reinstalling lost $state"

step "dpkg -r keeps the configuration, the data and the user"
dpkg -r keyward >/dev/null
[ ! -e /usr/bin/keyward ] || fail "dpkg -r left /usr/bin/keyward"
[ -f /etc/keyward/keyward.toml ] && [ -s "$state/keyward.db" ] && getent passwd keyward >/dev/null ||
  fail "dpkg -r removed what only a purge should"

step "dpkg --purge keyward"
dpkg --purge keyward >/dev/null
! installed || fail "keyward is still installed"
for path in /usr/bin/keyward "$unit_path" /etc/systemd/system/keyward.service \
  /etc/systemd/system/multi-user.target.wants/keyward.service /usr/lib/sysusers.d/keyward.conf \
  /usr/share/doc/keyward /etc/keyward /var/lib/keyward; do
  [ ! -e "$path" ] && [ ! -L "$path" ] || fail "$path is left after purge"
done
left=$(find /var/lib/systemd/deb-systemd-helper-enabled /var/lib/systemd/deb-systemd-helper-masked \
  -name 'keyward*' 2>/dev/null || true)
[ -z "$left" ] || fail "deb-systemd-helper's state is left after purge: $left"
# Debian keeps system users: their IDs are never handed to another account.
getent passwd keyward >/dev/null || fail "purge deleted the keyward user"
! dpkg-statoverride --list /etc/keyward/keyward.toml >/dev/null || fail "a stat override is left after purge"
echo "deb-check: the package builds, installs, serves as its unit would, and purges cleanly"
