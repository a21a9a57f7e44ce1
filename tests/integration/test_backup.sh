#!/usr/bin/env bash
# Backup and restore of a running CA: certificates issued, `evercert backup` while it runs (a
# new private directory, every file listed in a MANIFEST with its SHA-256, a non-empty directory
# refused), more certificates issued, the state destroyed, a damaged backup refused by `evercert
# restore`, the good one restored into a new state directory. The restored CA has the same key
# and fingerprint, every certificate issued before the backup, the same timers, never issues a
# serial again (its counter moved past anything issued since), and goes on to its rollover on
# schedule.
source "$(dirname "$0")/../lib/common.sh"
enter_private_network "$@"

use_scep_tool
start=2030-01-01T00:00:00Z
start_ca ca "clock simulate start $start rate 0
crypto pki trustpoint TP
  enrollment url http://127.0.0.1:9
crypto pki server ROOTCA
  issuer-name CN=Backup Root,O=Evercert
  database level complete
  grant auto
  lifetime certificate 30
  lifetime crl 336
  lifetime ca-certificate 730
  auto-rollover 90"
ca_pem="$WORK/ca/ROOTCA/ROOTCA.pem"
fp_before=$fp
K="$WORK/k"
mkdir -p "$K"

# One key for every client: what is tested is the CA's numbering, and keys are slow to make
# under the sanitizers.
"$TOOL" keygen --out "$K/client.key" --bits 2048 >/dev/null || fail "keygen"

# enroll NAME: one PKCSReq granted at once; prints the certificate's serial (hex, as the CA
# names its files).
enroll() {
  "$TOOL" selfsign --key "$K/client.key" --cn "$1.example.net" --out "$K/$1.self" || fail "selfsign $1"
  "$TOOL" request --type pkcsreq --ca "$ca_pem" --key "$K/client.key" --signer "$K/$1.self" --txid "tx-$1" \
    --out "$K/$1.der" || fail "request $1"
  curl -s -o "$K/$1.reply" --data-binary @"$K/$1.der" \
    "http://127.0.0.1:$port/cgi-bin/pkiclient.exe?operation=PKIOperation" || fail "POST $1"
  "$TOOL" reply --in "$K/$1.reply" --key "$K/client.key" --signer "$K/$1.self" --ca "$ca_pem" \
    --out "$K/$1.pem" | grep -q status=SUCCESS || fail "enrollment of $1 not granted"
  openssl x509 -in "$K/$1.pem" -noout -serial | cut -d= -f2 | sed 's/^0*//'
}

before=()
for c in a b c; do before+=("$(enroll "$c")"); done
timers_before=$(cli ca show crypto pki timers)
assert_contains "$timers_before" "CS SHADOW CERT GENERATION" "timers before the backup"

# --- the backup, into a directory named relative to the operator's working directory
mkdir "$WORK/busy" && touch "$WORK/busy/x"
out=$(cli ca backup "$WORK/busy" 2>&1) && fail "a backup into a non-empty directory was accepted"
assert_contains "$out" "is not empty" "backup into a non-empty directory"
out=$(cli ca backup "$WORK/ca/inner" 2>&1) && fail "a backup inside the state directory was accepted"
assert_contains "$out" "is inside the state directory" "backup inside the state directory"
[ ! -e "$WORK/ca/inner" ] || fail "a refused backup left a directory in the state"
# An enrollment under way while the copy is made: in the backup or not, never half.
enroll during >"$WORK/during.serial" &
during_pid=$!
out=$(cd "$WORK" && cli ca backup bk) || fail "backup: $out"
wait "$during_pid" || fail "enrollment during the backup"
assert_contains "$out" "backup written to $WORK/bk" "backup"
assert_contains "$out" "ROOTCA: database copied" "backup"
B="$WORK/bk"
[ -f "$B/MANIFEST" ] || fail "no MANIFEST"
assert_eq "$(stat -c %a "$B")" 700 "mode of the backup directory"
[ -z "$(find "$B" -type f ! -perm 600)" ] || fail "files not 0600: $(find "$B" -type f ! -perm 600)"
for f in state/ROOTCA/ROOTCA.db state/ROOTCA/ROOTCA.0.key state/ROOTCA/ROOTCA.keypass state/ROOTCA/ROOTCA.p12 \
  state/ROOTCA/ROOTCA.pem state/ROOTCA/ROOTCA.crl "state/ROOTCA/${before[0]}.cer" state/trustpoints/TP.state \
  state/trustpoints/client.keypass config/evercert.conf; do
  grep -q " $f\$" "$B/MANIFEST" || fail "MANIFEST does not list $f"
done
[ ! -e "$B/state/evercertd.lock" ] && [ ! -e "$B/state/evercertd.sock" ] && [ ! -e "$B/state/ROOTCA/ROOTCA.db-wal" ] ||
  fail "runtime files in the backup"
grep -q "^ca ROOTCA sqlite [0-9A-F]* state/ROOTCA$" "$B/MANIFEST" || fail "no ca line: $(cat "$B/MANIFEST")"
grep -q "^trustpoint TP$" "$B/MANIFEST" || fail "no trustpoint line"
grep -q "^version " "$B/MANIFEST" && grep -q "^created 2030-01-01T" "$B/MANIFEST" || fail "no version or time"
# The checksums, by another tool than ours; and the copied database is a whole one.
(cd "$B" && awk '$1 == "file" {print $3 "  " $4}' MANIFEST | sha256sum --quiet -c -) || fail "sha256sum -c"
python3 - "$B/state/ROOTCA/ROOTCA.db" "${before[@]}" <<'EOF' || fail "the copied database"
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
have = {r[0] for r in db.execute("SELECT serial FROM certs")}
missing = [s for s in sys.argv[2:] if s not in have]
assert not missing, missing
EOF
out=$("$EVERCERT" restore --check "$B") || fail "restore --check: $out"
assert_contains "$out" "files match the MANIFEST" "restore --check"
pass "backup of a running CA: MANIFEST with checksums, private modes; a non-empty directory or one in the state refused"

# --- more certificates after the backup, then the state is lost
after=("$(cat "$WORK/during.serial")")
for c in d e; do after+=("$(enroll "$c")"); done
stop_daemon ca
rm -rf "$WORK/ca"

# --- a damaged backup is refused, and so is a non-empty target
cp -a "$B" "$WORK/bad"
printf 'X' | dd of="$WORK/bad/state/ROOTCA/ROOTCA.0.key" bs=1 seek=100 conv=notrunc status=none
out=$("$EVERCERT" restore "$WORK/bad" --state-dir "$WORK/x" 2>&1) && fail "a damaged backup was restored"
assert_contains "$out" "state/ROOTCA/ROOTCA.0.key does not match the MANIFEST" "damaged backup"
[ ! -e "$WORK/x" ] || [ -z "$(ls -A "$WORK/x")" ] || fail "a damaged backup left files"
cp "$B/MANIFEST" "$WORK/bad/MANIFEST" && cp "$B/state/ROOTCA/ROOTCA.0.key" "$WORK/bad/state/ROOTCA/"
echo extra >"$WORK/bad/state/extra"
out=$("$EVERCERT" restore "$WORK/bad" --state-dir "$WORK/x" 2>&1) && fail "a backup with an unlisted file was restored"
assert_contains "$out" "state/extra is in the backup but not in its MANIFEST" "unlisted file"
out=$("$EVERCERT" restore "$B" --state-dir "$WORK/busy" 2>&1) && fail "restored into a non-empty directory"
assert_contains "$out" "is not empty" "restore into a non-empty directory"
pass "damaged backup, unlisted file and non-empty target refused with the reason"

# --- the restore
out=$("$EVERCERT" --state-dir "$WORK/ca" restore "$B") || fail "restore: $out"
assert_contains "$out" "ROOTCA: highest serial reserved at the backup" "restore"
start_daemon_again ca
assert_eq "$(ca_fingerprint ca ROOTCA)" "$fp_before" "CA fingerprint after the restore"
assert_eq "$(cli ca show crypto pki timers)" "$timers_before" "timers after the restore"
for s in "${before[@]}"; do
  [ -f "$WORK/ca/ROOTCA/$s.cer" ] || fail "certificate $s issued before the backup is gone"
  cli ca server ROOTCA revoke "$s" >/dev/null || fail "the restored CA does not know $s"
  cli ca server ROOTCA unrevoke "$s" >/dev/null || fail "unrevoke $s"
done
cli ca show crypto pki trustpoints | grep -q TP || fail "trustpoint TP not restored"
pass "restored CA: same key and timers, every certificate issued before the backup"

# --- issuing again: no serial of before or after the backup comes back
for c in f g; do
  s=$(enroll "$c")
  for old in "${before[@]}" "${after[@]}"; do
    [ "$s" != "$old" ] || fail "serial $s issued twice"
    [ $((16#$s)) -gt $((16#$old)) ] || fail "serial $s not above $old"
  done
done
pass "serials after the restore are above any issued before or after the backup"

# --- and the rollover comes on schedule: 640 days after the start (730 - 90)
cli ca clock advance 639d23h >/dev/null || fail "clock advance"
cli ca show crypto pki certificates | grep -q Rollover && fail "rollover before its time"
cli ca clock advance 2h >/dev/null || fail "clock advance"
wait_for 30 sh -c "'$EVERCERT' --state-dir '$WORK/ca' show crypto pki certificates | grep -q Rollover"
pass "the restored CA makes its rollover certificate at the time planned before the backup"
