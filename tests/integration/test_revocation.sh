#!/usr/bin/env bash
# Revocation of another CA's certificates, with two CA daemons as separate hosts: CA OTHER issues
# certificates to clients; CA ROOTCA trusts OTHER through `crypto pki trustpoint OTHER` and grants
# at once, under `grant auto trustpoint OTHER`, a renewal signed by a valid certificate of OTHER's
# that OTHER has not revoked. ROOTCA keeps OTHER's CRL (fetched by GetCRL, verified against
# OTHER's certificate, cached until its nextUpdate): a certificate OTHER revoked is refused once
# that CRL is refreshed (by its timer, or at once by `crypto pki crl request`); with OTHER out of
# reach and the CRL past its nextUpdate, requests wait for the operator with the reason; with
# `revocation-check none` written, the chain alone grants. A client trustpoint with
# `revocation-check crl` keeps its CA's CRL too (from the CRL distribution point of its
# certificate), refuses to install a certificate that CRL lists or while it has no current CRL,
# and shows when its own certificate is revoked. A trustpoint that needs re-authentication (its CA
# replaced by one of the same name with another key) fetches no CRL even when a certificate server
# of its own daemon asks for one.
source "$(dirname "$0")/../lib/common.sh"
enter_private_network "$@"

use_scep_tool
start=2030-01-01T00:00:00Z
attime=$(($(date -u -d "$start" +%s) + 9 * 3600)) # for openssl verify: the simulated days
po=$(free_port)
pr=$(free_port)
start_daemon other "ip http server $po
ip http bind 127.0.0.1
clock simulate start $start rate 0
crypto pki server OTHER
  issuer-name CN=Other CA,O=Evercert
  grant auto
  lifetime certificate 30
  lifetime crl 6
  cdp-url http://127.0.0.1:$po/OTHER.crl
crypto pki server MANUAL
  issuer-name CN=Manual CA,O=Evercert
  lifetime certificate 30
  lifetime crl 6"
other_ca="$WORK/other/OTHER/OTHER.pem"
fp=$(ca_fingerprint other OTHER | tr -d :)
fp_manual=$(ca_fingerprint other MANUAL | tr -d :)

root_conf="ip http server $pr
ip http bind 127.0.0.1
clock simulate start $start rate 0
crypto pki trustpoint OTHER
  enrollment url http://127.0.0.1:$po
  fingerprint $fp
crypto pki server ROOTCA
  issuer-name CN=Root CA,O=Evercert
  grant auto trustpoint OTHER
  lifetime certificate 30"
start_daemon root "$root_conf"
root_ca="$WORK/root/ROOTCA/ROOTCA.pem"
K="$WORK/k"
mkdir -p "$K"

# ask NAME TYPE KEY SIGNER TXID CA_PEM PORT: one request; prints 'status=S failinfo=F txid=T'; a
# certificate received is left in $K/NAME.pem.
ask() {
  local name=$1 type=$2 k=$3 signer=$4 txid=$5 ca=$6 port=$7
  "$TOOL" request --type "$type" --ca "$ca" --key "$K/$k.key" --signer "$signer" --txid "$txid" \
    --out "$K/$name.der" || fail "request $name"
  curl -s -o "$K/$name.reply" --data-binary @"$K/$name.der" \
    "http://127.0.0.1:$port/cgi-bin/pkiclient.exe?operation=PKIOperation" || fail "POST $name"
  "$TOOL" reply --in "$K/$name.reply" --key "$K/$k.key" --signer "$signer" --ca "$ca" --out "$K/$name.pem" ||
    fail "reply to $name unreadable"
}
expect() { # expect WHAT STATUS [FAILINFO] LINE
  local what=$1 status=$2 info=${3:-} line=${4:-}
  [ -n "$line" ] || { line=$info; info=; }
  assert_contains "$line" "status=$status" "$what"
  [ -z "$info" ] || assert_contains "$line" "failinfo=$info" "$what"
}
# enroll NAME: a client of OTHER's with a certificate in $K/NAME.cert.
enroll() {
  "$TOOL" keygen --out "$K/$1.key" --bits 2048 || fail "keygen $1"
  "$TOOL" selfsign --key "$K/$1.key" --cn "$1.example.net" --out "$K/$1.self" || fail "selfsign $1"
  expect "enrollment of $1 at OTHER" SUCCESS "$(ask "$1-e" pkcsreq "$1" "$K/$1.self" "tx-$1-e" "$other_ca" "$po")"
  cp "$K/$1-e.pem" "$K/$1.cert"
}
renew_at_root() { ask "$1-$2" renewalreq "$1" "$K/$1.cert" "tx-$1-$2" "$root_ca" "$pr"; }
serial_of() { openssl x509 -in "$1" -noout -serial | cut -d= -f2; }
# wait_log NAME TEXT: waits (up to 30 s) for TEXT in NAME's log.
wait_log() { wait_for_text "$WORK/$1.log" "$2" 30; }

# ---- ROOTCA's trustpoint authenticates to OTHER and fetches its CRL at once
cli root authenticate OTHER >/dev/null
wait_log root "trustpoint OTHER: CRL taken from GetCRL at http://127.0.0.1:$po"
assert_contains "$(cli root show crypto pki trustpoints)" "Revocation check ........... crl: current CRL until"
assert_contains "$(cli root show crypto pki timers)" "CRL UPDATE OTHER"
pass "a trustpoint named by grant auto trustpoint checks revocation by default: CRL fetched by GetCRL"

enroll alice
enroll bob
enroll carol
expect "renewal signed by OTHER's valid certificate" SUCCESS "$(renew_at_root alice 1)"
openssl verify -attime "$attime" -CAfile "$root_ca" "$K/alice-1.pem" >/dev/null || fail "the renewal is not ROOTCA's"
grep -q "renewal signed by a trusted certificate" "$WORK/root.log" || fail "not granted as a trusted renewal"
pass "a renewal signed by a valid, unrevoked certificate of OTHER's is granted at once (SUCCESS)"

# ---- OTHER revokes alice: refused once ROOTCA's copy of the CRL is refreshed by its timer
cli other server OTHER revoke "$(serial_of "$K/alice.cert")" >/dev/null
expect "renewal while the CRL held is current and older than the revocation" SUCCESS "$(renew_at_root alice 2)"
cli root clock advance 4h31m >/dev/null
wait_log root "1 revoked; next fetch"
expect "renewal signed by a certificate OTHER revoked" FAILURE badRequest "$(renew_at_root alice 3)"
grep -q "signer: trustpoint OTHER: certificate .* was revoked by its CA" "$WORK/root.log" || fail "no reason logged"
pass "revoked by OTHER: granted until ROOTCA's CRL refresh, refused after it (FAILURE badRequest)"

# ---- and at once when the operator fetches the CRL first
cli other server OTHER revoke "$(serial_of "$K/bob.cert")" >/dev/null
out=$(cli root crypto pki crl request OTHER)
assert_contains "$out" "crl: current CRL until"
expect "renewal signed by bob's revoked certificate" FAILURE badRequest "$(renew_at_root bob 1)"
expect "renewal signed by carol's valid certificate" SUCCESS "$(renew_at_root carol 1)"
pass "crypto pki crl request: the next request is judged on the CRL just fetched"

# ---- requests on HTTP threads while the main thread replaces what the trustpoint trusts (its CA
# certificate authenticated again, its CRL fetched again): each reads one whole snapshot
# (`make test-tsan` runs this under ThreadSanitizer)
pids=()
for i in $(seq 1 8); do renew_at_root carol "p$i" >"$K/carol-p$i.status" & pids+=($!); done
for _ in 1 2 3; do
  cli root authenticate OTHER >/dev/null
  cli root crypto pki crl request OTHER >/dev/null
done
for p in "${pids[@]}"; do wait "$p" || fail "a concurrent renewal failed"; done
for i in $(seq 1 8); do expect "concurrent renewal $i" SUCCESS "$(cat "$K/carol-p$i.status")"; done
pass "8 renewals granted while the trustpoint's CA certificate and CRL were replaced 3 times"

# ---- OTHER out of reach and the CRL past its nextUpdate: the manual queue, with the reason
stop_daemon other
cli root clock advance 2h >/dev/null
expect "renewal without a current CRL" PENDING "$(renew_at_root carol 2)"
reqs=$(cli root server ROOTCA info requests)
assert_contains "$reqs" "cn=carol.example.net"
assert_contains "$reqs" "no current CRL for trustpoint OTHER"
wait_log root "trustpoint OTHER: a request found no current CRL: fetching one now"
assert_contains "$(cli root show crypto pki trustpoints)" "crl: no current CRL"
expect "revoked signer without a current CRL" FAILURE badRequest "$(renew_at_root alice 4)"
pass "no current CRL (OTHER down, CRL past nextUpdate): PENDING with the reason in info requests; fetch asked"

# ---- revocation-check none, written: the chain alone grants
stop_daemon root
mv "$WORK/root.log" "$WORK/root.1.log"
start_daemon root "${root_conf/fingerprint $fp/fingerprint $fp
  revocation-check none}"
expect "renewal under revocation-check none" SUCCESS "$(renew_at_root carol 3)"
assert_contains "$(cli root show crypto pki trustpoints)" "Revocation check ........... none"
pass "revocation-check none written: granted on the chain alone, no CRL"

# ---- a client trustpoint with revocation-check crl, on a clock 8 hours ahead of OTHER's: every
# CRL OTHER has issued so far has ended by its clock
start_daemon_again other
ahead=$(date -u -d "${start/T/ } 8 hours" +%Y-%m-%dT%H:%M:%SZ)
mkdir -p "$WORK/out"
start_daemon cl "hostname spoke-1
clock simulate start $ahead rate 0
crypto pki trustpoint T
  enrollment url http://127.0.0.1:$po
  fingerprint $fp
  subject-name CN=spoke-1.example.net
  revocation-check crl
  auto-enroll 80
  output certificate $WORK/out/t.pem
crypto pki trustpoint M
  enrollment url http://127.0.0.1:$po/MANUAL
  fingerprint $fp_manual
  subject-name CN=spoke-m.example.net
  revocation-check crl
  auto-enroll 80"
# Both authenticate and enroll by themselves at start; M's request waits at CA MANUAL.
wait_log cl "trustpoint M: request pending at the CA"
wait_log cl "trustpoint T: no CRL could be fetched: GetCRL: the CRL expired at"
wait_log cl "the issued certificate is not installed: no current CRL for trustpoint T"
assert_contains "$(cli cl show crypto pki trustpoints)" "Certificate request(s) ..... None"
[ ! -f "$WORK/out/t.pem" ] || fail "a certificate was installed without a current CRL"
pass "client: no current CRL of its CA (clock ahead of the CRL's nextUpdate): the certificate is not installed"

cli other clock advance 8h >/dev/null
assert_contains "$(cli cl crypto pki crl request T)" "crl: current CRL until"
cli cl enroll T >/dev/null
assert_contains "$(cli cl show crypto pki trustpoints)" "Certificate request(s) ..... Yes"
openssl verify -attime "$attime" -CAfile "$other_ca" "$WORK/out/t.pem" >/dev/null || fail "installed certificate does not verify"
pass "client: with a current CRL that does not list it, the certificate is installed"

cli other server OTHER revoke "$(serial_of "$WORK/out/t.pem")" >/dev/null
cli cl crypto pki crl request T >/dev/null
wait_log cl "trustpoint T: CRL taken from http://127.0.0.1:$po/OTHER.crl"
wait_log cl "trustpoint T: the identity certificate is revoked"
assert_contains "$(cli cl show crypto pki trustpoints)" "identity certificate revoked"
assert_contains "$(cli cl show crypto pki trustpoints --json)" '"revocation_check":"crl"'
pass "client: CRL fetched from the certificate's distribution point; its own revocation shown"

# M's request granted, the certificate revoked before M polls: M does not install it.
serial=$(cli other server MANUAL grant all | sed -n 's/.*certificate serial \([0-9A-F]*\) issued.*/\1/p')
[ -n "$serial" ] || fail "no certificate issued by MANUAL"
cli other server MANUAL revoke "$serial" >/dev/null
assert_contains "$(cli cl crypto pki crl request M)" "crl: current CRL until"
cli cl clock advance 1m >/dev/null
wait_log cl "trustpoint M: the issued certificate is not installed: certificate $serial was revoked by its CA"
m_status=$(cli cl show crypto pki trustpoints | awk '/^Trustpoint M:/,/^$/')
assert_contains "$m_status" "Certificate request(s) ..... "
case "$m_status" in *"Certificate request(s) ..... Yes"*) fail "M installed a revoked certificate";; esac
pass "client: a certificate its CA's current CRL lists is not installed"

# ---- a trustpoint that needs re-authentication fetches no CRL, even when its own daemon's
# certificate server asks for one: OTHER is replaced by a CA of the same name with another key
now=$(cli other --json show clock | python3 -c "import json,sys; sys.path.insert(0,'$SRC/tests/lib'); import fleet; print(fleet.iso(json.load(sys.stdin)['now_ms']))")
pr2=$(free_port)
start_daemon r2 "ip http server $pr2
ip http bind 127.0.0.1
clock simulate start $now rate 0
crypto pki trustpoint OTHER
  enrollment url http://127.0.0.1:$po
  fingerprint $fp
crypto pki server R2CA
  issuer-name CN=Second Root CA,O=Evercert
  grant auto trustpoint OTHER
  lifetime certificate 30"
cli r2 authenticate OTHER >/dev/null
wait_log r2 "trustpoint OTHER: CRL taken from GetCRL at http://127.0.0.1:$po"
stop_daemon other
start_daemon fake "ip http server $po
ip http bind 127.0.0.1
clock simulate start $now rate 0
crypto pki server OTHER
  issuer-name CN=Other CA,O=Evercert"
cli r2 enroll OTHER >/dev/null 2>&1 || true
wait_log r2 "trustpoint OTHER: re-authenticate needed"
cli r2 clock advance 7h >/dev/null # the CRL held passes its nextUpdate
expect "renewal at R2CA while OTHER needs re-authentication" PENDING \
  "$(ask carol-r2 renewalreq carol "$K/carol.cert" tx-carol-r2 "$WORK/r2/R2CA/R2CA.pem" "$pr2")"
grep -q "transaction tx-carol-r2): signer: .*no current CRL" "$WORK/r2.log" || fail "the CA did not find the CRL missing"
# Two commands served by the main loop: the ask has been looked at between them.
cli r2 show crypto pki timers >/dev/null
cli r2 show crypto pki timers >/dev/null
! grep -q "trustpoint OTHER: a request found no current CRL" "$WORK/r2.log" || fail "the trustpoint fetched a CRL"
! grep -q "GetCRL\|OTHER.crl" "$WORK/fake.log" || fail "the impostor was asked for a CRL"
pass "re-authenticate needed: a CRL asked for by the daemon's certificate server is not fetched"
