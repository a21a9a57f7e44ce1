#!/usr/bin/env bash
# The renewal grace (grant renewal-grace) on a simulated clock, with scep_tool as the client that
# never asked for the next CA certificate: after the CA switch, a renewal signed by a certificate
# that ended with the old CA generation is granted at once under grant auto trustpoint, issued by
# the new CA; one whose certificate ended on its own, was revoked, asks for other names, or comes
# after the grace waits for the operator or is refused, and nothing is issued for it.
source "$(dirname "$0")/../lib/common.sh"
enter_private_network "$@"
source "$(dirname "$0")/../lib/scep.sh"

start_ca ca "clock simulate start 2020-01-01T00:00:00Z rate 0
crypto pki server ROOTCA
  issuer-name CN=ROOTCA
  grant auto trustpoint ROOTCA
  grant renewal-grace 10
  database level complete
  lifetime ca-certificate 100
  lifetime certificate 30
  auto-rollover 20"
scep_to ca ROOTCA
certs() { sqlite3 "$db" "SELECT count(*) FROM certs"; }
not_after() { openssl x509 -in "$1" -noout -enddate | cut -d= -f2; }
assert_contains "$(cli ca show crypto pki server)" "Renewal grace after the CA certificate's end: 10 days" "show"
cp "$ca" "$K/ca0.pem"
ca_end=$(not_after "$K/ca0.pem")

# enroll NAME: a first enrollment with a one-time password; the certificate in $K/NAME.cert.
enroll() {
  selfsigned "$1"
  expect "$1's enrollment" SUCCESS "$(ask "$1-0" pkcsreq "$1" "$K/$1.self" "tx-$1-0" --challenge "$(one_time_password ca ROOTCA)")"
  cp "$K/$1-0.pem" "$K/$1.cert"
}

# ---- one certificate ends on its own before the CA does, the others end with it (capped)
cli ca clock advance-to 2020-03-05T00:00:00Z >/dev/null
enroll solo
cli ca clock advance-to 2020-03-20T00:00:00Z >/dev/null
for c in alice bob carol dave frank; do enroll "$c"; done
assert_eq "$(not_after "$K/alice.cert")" "$ca_end" "alice's end (capped by the CA's)"
[ "$(not_after "$K/solo.cert")" != "$ca_end" ] || fail "solo's certificate should end before the CA's"
cli ca server ROOTCA revoke "$(serial_of "$K/carol.cert")" >/dev/null
pass "five certificates end with the CA generation, one before it; carol's is revoked"

# ---- the CA switches; the clients never asked for the next CA certificate
cli ca clock advance-to 2020-04-11T00:00:00Z >/dev/null
curl -sf -o "$K/ca1.der" "$url?operation=GetCACert" || fail "GetCACert after the switch"
openssl x509 -inform DER -in "$K/ca1.der" -out "$K/ca1.pem"
[ "$(openssl x509 -in "$K/ca1.pem" -noout -serial)" != "$(openssl x509 -in "$K/ca0.pem" -noout -serial)" ] ||
  fail "the CA did not switch"
ca="$K/ca1.pem"
! openssl verify -CAfile "$K/ca0.pem" "$K/alice.cert" >/dev/null 2>&1 || fail "alice's certificate should have lapsed"

before=$(certs)
expect "alice's renewal a day after the CA's end" SUCCESS "$(ask alice-1 renewalreq alice "$K/alice.cert" tx-alice-1)"
assert_eq "$(certs)" "$((before + 1))" "certificates after alice's renewal"
now=$(date -u -d 2020-04-11T00:01:00Z +%s)
openssl verify -attime "$now" -CAfile "$K/ca1.pem" "$K/alice-1.pem" >/dev/null ||
  fail "alice's renewed certificate does not verify with the new CA certificate"
assert_contains "$(openssl x509 -in "$K/alice-1.pem" -noout -subject)" "alice.example.net" "alice's new subject"
grep -q "tx-alice-1): renewal signed by a certificate that ended with its CA certificate, within the renewal grace" \
  "$WORK/ca.log" || fail "the grant's reason is not logged"
pass "a renewal signed by a certificate that ended with its CA, a day after: granted at once by the new CA"

key bob2
expect "bob's renewal with a new key" SUCCESS "$(ask bob-1 renewalreq bob "$K/bob.cert" tx-bob-1 --csr-key "$K/bob2.key")"
openssl verify -attime "$now" -CAfile "$K/ca1.pem" "$K/bob-1.pem" >/dev/null || fail "bob's renewed certificate"
pass "the same with a new key pair"

before=$(certs)
expect "solo's renewal (its certificate ended on its own)" PENDING "$(ask solo-1 renewalreq solo "$K/solo.cert" tx-solo-1)"
assert_contains "$(cli ca server ROOTCA info requests)" "signed by an expired certificate" "the queue"
expect "carol's renewal (revoked)" FAILURE badRequest "$(ask carol-1 renewalreq carol "$K/carol.cert" tx-carol-1)"
expect "dave asking for another subject" PENDING \
  "$(ask dave-1 renewalreq dave "$K/dave.cert" tx-dave-1 --cn www.bank.example)"
assert_contains "$(cli ca server ROOTCA info requests)" "subject differs from the signing certificate" "the queue"
assert_eq "$(certs)" "$before" "certificates after the requests that get no grace"
pass "no grace for a certificate that ended on its own, a revoked one, or other names"

# ask_old_ca NAME TXID: a renewal signed by NAME's certificate but encrypted to the CA certificate
# that ended, as a client sends that never fetched the new one; the reply is read with the new one.
ask_old_ca() {
  rm -f "$K/$2.pem"
  "$TOOL" request --type renewalreq --ca "$K/ca0.pem" --key "$K/$1.key" --signer "$K/$1.cert" --txid "$2" \
    --out "$K/$2.der" || fail "request $2"
  curl -s -o "$K/$2.reply" --data-binary @"$K/$2.der" "$url?operation=PKIOperation" || fail "POST $2"
  "$TOOL" reply --in "$K/$2.reply" --key "$K/$1.key" --signer "$K/$1.cert" --ca "$K/ca1.pem" --out "$K/$2.pem" ||
    fail "reply to $2 unreadable"
}
expect "frank's renewal encrypted to the CA certificate that ended" SUCCESS "$(ask_old_ca frank tx-frank-1)"
openssl verify -attime "$now" -CAfile "$K/ca1.pem" "$K/tx-frank-1.pem" >/dev/null ||
  fail "frank's renewed certificate does not verify with the new CA certificate"
pass "within the grace, a request encrypted to the CA certificate that ended is opened and issued by the new CA"

# ---- the grace is bounded: ten days after the CA's end, a renewal waits for the operator
cli ca clock advance-to 2020-04-19T23:59:00Z >/dev/null
expect "dave's renewal just inside the grace" SUCCESS "$(ask dave-2 renewalreq dave "$K/dave.cert" tx-dave-2)"
cli ca clock advance-to 2020-04-20T00:01:00Z >/dev/null
expect "bob's renewal with the old certificate after the grace" PENDING \
  "$(ask bob-2 renewalreq bob "$K/bob.cert" tx-bob-2)"
expect "a request encrypted to the old CA certificate after the grace" FAILURE badMessageCheck \
  "$(ask_old_ca frank tx-frank-2)"
pass "ten days after the CA's end the grace is over (granted a minute before, pending a minute after; the old CA certificate no longer opens envelopes)"
