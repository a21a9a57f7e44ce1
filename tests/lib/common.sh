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
# (log in $WORK/NAME.log), waits until it answers; sets PID_<NAME>.
start_daemon() {
  local name=$1 config=$2
  printf '%s\n' "$config" >"$WORK/$name.conf"
  : >"$WORK/$name.log"
  start_daemon_again "$name"
}

# start_daemon_again NAME: starts NAME once more on the configuration and state directory it had
# (its log goes on in $WORK/NAME.log), waits until it answers; sets PID_<NAME>.
start_daemon_again() {
  local name=$1 pid
  mkdir -p "$WORK/$name"
  "$EVERCERTD" --config "$WORK/$name.conf" --state-dir "$WORK/$name" --foreground >>"$WORK/$name.log" 2>&1 &
  pid=$!
  PIDS+=("$pid")
  printf -v "PID_$name" '%s' "$pid"
  for _ in $(seq 1 300); do
    if "$EVERCERT" --state-dir "$WORK/$name" ping >/dev/null 2>&1; then return 0; fi
    if ! kill -0 "$pid" 2>/dev/null; then cat "$WORK/$name.log" >&2; fail "evercertd $name exited at start"; fi
    sleep 0.1
  done
  cat "$WORK/$name.log" >&2
  fail "evercertd $name did not start"
}

# stop_daemon NAME: SIGTERM, and waits until the daemon is gone.
stop_daemon() {
  local name=$1 pid
  pid=$(eval echo "\$PID_$name")
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

# restart_daemon NAME: stops NAME and starts it again on the same configuration and state.
restart_daemon() { stop_daemon "$1"; start_daemon_again "$1"; }

# start_ca NAME CONFIG_TEXT: starts evercertd NAME listening on a free port of 127.0.0.1 with the
# clock and servers of CONFIG_TEXT; sets port to that port and fp to the fingerprint of the CA
# certificate of its first server (as a trustpoint's `fingerprint` line takes it).
start_ca() {
  local name=$1 config=$2 server
  port=$(free_port)
  start_daemon "$name" "ip http server $port
ip http bind 127.0.0.1
$config"
  server=$(awk '$1 == "crypto" && $2 == "pki" && $3 == "server" {print $4; exit}' <<<"$config")
  [ -n "$server" ] || fail "start_ca $name: no crypto pki server in its configuration"
  fp=$(ca_fingerprint "$name" "$server") || fail "start_ca $name: no CA certificate of $server"
}

# cert_fingerprint FILE: the SHA-256 fingerprint of the (first) PEM certificate in FILE, as
# colon-separated hex.
cert_fingerprint() { openssl x509 -in "$1" -noout -fingerprint -sha256 | cut -d= -f2; }

# ca_fingerprint DAEMON SERVER: that of the CA certificate of certificate server SERVER of DAEMON.
ca_fingerprint() { cert_fingerprint "$WORK/$1/$2/$2.pem"; }

# wait_until SECONDS CMD...: runs CMD (its output discarded) every 0.1 s until it succeeds;
# returns 1 if it still fails after SECONDS (counted as tries, so a busy machine gets more time).
wait_until() {
  local tries=$(($1 * 10))
  shift
  while ! "$@" >/dev/null 2>&1; do
    tries=$((tries - 1))
    [ "$tries" -gt 0 ] || return 1
    sleep 0.1
  done
}

# wait_for SECONDS CMD...: wait_until, failing the test with CMD when it never held.
wait_for() { wait_until "$@" || fail "not within $1 s: ${*:2}"; }

# wait_for_text FILE TEXT [SECONDS]: waits until FILE holds TEXT (a fixed string), 10 s at most;
# else shows FILE and fails.
wait_for_text() {
  wait_until "${3:-10}" grep -qF -- "$2" "$1" && return 0
  cat "$1" >&2 || true
  fail "$1 never showed: $2"
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

# use_scep_tool: sets TOOL to the scep_tool program (tests/tools), failing when it is not built.
use_scep_tool() {
  TOOL=${EVERCERT_SCEP_TOOL:-$BUILD/tests/scep_tool}
  [ -x "$TOOL" ] || fail "scep_tool not built at $TOOL"
}

# start_tamper_proxy MODE TARGET_PORT: tests/lib/tamper_proxy.py on a free port in front of the
# server on TARGET_PORT, in MODE (kept in $WORK/mode, where the test changes it); waits until it
# answers; sets proxy to its port.
start_tamper_proxy() {
  proxy=$(free_port)
  echo "$1" >"$WORK/mode"
  python3 "$SRC/tests/lib/tamper_proxy.py" "$proxy" "http://127.0.0.1:$2" "$WORK/mode" &
  PIDS+=($!)
  wait_for 10 curl -sf -o /dev/null "http://127.0.0.1:$proxy/?operation=GetCACaps"
}

# one_time_password DAEMON SERVER [MINUTES]: prints a new one-time enrollment password of SERVER.
one_time_password() {
  cli "$1" server "$2" password generate "${3:-60}" | awk -F': ' '/One-time enrollment password/ {print $2}'
}
