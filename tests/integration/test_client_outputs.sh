#!/usr/bin/env bash
# What applications get from a trustpoint: the names they check (subject-alt-name, fqdn,
# ip-address, an interface's address) in the issued certificate, a working TLS server with the
# output files of the README's nginx example (curl and openssl s_client verify the host name and
# the IP address), the same names in a renewal and in the SHADOW certificate (granted at once by
# grant auto trustpoint, which binds them to the signer's names), the next CA certificate in
# `output chain` and `output ca-bundle` ahead of the switch and the old one gone after it,
# `show crypto pki certificates` with the rollover certificates and shared CA certificates (also
# a server's own with a trustpoint of its daemon), and
# output files changed or removed by hand repaired at start and at a timer, logged by name, with
# post-install run after the repair.
source "$(dirname "$0")/../lib/common.sh"
enter_private_network "$@"

# Simulated clocks, frozen, started ten minutes ago: the first certificates are valid in real
# time too, for the TLS checks; then the test moves both clocks together through a rollover.
start=$(date -u -d '-10 minutes' +%Y-%m-%dT%H:%M:%SZ)
port=$(free_port)
start_daemon ca "ip http server $port
ip http bind 127.0.0.1
clock simulate start $start rate 0
crypto pki server ROOTCA
  grant auto trustpoint ROOTCA
  lifetime certificate 365
  lifetime ca-certificate 100
  lifetime crl 720
crypto pki trustpoint LOCAL
  enrollment url http://127.0.0.1:$port"
fp=$(ca_fingerprint ca ROOTCA)
web="$WORK/nginx" vpn="$WORK/swanctl"
mkdir -p "$web" "$vpn/x509" "$vpn/private" "$vpn/x509ca"
start_daemon cl "clock simulate start $start rate 0
crypto pki trustpoint WEB
  enrollment url http://127.0.0.1:$port
  fingerprint $fp
  subject-name CN=www.example.test,O=Example
  subject-alt-name www.example.test
  subject-alt-name dns api.example.test admin.example.test
  subject-alt-name webmaster@example.test
  ip-address lo
  auto-enroll 80
  output certificate $web/www.pem
  output key $web/www.key
  output chain $web/chain.pem
  output post-install echo WEB >>$WORK/post-install.log
crypto pki trustpoint VPN
  enrollment url http://127.0.0.1:$port
  fingerprint $fp
  subject-name CN=spoke-1.example.test,OU=VPN
  fqdn spoke-1.example.test
  subject-alt-name 192.0.2.10
  auto-enroll 80
  output certificate $vpn/x509/spoke-1.pem
  output key $vpn/private/spoke-1.key
  output ca-bundle $vpn/x509ca/root.pem
  output post-install echo VPN >>$WORK/post-install.log"
advance() { cli ca clock advance-to "$1" >/dev/null; cli cl clock advance-to "$1" >/dev/null; }
at() { date -u -d "$start $1" +%Y-%m-%dT%H:%M:%SZ; }
epoch() { date -u -d "$1" +%s; }
posts() { if [ -f "$WORK/post-install.log" ]; then grep -c "^$1$" "$WORK/post-install.log"; else echo 0; fi; }
sans() { openssl x509 -in "$1" -noout -ext subjectAltName | tail -n +2 | tr -d ' '; }
count_certs() { grep -c "BEGIN CERTIFICATE" "$1"; }

# A trustpoint of the CA's own daemon holding the CA certificate: listed once, under the server.
cli ca authenticate LOCAL --yes >/dev/null
show=$(cli ca show crypto pki certificates)
assert_eq "$(grep -c '^CA Certificate$' <<<"$show")" 1 "CA certificates listed by the CA's daemon"
assert_contains "$show" "Associated Trustpoints: ROOTCA LOCAL"
cli ca show crypto pki certificates --json | python3 -c '
import json, sys
certs = json.load(sys.stdin)["certificates"]
assert [c["associated_trustpoints"] for c in certs] == [["ROOTCA", "LOCAL"]], certs
assert certs[0]["type"] == "ca_certificate" and certs[0]["server"] == "ROOTCA", certs
' || fail "show crypto pki certificates --json on the CA's daemon"
pass "a CA certificate held by the server and a trustpoint of the same daemon is listed once, for both"

# First enrollments wait for the operator (grant auto trustpoint grants renewals only).
wait_for 30 eval '[ "$(cli ca server ROOTCA info requests | grep -c "example.test")" -ge 2 ]'
cli ca server ROOTCA grant all >/dev/null
advance "$(at '+1 minute')"
wait_for 30 eval '[ -s "$web/www.pem" ] && [ -s "$vpn/x509/spoke-1.pem" ]'
web_names="DNS:www.example.test,DNS:api.example.test,DNS:admin.example.test,email:webmaster@example.test,IPAddress:127.0.0.1"
vpn_names="DNS:spoke-1.example.test,IPAddress:192.0.2.10"
assert_eq "$(sans "$web/www.pem")" "$web_names" "WEB's subjectAltName"
assert_eq "$(sans "$vpn/x509/spoke-1.pem")" "$vpn_names" "VPN's subjectAltName"
assert_contains "$(openssl x509 -in "$web/www.pem" -noout -subject)" "unstructuredAddress = 127.0.0.1"
assert_contains "$(openssl x509 -in "$vpn/x509/spoke-1.pem" -noout -subject)" "unstructuredName = spoke-1.example.test"
assert_eq "$(count_certs "$web/chain.pem")" 1 "certificates in the chain before a rollover"
cmp -s "$web/chain.pem" "$vpn/x509ca/root.pem" || fail "chain and ca-bundle differ while one CA is held"
pass "subject-alt-name (DNS, e-mail, IP), fqdn and ip-address INTERFACE are in the issued certificates"

# A TLS server with WEB's files; clients check the name and the address against the chain file.
tls_port=$(free_port)
openssl s_server -quiet -accept "127.0.0.1:$tls_port" -cert "$web/www.pem" -key "$web/www.key" \
  -cert_chain "$web/chain.pem" -www >/dev/null 2>&1 &
PIDS+=($!)
wait_for 30 eval 'curl -s -o /dev/null --cacert "$web/chain.pem" --resolve "www.example.test:$tls_port:127.0.0.1" "https://www.example.test:$tls_port/"'
curl -sf -o /dev/null --cacert "$web/chain.pem" --resolve "api.example.test:$tls_port:127.0.0.1" \
  "https://api.example.test:$tls_port/" || fail "curl does not accept the certificate for api.example.test"
curl -sf -o /dev/null --cacert "$web/chain.pem" "https://127.0.0.1:$tls_port/" ||
  fail "curl does not accept the certificate for its IP address"
if curl -s -o /dev/null --cacert "$web/chain.pem" --resolve "other.example.test:$tls_port:127.0.0.1" \
  "https://other.example.test:$tls_port/"; then fail "curl accepted a name the certificate does not carry"; fi
echo | openssl s_client -connect "127.0.0.1:$tls_port" -CAfile "$web/chain.pem" -verify_hostname www.example.test \
  -verify_return_error >/dev/null 2>&1 || fail "openssl s_client does not verify www.example.test"
pass "TLS: curl and s_client verify www/api.example.test and 127.0.0.1 against the chain file, refuse another name"

if command -v pki >/dev/null; then
  assert_contains "$(pki --print --in "$vpn/x509/spoke-1.pem" 2>&1)" "spoke-1.example.test"
  pki --verify --in "$vpn/x509/spoke-1.pem" --cacert "$vpn/x509ca/root.pem" >/dev/null 2>&1 ||
    fail "strongSwan's pki does not verify the certificate against the ca-bundle"
  pass "strongSwan's pki reads the names and verifies against output ca-bundle"
fi

# ---- repairs: at start, then at a timer firing
before_web=$(posts WEB)
echo "not a certificate" >"$web/www.pem"
rm -f "$web/www.key"
restart_daemon cl
openssl x509 -in "$web/www.pem" -noout 2>/dev/null || fail "the certificate changed by hand was not repaired at start"
[ "$(stat -c %a "$web/www.key")" = 600 ] || fail "the removed key was not written again (0600)"
[ "$(openssl x509 -in "$web/www.pem" -noout -pubkey)" = "$(openssl pkey -in "$web/www.key" -pubout)" ] ||
  fail "the repaired key is not the certificate's"
grep -q "trustpoint WEB: output certificate $web/www.pem did not hold" "$WORK/cl.log" || fail "repair of the certificate not logged"
grep -q "trustpoint WEB: output key $web/www.key did not hold" "$WORK/cl.log" || fail "repair of the key not logged"
wait_until 10 eval '[ "$(posts WEB)" -gt "$before_web" ]' || fail "post-install did not run after the repair at start"
pass "at start: a certificate changed and a key removed by hand are written again, logged by name, post-install run"

# A manual rollover on the CA; the clients' SHADOW (80% of the certificates that end with the CA,
# day 80) fetches the next CA certificate and a certificate from it.
cli ca server ROOTCA rollover >/dev/null
curl -sf "http://127.0.0.1:$port/cgi-bin/pkiclient.exe?operation=GetCACert" | openssl x509 -inform DER >"$WORK/old-ca.pem"
rm -f "$vpn/x509ca/root.pem"
echo "stale" >"$web/chain.pem"
before_vpn=$(posts VPN)
advance "$(at '+81 days')"
assert_contains "$(cli cl show crypto pki timers)" "SHADOW SWITCH WEB"
assert_contains "$(cli cl show crypto pki timers)" "SHADOW SWITCH VPN"
assert_eq "$(count_certs "$web/chain.pem")" 2 "certificates in WEB's chain during the rollover"
assert_eq "$(count_certs "$vpn/x509ca/root.pem")" 2 "certificates in VPN's ca-bundle during the rollover"
cmp -s <(openssl x509 -in "$web/chain.pem") "$WORK/old-ca.pem" || fail "the chain does not start with the current CA"
grep -q "trustpoint VPN: output ca-bundle $vpn/x509ca/root.pem did not hold" "$WORK/cl.log" ||
  fail "the removed ca-bundle was not logged when written again"
grep -q "trustpoint WEB: output chain $web/chain.pem did not hold" "$WORK/cl.log" || fail "the chain repair not logged"
wait_until 10 eval '[ "$(posts VPN)" -gt "$before_vpn" ]' || fail "post-install did not run when the next CA was added"
openssl verify -attime "$(epoch "$(at '+81 days')")" -CAfile "$web/chain.pem" "$web/www.pem" >/dev/null ||
  fail "the current certificate does not verify against the chain holding both CA certificates"
curl -sf -o /dev/null --cacert "$vpn/x509ca/root.pem" --resolve "www.example.test:$tls_port:127.0.0.1" \
  "https://www.example.test:$tls_port/" || fail "curl does not accept the server with a two-CA bundle"
next_fp=$(awk 'n==1{print} /END CERTIFICATE/{n++}' "$web/chain.pem" | openssl x509 -noout -fingerprint -sha256)
show=$(cli ca show crypto pki certificates)
assert_contains "$show" "CA Certificate (Rollover)"
# The SHADOW requests are renewals signed by the current certificates: grant auto trustpoint
# grants them at once only because they ask for the signer's subject and names.
assert_eq "$(grep -c "renewal signed by a trusted certificate" "$WORK/ca.log")" 2 "SHADOW requests granted at once"
pass "SHADOW: output chain and ca-bundle hold the current then the next CA certificate, repaired at the timer"

show=$(cli cl show crypto pki certificates)
assert_eq "$(grep -c '^CA Certificate (Rollover)$' <<<"$show")" 1 "rollover CA certificates listed"
assert_eq "$(grep -c '^CA Certificate$' <<<"$show")" 1 "active CA certificates listed"
assert_eq "$(grep -c '^Certificate (Rollover)$' <<<"$show")" 2 "rollover identity certificates listed"
assert_eq "$(grep -c '^Certificate$' <<<"$show")" 2 "active identity certificates listed"
assert_eq "$(grep -c 'Associated Trustpoints: WEB VPN$' <<<"$show")" 2 "CA certificates shared by WEB and VPN"
# Storage: the file each is installed in (the first holder's), the record before the switch.
assert_eq "$(grep -c "Storage: $web/www.pem$" <<<"$show")" 1 "WEB's certificate in use, stored in output certificate"
assert_eq "$(grep -c "Storage: $vpn/x509/spoke-1.pem$" <<<"$show")" 1 "VPN's certificate in use, stored in output certificate"
assert_eq "$(grep -c "Storage: $WORK/cl/trustpoints/\(WEB\|VPN\).state$" <<<"$show")" 2 "SHADOW certificates, kept in the record"
assert_eq "$(grep -c "Storage: $web/chain.pem$" <<<"$show")" 2 "CA certificates, stored in WEB's output chain"
json=$(cli cl show crypto pki certificates --json)
python3 - "$json" "$web_names" <<'EOF' || fail "show crypto pki certificates --json"
import json, re, sys
certs = json.loads(sys.argv[1])["certificates"]
iso = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
for c in certs:
    for k in ("type", "status", "serial_hex", "fingerprint_sha256", "issuer", "subject", "not_before",
              "not_after", "rollover", "associated_trustpoints", "subject_alt_names"):
        assert k in c, (k, c)
    assert iso.match(c["not_before"]) and iso.match(c["not_after"]), c
roll_ca = [c for c in certs if c["type"] == "ca_certificate" and c["rollover"]]
assert len(roll_ca) == 1 and roll_ca[0]["associated_trustpoints"] == ["WEB", "VPN"], roll_ca
web = [c for c in certs if c["type"] == "certificate" and c["associated_trustpoints"] == ["WEB"]]
assert sorted(c["rollover"] for c in web) == [False, True], web
want = {"dns": "DNS:", "email": "email:", "ip": "IPAddress:"}
for c in web:
    names = ",".join(want[n["type"]] + n["value"] for n in c["subject_alt_names"])
    assert names == sys.argv[2], (names, sys.argv[2])
EOF
pass "show crypto pki certificates: (Rollover) CA and identity certificates, each CA once for WEB VPN; --json alike"

# The switch at the CA's end: the rollover certificates take over, the old CA leaves the files.
advance "$(at '+100 days 1 minute')"
assert_eq "$(count_certs "$web/chain.pem")" 1 "certificates in the chain after the switch"
assert_eq "$(count_certs "$vpn/x509ca/root.pem")" 1 "certificates in the ca-bundle after the switch"
assert_eq "$(openssl x509 -in "$web/chain.pem" -noout -fingerprint -sha256)" "$next_fp" "the chain after the switch"
now=$(epoch "$(at '+100 days 1 minute')")
openssl verify -attime "$now" -CAfile "$web/chain.pem" "$web/www.pem" >/dev/null || fail "WEB after the switch"
openssl verify -attime "$now" -CAfile "$vpn/x509ca/root.pem" "$vpn/x509/spoke-1.pem" >/dev/null || fail "VPN after the switch"
assert_eq "$(sans "$web/www.pem")" "$web_names" "WEB's names after the switch"
assert_eq "$(sans "$vpn/x509/spoke-1.pem")" "$vpn_names" "VPN's names after the switch"
pass "switch: chain and ca-bundle hold only the new CA; the SHADOW certificates (renewals) carry the same names"

