#!/usr/bin/env bash
# Interoperability across a CA switch: strongSwan's `pki --scep`, which never asks for the next
# CA certificate, holds a certificate capped by its CA generation's end; at the switch it lapses,
# and a scripted re-run of `pki --scepca` and `pki --scep --cert --key` (what its cron job does)
# obtains a valid certificate from the new CA at once under grant auto trustpoint, thanks to the
# renewal grace, with no operator action. The CA's certificate ends in real time about 25 s after
# the test starts: the clients use the real clock.
source "$(dirname "$0")/../lib/common.sh"
enter_private_network "$@"
source "$(dirname "$0")/../lib/rollover_realtime.sh"
command -v pki >/dev/null || fail "pki missing (scripts/deps.sh installs strongswan-pki)"

start_ca_ending_soon 25
url="http://127.0.0.1:$port/cgi-bin/pkiclient.exe"
S="$WORK/sw"
mkdir -p "$S"

# pki_scep LOG [pki --scep options...]: one run of pki --scep, its output certificate in $S/new.pem.
pki_scep() {
  local log=$1
  shift
  timeout 60 pki --scep --url "$url" --dn "CN=vpn.example.net, O=Interop" --cacert-enc "$S/ca.pem" \
    --cacert-sig "$S/ca.pem" --outform pem --interval 1 --maxpolltime 20 "$@" >"$S/new.pem" 2>>"$S/$log.log"
}
# fetch_ca: what the job does first, GetCACert into $S/ca.pem.
fetch_ca() {
  rm -f "$S"/ca*.pem
  pki --scepca --url "$url" --caout "$S/ca.pem" --outform pem --force >>"$S/scepca.log" 2>&1 || fail "pki --scepca"
  [ -s "$S/ca.pem" ] || { cat "$S/scepca.log" >&2; fail "pki --scepca wrote no CA certificate"; }
}

# ---- first enrollment with a one-time password (grant auto trustpoint does not grant it alone)
pki --gen --type rsa --size 2048 --outform pem >"$S/vpn.key" 2>/dev/null || fail "pki --gen"
fetch_ca
pki_scep enroll --in "$S/vpn.key" --password "$(one_time_password ca ROOTCA)" ||
  { grep -v "failed to load" "$S/enroll.log" >&2; fail "pki --scep enrollment"; }
before_ca_end "the first enrollment"
cp "$S/new.pem" "$S/vpn.pem"
assert_eq "$(cert_end "$S/vpn.pem")" "$(cert_end "$S/ca.pem")" "the certificate's end (capped by the CA's)"
openssl verify -CAfile "$S/ca.pem" "$S/vpn.pem" >/dev/null || fail "the first certificate does not verify"
pass "pki --scep enrolled; its certificate ends with the CA certificate ($(cert_end "$S/vpn.pem"))"

# ---- the CA certificate ends; the certificate lapses with it
wait_ca_switch
! openssl verify -CAfile "$S/ca.pem" "$S/vpn.pem" >/dev/null 2>&1 || fail "the old certificate should have lapsed"
lapsed_at=$(date +%s)

# ---- the job's next run: the CA certificate again, then a renewal signed by the lapsed certificate
fetch_ca
[ "$(cert_serial "$S/ca.pem")" != "$(cert_serial "$WORK/ca0.pem")" ] || fail "GetCACert still returns the old CA"
pki --gen --type rsa --size 2048 --outform pem >"$S/vpn2.key" 2>/dev/null || fail "pki --gen"
pki_scep renew --in "$S/vpn2.key" --cert "$S/vpn.pem" --key "$S/vpn.key" ||
  { grep -v "failed to load" "$S/renew.log" >&2; tail -5 "$WORK/ca.log" >&2; fail "pki --scep renewal after the switch"; }
openssl verify -CAfile "$S/ca.pem" "$S/new.pem" >/dev/null || fail "the renewed certificate does not verify with the new CA"
assert_contains "$(openssl x509 -in "$S/new.pem" -noout -subject)" "vpn.example.net" "the renewed subject"
grep -q "renewal signed by a certificate that ended with its CA certificate, within the renewal grace" "$WORK/ca.log" ||
  fail "the CA did not log the grace"
! grep -q "waiting for the operator" "$WORK/ca.log" || fail "a request waited for the operator"
pass "after the switch, the job's next run renews with the lapsed certificate: granted at once ($(( $(date +%s) - lapsed_at )) s after the lapse)"
