#!/usr/bin/env bash
# The configuration as a network engineer pastes it from the guide: blocks without indentation or
# indented with no-break spaces run as the router takes them (with a notice), a mistyped word gets
# a suggestion, `evercertd --check` warns of unsafe timers, and `clock timezone` shows times in
# that zone.
source "$(dirname "$0")/../lib/common.sh"

# The guide's server block, unindented, its remote database made local.
cat >"$WORK/pasted.conf" <<CONF
crypto pki server ROOTCA
database level complete
issuer-name CN=RootCA,OU=TAC,O=Cisco
grant auto
lifetime certificate 365
lifetime ca-certificate 730
database url $WORK/db
auto-rollover 90
crypto pki trustpoint Root-CA
  enrollment url http://127.0.0.1:1
  subject-name CN=spoke-1.cisco.com,OU=CVO
  revocation-check crl none
    enrollment retry count 10
enrollment retry period 2
CONF
printf '\xc2\xa0 auto-enroll 80\n' >>"$WORK/pasted.conf"
"$EVERCERTD" --check --config "$WORK/pasted.conf" >"$WORK/out" 2>"$WORK/err" || { cat "$WORK/err" >&2; fail "pasted guide blocks refused"; }
assert_contains "$(cat "$WORK/out")" "configuration OK (1 certificate server(s), 1 trustpoint(s))"
assert_contains "$(cat "$WORK/err")" "notice: $WORK/pasted.conf: line 2: 'database level complete' at column 0 taken as a line of crypto pki server ROOTCA"
assert_contains "$(cat "$WORK/err")" "line 14: 'enrollment retry period 2' at column 0 taken as a line of crypto pki trustpoint Root-CA"
assert_contains "$(cat "$WORK/err")" "line 15: no-break spaces (U+00A0) read as spaces"
pass "the guide's blocks pasted without indentation, or with no-break spaces, are taken with notices"

# L 365, R 90: at P 80 the SHADOW request comes 73 days before the CA's end, after the rollover
# certificate made 90 days before it; at P 70 it comes 109.5 days before: too early.
sed -i 's/auto-enroll 80/auto-enroll 70/' "$WORK/pasted.conf"
"$EVERCERTD" --check --config "$WORK/pasted.conf" >"$WORK/out" 2>"$WORK/err" || fail "--check failed on a valid file"
assert_contains "$(cat "$WORK/err")" "warning: trustpoint Root-CA would ask for its SHADOW certificate before server ROOTCA makes the rollover CA certificate"
sed -i 's/auto-enroll 70/auto-enroll 80/' "$WORK/pasted.conf"
"$EVERCERTD" --check --config "$WORK/pasted.conf" >"$WORK/out" 2>"$WORK/err" || fail "--check failed on a valid file"
if grep -q "SHADOW" "$WORK/err"; then cat "$WORK/err" >&2; fail "a safe configuration was warned of"; fi
pass "evercertd --check warns of a client whose SHADOW renewal comes before its CA's rollover certificate"

printf 'crypto pki server CA\n  isuer-name CN=x\n' >"$WORK/typo.conf"
if "$EVERCERTD" --check --config "$WORK/typo.conf" 2>"$WORK/err" >/dev/null; then fail "typo accepted"; fi
assert_contains "$(cat "$WORK/err")" "line 2: unknown command 'isuer-name' in crypto pki server block (did you mean 'issuer-name'?)"
printf 'crypto pki server ROOTCA rollover\n' >"$WORK/exec.conf"
if "$EVERCERTD" --check --config "$WORK/exec.conf" 2>"$WORK/err" >/dev/null; then fail "exec command accepted"; fi
assert_contains "$(cat "$WORK/err")" "is an operator command, not configuration: run \`evercert server ROOTCA rollover\`"
pass "a mistyped keyword gets a suggestion; an exec command in the file names the operator command"

start_ca ca "clock timezone CET 1
clock calendar-valid
crypto pki server ROOTCA
  grant auto
  lifetime ca-certificate 730"
out=$(cli ca show crypto pki server)
assert_contains "$out" " CET "
case "$out" in *" UTC "*) printf '%s\n' "$out" >&2; fail "a UTC time in the show output of a CET router";; esac
json=$(cli ca show crypto pki server --json)
case "$json" in *"Z\""*) ;; *) printf '%s\n' "$json" >&2; fail "--json times are not ISO 8601 UTC";; esac
pass "clock timezone CET 1: show commands print CET times; --json stays UTC"

# Abbreviations as on the router: unique prefixes at every place, an ambiguous one refused.
assert_contains "$(cli ca sh cr pk ser)" "Certificate Server ROOTCA:"
assert_contains "$(cli ca show crypto k my rsa)" "ROOTCA"
if out=$(cli ca show crypto pki t 2>&1); then fail "an ambiguous abbreviation was run: $out"; fi
assert_contains "$out" '% Ambiguous command: "show crypto pki t"'
pass "every word may be abbreviated where unique; an ambiguous one gets the router's message"

# One host, one clock: a certificate issued while the trustpoint made its key and exchanged is no
# sign of a CA clock ahead of ours.
start_daemon cl "clock calendar-valid
crypto pki trustpoint ROOT
  enrollment url http://127.0.0.1:$port
  fingerprint $fp
  subject-name CN=spoke,O=Evercert
  auto-enroll 80
  output certificate $WORK/cl.pem"
wait_for 60 test -s "$WORK/cl.pem"
if grep -q "in our future" "$WORK/cl.log"; then cat "$WORK/cl.log" >&2; fail "a CA on our own clock was said to be ahead"; fi
pass "a trustpoint enrolled from a CA on the same clock reports no clock skew"
