#!/usr/bin/env bash
# Authorization over real HTTP: under `grant auto trustpoint`, only a renewal signed by a valid,
# unrevoked certificate of this CA is granted at once (an expired, revoked or foreign signer,
# even a foreign CA with the same name, is not); a transactionID reused with another key, a
# reused or wrong one-time password and a request for the powers of a CA get FAILURE badRequest
# and change nothing stored; the operator socket refuses other users.
source "$(dirname "$0")/../lib/common.sh"
enter_private_network "$@"
source "$(dirname "$0")/../lib/scep.sh"

start=2020-01-01T00:00:00Z
start_ca ca "clock simulate start $start rate 0
crypto pki server ROOTCA
  issuer-name CN=ROOTCA
  grant auto trustpoint ROOTCA
  lifetime certificate 30
  lifetime crl 720"
scep_to ca ROOTCA

rows() { sqlite3 "$db" "SELECT (SELECT count(*) FROM certs) || '/' || (SELECT count(*) FROM requests) || '/' || (SELECT count(*) FROM otp WHERE used = 0);" 2>/dev/null ||
         sqlite3 "$db" "SELECT (SELECT count(*) FROM certs) || '/' || (SELECT count(*) FROM requests);"; }

# ---- a first enrollment waits for the operator; the renewal it allows is granted at once
selfsigned alice
expect "first enrollment (self-signed)" PENDING "$(ask a1 pkcsreq alice "$K/alice.self" tx-alice-1)"
cli ca server ROOTCA grant all >/dev/null
expect "poll after grant" SUCCESS "$(ask a1p certpoll alice "$K/alice.self" tx-alice-1 --cn alice.example.net)"
cp "$K/a1p.pem" "$K/alice.cert"
expect "renewal signed by a valid certificate of this CA" SUCCESS \
  "$(ask a2 renewalreq alice "$K/alice.cert" tx-alice-2)"
cp "$K/a2.pem" "$K/alice2.cert"
pass "grant auto trustpoint: first enrollment PENDING, renewal signed by our valid certificate SUCCESS"

# ---- revoked signer
cli ca server ROOTCA revoke "$(serial_of "$K/alice2.cert")" >/dev/null
before=$(rows)
expect "renewal signed by a revoked certificate" FAILURE badRequest \
  "$(ask a3 renewalreq alice "$K/alice2.cert" tx-alice-3)"
[ "$(sqlite3 "$db" "SELECT count(*) FROM certs")" = "$(echo "$before" | cut -d/ -f1)" ] || fail "a certificate was issued"
pass "a renewal signed by a revoked certificate is refused (FAILURE badRequest)"

# ---- a foreign CA with the very same name
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$K/evil-ca.key" -out "$K/evil-ca.pem" -subj /CN=ROOTCA \
  -days 3650 -set_serial 1 2>/dev/null || fail "foreign CA"
key mallory
openssl req -new -key "$K/mallory.key" -subj /CN=mallory.example.net -out "$K/mallory.csr" 2>/dev/null
openssl x509 -req -in "$K/mallory.csr" -CA "$K/evil-ca.pem" -CAkey "$K/evil-ca.key" -set_serial 2 -days 365 \
  -out "$K/mallory.cert" 2>/dev/null || fail "foreign certificate"
out=$(ask m1 renewalreq mallory "$K/mallory.cert" tx-mallory-1)
case "$out" in *status=SUCCESS*) fail "a request signed by a foreign CA of the same name was granted: $out";; esac
expect "renewal signed by a foreign CA's certificate" PENDING "$out"
pass "a certificate from a foreign CA named like ours (serial 2, CN=ROOTCA) is not trusted: PENDING"

# ---- expired signer
cli ca clock advance 31d >/dev/null
out=$(ask a4 renewalreq alice "$K/alice.cert" tx-alice-4)
case "$out" in *status=SUCCESS*) fail "a renewal signed by an expired certificate was granted: $out";; esac
pass "a renewal signed by an expired certificate is not granted ($(echo "$out" | cut -d' ' -f1))"

# ---- a transactionID reused with another key
selfsigned bob
before=$(rows)
expect "transactionID reused with another key" FAILURE badRequest "$(ask b1 pkcsreq bob "$K/bob.self" tx-alice-2)"
assert_eq "$(rows)" "$before" "rows after the refused reuse"
pass "a transactionID reused with another public key: FAILURE badRequest, nothing stored"

# ---- one-time challenge passwords
pw=$(cli ca server ROOTCA password generate 10 | awk -F': ' '/One-time enrollment password/ {print $2}')
[ -n "$pw" ] || fail "no one-time password"
selfsigned carol
before=$(rows)
expect "a wrong challenge password" FAILURE badRequest \
  "$(ask c0 pkcsreq carol "$K/carol.self" tx-carol-0 --challenge "x$pw")"
expect "the one-time password" SUCCESS "$(ask c1 pkcsreq carol "$K/carol.self" tx-carol-1 --challenge "$pw")"
selfsigned dave
expect "the same password again" FAILURE badRequest "$(ask d1 pkcsreq dave "$K/dave.self" tx-dave-1 --challenge "$pw")"
pw2=$(cli ca server ROOTCA password generate 1 | awk -F': ' '/One-time enrollment password/ {print $2}')
cli ca clock advance 2m >/dev/null
expect "an expired one-time password" FAILURE badRequest \
  "$(ask d2 pkcsreq dave "$K/dave.self" tx-dave-2 --challenge "$pw2")"
pass "one-time passwords: a wrong one refused, a good one grants once, a second use and an expired one refused"

# ---- what the issuance policy refuses, before anything is queued
selfsigned eve
for ext in "basicConstraints=critical,CA:TRUE" "keyUsage=critical,keyCertSign" "keyUsage=cRLSign" \
           "nameConstraints=permitted;DNS:example.net" "subjectAltName=otherName:1.2.3.4;UTF8:x" \
           "subjectAltName=RID:1.2.3.4"; do
  before=$(rows)
  n=$((${n:-0} + 1))
  expect "a request for $ext" FAILURE badRequest "$(ask e$n pkcsreq eve "$K/eve.self" tx-eve-$n --ext "$ext")"
  assert_eq "$(rows)" "$before" "rows after refusing $ext"
done
grep -q "refused by the issuance policy" "$WORK/ca.log" || fail "the refusal's reason is not logged"
expect "an ordinary subjectAltName" PENDING \
  "$(ask e99 pkcsreq eve "$K/eve.self" tx-eve-99 --ext "subjectAltName=DNS:eve.example.net,IP:192.0.2.1")"
pass "requests for CA powers or unusual names are refused with a logged reason; DNS and IP names are accepted"

# ---- the operator socket refuses other users, even when its file mode would let them in
if command -v setpriv >/dev/null && [ "$(id -u)" = 0 ]; then
  chmod 0711 "$WORK" "$WORK/ca"
  chmod 0666 "$WORK/ca/evercertd.sock"
  out=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$EVERCERT" --state-dir "$WORK/ca" ping 2>&1) &&
    fail "another user's operator command was accepted: $out"
  assert_contains "$out" "permission denied" "another user's ping"
  chmod 0600 "$WORK/ca/evercertd.sock"
  chmod 0700 "$WORK/ca" "$WORK"
  grep -q "operator connection from another user refused" "$WORK/ca.log" || fail "the refusal is not logged"
  pass "the operator socket refuses another user (SO_PEERCRED), and logs it"
else
  echo "# skipped: the socket check needs root and setpriv"
fi
