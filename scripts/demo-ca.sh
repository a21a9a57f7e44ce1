#!/usr/bin/env bash
# A guided tour of one certificate server on a simulated clock: enrollment by a real SCEP client
# (the scep package's), the manual queue, revocation, then two years of CA life in seconds —
# the rollover certificate created 90 days before expiry and the switch at the instant of expiry.
set -euo pipefail
export no_proxy="*" NO_PROXY="*" # everything here is on loopback
build=${1:-build}
root=$(cd "$(dirname "$0")/.." && pwd)
evercertd="$root/$build/evercertd"
evercert="$root/$build/evercert"
work=$(mktemp -d "${TMPDIR:-/tmp}/evercert-demo.XXXXXX")
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
url="http://127.0.0.1:$port/cgi-bin/pkiclient.exe"
daemon=""
trap '[ -n "$daemon" ] && kill "$daemon" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }
cli() { run "$evercert" --state-dir "$work/state" "$@"; }

cat >"$work/evercert.conf" <<CONF
ip http server $port
ip http bind 127.0.0.1
clock simulate start 2015-10-09T13:14:16Z rate 0
crypto pki server ROOTCA
  issuer-name CN=RootCA,OU=TAC,O=Cisco
  database level complete
  lifetime certificate 365
  lifetime ca-certificate 730
  auto-rollover 90
CONF

step "A root CA on a frozen simulated clock (13:14:16 Oct 9 2015), manual granting"
cat "$work/evercert.conf"
"$evercertd" --config "$work/evercert.conf" --state-dir "$work/state" --foreground >"$work/evercertd.log" 2>&1 &
daemon=$!
for _ in $(seq 1 100); do "$evercert" --state-dir "$work/state" ping >/dev/null 2>&1 && break; sleep 0.1; done
cli show crypto pki server

step "5 minutes 42.946 seconds later, the timers read as in the router's documentation"
cli clock advance 5m42.946s
cli show crypto pki timers

step "A SCEP client enrolls; the request waits for the operator"
fp=$(openssl x509 -in "$work/state/ROOTCA/ROOTCA.pem" -noout -fingerprint -sha256 | cut -d= -f2 | tr -d ':' | tr 'A-F' 'a-f')
mkdir -p "$work/client"
(cd "$work/client" && scepclient -server-url "$url" -ca-fingerprint "$fp" -private-key client.key \
   -certificate client.pem -cn spoke-1 -organization Demo >scepclient.log 2>&1) &
client=$!
for _ in $(seq 1 100); do
  "$evercert" --state-dir "$work/state" server ROOTCA info requests | grep -qE '^[0-9]+ +pending' && break
  sleep 0.2
done
cli server ROOTCA info requests
cli server ROOTCA grant all
echo "(the client polls again within 30 seconds...)"
wait "$client"
run openssl x509 -in "$work/client/client.pem" -noout -subject -serial -dates
attime=$(date -d 2015-10-10 +%s)
run openssl verify -attime "$attime" -CAfile "$work/state/ROOTCA/ROOTCA.pem" "$work/client/client.pem"

step "Revocation: the CRL is reissued at once"
serial=$(openssl x509 -in "$work/client/client.pem" -noout -serial | cut -d= -f2)
cli server ROOTCA revoke "$serial"
curl -sf -o "$work/root.crl" "http://127.0.0.1:$port/ROOTCA.crl"
openssl crl -inform DER -in "$work/root.crl" -noout -text | sed -n '/Revoked Certificates/,/Signature Algorithm/p' | head -6

step "Before the rollover certificate exists, GetNextCACert says when to come back"
curl -s -D - -o /dev/null "$url?operation=GetNextCACert" | grep -iE '^(HTTP|Retry-After)'

step "Advance to the shadow generation timer (Jul 10 2017): the rollover CA is created"
cli clock advance 639d23:54:18
cli show crypto pki certificates
curl -sf -o "$work/next.p7" "$url?operation=GetNextCACert"
openssl pkcs7 -inform DER -in "$work/next.p7" -print_certs -noout | grep -E 'subject|issuer'

step "Advance past the CA's expiry (Oct 8 2017): the rollover CA is now the active CA"
cli clock advance 90d
cli show crypto pki server
curl -sf -o "$work/ca-now.der" "$url?operation=GetCACert"
openssl x509 -inform DER -in "$work/ca-now.der" -noout -serial -dates

step "What the CA logged"
grep -E 'CA ROOTCA|operator' "$work/evercertd.log" | sed 's/^/  /'
