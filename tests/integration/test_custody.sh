#!/usr/bin/env bash
# The chain of custody over HTTP, on a simulated clock moved through two CA rollovers: every link
# certificate of GetCARolloverChain (and /ROOTCA-custody.pem) is signed by the previous CA
# certificate's key and carries the next one's name and key, checked with openssl; a cancelled
# rollover leaves the chain; NAME.pem and NAME-rollover.pem are written beside the store and
# served, and NAME-rollover.pem goes at the cancel and at the switch; a restart keeps the links.
source "$(dirname "$0")/../lib/common.sh"
enter_private_network "$@"

start_ca ca "clock simulate start 2020-01-01T00:00:00Z rate 0
crypto pki server ROOTCA
  issuer-name CN=CustodyRoot,O=Example
  lifetime certificate 30
  lifetime ca-certificate 100
  lifetime crl 720
  auto-rollover 20
crypto pki server OTHER
  lifetime crl 720"
dir="$WORK/ca/ROOTCA"
url="http://127.0.0.1:$port"

# get PATH OUT: fetches url/PATH into OUT; prints the status and the content type.
get() { curl -s -o "$2" -w '%{http_code} %{content_type}' "$url/$1"; }

# chain PATH PREFIX: fetches the chain and splits it into PREFIX0.pem, PREFIX1.pem ...; prints
# the number of certificates.
chain() {
  local got
  rm -f "$2"*.pem
  got=$(get "$1" "$2.all")
  assert_eq "$got" "200 application/pem-certificate-chain" "$1"
  awk -v p="$2" '/-----BEGIN CERTIFICATE-----/ { n++ } n { print > (p (n - 1) ".pem") }' "$2.all"
  ls "$2"*.pem | wc -l
}

fp() { openssl x509 -in "$1" -noout -fingerprint -sha256; }

# link_ok PREV LINK NEXT: LINK is signed by PREV's key, names PREV as issuer and carries NEXT's
# subject and key; NEXT is self-signed; NEXT's key did not sign LINK.
link_ok() {
  openssl verify -partial_chain -no_check_time -CAfile "$1" "$2" >/dev/null 2>&1 ||
    fail "$2 is not signed by the previous CA $1"
  ! openssl verify -partial_chain -no_check_time -CAfile "$3" "$2" >/dev/null 2>&1 ||
    fail "$2 verifies with the new key: not a link"
  assert_eq "$(openssl x509 -in "$2" -noout -pubkey)" "$(openssl x509 -in "$3" -noout -pubkey)" "link key"
  assert_eq "$(openssl x509 -in "$2" -noout -subject)" "$(openssl x509 -in "$3" -noout -subject)" "link subject"
  assert_eq "$(openssl x509 -in "$2" -noout -issuer | sed 's/^issuer=//')" \
            "$(openssl x509 -in "$1" -noout -subject | sed 's/^subject=//')" "link issuer"
  assert_contains "$(openssl x509 -in "$2" -noout -text)" "CA:TRUE" "link extensions"
  openssl verify -no_check_time -CAfile "$3" "$3" >/dev/null 2>&1 || fail "$3 is not self-signed"
}

# chain_ok PREFIX N: N certificates, CA then (link, CA) pairs, each link checked.
chain_ok() {
  local i
  for ((i = 1; i + 1 < $2; i += 2)); do
    link_ok "$1$((i - 1)).pem" "$1$i.pem" "$1$((i + 1)).pem"
  done
}

active_is() { # the CA's active certificate (GetCACert and ROOTCA.pem, on disk and served) is $1
  curl -sf -o "$WORK/active.der" "$url/cgi-bin/pkiclient.exe?operation=GetCACert"
  assert_eq "$(openssl x509 -inform DER -in "$WORK/active.der" -noout -fingerprint -sha256)" "$(fp "$1")" "GetCACert"
  assert_eq "$(fp "$dir/ROOTCA.pem")" "$(fp "$1")" "ROOTCA.pem on disk"
  assert_eq "$(get ROOTCA.pem "$WORK/served.pem")" "200 application/x-pem-file" "GET ROOTCA.pem"
  assert_eq "$(fp "$WORK/served.pem")" "$(fp "$1")" "ROOTCA.pem served"
}

rollover_is() { # ROOTCA-rollover.pem is $1 on disk and served, or (no argument) absent
  if [ $# -eq 0 ]; then
    [ ! -e "$dir/ROOTCA-rollover.pem" ] || fail "ROOTCA-rollover.pem left on disk"
    assert_eq "$(get cgi-bin/ROOTCA-rollover.pem "$WORK/rollover.txt")" "404 text/plain" "GET ROOTCA-rollover.pem"
    assert_contains "$(cat "$WORK/rollover.txt")" "no rollover CA certificate"
    return
  fi
  assert_eq "$(fp "$dir/ROOTCA-rollover.pem")" "$(fp "$1")" "ROOTCA-rollover.pem on disk"
  assert_eq "$(get cgi-bin/ROOTCA-rollover.pem "$WORK/served.pem")" "200 application/x-pem-file" "GET ROOTCA-rollover.pem"
  assert_eq "$(fp "$WORK/served.pem")" "$(fp "$1")" "ROOTCA-rollover.pem served"
}

op="cgi-bin/pkiclient.exe?operation=GetCARolloverChain"
assert_eq "$(chain "$op" "$WORK/c")" 1 "chain of the first CA"
active_is "$WORK/c0.pem"
rollover_is
pass "one generation: the chain is the CA certificate, ROOTCA.pem served, no rollover file"

# A second server of the daemon: its files are found by their names, whatever the first one is.
assert_eq "$(get cgi-bin/OTHER.pem "$WORK/other.pem")" "200 application/x-pem-file" "GET OTHER.pem"
assert_eq "$(fp "$WORK/other.pem")" "$(fp "$WORK/ca/OTHER/OTHER.pem")" "OTHER.pem served"
assert_eq "$(chain OTHER-custody.pem "$WORK/o")" 1 "chain of OTHER"
assert_eq "$(fp "$WORK/o0.pem")" "$(fp "$WORK/ca/OTHER/OTHER.pem")" "chain of OTHER"
assert_eq "$(get OTHER-rollover.pem "$WORK/other.txt")" "404 text/plain" "GET OTHER-rollover.pem"
pass "each server's files are served by their names"

cli ca server ROOTCA rollover >/dev/null
assert_eq "$(chain "$op" "$WORK/x")" 3 "chain with a manual rollover"
chain_ok "$WORK/x" 3
rollover_is "$WORK/x2.pem"
cli ca server ROOTCA rollover cancel --yes >/dev/null
assert_eq "$(chain "$op" "$WORK/c")" 1 "chain after the cancel"
rollover_is
pass "a cancelled rollover leaves the chain and its file"

cli ca clock advance-to 2020-03-22T00:00:00Z >/dev/null   # past day 80: the successor exists
assert_eq "$(chain ROOTCA-custody.pem "$WORK/c")" 3 "chain with the rollover"
chain_ok "$WORK/c" 3
[ "$(fp "$WORK/c2.pem")" != "$(fp "$WORK/x2.pem")" ] || fail "the cancelled rollover is back"
rollover_is "$WORK/c2.pem"
active_is "$WORK/c0.pem"
pass "rollover: the link is signed by the first CA's key; ROOTCA-rollover.pem written and served"

restart_daemon ca
assert_eq "$(chain "$op" "$WORK/r")" 3 "chain after a restart"
for i in 0 1 2; do cmp -s "$WORK/c$i.pem" "$WORK/r$i.pem" || fail "certificate $i changed at the restart"; done
pass "a restart serves the same links"

cli ca clock advance-to 2020-04-10T00:00:01Z >/dev/null   # past day 100: the switch
active_is "$WORK/c2.pem"
rollover_is
assert_eq "$(chain "$op" "$WORK/s")" 3 "chain after the switch"
for i in 0 1 2; do cmp -s "$WORK/c$i.pem" "$WORK/s$i.pem" || fail "certificate $i changed at the switch"; done
pass "switch: the successor is active, ROOTCA-rollover.pem removed, the chain unchanged"

cli ca clock advance-to 2020-06-30T00:00:00Z >/dev/null   # day 181: the second successor
assert_eq "$(chain "cgi-bin/ROOTCA-custody.pem" "$WORK/d")" 5 "chain with the second rollover"
chain_ok "$WORK/d" 5
for i in 0 1 2; do cmp -s "$WORK/c$i.pem" "$WORK/d$i.pem" || fail "certificate $i changed"; done
rollover_is "$WORK/d4.pem"
cli ca clock advance-to 2020-07-19T00:00:01Z >/dev/null   # day 200: the second switch
active_is "$WORK/d4.pem"
rollover_is
assert_eq "$(chain "$op" "$WORK/e")" 5 "chain after the second switch"
for i in 0 1 2 3 4; do cmp -s "$WORK/d$i.pem" "$WORK/e$i.pem" || fail "certificate $i changed"; done
# The first CA certificate, long expired, still vouches for the current one through the links.
openssl verify -no_check_time -CAfile "$WORK/e0.pem" "$WORK/e0.pem" >/dev/null 2>&1 || fail "first CA"
pass "two rollovers: each link signed by the CA before it, up to the active CA certificate"
