#!/usr/bin/env bash
# Interoperability across a CA switch: the Debian `scep` package's client, which never asks for
# the next CA certificate, holds a certificate capped by its CA generation's end. After the
# switch, the next run of the same command with the new CA certificate's fingerprint (published
# with the rollover CA certificate, ahead of the switch) renews with the lapsed certificate and is
# granted at once under grant auto trustpoint (the renewal grace), with no operator action. The
# same run with the old fingerprint refuses the new CA. The CA's certificate ends in real time
# about 25 s after the start: the client reads the real clock.
source "$(dirname "$0")/../lib/common.sh"
enter_private_network "$@"
source "$(dirname "$0")/../lib/rollover_realtime.sh"
command -v scepclient >/dev/null || fail "scepclient missing (scripts/deps.sh installs the scep package)"

start_ca_ending_soon 25
url="http://127.0.0.1:$port/cgi-bin/pkiclient.exe"
fingerprint() { openssl x509 -in "$1" -noout -fingerprint -sha256 | cut -d= -f2 | tr -d ':' | tr 'A-F' 'a-f'; }
S="$WORK/sc"
mkdir -p "$S"
run_scepclient() { # run_scepclient FINGERPRINT [options...]
  local fp=$1
  shift
  (cd "$S" && timeout 60 scepclient -server-url "$url" -ca-fingerprint "$fp" -private-key client.key \
     -certificate client.pem -cn device.example.net -organization Interop -keySize 2048 "$@" >>scepclient.log 2>&1)
}

# ---- first enrollment with a one-time password
run_scepclient "$(fingerprint "$WORK/ca0.pem")" -challenge "$(one_time_password ca ROOTCA)" ||
  { cat "$S/scepclient.log" >&2; fail "scepclient enrollment"; }
before_ca_end "the first enrollment"
assert_eq "$(cert_end "$S/client.pem")" "$(cert_end "$WORK/ca0.pem")" "the certificate's end (capped by the CA's)"
first=$(cert_serial "$S/client.pem")
pass "scepclient enrolled; its certificate ends with the CA certificate ($(cert_end "$S/client.pem"))"

# ---- the rollover CA certificate, published ahead of the switch, gives the next fingerprint
curl -sf "$url?operation=GetNextCACert" | openssl pkcs7 -inform DER -print_certs >"$S/next.pem" || fail "GetNextCACert"
next_fp=$(fingerprint "$S/next.pem")

wait_ca_switch
! openssl verify -CAfile "$WORK/ca0.pem" "$S/client.pem" >/dev/null 2>&1 || fail "the old certificate should have lapsed"

# ---- the next run: with the old fingerprint it refuses the new CA; with the new one it renews
! run_scepclient "$(fingerprint "$WORK/ca0.pem")" || fail "scepclient accepted a CA certificate it was not pinned to"
assert_eq "$(cert_serial "$S/client.pem")" "$first" "the certificate after the refused run"
run_scepclient "$next_fp" || { tail -5 "$S/scepclient.log" >&2; tail -5 "$WORK/ca.log" >&2; fail "scepclient renewal after the switch"; }
[ "$(cert_serial "$S/client.pem")" != "$first" ] || fail "the certificate was not renewed"
openssl verify -CAfile "$S/next.pem" "$S/client.pem" >/dev/null || fail "the renewed certificate does not verify with the new CA"
grep -q "renewal signed by a certificate that ended with its CA certificate, within the renewal grace" "$WORK/ca.log" ||
  fail "the CA did not log the grace"
! grep -q "waiting for the operator" "$WORK/ca.log" || fail "a request waited for the operator"
pass "after the switch, scepclient with the new CA's fingerprint renews with the lapsed certificate, granted at once"
