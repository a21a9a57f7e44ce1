#!/usr/bin/env bash
# Reload (SIGHUP and `evercert reload`): a trustpoint added enrolls and one removed stops; a new
# grant mode and CRL lifetime apply at once; a change of the CA's key size is refused, logged,
# and the running configuration kept; a file that does not parse changes nothing; the log file
# of a `logging file` line is reopened after logrotate moved it, and its level holds; the HTTP
# connection limit is lowered live, and refused above what the listener started with.
source "$(dirname "$0")/../lib/common.sh"
enter_private_network "$@"

ca_server="clock calendar-valid
logging console info
logging file ca-notice.log notice
crypto pki server ROOTCA
  issuer-name CN=Reload Test Root
  grant auto"
start_ca ca "$ca_server"
head="ip http server $port
ip http bind 127.0.0.1"

tp() { # tp NAME: a trustpoint that authenticates by its fingerprint and enrolls by itself
  printf 'crypto pki trustpoint %s\n  enrollment url http://127.0.0.1:%s\n  fingerprint %s\n  auto-enroll 70\n' \
    "$1" "$port" "$fp"
  printf '  subject-name CN=%s.reload.example\n  output certificate %s/out/%s.pem\n' "$1" "$WORK" "$1"
}
mkdir -p "$WORK/out"
start_daemon cl "hostname reload-client
clock calendar-valid
$(tp A)"
wait_for 30 test -s "$WORK/out/A.pem"

# ---- trustpoints: B added, A removed, by `evercert reload`
printf 'hostname reload-client\nclock calendar-valid\n%s\n' "$(tp B)" >"$WORK/cl.conf"
out=$(cli cl reload) || fail "reload refused: $out"
assert_contains "$out" "trustpoint A removed"
assert_contains "$out" "trustpoint B added"
assert_contains "$out" "in force"
wait_for 30 test -s "$WORK/out/B.pem"
openssl verify -CAfile "$WORK/ca/ROOTCA/ROOTCA.pem" "$WORK/out/B.pem" >/dev/null || fail "B's certificate"
status=$(cli cl show crypto pki trustpoints)
assert_contains "$status" "Trustpoint B:"
case "$status" in *"Trustpoint A:"*) fail "A still runs after its removal";; esac
cli cl enroll A --yes 2>/dev/null && fail "a command still reaches the removed trustpoint A"
pass "evercert reload: trustpoint B added and enrolled, A removed and gone"

# ---- a trustpoint removed while its exchange waits on a CA that never answers: the exchange is
# cancelled (not waited for to its 20 s time-out), the trustpoint closed, the daemon answers
hang=$(free_port)
python3 -c '
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(8)
held = []
while True:
    c, _ = s.accept(); held.append(c); open(sys.argv[2], "a").write("accepted\n")
' "$hang" "$WORK/hang.accepted" &
PIDS+=($!)
wait_for 10 python3 -c "import socket; socket.create_connection(('127.0.0.1', $hang)).close()"
rm -f "$WORK/hang.accepted"
printf 'hostname reload-client\nclock calendar-valid\n%s\n%s\n' "$(tp B)" \
  "$(tp D | sed "s|http://127.0.0.1:$port|http://127.0.0.1:$hang|")" >"$WORK/cl.conf"
cli cl reload >/dev/null || fail "reload adding D"
wait_for 30 test -s "$WORK/hang.accepted"
printf 'hostname reload-client\nclock calendar-valid\n%s\n' "$(tp B)" >"$WORK/cl.conf"
t0=$(date +%s)
out=$(cli cl reload) || fail "reload removing D during its exchange: $out"
[ $(($(date +%s) - t0)) -lt 10 ] || fail "the reload waited for D's exchange to time out"
assert_contains "$out" "trustpoint D removed"
case "$(cli cl show crypto pki trustpoints)" in *"Trustpoint D:"*) fail "D still runs";; esac
cli cl ping >/dev/null || fail "the client stopped answering"
pass "a trustpoint removed during an exchange with a silent CA: cancelled at once, closed, the daemon answers"

# ---- grant mode and CRL lifetime, by SIGHUP
crl_in() { # seconds from the daemon's now to ROOTCA's CRL nextUpdate
  cli ca show crypto pki server --json | python3 -c '
import json, sys, datetime
s = json.load(sys.stdin)["servers"][0]
t = datetime.datetime.strptime(s["crl_next_update"], "%Y-%m-%dT%H:%M:%S.%fZ")
print(int((t - datetime.datetime.utcnow()).total_seconds()))'
}
[ "$(crl_in)" -gt 18000 ] || fail "the CRL does not start with the default 6 hours"
printf '%s\n%s\n  lifetime crl 1\n  grant none\n' "$head" "$ca_server" | sed '/grant auto/d' >"$WORK/ca.conf"
kill -HUP "$PID_ca"
wait_for_text "$WORK/ca.log" "reload: configuration $WORK/ca.conf in force (2 change(s))"
assert_contains "$(cat "$WORK/ca.log")" "reload: certificate server ROOTCA: grant: auto -> none"
assert_contains "$(cli ca show crypto pki server)" "Granting mode is: none"
left=$(crl_in)
[ "$left" -le 3600 ] && [ "$left" -gt 3000 ] || fail "CRL nextUpdate in $left s, not within the new hour"
printf 'hostname reload-client\nclock calendar-valid\n%s\n%s\n' "$(tp B)" "$(tp C)" >"$WORK/cl.conf"
kill -HUP "$PID_cl"
wait_for_text "$WORK/cl.log" "reload: trustpoint C added"
wait_for_text "$WORK/ca.log" "granting mode is none: every request is rejected" 30
[ -e "$WORK/out/C.pem" ] && fail "C got a certificate under grant none"
pass "SIGHUP: grant none and lifetime crl 1 in force at once (C's request rejected, CRL within the hour)"

# ---- a change that cannot apply live: refused, named, nothing applied
printf '%s\ncrypto key generate rsa label ROOTCA modulus 3072\n%s\n  lifetime crl 1\n' "$head" "$ca_server" \
  >"$WORK/ca.conf"
cli ca reload >"$WORK/out/refused" 2>&1 && fail "a reload changing the key size succeeded"
assert_contains "$(cat "$WORK/out/refused")" "certificate server ROOTCA: key size (crypto key generate rsa label ROOTCA): 2048 -> 3072 bits cannot change"
assert_contains "$(cat "$WORK/out/refused")" "nothing applied"
assert_contains "$(cat "$WORK/ca.log")" "warning: reload: certificate server ROOTCA: key size"
assert_contains "$(cli ca show crypto pki server)" "Granting mode is: none"
pass "a new key size is refused with the line that names it; grant stays none (nothing applied)"

# ---- a file that does not parse changes nothing
printf '%s\n%s\n  lifetime crl 1\n  grant-auto\n' "$head" "$ca_server" >"$WORK/ca.conf"
n=$(grep -c "" "$WORK/ca.conf")
kill -HUP "$PID_ca"
wait_for_text "$WORK/ca.log" "error: reload: configuration not applied, the running one stays: $WORK/ca.conf: line $n:"
assert_contains "$(cli ca show crypto pki server)" "Granting mode is: none"
cli ca ping >/dev/null || fail "the CA stopped answering after a bad file"
pass "an invalid file: its line number logged, nothing changed"

# ---- logrotate: the log file is moved, SIGHUP, the next lines go to a new file
notice="$WORK/ca/ca-notice.log"
grep -q "reload: configuration $WORK/ca.conf in force" "$notice" || fail "notice lines missing from the file"
grep -q "http 127.0.0.1" "$notice" && fail "info lines (HTTP requests) in a file logging from notice on"
mv "$notice" "$notice.1"
printf '%s\n%s\n  lifetime crl 1\n  grant auto\n' "$head" "$ca_server" | sed '0,/grant auto/{/grant auto/d}' \
  >"$WORK/ca.conf"
kill -HUP "$PID_ca"
wait_for_text "$notice" "reload: certificate server ROOTCA: grant: none -> auto"
grep -q "grant: none -> auto" "$notice.1" && fail "a line after SIGHUP went to the moved file"
assert_contains "$(cli ca show crypto pki server)" "Granting mode is: auto"
pass "SIGHUP reopens the moved log file; the lines after it go to the new one"

# ---- HTTP limits: lowered live; above what the listener started with, refused
printf '%s\nip http max-connections 512\n%s\n  lifetime crl 1\n' "$head" "$ca_server" >"$WORK/ca.conf"
out=$(cli ca reload) || fail "reload of ip http max-connections 512 refused: $out"
assert_contains "$out" "ip http max-connections: 1024 -> 512"
assert_contains "$(cli ca show ip http server status)" "Maximum number of concurrent server connections allowed: 512"
assert_contains "$(cli ca show ip http server status)" "Maximum connections from one address: 64"
curl -sf -o /dev/null "http://127.0.0.1:$port/cgi-bin/pkiclient.exe?operation=GetCACaps" || fail "listener after reload"
printf '%s\nip http max-connections 2048\n%s\n  lifetime crl 1\n' "$head" "$ca_server" >"$WORK/ca.conf"
cli ca reload >"$WORK/out/above" 2>&1 && fail "max-connections above the start's accepted"
assert_contains "$(cat "$WORK/out/above")" "the listener started with room for 1024 connections"
assert_contains "$(cli ca show ip http server status)" "Maximum number of concurrent server connections allowed: 512"
pass "ip http max-connections lowered to 512 live; 2048 (above the start's 1024) refused, 512 kept"
