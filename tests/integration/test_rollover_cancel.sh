#!/usr/bin/env bash
# A manual rollover, a client that already holds a SHADOW certificate from it, then
# `rollover cancel`: the CA reports the shadow certificate it issued and asks for confirmation;
# after a new rollover the affected client re-enrolls (`enroll --yes`) and switches to the new
# CA at expiry without a lapse.
source "$(dirname "$0")/../lib/common.sh"
enter_private_network "$@"

start=2020-01-01T00:00:00Z
start_ca ca "clock simulate start $start rate 0
crypto pki server ROOTCA
  grant auto
  lifetime certificate 365
  lifetime ca-certificate 100
  lifetime crl 720"
mkdir -p "$WORK/out"
start_daemon cl "clock simulate start $start rate 0
crypto pki trustpoint ROOT
  enrollment url http://127.0.0.1:$port
  fingerprint $fp
  auto-enroll 80
  output certificate $WORK/out/cert.pem
  output chain $WORK/out/ca.pem"
wait_until 30 test -s "$WORK/out/cert.pem" || true # checked by its timers below
assert_contains "$(cli cl show crypto pki timers)" "SHADOW ROOT"
pass "certificate capped at the CA's end: SHADOW armed"

advance() { cli ca clock advance-to "$1" >/dev/null; cli cl clock advance-to "$1" >/dev/null; }
cli ca server ROOTCA rollover >/dev/null
advance 2020-03-22T00:00:00Z   # past the client's SHADOW (day 80)
assert_contains "$(cli cl show crypto pki timers)" "SHADOW SWITCH ROOT"
pass "the client stored a SHADOW certificate from the manual rollover"

out=$(cli ca server ROOTCA rollover cancel </dev/null 2>&1 || true)
assert_contains "$out" "has issued 1 shadow certificate(s)"
assert_contains "$out" "run again with --yes"
assert_contains "$(cli ca show crypto pki server)" "Rollover status: available for rollover"
cli ca server ROOTCA rollover cancel --yes >/dev/null
assert_contains "$(cli ca show crypto pki server)" "Rollover status: not available"
pass "cancel reports the shadow certificate, asks, and deletes only when confirmed"

cli ca server ROOTCA rollover >/dev/null
cli cl enroll ROOT --yes >/dev/null
grep -q "rollover certificates held so far are discarded" "$WORK/cl.log" || fail "stale rollover material kept"
assert_contains "$(cli cl show crypto pki timers)" "SHADOW SWITCH ROOT"
advance 2020-04-10T00:00:01Z   # past the CA's end (day 100)
curl -sf -o "$WORK/now.der" "http://127.0.0.1:$port/cgi-bin/pkiclient.exe?operation=GetCACert"
cmp -s <(openssl x509 -in "$WORK/out/ca.pem" -outform DER) "$WORK/now.der" || fail "the client's CA is not the CA's active certificate"
attime=$(date -u -d 2020-04-10T00:00:01Z +%s)
openssl verify -attime "$attime" -CAfile "$WORK/out/ca.pem" "$WORK/out/cert.pem" >/dev/null || fail "no valid certificate after the switch"
pass "the re-enrolled client switched to the new rollover CA with a valid certificate"
