#!/usr/bin/env bash
# Secrets at rest and file modes: keys are encrypted on disk and 0600; a key file, a state
# directory or a configuration file that other users could change is refused at start with the
# file, its mode and the chmod that fixes it; passwords and private keys never reach a log or
# an operator command's output.
source "$(dirname "$0")/../lib/common.sh"
enter_private_network "$@"

archive_pw=S3cretArchivePw-$RANDOM
start_ca ca "clock calendar-valid
crypto pki server ROOTCA
  database archive pkcs12 password 0 $archive_pw
  grant auto"
chmod 600 "$WORK/ca.conf"
dir="$WORK/ca/ROOTCA"

# ---- at rest
for f in "$dir"/*.key; do
  [ "$(stat -c %a "$f")" = 600 ] || fail "$f is not 0600"
  head -1 "$f" | grep -q "BEGIN ENCRYPTED PRIVATE KEY" || fail "$f is not encrypted"
done
[ "$(stat -c %a "$dir/ROOTCA.p12")" = 600 ] || fail "the archive is not 0600"
openssl pkcs12 -in "$dir/ROOTCA.p12" -nokeys -passin pass:wrong -noout 2>/dev/null &&
  fail "the archive opens with a wrong password"
openssl pkcs12 -in "$dir/ROOTCA.p12" -nokeys -passin "pass:$archive_pw" -noout 2>/dev/null ||
  fail "the archive does not open with its password"
pass "CA key encrypted (PKCS#8) and 0600; archive 0600, opens only with its password"

# ---- a client with a one-time password, output files and encrypted keys
otp=$(one_time_password ca ROOTCA 30)
[ -n "$otp" ] || fail "no one-time password"
mkdir -p "$WORK/out"
start_daemon cl "clock calendar-valid
crypto pki trustpoint ROOT
  enrollment url http://127.0.0.1:$port
  fingerprint $fp
  password 0 $otp
  auto-enroll 80
  output certificate $WORK/out/cert.pem
  output key $WORK/out/key.pem"
wait_until 10 test -s "$WORK/out/cert.pem" || { cat "$WORK/cl.log"; fail "the client did not enroll with its one-time password"; }
for f in "$WORK"/cl/trustpoints/keys/*.key "$WORK"/cl/trustpoints/client.keypass "$WORK/out/key.pem"; do
  [ "$(stat -c %a "$f")" = 600 ] || fail "$f is not 0600"
done
for f in "$WORK"/cl/trustpoints/keys/*.key; do
  head -1 "$f" | grep -q "BEGIN ENCRYPTED PRIVATE KEY" || fail "$f is not encrypted"
done
pass "client keys encrypted and 0600; the output key (for the application) 0600"

# ---- nothing secret in logs or command output
{
  for c in "show crypto pki server" "show crypto pki certificates" "show crypto pki timers" \
           "show crypto key mypubkey rsa" "server ROOTCA info requests"; do cli ca $c; done
  for c in "show crypto pki certificates" "show crypto pki trustpoints" "show crypto pki timers"; do cli cl $c; done
} >"$WORK/commands.out" 2>&1
for secret in "$archive_pw" "$otp" "PRIVATE KEY" "$(cat "$WORK/cl/trustpoints/client.keypass")"; do
  if grep -rlF -- "$secret" "$WORK"/*.log "$WORK/commands.out" "$WORK"/ca/*.log "$WORK"/cl/*.log 2>/dev/null; then
    fail "a secret ('${secret:0:6}...') appears in a log or a command's output"
  fi
done
pass "no password, key secret or private key in any log or operator command output"

# ---- modes that are refused or warned about at start
stop_daemon cl
stop_daemon ca
restart_fails() { # restart_fails WHAT EXPECTED: the CA must refuse to start and say EXPECTED
  local out rc=0
  out=$(timeout 10 "$EVERCERTD" --config "$WORK/ca.conf" --state-dir "$WORK/ca" --foreground 2>&1) || rc=$?
  [ "$rc" -ne 0 ] || fail "$1: the daemon started"
  assert_contains "$out" "$2" "$1"
}
chmod 644 "$dir/ROOTCA.0.key"
restart_fails "a CA key readable by others" "run chmod 600"
chmod 600 "$dir/ROOTCA.0.key"
chmod 770 "$WORK/ca"
restart_fails "a state directory writable by the group" "writable by other users (mode 770); run chmod 700"
chmod 700 "$WORK/ca"
chmod 666 "$WORK/ca.conf"
restart_fails "a configuration anyone can change" "writable by other users (mode 666)"
pass "refused at start: a key file 0644, a state directory 0770, a configuration 0666 (each with the chmod to run)"

chmod 644 "$WORK/ca.conf"
chmod 755 "$WORK/ca"
"$EVERCERTD" --config "$WORK/ca.conf" --state-dir "$WORK/ca" --foreground >"$WORK/ca2.log" 2>&1 &
PIDS+=($!)
wait_until 10 cli ca ping || { cat "$WORK/ca2.log"; fail "the daemon did not start with a readable configuration"; }
grep -q "holds a password and other users can read it; run chmod 600" "$WORK/ca2.log" ||
  fail "no warning about a readable configuration with a password"
grep -q "other users can enter the state directory" "$WORK/ca2.log" || fail "no warning about the state directory"
pass "started with warnings: a readable configuration holding a password, a state directory others can enter"
