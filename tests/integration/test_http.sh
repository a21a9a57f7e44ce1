#!/usr/bin/env bash
# evercertd over real HTTP on loopback: the SCEP GET operations, the CRL, and bad input that gets
# a clear 400/413 and changes nothing stored.
source "$(dirname "$0")/../lib/common.sh"
enter_private_network "$@"

start_ca ca "clock calendar-valid
crypto pki server ROOTCA
  issuer-name CN=Test Root,O=Evercert
  grant auto
  database level complete
  auto-rollover 90"
url="http://127.0.0.1:$port/cgi-bin/pkiclient.exe"

caps=$(curl -sf "$url?operation=GetCACaps")
for cap in GetNextCACert Renewal SHA-1 SHA-256 SHA-512 SHA-384 AES DES3 POSTPKIOperation SCEPStandard; do
  assert_contains "$caps" "$cap" "GetCACaps"
done
pass "GetCACaps lists the ten capabilities"

curl -sf -D "$WORK/h1" -o "$WORK/ca.der" "$url?operation=GetCACert&message=ROOTCA"
assert_contains "$(cat "$WORK/h1")" "application/x-x509-ca-cert" "GetCACert headers"
subject=$(openssl x509 -inform DER -in "$WORK/ca.der" -noout -subject -nameopt RFC2253)
assert_eq "$subject" "subject=CN=Test Root,O=Evercert" "CA subject"
fp=$(openssl x509 -inform DER -in "$WORK/ca.der" -noout -fingerprint -sha256 | cut -d= -f2 | tr -d ':')
show=$(cli ca show crypto pki server)
assert_contains "$(echo "$show" | tr -d ' ')" "$fp" "show crypto pki server fingerprint"
pass "GetCACert returns the CA certificate whose fingerprint the CLI shows"

# Any path works, as real clients vary.
curl -sf -o "$WORK/ca2.der" "http://127.0.0.1:$port/scep?operation=GetCACert"
cmp -s "$WORK/ca.der" "$WORK/ca2.der" || fail "GetCACert on another path differs"
pass "any path is accepted"

code=$(curl -s -o "$WORK/next.txt" -D "$WORK/h2" -w '%{http_code}' "$url?operation=GetNextCACert")
assert_eq "$code" 503 "GetNextCACert before rollover"
retry=$(grep -i '^Retry-After:' "$WORK/h2" | tr -dc '0-9')
[ "$retry" -gt $((900 * 86400)) ] || fail "Retry-After $retry is not the time to shadow generation"
pass "early GetNextCACert: 503 with Retry-After $retry s"

curl -sf -o "$WORK/crl.der" "$url?operation=GetCRL"
openssl crl -inform DER -in "$WORK/crl.der" -CAfile <(openssl x509 -inform DER -in "$WORK/ca.der") -noout 2>&1 \
  | grep -q "verify OK" || fail "the CRL does not verify against the CA"
curl -sf -o "$WORK/crl2.der" "http://127.0.0.1:$port/ROOTCA.crl"
cmp -s "$WORK/crl.der" "$WORK/crl2.der" || fail "/ROOTCA.crl differs from GetCRL"
pass "CRL served by GetCRL and /ROOTCA.crl, signed by the CA"

expect_status() { # expect_status CODE REASON-FRAGMENT CURL-ARGS...
  local want=$1 reason=$2; shift 2
  local code body
  code=$(curl -s -o "$WORK/body" -w '%{http_code}' "$@")
  body=$(cat "$WORK/body")
  assert_eq "$code" "$want" "HTTP status for $*"
  assert_contains "$body" "$reason" "reason for $*"
}
expect_status 400 "unknown operation" "$url?operation=Frobnicate"
expect_status 400 "missing operation" "$url"
expect_status 400 "bad pkiMessage" -X POST --data-binary "garbage that is not DER" "$url?operation=PKIOperation"
head -c 700 /dev/urandom >"$WORK/random.bin"
expect_status 400 "bad pkiMessage" -X POST -H 'Content-Type:' --data-binary @"$WORK/random.bin" "$url?operation=PKIOperation"
expect_status 400 "base64" "$url?operation=PKIOperation&message=%25%25%25"
expect_status 400 "needs a base64" "$url?operation=PKIOperation"
head -c 300000 /dev/zero >"$WORK/big.bin"
expect_status 413 "larger than" -X POST --data-binary @"$WORK/big.bin" "$url?operation=PKIOperation"
expect_status 405 "GET and POST" -X DELETE "$url?operation=GetCACert"
pass "bad input answered with 400/405/413 and a reason"

# Truncated DER of a real certificate is also refused.
head -c 200 "$WORK/ca.der" >"$WORK/trunc.der"
expect_status 400 "bad pkiMessage" -X POST --data-binary @"$WORK/trunc.der" "$url?operation=PKIOperation"

show=$(cli ca show crypto pki server)
assert_contains "$show" "Last certificate issued serial number (hex): 1" "store after bad input"
assert_contains "$(cli ca server ROOTCA info requests)" "no pending requests" "queue after bad input"
pass "nothing stored changed"

# HTTP/1.0, as routers send.
curl -sf --http1.0 -o /dev/null "$url?operation=GetCACaps" || fail "HTTP/1.0 request failed"
pass "HTTP/1.0 accepted"
