#!/usr/bin/env bash
# `evercert check`: the timer-dependency rule on the specification's figures (L = 365 days,
# R = 90 days): P = 70% is unsafe, P = 80% is safe.
source "$(dirname "$0")/../lib/common.sh"

cat >"$WORK/ca.conf" <<CONF
crypto pki server ROOTCA
  lifetime certificate 365
  lifetime ca-certificate 730
  auto-rollover 90
CONF
if "$EVERCERT" check --config "$WORK/ca.conf" --client-policy 70 >"$WORK/out70"; then
  cat "$WORK/out70"; fail "P=70% accepted"
fi
assert_contains "$(cat "$WORK/out70")" "109.5 days > 90.0 days: UNSAFE"
"$EVERCERT" check --config "$WORK/ca.conf" --client-policy 80 >"$WORK/out80" || { cat "$WORK/out80"; fail "P=80% refused"; }
assert_contains "$(cat "$WORK/out80")" "73.0 days <= 90.0 days: safe"
assert_contains "$(cat "$WORK/out80")" "E-90d"
pass "check: 70% unsafe (exit 1), 80% safe (exit 0)"

cat >>"$WORK/ca.conf" <<CONF
crypto pki trustpoint FAST
  enrollment url http://127.0.0.1:8080
  auto-enroll 80
crypto pki trustpoint SLOW
  enrollment url http://127.0.0.1:8080
  auto-enroll 60
CONF
if "$EVERCERT" check --config "$WORK/ca.conf" >"$WORK/both"; then fail "a 60% trustpoint passed"; fi
assert_contains "$(cat "$WORK/both")" "UNSAFE: 1 of 2 combination(s) unsafe"
pass "check evaluates every trustpoint of the configuration"

set +e
"$EVERCERT" check --config "$WORK/nope.conf" 2>"$WORK/err"; rc=$?
set -e
assert_eq "$rc" 2 "exit status for a missing file"
pass "configuration errors exit 2"
