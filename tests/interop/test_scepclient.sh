#!/usr/bin/env bash
# Interoperability: the Debian `scep` package's client (single DES-CBC, SHA-1) enrolls against
# evercertd with grant auto, renews with the same key, and waits PENDING under manual grant
# until the operator grants; `openssl verify` accepts every certificate against the CA.
source "$(dirname "$0")/../lib/common.sh"
enter_private_network "$@"
command -v scepclient >/dev/null || fail "scepclient missing (scripts/deps.sh installs the scep package)"

port=$(free_port)
start_daemon ca "ip http server $port
ip http bind 127.0.0.1
clock calendar-valid
crypto pki server ROOTCA
  issuer-name CN=Interop Root,O=Evercert
  grant auto
  database level complete"
url="http://127.0.0.1:$port/cgi-bin/pkiclient.exe"
cafile="$WORK/ca/ROOTCA/ROOTCA.pem"
fp=$(openssl x509 -in "$cafile" -noout -fingerprint -sha256 | cut -d= -f2 | tr -d ':' | tr 'A-F' 'a-f')

enroll() { # enroll DIR CN
  (cd "$1" && timeout 150 scepclient -server-url "$url" -ca-fingerprint "$fp" -private-key client.key \
     -certificate client.pem -cn "$2" -organization Interop -keySize 2048 >>scepclient.log 2>&1)
}
serial_of() { openssl x509 -in "$1" -noout -serial | cut -d= -f2; }

mkdir -p "$WORK/c1"
enroll "$WORK/c1" "interop-1" || { cat "$WORK/c1/scepclient.log" >&2; tail -20 "$WORK/ca.log" >&2; fail "scepclient enrollment"; }
openssl verify -CAfile "$cafile" "$WORK/c1/client.pem" >/dev/null || fail "issued certificate does not verify"
assert_contains "$(openssl x509 -in "$WORK/c1/client.pem" -noout -subject)" "interop-1"
first=$(serial_of "$WORK/c1/client.pem")
[ -f "$WORK/ca/ROOTCA/$(echo "$first" | sed 's/^0*//').cer" ] || fail "no $first.cer at database level complete"
pass "scepclient enrolled (serial $first) and openssl verify accepts it"

cp "$WORK/c1/client.pem" "$WORK/c1/first.pem"
enroll "$WORK/c1" "interop-1" || { cat "$WORK/c1/scepclient.log" >&2; fail "scepclient renewal"; }
second=$(serial_of "$WORK/c1/client.pem")
[ "$first" != "$second" ] || fail "renewal returned the same certificate"
openssl verify -CAfile "$cafile" "$WORK/c1/client.pem" >/dev/null || fail "renewed certificate does not verify"
grep -q "renewal" "$WORK/ca.log" || fail "the CA did not see a renewal"
pass "scepclient renewed with the same key (serial $second)"

# Manual grant: the client waits PENDING until the operator grants.
stop_daemon ca
sed -i 's/^  grant auto$//' "$WORK/ca.conf"
"$EVERCERTD" --config "$WORK/ca.conf" --state-dir "$WORK/ca" --foreground >>"$WORK/ca.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 300); do cli ca ping >/dev/null 2>&1 && break; sleep 0.1; done
assert_contains "$(cli ca show crypto pki server)" "Granting mode is: manual"
mkdir -p "$WORK/c2"
enroll "$WORK/c2" "interop-2" &
client=$!
for _ in $(seq 1 100); do
  cli ca server ROOTCA info requests | grep -qE '^[0-9]+ +pending' && break
  sleep 0.2
done
cli ca server ROOTCA info requests | grep -qE '^[0-9]+ +pending' || fail "no pending request in the queue"
[ ! -s "$WORK/c2/client.pem" ] || fail "certificate issued before the grant"
cli ca server ROOTCA grant all >/dev/null
wait "$client" || { cat "$WORK/c2/scepclient.log" >&2; fail "scepclient did not finish after the grant"; }
openssl verify -CAfile "$cafile" "$WORK/c2/client.pem" >/dev/null || fail "granted certificate does not verify"
pass "scepclient held PENDING, then enrolled once granted"
