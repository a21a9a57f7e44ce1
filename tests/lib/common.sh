# Shared helpers of the shell tests: a scratch directory, daemons on free loopback ports, and
# assertions that print what they expected. Source it; EVERCERT_BUILD names the build directory.
set -euo pipefail
# Everything these tests reach is on loopback: never through a proxy from the environment.
export no_proxy="*" NO_PROXY="*"

BUILD=${EVERCERT_BUILD:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/build}
SRC=${EVERCERT_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
EVERCERTD="$BUILD/evercertd"
EVERCERT="$BUILD/evercert"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/evercert-test.XXXXXX")
PIDS=()
FAILED=0

cleanup() {
  # Daemons a test restarted by other means (a helper script) are found by their lock files.
  local lock
  for lock in "$WORK"/*/evercertd.lock; do
    local p
    p=$(cat "$lock" 2>/dev/null) || continue
    grep -qa evercertd "/proc/$p/cmdline" 2>/dev/null && PIDS+=("$p")
  done
  for p in "${PIDS[@]:-}"; do
    [ -n "$p" ] && kill "$p" 2>/dev/null || true
  done
  for p in "${PIDS[@]:-}"; do
    [ -n "$p" ] && wait "$p" 2>/dev/null || true
  done
  # A sanitizer report in any daemon's log fails the test, even when the daemon behaved.
  local reports='ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|WARNING: ThreadSanitizer'
  if grep -lE "$reports" "$WORK"/*.log 2>/dev/null; then
    grep -hE -A30 "$reports" "$WORK"/*.log | head -60 >&2
    FAILED=1
  fi
  if [ "$FAILED" -eq 0 ] && [ -z "${KEEP_WORK:-}" ]; then rm -rf "$WORK"; else echo "work dir kept: $WORK"; fi
  [ "$FAILED" -eq 0 ] || exit 1
}
trap cleanup EXIT

fail() { FAILED=1; echo "FAIL: $*" >&2; exit 1; }
pass() { echo "ok - $*"; }

# A free TCP port on 127.0.0.1.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# start_daemon NAME CONFIG_TEXT: writes the configuration, starts evercertd in the foreground
# (log in $WORK/NAME.log), waits until it answers; sets STATE_<NAME>.
start_daemon() {
  local name=$1 config=$2
  local state="$WORK/$name"
  mkdir -p "$state"
  printf '%s\n' "$config" >"$WORK/$name.conf"
  "$EVERCERTD" --config "$WORK/$name.conf" --state-dir "$state" --foreground >"$WORK/$name.log" 2>&1 &
  PIDS+=($!)
  eval "PID_$name=$!"
  for _ in $(seq 1 300); do
    if "$EVERCERT" --state-dir "$state" ping >/dev/null 2>&1; then return 0; fi
    if ! kill -0 "$!" 2>/dev/null; then cat "$WORK/$name.log" >&2; fail "evercertd $name exited at start"; fi
    sleep 0.1
  done
  cat "$WORK/$name.log" >&2
  fail "evercertd $name did not start"
}

stop_daemon() {
  local name=$1 pid
  pid=$(eval echo "\$PID_$name")
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

cli() { local name=$1; shift; "$EVERCERT" --state-dir "$WORK/$name" "$@"; }

assert_contains() {
  local haystack=$1 needle=$2 what=${3:-output}
  case "$haystack" in *"$needle"*) ;; *) printf '%s\n' "$haystack" >&2; fail "$what lacks '$needle'";; esac
}

assert_eq() { [ "$1" = "$2" ] || fail "${3:-value}: expected '$2', got '$1'"; }

# Runs the rest of the calling script inside a private network namespace whose only
# interface is loopback (peers that bind every interface stay private). No-op when already
# inside one or when namespaces are unavailable (then loopback is used as it is).
enter_private_network() {
  if [ -n "${EVERCERT_IN_NETNS:-}" ]; then ip link set lo up 2>/dev/null || true; return 0; fi
  if unshare --net true 2>/dev/null; then
    EVERCERT_IN_NETNS=1 exec unshare --net bash "$0" "$@"
  fi
  echo "note: network namespaces unavailable; using the host's loopback"
}

# one_time_password DAEMON SERVER [MINUTES]: prints a new one-time enrollment password of SERVER.
one_time_password() {
  cli "$1" server "$2" password generate "${3:-60}" | awk -F': ' '/One-time enrollment password/ {print $2}'
}
