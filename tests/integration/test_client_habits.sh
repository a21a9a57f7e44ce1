#!/usr/bin/env bash
# What real SCEP clients do (SPEC §3), each of which the CA must accept, played step by step with
# scep_tool and curl: PKIOperation by GET with raw (unescaped) base64 several kilobytes long, and
# url-encoded; POST with and without a Content-Type; HTTP/1.0; single DES with SHA-1, DES3, and
# AES-256 with SHA-512, mirrored in the reply; a v1 self-signed signer; a renewal sent as PKCSReq
# signed by the current certificate (reusing the transactionID) and as RenewalReq; a resend
# answered with the same certificate; a transactionID reused with another key refused; CertPoll
# under manual grant; a one-time challenge password; GetCert and GetCRL; rsaEncryption as the
# reply's signerInfo algorithm. Every reply must echo the request's senderNonce.
source "$(dirname "$0")/../lib/common.sh"
enter_private_network "$@"
use_scep_tool

start_ca ca "clock calendar-valid
crypto pki server ROOTCA
  grant auto
  database level complete"
url="http://127.0.0.1:$port/cgi-bin/pkiclient.exe"
ca="$WORK/ca/ROOTCA/ROOTCA.pem"

# ---- helpers: a client is a directory holding key.pem, signer.pem (what signs its next
# message), nonce (of its last message), req.der, reply.der and, once enrolled, cert.pem.
client() { # client DIR CN [BITS] [--v1]
  local dir=$1 cn=$2 bits=${3:-2048}
  mkdir -p "$dir"
  "$TOOL" keygen --out "$dir/key.pem" --bits "$bits" || fail "keygen $dir"
  "$TOOL" selfsign --key "$dir/key.pem" --cn "$cn" --out "$dir/signer.pem" ${4:-} || fail "selfsign $dir"
}
request() { # request DIR TYPE TXID [scep_tool request options...] -> DIR/req.der
  local dir=$1 type=$2 txid=$3; shift 3
  openssl rand -hex 16 >"$dir/nonce"
  "$TOOL" request --type "$type" --ca "${CA:-$ca}" --key "$dir/key.pem" --signer "$dir/signer.pem" \
    --txid "$txid" --nonce "$(cat "$dir/nonce")" --out "$dir/req.der" "$@" || fail "request $type in $dir"
}
post() { # post DIR [curl options...] -> DIR/reply.der
  local dir=$1; shift
  curl -sSf -o "$dir/reply.der" --data-binary @"$dir/req.der" "$@" "${URL:-$url}?operation=PKIOperation" \
    || fail "POST from $dir refused"
}
reply() { # reply DIR [scep_tool reply options...] -> status line; DIR/cert.pem on SUCCESS
  local dir=$1; shift
  "$TOOL" reply --in "$dir/reply.der" --key "$dir/key.pem" --signer "$dir/signer.pem" --ca "${CA:-$ca}" \
    --nonce "$(cat "$dir/nonce")" "$@" || fail "reply in $dir unreadable"
}
enrolled() { # enrolled DIR WHAT: the reply is SUCCESS and its certificate verifies
  local status
  status=$(reply "$1" --out "$1/cert.pem")
  assert_contains "$status" "status=SUCCESS" "$2"
  openssl verify -CAfile "${CA:-$ca}" "$1/cert.pem" >/dev/null || fail "$2: certificate does not verify"
  printf '%s\n' "$status"
}
serial_of() { openssl x509 -in "$1" -noout -serial | cut -d= -f2; }

# ---- GET with the raw base64 in the query (a router's habit), several kilobytes long; also
# url-encoded, and over HTTP/1.0.
client "$WORK/get" router-get.example.net 4096
request "$WORK/get" pkcsreq get-1
b64=$(base64 -w0 "$WORK/get/req.der")
raw_url="$url?operation=PKIOperation&message=$b64"
[ ${#raw_url} -gt 4096 ] || fail "the GET URL is only ${#raw_url} characters"
case "$b64" in *+*) ;; *) fail "no '+' in the base64 to exercise";; esac
case "$b64" in */*) ;; *) fail "no '/' in the base64 to exercise";; esac
curl -sSf -g -o "$WORK/get/reply.der" "$raw_url" || fail "GET with raw base64 refused"
enrolled "$WORK/get" "GET raw" >/dev/null
pass "PKIOperation by GET: a ${#raw_url}-character URL with unescaped '+' and '/'"

client "$WORK/getenc" get-encoded
request "$WORK/getenc" pkcsreq get-2
curl -sSf -G -o "$WORK/getenc/reply.der" --data-urlencode "operation=PKIOperation" \
  --data-urlencode "message=$(base64 -w0 "$WORK/getenc/req.der")" "$url" || fail "GET url-encoded refused"
enrolled "$WORK/getenc" "GET url-encoded" >/dev/null
pass "PKIOperation by GET, url-encoded"

client "$WORK/get10" get-http10
request "$WORK/get10" pkcsreq get-3
curl -sSf -g --http1.0 -o "$WORK/get10/reply.der" \
  "$url?operation=PKIOperation&message=$(base64 -w0 "$WORK/get10/req.der")" || fail "HTTP/1.0 GET refused"
enrolled "$WORK/get10" "HTTP/1.0 GET" >/dev/null

# ---- POST without a Content-Type, with application/x-pki-message, and over HTTP/1.0.
client "$WORK/post" post-client
request "$WORK/post" pkcsreq post-1
post "$WORK/post" -H 'Content-Type:' -D "$WORK/post/headers"
assert_contains "$(cat "$WORK/post/headers")" "application/x-pki-message" "reply headers"
enrolled "$WORK/post" "POST without Content-Type" >/dev/null
client "$WORK/posttype" post-typed
request "$WORK/posttype" pkcsreq post-2
post "$WORK/posttype" -H 'Content-Type: application/x-pki-message'
enrolled "$WORK/posttype" "POST application/x-pki-message" >/dev/null
pass "POST without a Content-Type and with application/x-pki-message"

client "$WORK/post10" post-http10
request "$WORK/post10" pkcsreq post-3
post "$WORK/post10" --http1.0
enrolled "$WORK/post10" "HTTP/1.0 POST" >/dev/null
pass "HTTP/1.0 for PKIOperation, by GET and by POST"

# ---- Ciphers and digests, mirrored in the reply.
for combo in "DES SHA-1 DES-CBC" "DES3 SHA-256 DES-EDE3-CBC" "AES-256 SHA-512 AES-256-CBC"; do
  set -- $combo
  d="$WORK/c-$1"
  client "$d" "cipher-$1"
  request "$d" pkcsreq "c-$1" --cipher "$1" --digest "$2"
  post "$d"
  status=$(enrolled "$d" "$1 with $2")
  assert_contains "$status" "cipher=$3 digest=$2" "reply to $1 with $2"
done
pass "single DES + SHA-1, DES3, AES-256 + SHA-512: issued, and the reply mirrors cipher and digest"

# ---- The reply's signerInfo names rsaEncryption as its signature algorithm.
openssl cms -cmsout -print -inform DER -in "$WORK/post/reply.der" >"$WORK/post/reply.txt" \
  || fail "openssl cannot print the reply"
sigalg=$(sed -n '/signerInfos:/,$p' "$WORK/post/reply.txt" | grep -A1 'signatureAlgorithm:' \
  | grep 'algorithm:' | head -1 | awk '{print $2}')
assert_eq "$sigalg" "rsaEncryption" "reply signerInfo signatureAlgorithm"
openssl x509 -in "$ca" -noout -ext keyUsage | grep -q "Digital Signature" \
  || fail "the certificate signing replies lacks digitalSignature in keyUsage"
pass "reply signerInfo algorithm is rsaEncryption, by a certificate with digitalSignature"

# ---- A v1 self-signed signer certificate, as old clients make.
client "$WORK/v1" v1-client 2048 --v1
openssl x509 -in "$WORK/v1/signer.pem" -noout -text | grep -q 'Version: 1 (0x0)' || fail "signer is not v1"
request "$WORK/v1" pkcsreq v1-1
post "$WORK/v1"
enrolled "$WORK/v1" "v1 signer" >/dev/null
pass "a v1 self-signed signer certificate"

# ---- Resend, renewal as PKCSReq reusing the transactionID, RenewalReq, another key.
p="$WORK/post"
first=$(serial_of "$p/cert.pem")
post "$p"   # post-1 again, byte-identical
enrolled "$p" "resend" >/dev/null
assert_eq "$(serial_of "$p/cert.pem")" "$first" "serial after a byte-identical resend"
pass "a request resent byte-identical gets the same certificate (serial $first)"

cp "$p/cert.pem" "$p/signer.pem"
request "$p" pkcsreq post-1
post "$p"
enrolled "$p" "PKCSReq renewal" >/dev/null
second=$(serial_of "$p/cert.pem")
[ "$second" != "$first" ] || fail "the PKCSReq renewal returned the old certificate"
grep -q "'CN=post-client' (renewal, transaction post-1)" "$WORK/ca.log" \
  || fail "the CA did not treat the PKCSReq signed by the current certificate as a renewal"
post "$p"
enrolled "$p" "renewal resend" >/dev/null
assert_eq "$(serial_of "$p/cert.pem")" "$second" "serial after resending the renewal"
pass "renewal as PKCSReq signed by the current certificate, same transactionID and key: serial $second"

cp "$p/cert.pem" "$p/signer.pem"
request "$p" renewalreq post-renew-2
post "$p"
enrolled "$p" "RenewalReq" >/dev/null
third=$(serial_of "$p/cert.pem")
[ "$third" != "$second" ] && [ "$third" != "$first" ] || fail "RenewalReq returned an old certificate"
grep -q "(renewal, transaction post-renew-2)" "$WORK/ca.log" || fail "RenewalReq not seen as a renewal"
pass "RenewalReq signed by the current certificate: serial $third"

client "$WORK/thief" post-client
request "$WORK/thief" pkcsreq post-1
post "$WORK/thief"
assert_contains "$(reply "$WORK/thief")" "status=FAILURE failinfo=badRequest txid=post-1" "same txid, another key"
pass "the same transactionID with another key: FAILURE badRequest"

# ---- GetCert by serial (database level complete), GetCRL by PKIOperation.
request "$p" getcert getcert-1 --serial "$second"
post "$p"
reply "$p" --out "$p/fetched.pem" >"$p/status"
assert_contains "$(cat "$p/status")" "status=SUCCESS" "GetCert"
assert_eq "$(serial_of "$p/fetched.pem")" "$second" "serial of the certificate GetCert returned"
openssl verify -CAfile "$ca" "$p/fetched.pem" >/dev/null || fail "GetCert: certificate does not verify"
request "$p" getcert getcert-2 --serial 7FFFFFFF
post "$p"
assert_contains "$(reply "$p")" "status=FAILURE failinfo=badCertId" "GetCert of an unknown serial"
pass "GetCert returns the stored certificate; an unknown serial gets badCertId"

cli ca server ROOTCA revoke "$first" >/dev/null || fail "revoke $first"
request "$p" getcrl getcrl-1
post "$p"
assert_contains "$(reply "$p" --crl-out "$p/crl.der")" "status=SUCCESS" "GetCRL"
openssl crl -inform DER -in "$p/crl.der" -CAfile "$ca" -noout 2>&1 | grep -q "verify OK" \
  || fail "the CRL from GetCRL does not verify against the CA"
openssl crl -inform DER -in "$p/crl.der" -noout -text | grep -q "Serial Number: 0*$first\$" \
  || fail "the CRL does not list the revoked serial $first"
pass "GetCRL by PKIOperation: a CRL signed by the CA, listing the revoked serial"

# ---- Manual grant: PENDING, CertPoll PENDING, grant, CertPoll SUCCESS.
start_ca manual "clock calendar-valid
crypto pki server ROOTCA"
assert_contains "$(cli manual show crypto pki server)" "Granting mode is: manual"
CA="$WORK/manual/ROOTCA/ROOTCA.pem" URL="http://127.0.0.1:$port/cgi-bin/pkiclient.exe"
m="$WORK/m"
client "$m" manual-client
request "$m" pkcsreq manual-1 --cipher DES --digest SHA-1
post "$m"
assert_contains "$(reply "$m")" "status=PENDING failinfo=none txid=manual-1" "manual enrollment"
request "$m" certpoll manual-1
post "$m"
assert_contains "$(reply "$m")" "status=PENDING" "CertPoll before the grant"
cli manual server ROOTCA grant all >/dev/null || fail "grant all"
request "$m" certpoll manual-1
post "$m"
enrolled "$m" "CertPoll after the grant" >/dev/null
assert_contains "$(openssl x509 -in "$m/cert.pem" -noout -subject)" "manual-client" "granted subject"
pass "manual grant: PENDING, CertPoll PENDING, grant all, CertPoll SUCCESS"

# A challenge password from `password generate` is granted at once even in manual mode, once.
otp=$(cli manual server ROOTCA password generate 10 | head -1 | awk '{print $NF}')
[ -n "$otp" ] || fail "no one-time password generated"
client "$WORK/otp" otp-client
request "$WORK/otp" pkcsreq otp-1 --challenge "$otp"
post "$WORK/otp"
enrolled "$WORK/otp" "one-time password in manual mode" >/dev/null
client "$WORK/otp2" otp-client-2
request "$WORK/otp2" pkcsreq otp-2 --challenge "$otp"
post "$WORK/otp2"
assert_contains "$(reply "$WORK/otp2")" "status=FAILURE" "a one-time password used twice"
pass "a one-time challenge password is granted in manual mode, and only once"
