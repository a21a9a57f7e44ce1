#!/usr/bin/env bash
# Interoperability: strongSwan's `pki --scep` (Debian's strongswan-pki) enrolls against evercertd
# with grant auto, with RSASSA-PSS signatures (`--rsa-padding pss`, checked on the request as
# sent) and with PKCS#1 v1.5, over AES, 3DES and SHA-1/256/512, on a CA that refuses single DES
# (`no encryption des`, which pki never offers); `openssl verify` accepts every certificate.
source "$(dirname "$0")/../lib/common.sh"
enter_private_network "$@"
command -v pki >/dev/null || fail "pki missing (scripts/deps.sh installs strongswan-pki)"
pki --scep --help 2>&1 | grep -- "--rsa-padding" >/dev/null || fail "this pki has no --scep --rsa-padding"

port=$(free_port)
start_daemon ca "ip http server $port
ip http bind 127.0.0.1
clock calendar-valid
crypto pki server ROOTCA
  issuer-name CN=Interop Root,O=Evercert
  grant auto
  no encryption des"
cafile="$WORK/ca/ROOTCA/ROOTCA.pem"
# Through a recording proxy, to check what pki actually sent.
proxy=$(free_port)
echo record >"$WORK/mode"
python3 "$SRC/tests/lib/tamper_proxy.py" "$proxy" "http://127.0.0.1:$port" "$WORK/mode" &
PIDS+=($!)
for _ in $(seq 1 100); do curl -sf -o /dev/null "http://127.0.0.1:$proxy/?operation=GetCACaps" && break; sleep 0.1; done
url="http://127.0.0.1:$proxy/cgi-bin/pkiclient.exe"

# pki_enroll NAME [pki options...]: a new key and a first enrollment; the certificate in NAME.pem.
pki_enroll() {
  local name=$1
  shift
  pki --gen --type rsa --size 2048 --outform pem >"$WORK/$name.key" 2>/dev/null || fail "pki --gen"
  timeout 120 pki --scep --url "$url" --in "$WORK/$name.key" --dn "CN=$name.example.net, O=Interop" \
    --cacert-enc "$cafile" --cacert-sig "$cafile" --outform pem "$@" >"$WORK/$name.pem" 2>>"$WORK/$name.log"
}
# The signature algorithm of the last request the proxy recorded.
last_request_signature() {
  local last
  last=$(ls "$WORK"/mode.*.der | sort -t. -k2 -n | tail -1)
  openssl cms -cmsout -print -inform DER -in "$last" | sed -n '/signatureAlgorithm:/,+1p'
}

for spec in "pss sha256 aes" "pss sha512 des3" "pss sha1 aes" "pkcs1 sha256 aes"; do
  read -r padding digest cipher <<<"$spec"
  name="sw-$padding-$digest-$cipher"
  pki_enroll "$name" --rsa-padding "$padding" --digest "$digest" --cipher "$cipher" ||
    { grep -v "failed to load" "$WORK/$name.log" >&2; tail -5 "$WORK/ca.log" >&2; fail "pki --scep $spec"; }
  openssl verify -CAfile "$cafile" "$WORK/$name.pem" >/dev/null || fail "$spec: certificate does not verify"
  assert_contains "$(openssl x509 -in "$WORK/$name.pem" -noout -subject)" "$name.example.net" "$spec subject"
  sig=$(last_request_signature)
  if [ "$padding" = pss ]; then
    assert_contains "$sig" "rsassaPss" "$spec: the request's signature algorithm"
  else
    case "$sig" in *rsassaPss*) fail "$spec: a PSS signature without --rsa-padding pss";; esac
  fi
  pass "strongSwan pki --scep --rsa-padding $padding --digest $digest --cipher $cipher enrolled"
done
! grep -q "refused" "$WORK/ca.log" || { grep "refused" "$WORK/ca.log" >&2; fail "the CA refused a request"; }
