#!/usr/bin/env bash
# Interoperability: our trustpoint enrolls against the Debian `scep` package's server
# (scepserver), and the certificate verifies against that server's CA.
source "$(dirname "$0")/../lib/common.sh"
enter_private_network "$@"
command -v scepserver >/dev/null || fail "scepserver missing (scripts/deps.sh installs the scep package)"

port=$(free_port)
(cd "$WORK" && scepserver ca -init -depot depot -keySize 2048 -organization Interop >/dev/null 2>&1) \
  || fail "scepserver ca -init"
scepserver -depot "$WORK/depot" -port "$port" >"$WORK/scepserver.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 50); do curl -sf -o /dev/null "http://127.0.0.1:$port/scep?operation=GetCACaps" && break; sleep 0.1; done
fp=$(openssl x509 -in "$WORK/depot/ca.pem" -noout -fingerprint -sha256 | cut -d= -f2)

mkdir -p "$WORK/out"
start_daemon cl "hostname interop-client
clock calendar-valid
crypto pki trustpoint PEER
  enrollment url http://127.0.0.1:$port/scep
  fingerprint $fp
  subject-name CN=evercert-interop,O=Evercert
  auto-enroll 80
  output certificate $WORK/out/cert.pem"
for _ in $(seq 1 300); do [ -s "$WORK/out/cert.pem" ] && break; sleep 0.1; done
[ -s "$WORK/out/cert.pem" ] || { cat "$WORK/cl.log" "$WORK/scepserver.log" >&2; fail "no certificate from scepserver"; }
openssl verify -CAfile "$WORK/depot/ca.pem" "$WORK/out/cert.pem" >/dev/null || fail "certificate does not verify against scepserver's CA"
assert_contains "$(openssl x509 -in "$WORK/out/cert.pem" -noout -subject)" "evercert-interop"
assert_contains "$(cli cl show crypto pki timers)" "RENEW PEER"
pass "evercert's trustpoint enrolled against scepserver; openssl verify accepts it"

# A renewal against the peer, signed by the certificate it issued.
first=$(openssl x509 -in "$WORK/out/cert.pem" -noout -serial)
cli cl enroll PEER --yes >/dev/null || true
second=$(openssl x509 -in "$WORK/out/cert.pem" -noout -serial)
if [ "$first" != "$second" ]; then
  openssl verify -CAfile "$WORK/depot/ca.pem" "$WORK/out/cert.pem" >/dev/null || fail "renewed certificate does not verify"
  pass "renewal against scepserver"
else
  # scepserver refuses renewals earlier than -allowrenew days before expiry (14 by default):
  # the refusal must be reported, and the certificate kept.
  assert_contains "$(cli cl show crypto pki trustpoints)" "rejected"
  pass "scepserver refused the early renewal; the trustpoint kept its certificate and reports it"
fi
