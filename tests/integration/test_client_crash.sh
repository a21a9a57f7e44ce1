#!/usr/bin/env bash
# Crash safety of the client: evercertd as a trustpoint is killed (SIGKILL, through the
# EVERCERT_CRASH_AT crash points) during an install and during the SHADOW switch, before and after
# its state file is committed, and between two output files. Each time the state it restarts from
# is the old one or the new one, never half; the output files for applications are a matching
# certificate, key and chain once the restart is done, post-install runs for what was installed,
# and the CA is not asked twice for one certificate.
source "$(dirname "$0")/../lib/common.sh"
enter_private_network "$@"

start=2020-01-01T00:00:00Z
start_ca ca "clock simulate start $start rate 0
crypto pki server ROOTCA
  grant auto
  database level complete
  lifetime certificate 30
  lifetime ca-certificate 100
  lifetime crl 720
  auto-rollover 30"
out="$WORK/out"
mkdir -p "$out" "$WORK/cl"
printf '%s\n' "clock simulate start $start rate 0
crypto pki trustpoint ROOT
  enrollment url http://127.0.0.1:$port
  fingerprint $fp
  auto-enroll 80 regenerate
  output certificate $out/cert.pem
  output key $out/key.pem
  output chain $out/ca.pem
  output post-install echo installed >>$WORK/post-install.log" >"$WORK/cl.conf"

starts=0
# client_up [CRASH_POINT]: starts the client daemon, armed to die at CRASH_POINT if given.
client_up() {
  starts=$((starts + 1))
  EVERCERT_CRASH_AT=${1:-} "$EVERCERTD" --config "$WORK/cl.conf" --state-dir "$WORK/cl" --foreground \
    >"$WORK/cl.$starts.log" 2>&1 &
  PID_cl=$!
  PIDS+=("$PID_cl")
}
client_ready() {
  for _ in $(seq 1 300); do
    cli cl ping >/dev/null 2>&1 && return 0
    kill -0 "$PID_cl" 2>/dev/null || { cat "$WORK/cl.$starts.log" >&2; fail "client exited at start $starts"; }
    sleep 0.1
  done
  fail "client did not answer (start $starts)"
}
# died_at POINT: the armed client must have killed itself there.
died_at() {
  local rc=0
  for _ in $(seq 1 300); do kill -0 "$PID_cl" 2>/dev/null || break; sleep 0.1; done
  wait "$PID_cl" 2>/dev/null || rc=$?
  [ "$rc" = 137 ] || { cat "$WORK/cl.$starts.log" >&2; fail "client not killed at $1 (exit $rc)"; }
}
day_now=0
day() { date -u -d "$start + $1 days" +%FT%TZ; }
# advance DAY: moves the CA, then the client, a day at a time up to day DAY after the start (so
# that the client renews while the CA is at the same time); stops early when the client dies.
advance() {
  local d
  for d in $(seq $((day_now + 1)) "$1"); do
    day_now=$d
    cli ca clock advance-to "$(day "$d")" >/dev/null
    cli cl clock advance-to "$(day "$d")" >/dev/null 2>&1 || return 0
  done
}
epoch() { date -u -d "$1" +%s; }
pubkey_of_cert() { openssl x509 -in "$1" -noout -pubkey; }
pubkey_of_key() { openssl pkey -in "$1" -pubout; }
serial_of() { openssl x509 -in "$1" -noout -serial | cut -d= -f2; }
post_installs() { if [ -f "$WORK/post-install.log" ]; then wc -l <"$WORK/post-install.log"; else echo 0; fi; }
# outputs_whole WHEN TIME: certificate, key and chain belong together and are valid at TIME.
outputs_whole() {
  [ "$(pubkey_of_cert "$out/cert.pem")" = "$(pubkey_of_key "$out/key.pem")" ] ||
    fail "$1: the output certificate is not for the output key"
  openssl verify -attime "$(epoch "$2")" -CAfile "$out/ca.pem" "$out/cert.pem" >/dev/null 2>&1 ||
    fail "$1: the output certificate does not verify against the output chain at $2"
  [ "$(stat -c %a "$out/key.pem")" = 600 ] || fail "$1: output key not 0600"
}
# The serial of the active identity certificate as the daemon reports it.
installed_serial() {
  cli cl show crypto pki certificates |
    awk '/^Certificate$/ {c = 1} c && /Certificate Serial Number/ {print $NF; exit}'
}
issued_total() { sqlite3 "$WORK/ca/ROOTCA/ROOTCA.db" "SELECT count(*) FROM certs;"; }

# ---- 1. The first enrollment, killed before its state is committed: nothing was installed.
client_up client-install-before-commit
died_at client-install-before-commit
[ ! -e "$out/cert.pem" ] || fail "an output file exists although the install was never committed"
client_up
client_ready
wait_for 30 test -s "$out/cert.pem"
outputs_whole "after the first enrollment" "$(day 0)"
assert_eq "$(installed_serial)" "$(serial_of "$out/cert.pem")" "installed serial"
wait_until 10 eval '[ "$(post_installs)" -ge 1 ]' || fail "post-install did not run"
grep -q "sending PKCSReq again" "$WORK/cl.$starts.log" || fail "the interrupted request was not resent"
assert_eq "$(issued_total)" 1 "certificates issued for one interrupted enrollment"
pass "killed before committing the first install: restarted with nothing, resent the same transaction, one certificate"

# ---- 2. A re-enrollment with a new key, killed after the commit, before the output files.
old_serial=$(serial_of "$out/cert.pem")
old_pub=$(pubkey_of_key "$out/key.pem")
before=$(post_installs)
stop_daemon cl
client_up client-install-after-commit
client_ready
cli cl enroll ROOT --yes >/dev/null 2>&1 || true
died_at client-install-after-commit
assert_eq "$(serial_of "$out/cert.pem")" "$old_serial" "output certificate right after the kill"
outputs_whole "right after the kill (the old files)" "$(day 0)"
client_up
client_ready
new_serial=$(installed_serial)
[ "$new_serial" != "$old_serial" ] || fail "the committed certificate was lost"
assert_eq "$(serial_of "$out/cert.pem")" "$new_serial" "output certificate after the restart"
[ "$(pubkey_of_key "$out/key.pem")" != "$old_pub" ] || fail "the regenerated key did not reach the output"
outputs_whole "after the restart" "$(day 0)"
wait_until 10 eval '[ "$(post_installs)" -gt "$before" ]' || fail "post-install did not run for the repaired outputs"
pass "killed after committing a re-enrollment: the restart wrote the new files and ran post-install"

# ---- 3. Killed between the output certificate and the output key.
before=$(post_installs)
stop_daemon cl
client_up client-outputs-partial
client_ready
cli cl enroll ROOT --yes >/dev/null 2>&1 || true
died_at client-outputs-partial
client_up
client_ready
assert_eq "$(serial_of "$out/cert.pem")" "$(installed_serial)" "output certificate after the restart"
outputs_whole "after a kill between two output files" "$(day 0)"
wait_until 10 eval '[ "$(post_installs)" -gt "$before" ]' || fail "post-install did not run after the repair"
grep -q "output key .* did not hold what the trustpoint holds" "$WORK/cl.$starts.log" ||
  fail "the repair at start was not logged"
assert_eq "$(issued_total)" 3 "certificates issued for three enrollments"
pass "killed between two output files: repaired at restart before post-install; 3 certificates for 3 enrollments"

# ---- 4. The SHADOW switch, killed before its commit: the restart is still on the old pair.
# 30-day certificates renewed at 80%: days 24, 48, 72; the one from day 72 ends with the CA
# (day 100), so its renewal is a SHADOW at day 94.4, after the CA's rollover at day 70.
advance 97
assert_contains "$(cli cl show crypto pki timers)" "SHADOW SWITCH ROOT"
old_ca=$(openssl x509 -in "$out/ca.pem" -noout -fingerprint -sha256)
before=$(post_installs)
stop_daemon cl
client_up client-switch-before-commit
client_ready
advance 100 # the first CA ends at day 100
died_at client-switch-before-commit
assert_eq "$(openssl x509 -in "$out/ca.pem" -noout -fingerprint -sha256)" "$old_ca" "chain right after the kill"
outputs_whole "right after a kill in the switch (the old pair)" "$(day 100) - 1 second"
client_up
client_ready
cli ca clock advance-to "$(day 100)" >/dev/null
cli cl clock advance-to "$(day 100)" >/dev/null
curl -sf -o "$WORK/active-ca.der" "http://127.0.0.1:$port/cgi-bin/pkiclient.exe?operation=GetCACert"
cmp -s <(openssl x509 -in "$out/ca.pem" -outform DER) "$WORK/active-ca.der" ||
  fail "after the restart the output chain is not the CA's active certificate"
outputs_whole "after the switch resumed" "$(day 100) + 1 second"
wait_until 10 eval '[ "$(post_installs)" -gt "$before" ]' || fail "post-install did not run for the switch"
pass "killed in the SHADOW switch before its commit: resumed and switched, no instant without a valid pair"

# ---- 5. The next generation's switch, killed after its commit, before the output files.
advance 197 # the same in the second generation: rollover at day 170, SHADOW at day 194.4
assert_contains "$(cli cl show crypto pki timers)" "SHADOW SWITCH ROOT"
old_serial=$(serial_of "$out/cert.pem")
before=$(post_installs)
stop_daemon cl
client_up client-switch-after-commit
client_ready
advance 200 # the second CA ends at day 200
died_at client-switch-after-commit
outputs_whole "right after a kill after the switch's commit (the old pair)" "$(day 200) - 1 second"
client_up
client_ready
[ "$(installed_serial)" != "$old_serial" ] || fail "the committed switch was lost"
assert_eq "$(serial_of "$out/cert.pem")" "$(installed_serial)" "output certificate after the restart"
outputs_whole "after the restart" "$(day 200) + 1 second"
wait_until 10 eval '[ "$(post_installs)" -gt "$before" ]' || fail "post-install did not run for the switch"
pass "killed after committing the SHADOW switch: the restart wrote the new pair and ran post-install"
stop_daemon cl
