#!/usr/bin/env bash
# The HTTP listener's port is the daemon's alone: a second evercertd configured with a port that
# another evercertd (or any other program) listens on refuses to start, in the foreground or
# detached, naming the system's reason and the configuration line, and exits non-zero; the first
# one keeps answering alone.
source "$(dirname "$0")/../lib/common.sh"
enter_private_network "$@"

start_ca first "clock calendar-valid
crypto pki server ROOTCA
  issuer-name CN=Listen Root"
url="http://127.0.0.1:$port/cgi-bin/pkiclient.exe"

# second NAME CONFIG [--foreground]: starts another daemon; sets rc and out (its output).
second() {
  local name=$1 config=$2
  shift 2
  mkdir -p "$WORK/$name"
  chmod 700 "$WORK/$name"
  printf '%s\n' "$config" >"$WORK/$name.conf"
  chmod 600 "$WORK/$name.conf"
  rc=0
  out=$(timeout 60 "$EVERCERTD" --config "$WORK/$name.conf" --state-dir "$WORK/$name" "$@" 2>&1) || rc=$?
}
expect_refused() { # expect_refused WHAT LINE-NUMBER PORT
  [ "$rc" -ne 0 ] || { printf '%s\n' "$out" >&2; fail "$1: the daemon started (exit 0)"; }
  [ "$rc" -ne 124 ] || fail "$1: the daemon did not exit"
  assert_contains "$out" "Address already in use" "$1"
  assert_contains "$out" "$WORK/$4.conf line $2: \`ip http server $3\`" "$1"
  case "$out" in *"ready at http"*) fail "$1: the daemon said it was ready: $out";; esac
}

config="ip http server $port
ip http bind 127.0.0.1
clock calendar-valid
crypto pki server OTHER
  issuer-name CN=Other Root"
second dup "$config" --foreground
expect_refused "a second daemon on the same port (foreground)" 1 "$port" dup
second dup2 "$config"
expect_refused "a second daemon on the same port (detached)" 1 "$port" dup2
pass "a second evercertd on a port in use exits $rc: $(printf '%s\n' "$out" | tail -1)"

for i in 1 2 3 4 5; do
  ca=$(curl -s -m 5 "$url?operation=GetCACert&message=ROOTCA" | openssl x509 -inform DER -noout -subject 2>/dev/null)
  assert_contains "$ca" "Listen Root" "GetCACert $i after the refused start"
done
pass "the first daemon alone answers on the port"

# Any program listening on every address holds the port too; the line named is the one that set it.
other=$(free_port)
python3 -c '
import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", int(sys.argv[1])))
s.listen(5)
print("listening", flush=True)
time.sleep(120)
' "$other" >"$WORK/other.out" &
PIDS+=($!)
wait_for 10 grep -q listening "$WORK/other.out"
second third "ip http server
ip http bind 127.0.0.1
ip http port $other
clock calendar-valid
crypto pki server THIRD
  issuer-name CN=Third Root" --foreground
expect_refused "a port another program listens on" 3 "$other" third
pass "a port another program listens on is refused too, naming line 3 (ip http port)"
