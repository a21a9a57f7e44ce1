#!/usr/bin/env bash
# What the CA grants, attacked over HTTP: a renewal is bound to its signer's names; one
# transactionID and key get one certificate whoever signs; a one-time password is spent only
# with a recorded certificate; refused requests leave a small record (never the request), are
# purged after the request lifetime, and one address cannot fill the disk with them.
source "$(dirname "$0")/../lib/common.sh"
enter_private_network "$@"
source "$(dirname "$0")/../lib/scep.sh"

start_ca ca "clock simulate start 2020-01-01T00:00:00Z rate 0
crypto pki server ROOTCA
  issuer-name CN=ROOTCA
  grant auto trustpoint ROOTCA
  database level complete
  lifetime certificate 30
  lifetime enrollment-request 24"
scep_to ca ROOTCA

sql() { sqlite3 "$db" "$1"; }
certs() { sql "SELECT count(*) FROM certs"; }
otp() { cli ca server ROOTCA password generate "${1:-60}" | awk -F': ' '/One-time enrollment password/ {print $2}'; }

# ---- alice holds a certificate for alice.example.net with two alternative names
selfsigned alice
pw=$(otp)
expect "alice's enrollment" SUCCESS "$(ask a1 pkcsreq alice "$K/alice.self" tx-alice-1 --challenge "$pw" \
  --cn alice.example.net --ext "subjectAltName=DNS:alice.example.net,IP:192.0.2.10")"
cp "$K/a1.pem" "$K/alice.cert"
key alice2
expect "a renewal asking for the same names with a new key" SUCCESS \
  "$(ask a2 renewalreq alice "$K/alice.cert" tx-alice-2 --csr-key "$K/alice2.key" \
     --cn alice.example.net --ext "subjectAltName=IP:192.0.2.10,DNS:alice.example.net")"
pass "a renewal signed by a valid certificate, same subject and names, new key: SUCCESS"

# ---- an enrolled client asks for someone else's names
key mallory
before=$(certs)
out=$(ask a3 pkcsreq alice "$K/alice.cert" tx-alice-3 --csr-key "$K/mallory.key" --cn www.bank.example \
  --ext "subjectAltName=DNS:*.bank.example,IP:10.0.0.1")
expect "a request for another subject signed by alice's certificate" PENDING "$out"
assert_eq "$(certs)" "$before" "certificates after the attempt"
queue=$(cli ca server ROOTCA info requests)
assert_contains "$queue" "cn=www.bank.example" "the queue"
assert_contains "$queue" "subject differs from the signing certificate CN=alice.example.net" "the queue's reason"
out=$(ask a4 renewalreq alice "$K/alice.cert" tx-alice-4 --cn alice.example.net \
  --ext "subjectAltName=DNS:alice.example.net,IP:192.0.2.10,DNS:*.bank.example")
expect "a renewal adding an alternative name" PENDING "$out"
assert_contains "$(cli ca server ROOTCA info requests)" "subjectAltName differs from the signing certificate" "the queue"
out=$(ask a5 renewalreq alice "$K/alice.cert" tx-alice-5 --cn alice.example.net)
expect "a renewal dropping the alternative names" PENDING "$out"
assert_eq "$(certs)" "$before" "certificates after the attempts"
grep -q "subject differs from the signing certificate CN=alice.example.net" "$WORK/ca.log" ||
  fail "the reason is not logged"
pass "a request for other names signed by an enrolled client's certificate waits for the operator, with the reason"

# ---- names and keys are validated, not only typed: refused before anything is stored
selfsigned eve
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024 -out "$K/rsa1024.key" 2>/dev/null || fail "rsa1024"
openssl ecparam -name secp256k1 -genkey -noout -out "$K/k1.key" 2>/dev/null || fail "secp256k1"
openssl ecparam -name prime256v1 -genkey -noout -param_enc explicit -out "$K/explicit.key" 2>/dev/null || fail "explicit"
openssl ecparam -name secp384r1 -genkey -noout -out "$K/p384.key" 2>/dev/null || fail "p384"
n=0
refused() { # refused WHY [request options...]
  local why=$1
  shift
  n=$((n + 1))
  local before
  before=$(sql "SELECT (SELECT count(*) FROM certs) || '/' || (SELECT count(*) FROM requests)")
  expect "a request with $why" FAILURE "$(ask v$n pkcsreq eve "$K/eve.self" tx-eve-$n "$@")"
  assert_eq "$(sql "SELECT (SELECT count(*) FROM certs) || '/' || (SELECT count(*) FROM requests)")" "$before" \
    "certificates/requests after refusing $why"
  grep -q "tx-eve-$n) refused: badRequest: .*$why" "$WORK/ca.log" || fail "the refusal of $why is not logged with its reason"
}
refused "not a valid DNS name" --ext "subjectAltName=DNS:under_score.example.net"
refused "not a valid DNS name" --ext "subjectAltName=DNS:*.com"
refused "not a valid DNS name" --ext "subjectAltName=DNS:a.*.example.net"
refused "not a valid IP address" --ext "subjectAltName=IP:0.0.0.0"
refused "not a valid IP address" --ext "subjectAltName=IP:::"
refused "not a valid e-mail address" --ext "subjectAltName=email:no-at-sign"
refused "URI, which this CA does not issue" --ext "subjectAltName=URI:https://eve.example.net/"
refused "1024 bits is not accepted" --csr-key "$K/rsa1024.key"
refused "curve secp256k1 is not accepted" --csr-key "$K/k1.key"
refused "explicit curve parameters" --csr-key "$K/explicit.key"
pw=$(otp)
expect "an EC P-384 key with ordinary names" SUCCESS "$(ask v99 pkcsreq eve "$K/eve.self" tx-eve-99 --challenge "$pw" \
  --csr-key "$K/p384.key" --ext "subjectAltName=DNS:*.eve.example.net,IP:2001:db8::1,email:eve@example.net")"
openssl x509 -in "$K/v99.pem" -noout -ext subjectAltName | grep -q "DNS:\*.eve.example.net" || fail "names not issued"
pass "DNS, IP, e-mail and URI names and RSA/EC keys are validated: each refusal badRequest with its reason logged"

# ---- one transactionID and key, one certificate, whoever signs
selfsigned bob
pw=$(otp)
expect "bob's enrollment" SUCCESS "$(ask b1 pkcsreq bob "$K/bob.self" tx-bob --challenge "$pw")"
first=$(serial_of "$K/b1.pem")
"$TOOL" selfsign --key "$K/bob.key" --cn "bob-again.example.net" --out "$K/bob.self2" || fail "selfsign"
before=$(certs)
expect "the same transaction signed by another self-signed certificate" SUCCESS \
  "$(ask b2 pkcsreq bob "$K/bob.self2" tx-bob --cn bob.example.net)"
assert_eq "$(serial_of "$K/b2.pem")" "$first" "the certificate of the resent transaction"
expect "the same transaction signed by alice's certificate" SUCCESS \
  "$(ask b3 pkcsreq alice "$K/alice.cert" tx-bob --csr-key "$K/bob.key" --cn bob.example.net)"
assert_eq "$(serial_of "$K/b3.pem")" "$first" "the certificate of the resent transaction"
assert_eq "$(certs)" "$before" "certificates after the resends"
# A client that keeps its key derives its transactionID from it: its renewal, signed by the
# certificate that transaction issued, is a new certificate.
cp "$K/b1.pem" "$K/bob.cert"
expect "bob's renewal with the same key and transactionID" SUCCESS "$(ask b4 renewalreq bob "$K/bob.cert" tx-bob)"
[ "$(serial_of "$K/b4.pem")" != "$first" ] || fail "the renewal got the old certificate"
assert_eq "$(sql "SELECT count(*) FROM requests WHERE txid = 'tx-bob'")" "2" "transactions recorded for tx-bob"
selfsigned carol
expect "carol's enrollment" PENDING "$(ask c1 pkcsreq carol "$K/carol.self" tx-carol)"
"$TOOL" selfsign --key "$K/carol.key" --cn "carol-again.example.net" --out "$K/carol.self2" || fail "selfsign"
expect "carol's resend signed by another certificate" PENDING \
  "$(ask c2 pkcsreq carol "$K/carol.self2" tx-carol --cn carol.example.net)"
assert_eq "$(sql "SELECT count(*) FROM requests WHERE txid = 'tx-carol'")" "1" "transactions recorded for tx-carol"
cli ca server ROOTCA grant "$(sql "SELECT id FROM requests WHERE txid = 'tx-carol'")" >/dev/null
expect "carol's poll after the operator's grant" SUCCESS "$(ask c3 certpoll carol "$K/carol.self" tx-carol --cn carol.example.net)"
assert_eq "$(sql "SELECT state || '/' || (csr IS NULL) FROM requests WHERE txid = 'tx-carol'")" "1/1" \
  "carol's request once issued (state/request bytes dropped)"
pass "one transactionID and key get one answer whoever signs; a renewal under the same transactionID is new"

# ---- a one-time password is spent only when the certificate is recorded
selfsigned dave
pw=$(otp)
sql "CREATE TRIGGER refuse_certs BEFORE INSERT ON certs BEGIN SELECT RAISE(ABORT, 'injected failure'); END;"
before=$(certs)
out=$(ask d1 pkcsreq dave "$K/dave.self" tx-dave --challenge "$pw")
case "$out" in *status=SUCCESS*) fail "granted although the store refused the certificate: $out";; esac
assert_eq "$(certs)" "$before" "certificates after the failed commit"
sql "DROP TRIGGER refuse_certs;"
expect "the client's retry after the failed commit" SUCCESS "$(ask d2 pkcsreq dave "$K/dave.self" tx-dave --challenge "$pw")"
selfsigned erin
expect "the spent password again" FAILURE "$(ask e1 pkcsreq erin "$K/erin.self" tx-erin --challenge "$pw")"
pass "a one-time password survives a grant whose commit failed, and is spent by the grant that commits"

# ---- refused requests: small records, a cap per address, purged after the request lifetime
selfsigned flood
rows_before=$(sql "SELECT count(*) FROM refusals")
"$TOOL" request --type pkcsreq --ca "$ca" --key "$K/flood.key" --signer "$K/flood.self" --txid tx-flood \
  --challenge not-a-password --pad 200000 --out "$K/flood.der" || fail "request flood"
size=$(stat -c %s "$K/flood.der")
[ "$size" -gt 200000 ] || fail "the flood request is only $size bytes"
sync
du_before=$(du -sb "$WORK/ca" | cut -f1)
python3 - "$port" "$K/flood.der" <<'EOF' || fail "flood"
import http.client, sys
port, path = int(sys.argv[1]), sys.argv[2]
body = open(path, "rb").read()
conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
for i in range(1000):
    conn.request("POST", "/cgi-bin/pkiclient.exe?operation=PKIOperation", body=body,
                 headers={"Content-Type": "application/x-pki-message"})
    r = conn.getresponse()
    r.read()
    if r.status != 200:
        sys.exit("request %d: HTTP %d" % (i, r.status))
EOF
du_after=$(du -sb "$WORK/ca" | cut -f1)
growth=$((du_after - du_before))
echo "# 1000 refused requests of $size bytes: state directory grew by $growth bytes"
[ "$growth" -lt 1000000 ] || fail "the state directory grew by $growth bytes"
kept=$(sql "SELECT count(*) FROM refusals WHERE source = '127.0.0.1'")
[ "$kept" -le 64 ] || fail "$kept refusals kept for one address"
[ "$(sql "SELECT max(length(reason) + length(subject)) FROM refusals")" -lt 2000 ] || fail "a refusal record is large"
assert_eq "$(sql "SELECT count(*) FROM requests WHERE txid = 'tx-flood'")" "0" "flood requests stored"
# The address is now at its cap: a new request from it does not wait in the queue either.
selfsigned late
expect "a pending request from a full address" FAILURE "$(ask l1 pkcsreq late "$K/late.self" tx-late)"
pass "1000 refused 200 kB requests from one address: $kept small records, the state directory grew by $growth bytes"

cli ca clock advance 49h >/dev/null
assert_eq "$(sql "SELECT count(*) FROM refusals")" "0" "refusals after the request lifetime"
assert_eq "$(sql "SELECT count(*) FROM requests WHERE state IN (2, 3)")" "0" "refused and expired requests after twice the lifetime"
assert_eq "$(sql "SELECT count(*) FROM requests WHERE csr IS NOT NULL AND state <> 0")" "0" "request bytes kept without need"
expect "the address has room again" PENDING "$(ask l2 pkcsreq late "$K/late.self" tx-late-2)"
pass "refused and expired requests are purged after the request lifetime; the address has room again"
