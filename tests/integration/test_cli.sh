#!/usr/bin/env bash
# The operator's CLI against a running evercertd: show commands, timers, queue commands,
# errors, and the socket's refusal of other users.
source "$(dirname "$0")/../lib/common.sh"
enter_private_network "$@"

start_ca ca "clock simulate start 2015-10-09T13:14:16Z rate 0
crypto pki server ROOTCA
  issuer-name CN=RootCA,OU=TAC,O=Cisco
  lifetime ca-certificate 730
  auto-rollover 90"

out=$(cli ca clock advance 5m42.946s)
assert_contains "$out" "2015-10-09T13:19:58.946Z"
timers=$(cli ca show crypto pki timers)
assert_contains "$timers" "5:54:17.054  CS CRL UPDATE"
assert_contains "$timers" "639d23:54:17.054  CS SHADOW CERT GENERATION"
assert_contains "$timers" "729d23:54:17.054  CS CERT EXPIRE"
pass "show crypto pki timers reproduces the source's figures"

json=$(cli ca --json show crypto pki timers)
assert_contains "$json" '"name":"CS CERT EXPIRE"'
assert_contains "$(cli ca sh cry pki ser)" "Certificate Server ROOTCA:"
assert_contains "$(cli ca show crypto pki server)" "Granting mode is: manual"
assert_contains "$(cli ca show crypto pki server --md5)" "CA cert fingerprint (MD5):"
assert_contains "$(cli ca show crypto pki certificates)" "Certificate Serial Number (hex): 01"
assert_contains "$(cli ca show crypto key mypubkey rsa)" "Key name: ROOTCA"
assert_contains "$(cli ca crypto pki server ROOTCA info requests)" "no pending requests"
pw=$(cli ca server ROOTCA password generate 5)
assert_contains "$pw" "Password will be effective for 5 minutes"
pass "show and server commands answer"

if cli ca server NOPE info requests 2>"$WORK/err"; then fail "unknown server accepted"; fi
assert_contains "$(cat "$WORK/err")" "no certificate server named 'NOPE'"
if cli ca server ROOTCA grant 42 2>"$WORK/err"; then fail "grant of an unknown request accepted"; fi
assert_contains "$(cat "$WORK/err")" "no enrollment request 42"
if cli ca server ROOTCA revoke ZZ 2>"$WORK/err"; then fail "bad serial accepted"; fi
if cli ca frobnicate 2>"$WORK/err"; then fail "unknown command accepted"; fi
assert_contains "$(cat "$WORK/err")" "unknown command"
if cli ca clock advance 5x 2>"$WORK/err"; then fail "bad duration accepted"; fi
assert_contains "$(cat "$WORK/err")" "bad duration"
pass "errors are clear and exit non-zero"

# The rollover timer fires when the simulated clock passes it; GetNextCACert then answers.
cli ca clock advance 639d23:54:18 >/dev/null
assert_contains "$(cli ca show crypto pki server)" "Rollover status: available for rollover"
code=$(curl -s -o "$WORK/next.p7" -w '%{http_code}' "http://127.0.0.1:$port/cgi-bin/pkiclient.exe?operation=GetNextCACert")
assert_eq "$code" 200 "GetNextCACert after rollover"
openssl pkcs7 -inform DER -in "$WORK/next.p7" -print_certs -noout >/dev/null || fail "GetNextCACert is not PKCS#7"
[ -f "$WORK/ca/ROOTCA/ROOTCA_00001.p12" ] || fail "rollover archive missing"
# The router's lines at shadow generation, with where the archive went.
wait_for_text "$WORK/ca.log" "CA ROOTCA: exporting shadow CA key and cert"
wait_for_text "$WORK/ca.log" "CA ROOTCA: file opened: $WORK/ca/ROOTCA/ROOTCA_00001.p12"
pass "rollover created by the timer; GetNextCACert and the archive are there"

# The socket is the daemon user's only.
mode=$(stat -c %a "$WORK/ca/evercertd.sock")
assert_eq "$mode" 600 "socket mode"
if command -v setpriv >/dev/null && [ "$(id -u)" -eq 0 ]; then
  chmod 755 "$WORK" "$WORK/ca"
  if setpriv --reuid=65534 --regid=65534 --clear-groups "$EVERCERT" --state-dir "$WORK/ca" ping 2>/dev/null; then
    fail "another user reached the operator socket"
  fi
  chmod 700 "$WORK/ca"
  pass "other users are refused"
fi

# A second daemon on the same state directory is refused.
if "$EVERCERTD" --config "$WORK/ca.conf" --state-dir "$WORK/ca" --foreground 2>"$WORK/err"; then fail "second daemon started"; fi
assert_contains "$(cat "$WORK/err")" "already running"
pass "one daemon per state directory"
