#!/usr/bin/env bash
# A client facing a CA that answers badly: garbage, a wrong content type, a truncated reply, a
# CertRep whose signature does not verify, a CertRep of another transaction (wrong nonce and
# transactionID), a 500. Each leaves the installed certificate untouched, logs a clear reason,
# and schedules what the specification asks (a re-armed RENEW, or CONNECT RETRY for a 5xx).
source "$(dirname "$0")/../lib/common.sh"
enter_private_network "$@"

start_ca ca "clock calendar-valid
crypto pki server ROOTCA
  grant auto"
start_tamper_proxy pass "$port"

mkdir -p "$WORK/out"
start=$(date -u -d '+1 minute' +%Y-%m-%dT%H:%M:%SZ)
start_daemon cl "hostname spoke
clock simulate start $start rate 0
crypto pki trustpoint ROOT
  enrollment url http://127.0.0.1:$proxy
  fingerprint $fp
  auto-enroll 80
  output certificate $WORK/out/cert.pem"
wait_until 30 test -s "$WORK/out/cert.pem" || { cat "$WORK/cl.log" >&2; fail "no first certificate through the proxy"; }
serial=$(openssl x509 -in "$WORK/out/cert.pem" -noout -serial)
pass "enrolled through the proxy (serial ${serial#serial=})"

for mode in garbage wrong-type truncated badsig replay http500; do
  echo "$mode" >"$WORK/mode"
  cp "$WORK/out/cert.pem" "$WORK/before.pem"
  lines=$(wc -l <"$WORK/cl.log")
  cli cl enroll ROOT --yes >/dev/null
  [ "$(openssl x509 -in "$WORK/out/cert.pem" -noout -serial)" = "$serial" ] || fail "$mode: certificate replaced"
  cmp -s "$WORK/before.pem" "$WORK/out/cert.pem" || fail "$mode: certificate file touched"
  new=$(tail -n +"$((lines + 1))" "$WORK/cl.log")
  timers=$(cli cl show crypto pki timers)
  case $mode in
    garbage|truncated) assert_contains "$new" "not a pkiMessage" "$mode log" ;;
    wrong-type) assert_contains "$new" "unexpected content type 'text/html'" "$mode log" ;;
    badsig) assert_contains "$new" "not signed by the CA certificate" "$mode log" ;;
    replay) assert_contains "$new" "answers another transaction" "$mode log" ;;
    http500) assert_contains "$new" "CONNECT RETRY" "$mode log" ;;
  esac
  if [ "$mode" = http500 ]; then
    assert_contains "$timers" "CONNECT RETRY ROOT" "$mode timers"
  else
    assert_contains "$new" "installed certificates unchanged" "$mode log"
    assert_contains "$timers" "RENEW ROOT" "$mode timers"
  fi
  pass "$mode: refused with a clear reason, certificate untouched, retry scheduled"
done

echo pass >"$WORK/mode"
cli cl clock advance 2m >/dev/null
[ "$(openssl x509 -in "$WORK/out/cert.pem" -noout -serial)" != "$serial" ] || fail "no renewal once the CA behaves"
pass "renewed once the CA answered properly again"
