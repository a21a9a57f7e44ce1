#!/usr/bin/env bash
# Configuration errors name the line and stop the daemon before it touches anything.
source "$(dirname "$0")/../lib/common.sh"

check() { # check CONFIG EXPECTED-FRAGMENT
  printf '%s\n' "$1" >"$WORK/bad.conf"
  if "$EVERCERTD" --config "$WORK/bad.conf" --state-dir "$WORK/state" --foreground 2>"$WORK/err"; then
    fail "accepted: $1"
  fi
  assert_contains "$(cat "$WORK/err")" "$2" "error for: $1"
}
check "crypto pki server A
  frobnicate yes" "line 2"
check "crypto pki server A
  hash md5" "md5"
check "crypto pki server A
  database url ftp://10.1.1.1/DB/" "line 2"
check "hostname x
bogus global line" "line 2"
check "crypto pki trustpoint T
  subject-alt-name www.example.net
  subject-alt-name bad_name.example.net" "line 3: subject-alt-name 'bad_name.example.net' is not a valid DNS name"
check "crypto pki trustpoint T
  fqdn host..example.net" "line 2: fqdn"
check "crypto pki trustpoint T
  auto-enroll
  ip-address 10.0.0.300" "line 3: ip-address '10.0.0.300'"
[ ! -e "$WORK/state/trustpoints" ] || fail "a refused configuration created trustpoint files"
[ ! -e "$WORK/state/A" ] || fail "a refused configuration created CA files"
pass "configuration errors name their line; nothing created"

"$EVERCERTD" --check --config "$SRC/etc/evercert.conf" >"$WORK/out" || fail "shipped configuration refused"
assert_contains "$(cat "$WORK/out")" "configuration OK"
pass "the shipped configuration is valid"
