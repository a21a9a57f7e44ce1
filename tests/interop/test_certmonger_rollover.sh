#!/usr/bin/env bash
# Interoperability across a CA switch: certmonger (Debian's certmonger, its scep-submit helper),
# which never asks for the next CA certificate, holds a certificate capped by its CA generation's
# end. After the switch, certmonger's own renewal, signed by the lapsed certificate and encrypted to
# the CA certificate that ended, is granted at once under grant auto trustpoint (the renewal grace)
# and issued by the new CA, with no operator action; certmonger verifies the reply because its CA
# file also holds the rollover CA certificate, fetched with GetNextCACert before the switch.
# certmonger 0.79 cannot read the CA certificate of a CA that signs its own replies from
# GetCACert, so the CA configuration names it (-r for encryption, -N for verification).
# The clients read the real clock: the CA's certificate ends about 40 s after the start.
source "$(dirname "$0")/../lib/common.sh"
enter_private_network "$@"
source "$(dirname "$0")/../lib/rollover_realtime.sh"
source "$(dirname "$0")/../lib/private_bus.sh"
for tool in certmonger getcert dbus-daemon; do
  command -v "$tool" >/dev/null || fail "$tool missing (scripts/deps.sh installs certmonger and dbus)"
done

# A private certmonger on its own session bus, its state in the work directory.
C="$WORK/cm"
mkdir -p "$C"/conf "$C"/req "$C"/cas "$C"/tmp "$C"/home
# Its lock too: a session certmonger takes /var/lib/certmonger/lock by default and waits there
# while another one (a bench run, a test beside this one) holds it.
export HOME="$C/home" CERTMONGER_CONFIG_DIR="$C/conf" CERTMONGER_REQUESTS_DIR="$C/req" \
  CERTMONGER_CAS_DIR="$C/cas" CERTMONGER_TMPDIR="$C/tmp" CERTMONGER_SYSTEM_LOCK_FILE="$C/lock"
# Renewal only once the certificate has ended (the default also renews in its last 28 days: each
# such renewal, capped by the CA's end, would be too young for certmonger to renew again in time).
printf '[defaults]\nenroll_ttls = 1\nnotify_ttls = 1\n' >"$C/conf/certmonger.conf"
private_bus "$C" || fail "dbus-daemon: $(cat "$C/dbus.log")"
PIDS+=("$bus_pid")
start_certmonger() {
  certmonger -s -n -d 1 >>"$WORK/certmonger.log" 2>&1 &
  PIDS+=($!)
  cm_pid=$!
  for _ in $(seq 1 100); do timeout 5 getcert list-cas -s >/dev/null 2>&1 && return 0; sleep 0.1; done
  fail "certmonger did not start"
}
# wait_cert_from CA_PEM SECONDS: until certmonger's certificate verifies with CA_PEM now.
wait_cert_from() {
  local deadline=$(($(date +%s) + $2))
  until openssl verify -CAfile "$1" "$C/cert.pem" >/dev/null 2>&1; do
    [ "$(date +%s)" -lt "$deadline" ] || { getcert list -s >&2; tail -5 "$WORK/ca.log" >&2; return 1; }
    sleep 0.5
  done
}

# ---- enrollment, on the CA's clock an hour before its end: the certificate is an hour old
start_ca_frozen 40
url="http://127.0.0.1:$port/cgi-bin/pkiclient.exe"
cp "$WORK/ca0.pem" "$C/ca-encryption.pem"
cp "$WORK/ca0.pem" "$C/ca-certs.pem"
start_certmonger
getcert add-scep-ca -s -c EVERCERT -u "$url" -r "$C/ca-encryption.pem" -N "$C/ca-certs.pem" >/dev/null ||
  fail "getcert add-scep-ca"
getcert request -s -c EVERCERT -f "$C/cert.pem" -k "$C/key.pem" -N "CN=host.example.net" \
  -L "$(one_time_password ca ROOTCA)" >/dev/null || fail "getcert request"
wait_cert_from "$WORK/ca0.pem" 30 || fail "certmonger got no certificate"
assert_eq "$(cert_end "$C/cert.pem")" "$(cert_end "$WORK/ca0.pem")" "the certificate's end (capped by the CA's)"
first=$(cert_serial "$C/cert.pem")
pass "certmonger enrolled; its certificate ends with the CA certificate ($(cert_end "$C/cert.pem"))"

# ---- the CA on the system clock makes its successor; the user adds it to certmonger's CA file
restart_ca_on_system_clock
before_ca_end "the CA's restart"
curl -sf "$url?operation=GetNextCACert" | openssl pkcs7 -inform DER -print_certs >"$C/next.pem" ||
  fail "GetNextCACert"
cat "$WORK/ca0.pem" "$C/next.pem" >"$C/ca-certs.pem"

# ---- the switch: the certificate lapses with its CA
wait_ca_switch
! openssl verify -CAfile "$WORK/ca0.pem" "$C/cert.pem" >/dev/null 2>&1 || fail "the old certificate should have lapsed"
switched=$(date +%s)

# ---- certmonger looks at its certificate again (its timer; a restart makes it look now) and
# renews it on its own, signed by the lapsed certificate
kill "$cm_pid"
wait "$cm_pid" 2>/dev/null || true
start_certmonger
wait_cert_from "$C/next.pem" 40 || fail "certmonger holds no certificate of the new CA"
[ "$(cert_serial "$C/cert.pem")" != "$first" ] || fail "the certificate was not renewed"
assert_contains "$(openssl x509 -in "$C/cert.pem" -noout -subject)" "host.example.net" "the renewed subject"
grep -q "renewal signed by a certificate that ended with its CA certificate, within the renewal grace" "$WORK/ca.log" ||
  fail "the CA did not log the grace"
! grep -q "waiting for the operator" "$WORK/ca.log" || fail "a request waited for the operator"
assert_contains "$(getcert list -s)" "status: MONITORING" "certmonger's state"
pass "after the switch, certmonger's own renewal with the lapsed certificate is granted at once by the new CA ($(( $(date +%s) - switched )) s after the switch)"
