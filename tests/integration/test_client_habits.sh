#!/usr/bin/env bash
# What real SCEP clients do (SPEC §3), each of which the CA must accept: PKIOperation by GET with
# raw, unescaped base64 several kilobytes long; POST without a Content-Type; HTTP/1.0; single DES
# with SHA-1; DES3 and AES-256 with SHA-512 (the reply mirrors the cipher); a v1 self-signed
# signer; a renewal sent as PKCSReq signed by the current certificate reusing the transactionID;
# a resend answered with the same certificate. Replies carry rsaEncryption as the signerInfo
# algorithm.
source "$(dirname "$0")/../lib/common.sh"
enter_private_network "$@"
PROBE=${EVERCERT_PROBE:-$BUILD/tests/scep_probe}

port=$(free_port)
start_daemon ca "ip http server $port
ip http bind 127.0.0.1
clock calendar-valid
crypto pki server ROOTCA
  grant auto"
url="http://127.0.0.1:$port/cgi-bin/pkiclient.exe"
ca="$WORK/ca/ROOTCA/ROOTCA.pem"

check_cert() { # check_cert DIR WHAT
  openssl verify -CAfile "$ca" "$1/cert.pem" >/dev/null || fail "$2: certificate does not verify"
}
read_reply() { # read_reply DIR -> prints status line
  "$PROBE" read "$1" --ca "$ca" "$1/reply.der"
}

# GET with the raw base64 in the query (a router's habit), several kilobytes long.
mkdir -p "$WORK/get"
"$PROBE" make "$WORK/get" --ca "$ca" --cn router-with-a-rather-long-name-for-a-long-get.example.net --bits 4096 --txid get-1
b64=$(base64 -w0 "$WORK/get/request.der")
[ ${#b64} -gt 3000 ] || fail "the GET message is only ${#b64} characters"
case "$b64" in *+*|*/*) ;; *) fail "no + or / in the base64 to exercise";; esac
curl -sf -g -o "$WORK/get/reply.der" "$url?operation=PKIOperation&message=$b64" || fail "GET with raw base64 refused"
assert_contains "$(read_reply "$WORK/get")" "status=SUCCESS"
check_cert "$WORK/get" "GET raw"
pass "PKIOperation by GET with ${#b64} characters of unescaped base64"

mkdir -p "$WORK/get2"
"$PROBE" make "$WORK/get2" --ca "$ca" --cn get2 --txid get-2
curl -sf -G -o "$WORK/get2/reply.der" --data-urlencode "operation=PKIOperation" \
  --data-urlencode "message=$(base64 -w0 "$WORK/get2/request.der")" "$url" || fail "GET url-encoded refused"
assert_contains "$(read_reply "$WORK/get2")" "status=SUCCESS"
pass "PKIOperation by GET, url-encoded"

# POST without Content-Type, and over HTTP/1.0.
mkdir -p "$WORK/post"
"$PROBE" make "$WORK/post" --ca "$ca" --cn post --txid post-1
curl -sf -o "$WORK/post/reply.der" -H 'Content-Type:' --data-binary @"$WORK/post/request.der" \
  "$url?operation=PKIOperation" || fail "POST without Content-Type refused"
assert_contains "$(read_reply "$WORK/post")" "status=SUCCESS"
mkdir -p "$WORK/http10"
"$PROBE" make "$WORK/http10" --ca "$ca" --cn http10 --txid http10-1
curl -sf --http1.0 -o "$WORK/http10/reply.der" --data-binary @"$WORK/http10/request.der" \
  "$url?operation=PKIOperation" || fail "HTTP/1.0 POST refused"
assert_contains "$(read_reply "$WORK/http10")" "status=SUCCESS"
pass "POST without a Content-Type; HTTP/1.0"

for combo in "DES SHA-1" "DES3 SHA-256" "AES-256 SHA-512"; do
  set -- $combo
  d="$WORK/c-$1-$2"; mkdir -p "$d"
  "$PROBE" make "$d" --ca "$ca" --cn "c-$1" --cipher "$1" --digest "$2" --txid "c-$1"
  curl -sf -o "$d/reply.der" --data-binary @"$d/request.der" "$url?operation=PKIOperation" || fail "$combo refused"
  assert_contains "$(read_reply "$d")" "status=SUCCESS"
  check_cert "$d" "$combo"
done
pass "single DES + SHA-1, DES3 + SHA-256, AES-256 + SHA-512: issued, replies readable"

# The signerInfo of a reply names rsaEncryption.
openssl asn1parse -inform DER -in "$WORK/post/reply.der" | grep -q rsaEncryption || fail "no rsaEncryption in the reply"
pass "reply signerInfo algorithm is rsaEncryption"

mkdir -p "$WORK/v1"
"$PROBE" make "$WORK/v1" --ca "$ca" --cn v1client --v1 --txid v1-1
[ "$(openssl x509 -in "$WORK/v1/signer.pem" -noout -text | grep -c 'Version: 1')" = 1 ] || fail "signer is not v1"
curl -sf -o "$WORK/v1/reply.der" --data-binary @"$WORK/v1/request.der" "$url?operation=PKIOperation"
assert_contains "$(read_reply "$WORK/v1")" "status=SUCCESS"
pass "a v1 self-signed signer certificate"

# Resend: the same bytes give the same certificate. Renewal: PKCSReq signed by the current
# certificate, same key and the same transactionID, gives a new one.
first=$(openssl x509 -in "$WORK/post/cert.pem" -noout -serial)
curl -sf -o "$WORK/post/reply.der" --data-binary @"$WORK/post/request.der" "$url?operation=PKIOperation"
read_reply "$WORK/post" >/dev/null
assert_eq "$(openssl x509 -in "$WORK/post/cert.pem" -noout -serial)" "$first" "resend"
"$PROBE" make "$WORK/post" --ca "$ca" --cn post --txid post-1 --renew
curl -sf -o "$WORK/post/reply.der" --data-binary @"$WORK/post/request.der" "$url?operation=PKIOperation"
assert_contains "$(read_reply "$WORK/post")" "status=SUCCESS"
second=$(openssl x509 -in "$WORK/post/cert.pem" -noout -serial)
[ "$first" != "$second" ] || fail "renewal returned the old certificate"
check_cert "$WORK/post" "renewal"
grep -q "(renewal, transaction post-1)" "$WORK/ca.log" || fail "the CA did not treat it as a renewal"
pass "resend gets the same certificate; PKCSReq signed by the current certificate is a renewal"
