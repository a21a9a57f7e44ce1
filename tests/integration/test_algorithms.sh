#!/usr/bin/env bash
# The algorithm allow-list over HTTP against running daemons. A request with a refused digest
# (MD5, MD4) or envelope (RC2, DES-ECB, Camellia, Blowfish, AES-GCM) gets FAILURE badAlg signed
# with SHA-256 and issues nothing; every allowed digest and cipher enrolls and is answered in
# kind; RSASSA-PSS and RSAES-OAEP requests enroll; garbage gets HTTP 400 with a reason;
# `no encryption des` refuses single DES. A trustpoint behind a GetCACaps answer claiming only
# DES and MD5 still uses AES and SHA-256, uses DES and MD5 only when its lists name them, and
# fails with a clear reason when its lists leave nothing it may use.
source "$(dirname "$0")/../lib/common.sh"
enter_private_network "$@"

use_scep_tool
start_ca ca "clock calendar-valid
crypto pki server ROOTCA
  grant auto"
K="$WORK/k"
mkdir -p "$K"
"$TOOL" keygen --out "$K/c.key" --bits 2048 || fail "keygen"
"$TOOL" selfsign --key "$K/c.key" --cn client.example.net --out "$K/c.self" || fail "selfsign"

# ask CA TXID [request options...]: one PKCSReq by POST to server CA; prints the reply's status
# line ('status=S failinfo=F txid=T [cipher=C] digest=D'); a certificate is left in $K/TXID.pem.
ask() {
  local name=$1 txid=$2
  shift 2
  local ca="$WORK/$name/ROOTCA/ROOTCA.pem" url
  url=$(cat "$WORK/$name.url")
  "$TOOL" request --type pkcsreq --ca "$ca" --key "$K/c.key" --signer "$K/c.self" --txid "$txid" \
    --out "$K/$txid.der" "$@" || fail "request $txid ($*)"
  curl -s -o "$K/$txid.reply" --data-binary @"$K/$txid.der" "$url?operation=PKIOperation" || fail "POST $txid"
  "$TOOL" reply --in "$K/$txid.reply" --key "$K/c.key" --signer "$K/c.self" --ca "$ca" --out "$K/$txid.pem" ||
    fail "reply to $txid ($*) unreadable"
}
# ok_with LINE WHAT NAME: a SUCCESS whose reply says WHAT ('cipher=C digest=D').
ok_with() { assert_contains "$1" "status=SUCCESS" "$3"; assert_contains "$1" "$2" "$3"; }
certs() { sqlite3 "$WORK/$1/ROOTCA/ROOTCA.db" "SELECT count(*) FROM certs"; }
echo "http://127.0.0.1:$port/cgi-bin/pkiclient.exe" >"$WORK/ca.url"

# ---- refused algorithms: badAlg, never answered with MD5, nothing issued
before=$(certs ca)
n=0
for opts in "--digest MD5" "--digest MD4" "--cipher RC2-CBC" "--cipher DES-ECB" "--cipher CAMELLIA-128-CBC" \
            "--cipher BF-CBC" "--cipher AES-128-GCM"; do
  n=$((n + 1))
  # shellcheck disable=SC2086 # the options are words
  line=$(ask ca "tx-refused-$n" $opts)
  assert_contains "$line" "status=FAILURE failinfo=badAlg" "$opts"
  assert_contains "$line" "digest=SHA-256" "$opts (the reply's digest)"
done
[ "$(certs ca)" = "$before" ] || fail "a refused request was issued a certificate"
grep -q "refused: badAlg: digest md5 is not accepted" "$WORK/ca.log" || fail "the CA's log does not say why"
grep -q "refused: badAlg: content encryption rc2-cbc is not accepted" "$WORK/ca.log" || fail "no reason for RC2"
pass "MD5, MD4, RC2, DES-ECB, Camellia, Blowfish and AES-GCM: FAILURE badAlg signed with SHA-256, nothing issued"

# ---- allowed algorithms enroll and are mirrored
for d in SHA-1 SHA224 SHA-256 SHA-384 SHA-512; do
  line=$(ask ca "tx-digest-$d" --digest "$d")
  assert_contains "$line" "status=SUCCESS" "digest $d"
  assert_contains "$line" "digest=$d" "digest $d mirrored"
done
for c in DES:DES-CBC DES3:DES-EDE3-CBC AES:AES-128-CBC AES-192-CBC:AES-192-CBC AES-256:AES-256-CBC; do
  line=$(ask ca "tx-cipher-${c%%:*}" --cipher "${c%%:*}")
  assert_contains "$line" "status=SUCCESS" "cipher ${c%%:*}"
  assert_contains "$line" "cipher=${c#*:} digest=SHA-256" "cipher ${c%%:*} mirrored"
done
pass "SHA-1/224/256/384/512 and DES, 3DES, AES-128/192/256 enroll; the reply mirrors them"

# ---- RSASSA-PSS and RSAES-OAEP (OpenSSL's CMS API, as strongSwan and others send them)
line=$(ask ca tx-pss --pss)
ok_with "$line" "cipher=AES-128-CBC digest=SHA-256" "PSS"
openssl verify -CAfile "$WORK/ca/ROOTCA/ROOTCA.pem" "$K/tx-pss.pem" >/dev/null || fail "PSS: certificate does not verify"
line=$(ask ca tx-pss-512 --pss --digest SHA-512 --cipher AES-256)
ok_with "$line" "cipher=AES-256-CBC digest=SHA-512" "PSS SHA-512"
line=$(ask ca tx-oaep --oaep --pss --cipher DES3)
ok_with "$line" "cipher=DES-EDE3-CBC digest=SHA-256" "OAEP"
pass "RSASSA-PSS signed and RSAES-OAEP wrapped PKCSReqs enroll"

# ---- not a pkiMessage at all: HTTP 400 with a reason
code=$(curl -s -o "$K/garbage.out" -w '%{http_code}' --data-binary 'not a pkiMessage' \
  "$(cat "$WORK/ca.url")?operation=PKIOperation")
assert_eq "$code" 400 "garbage"
[ -s "$K/garbage.out" ] || fail "HTTP 400 without a reason"
pass "a body that is no pkiMessage: HTTP 400 with a reason ($(head -c 80 "$K/garbage.out"))"

# ---- `no encryption des`
start_ca ca2 "clock calendar-valid
crypto pki server ROOTCA
  grant auto
  no encryption des"
echo "http://127.0.0.1:$port/cgi-bin/pkiclient.exe" >"$WORK/ca2.url"
before=$(certs ca2)
line=$(ask ca2 tx-des-off --cipher DES)
assert_contains "$line" "status=FAILURE failinfo=badAlg" "DES with no encryption des"
[ "$(certs ca2)" = "$before" ] || fail "DES request issued under no encryption des"
grep -q "DES-CBC is turned off (no encryption des)" "$WORK/ca2.log" || fail "ca2's log does not say why"
line=$(ask ca2 tx-des3-on --cipher DES3)
ok_with "$line" "cipher=DES-EDE3-CBC" "3DES with no encryption des"
pass "no encryption des: single DES gets badAlg, 3DES still enrolls"

# ---- a client behind a GetCACaps answer claiming only DES and MD5 (ca2 refuses DES and MD5)
start_tamper_proxy legacy-caps "$port" # port and fp are ca2's since start_ca ca2
caps=$(curl -s "http://127.0.0.1:$proxy/?operation=GetCACaps")
assert_eq "$(echo $caps)" "DES MD5" "the proxy's GetCACaps"
mkdir -p "$WORK/out"
start=$(date -u -d '+1 minute' +%Y-%m-%dT%H:%M:%SZ)
start_daemon cl "hostname spoke
clock simulate start $start rate 0
crypto pki trustpoint PLAIN
  enrollment url http://127.0.0.1:$proxy
  fingerprint $fp
  subject-name CN=plain.example.net
  auto-enroll 80
  output certificate $WORK/out/plain.pem
crypto pki trustpoint LEGACY
  enrollment url http://127.0.0.1:$proxy
  fingerprint $fp
  subject-name CN=legacy.example.net
  hash md5
  encryption des
  auto-enroll 80
crypto pki trustpoint SHA1ONLY
  enrollment url http://127.0.0.1:$proxy
  fingerprint $fp
  subject-name CN=sha1.example.net
  hash sha1
  auto-enroll 80"
# Until all three trustpoints are done; each is checked below with its reason.
wait_until 30 eval '[ -s "$WORK/out/plain.pem" ] && grep -q "LEGACY.*failInfo badAlg" "$WORK/cl.log" &&
  grep -q "SHA1ONLY.*no digest this trustpoint may use" "$WORK/cl.log"' || true
[ -s "$WORK/out/plain.pem" ] || { cat "$WORK/cl.log" >&2; fail "PLAIN did not enroll behind the DES/MD5 claim"; }
grep "PLAIN" "$WORK/cl.log" | grep -q "sending PKCSReq.*AES-128-CBC and SHA256" ||
  { cat "$WORK/cl.log" >&2; fail "PLAIN did not use AES-128 and SHA-256"; }
pass "GetCACaps claiming only DES and MD5: the trustpoint uses AES-128 and SHA-256 and enrolls"
grep "LEGACY" "$WORK/cl.log" | grep -q "sending PKCSReq.*DES-CBC and MD5" ||
  { cat "$WORK/cl.log" >&2; fail "LEGACY did not use what its lists name"; }
grep -q "LEGACY.*failInfo badAlg" "$WORK/cl.log" || { cat "$WORK/cl.log" >&2; fail "LEGACY not refused"; }
pass "a trustpoint naming hash md5 and encryption des uses them, and this CA answers badAlg"
grep -q "SHA1ONLY.*the CA advertises no digest this trustpoint may use (hash sha1)" "$WORK/cl.log" ||
  { cat "$WORK/cl.log" >&2; fail "SHA1ONLY: no clear reason"; }
grep "SHA1ONLY" "$WORK/cl.log" | grep -q "sending PKCSReq" && fail "SHA1ONLY sent a request anyway"
pass "a trustpoint whose lists leave nothing usable sends nothing and says why"
