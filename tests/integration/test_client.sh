#!/usr/bin/env bash
# A trustpoint in one evercertd enrolling with a certificate server in another, over loopback
# HTTP: authentication with confirmation, a request held PENDING and polled across a restart,
# the manual grant, the output files and post-install command, a renewal, CONNECT RETRY while
# the CA is down, and a trustpoint that authenticates and enrolls by itself from its fingerprint.
source "$(dirname "$0")/../lib/common.sh"
enter_private_network "$@"

start_ca ca "clock calendar-valid
crypto pki server ROOTCA
  issuer-name CN=Client Test Root,O=Evercert
  grant auto trustpoint ROOTCA
  lifetime certificate 365"
cafile="$WORK/ca/ROOTCA/ROOTCA.pem"

# The client runs on a simulated clock a minute ahead of the CA's, frozen, so that the test
# moves its timers (POLL after 1 minute...) with `clock advance` instead of waiting.
start=$(date -u -d '+1 minute' +%Y-%m-%dT%H:%M:%SZ)
mkdir -p "$WORK/out"
client_conf="hostname spoke-1
clock simulate start $start rate 0
crypto pki trustpoint ROOT
  enrollment url http://127.0.0.1:$port
  subject-name CN=spoke-1.example,OU=VPN
  auto-enroll 80
  enrollment retry period 1
  output certificate $WORK/out/spoke.pem
  output key $WORK/out/spoke.key
  output chain $WORK/out/ca.pem
  output post-install touch $WORK/out/reloaded"
start_daemon cl "$client_conf"

assert_contains "$(cli cl show crypto pki timers)" "RENEW ROOT" "timers before authentication"
if cli cl enroll ROOT 2>"$WORK/err"; then fail "enroll before authenticate accepted"; fi
assert_contains "$(cat "$WORK/err")" "not authenticated"
pass "auto-enroll arms RENEW before authentication; enroll refuses until authenticated"

out=$(cli cl authenticate ROOT </dev/null 2>&1 || true)
assert_contains "$out" "Fingerprint SHA256: "
assert_contains "$out" "run again with --yes"
assert_contains "$(cli cl show crypto pki trustpoints)" "Issuing CA authenticated ....... No"
cli cl authenticate ROOT --yes >/dev/null
assert_contains "$(cli cl show crypto pki trustpoints)" "Issuing CA authenticated ....... Yes"
pass "authenticate shows the fingerprint and installs only once confirmed"

# Authenticated, the first request goes at once (not at the next try of the RENEW timer armed at
# start): it waits in the CA's queue.
wait_for 30 eval 'cli ca server ROOTCA info requests | grep -q "cn=spoke-1.example,ou=VPN"'
wait_for 30 eval 'cli cl show crypto pki timers | grep -q "1:00.000  POLL ROOT"'
pass "first request PENDING; POLL armed at the retry period"

# The pending poll survives a restart of the client.
restart_daemon cl
assert_contains "$(cli cl show crypto pki timers)" "POLL ROOT"
cli cl clock advance 1m >/dev/null
assert_contains "$(cli cl show crypto pki timers)" "2:00.000  POLL ROOT"
pass "POLL resumes after a restart and doubles (1, then 2 minutes)"

cli ca server ROOTCA grant all >/dev/null
cli cl clock advance 2m >/dev/null
status=$(cli cl show crypto pki trustpoints)
assert_contains "$status" "Certificate request(s) ..... Yes"
openssl verify -CAfile "$cafile" "$WORK/out/spoke.pem" >/dev/null || fail "installed certificate does not verify"
cmp -s <(openssl x509 -in "$WORK/out/ca.pem") <(openssl x509 -in "$cafile") || fail "chain file is not the CA"
[ "$(stat -c %a "$WORK/out/spoke.key")" = 600 ] || fail "key file mode is not 600"
[ "$(openssl x509 -in "$WORK/out/spoke.pem" -noout -pubkey)" = "$(openssl pkey -in "$WORK/out/spoke.key" -pubout)" ] \
  || fail "key file does not match the certificate"
wait_until 10 test -f "$WORK/out/reloaded" || fail "post-install command did not run"
timers=$(cli cl show crypto pki timers)
assert_contains "$timers" "RENEW ROOT"
assert_contains "$timers" "291d23:5" "RENEW at 80% of 365 days"
pass "granted: certificate, key (0600), chain installed, post-install ran, RENEW at 80%"

# The client-only daemon made its HTTP exchanges through evercert-http: it maps no HTTP library
# (nor the TLS stack they bring); the CA daemon loaded libmicrohttpd for its listener.
if grep -E 'libcurl|libmicrohttpd|libgnutls' "/proc/$PID_cl/maps" >/dev/null; then
  fail "the client-only daemon maps an HTTP library: $(grep -oE '[^/]*(libcurl|libmicrohttpd|libgnutls)[^ ]*' "/proc/$PID_cl/maps" | sort -u | tr '\n' ' ')"
fi
grep -q libmicrohttpd "/proc/$PID_ca/maps" || fail "the CA daemon did not load libmicrohttpd"
pass "a client-only evercertd maps neither libcurl nor libmicrohttpd; the CA loads libmicrohttpd"

first=$(openssl x509 -in "$WORK/out/spoke.pem" -noout -serial)
rm -f "$WORK/out/reloaded"
cli cl enroll ROOT --yes >/dev/null
second=$(openssl x509 -in "$WORK/out/spoke.pem" -noout -serial)
[ "$first" != "$second" ] || fail "manual renewal did not replace the certificate"
openssl verify -CAfile "$cafile" "$WORK/out/spoke.pem" >/dev/null || fail "renewed certificate does not verify"
grep -q "renewal signed by a trusted certificate" "$WORK/ca.log" || fail "the CA did not auto-grant the renewal"
wait_until 10 test -f "$WORK/out/reloaded" || fail "post-install did not follow the renewal"
pass "manual renewal signed by the current certificate, granted by grant auto trustpoint"

# The CA goes away: CONNECT RETRY with backoff, then success when it is back.
stop_daemon ca
cli cl enroll ROOT --yes >/dev/null
assert_contains "$(cli cl show crypto pki timers)" "CONNECT RETRY ROOT"
cli cl clock advance 1m >/dev/null
assert_contains "$(cli cl show crypto pki timers)" "2:00.000  CONNECT RETRY ROOT"
assert_eq "$(openssl x509 -in "$WORK/out/spoke.pem" -noout -serial)" "$second" "certificate while the CA is down"
start_daemon_again ca
cli cl clock advance 2m >/dev/null
third=$(openssl x509 -in "$WORK/out/spoke.pem" -noout -serial)
[ "$third" != "$second" ] || fail "no renewal after the CA came back"
pass "CONNECT RETRY while the CA is down (1, 2 minutes), renewed when it returned"

# A trustpoint with the CA's fingerprint authenticates and enrolls by itself; a wrong one never installs.
start_daemon auto "hostname spoke-2
clock calendar-valid
crypto pki trustpoint GOOD
  enrollment url http://127.0.0.1:$port
  fingerprint $fp
  auto-enroll 70
crypto pki trustpoint BAD
  enrollment url http://127.0.0.1:$port
  fingerprint 00112233445566778899AABBCCDDEEFF
  auto-enroll 70"
wait_for 30 eval 'cli ca server ROOTCA info requests | grep -q "cn=spoke-2"'
assert_contains "$(cli auto show crypto pki trustpoints)" "Issuing CA authenticated ....... Yes"
grep -q "BAD: authentication failed: the CA certificate's fingerprint does not match" "$WORK/auto.log" \
  || fail "wrong fingerprint not reported"
cli auto show crypto pki trustpoints | grep -A6 "Trustpoint BAD" | grep -q "authenticated ....... No" \
  || fail "BAD trustpoint authenticated with a wrong fingerprint"
pass "configured fingerprint: authenticated and enrolled at start; a mismatch installs nothing"
