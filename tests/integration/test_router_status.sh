#!/usr/bin/env bash
# The router's lines, line for line: `show crypto pki trustpoints status` of a trustpoint before
# authentication, with the CA certificate awaiting confirmation, authenticated with its first
# request pending, enrolled, and after its SHADOW renewal (the Rollover sub-blocks, whose
# identity certificate is the one installed at the switch); `info requests` of a manual-grant
# server with one pending request (the router's three sections, the MD5 of the request); and the
# first-enrollment timer named RENEW everywhere.
source "$(dirname "$0")/../lib/common.sh"
enter_private_network "$@"

start=$(date -u -d '-10 minutes' +%Y-%m-%dT%H:%M:%SZ)
start_ca ca "clock simulate start $start rate 0
crypto pki server ROOTCA
  lifetime certificate 365
  lifetime ca-certificate 100"
start_daemon cl "clock simulate start $start rate 0
crypto pki trustpoint TP
  enrollment url http://127.0.0.1:$port
  subject-name CN=r1.example.test,O=Example
  fqdn r1.example.test
  auto-enroll 80
  output certificate $WORK/tp.pem"
advance() { cli ca clock advance-to "$1" >/dev/null; cli cl clock advance-to "$1" >/dev/null; }
at() { date -u -d "$start $1" +%Y-%m-%dT%H:%M:%SZ; }
# The router's fingerprint form: upper-case hex in groups of 8 ("D81BCCC7 619C1B33 ...").
fingerprint() { openssl x509 -in "$2" -noout -fingerprint "-$1" | cut -d= -f2 | tr -d : | fold -w8 | paste -sd' '; }
status() { cli cl show crypto pki trustpoints status; }
# The first lines of the status, up to and with the State block (and what follows it, given n).
head_of_status() { status | head -n "$1"; }
# A certificate sub-block as the router prints it.
block() {
  printf '  %s:\n    Subject Name:\n     %s\n    Fingerprint MD5: %s\n    Fingerprint SHA1: %s\n' \
    "$1" "$2" "$(fingerprint md5 "$3")" "$(fingerprint sha1 "$3")"
}
state() {
  printf '  State:\n    Keys generated ............. %s\n    Issuing CA authenticated ....... %s\n    Certificate request(s) ..... %s\n' "$@"
}
ca_pem="$WORK/ca/ROOTCA/ROOTCA.pem"
me="cn=r1.example.test,o=Example,hostname=r1.example.test"

# ---- before authentication: no certificate sub-block; the timer that will enroll is RENEW
assert_eq "$(head_of_status 5)" "Trustpoint TP:
$(state No No None)" "status before authentication"
assert_contains "$(status)" "Renewal armed .............. RENEW (first enrollment) at "
assert_contains "$(cli cl show crypto pki timers)" "RENEW TP"
cli cl show crypto pki trustpoints status --json | python3 -c '
import json, sys
t = json.load(sys.stdin)["trustpoints"][0]
assert t["renewal"] == "RENEW" and t["first_enrollment"] is True, t
assert t["keys_generated"] is False and t["certificate_requests"] == "None", t
assert t["ca_certificate"] is None and t["certificate"] is None and t["rollover_certificate"] is None, t
' || fail "status --json before authentication"
pass "before authentication: the State block alone; RENEW (first enrollment) in status, timers and JSON"

# ---- the CA certificate fetched, awaiting the operator's confirmation
cli cl authenticate TP </dev/null >/dev/null 2>&1 || true
assert_eq "$(head_of_status 10)" "Trustpoint TP:
$(block "Issuing CA certificate pending" cn=ROOTCA "$ca_pem")
$(state No No None)" "status awaiting confirmation"
pass "authenticate without confirmation: Issuing CA certificate pending, not authenticated"

# ---- authenticated, the first request pending at a manual-grant server
cli cl authenticate TP --yes >/dev/null
# The first request goes as soon as the CA is authenticated; its POLL comes a minute later.
wait_for 30 eval 'cli ca server ROOTCA info requests | grep -qE "^1 +pending"'
rule="--------------------------------------------------------------"
header="ReqID  State      Fingerprint                      SubjectName
$rule"
reqs=$(cli ca server ROOTCA info requests)
md5=$(cli ca server ROOTCA info requests --json | python3 -c '
import json, re, sys
r = json.load(sys.stdin)["requests"]
assert len(r) == 1 and r[0]["message_type"] == "PKCSReq" and r[0]["type"] == "initial", r
assert re.fullmatch(r"[0-9a-f]{32}", r[0]["fingerprint_md5"]), r
print(r[0]["fingerprint_md5"].upper())') || fail "info requests --json"
assert_eq "$(head -n 14 <<<"$reqs")" "Enrollment Request Database:

Subordinate CA certificate requests:
$header

RA certificate requests:
$header

Router certificates requests:
$header
$(printf '%-6s %-10s %s %s' 1 pending "$md5" "$me")" "info requests"
assert_contains "$reqs" "       Type: PKCSReq (initial)"
wait_for 10 eval 'status | grep -qF "Certificate request(s) ..... Pending"'
assert_eq "$(head_of_status 10)" "Trustpoint TP:
$(block "Issuing CA certificate configured" cn=ROOTCA "$ca_pem")
$(state "Yes (General Purpose, non-exportable)" Yes Pending)" "status with the first request pending"
pass "info requests: the router's three sections and columns, the request's MD5, Type below; status Pending"

# ---- enrolled
cli ca server ROOTCA grant all >/dev/null
advance "$(at '+2 minutes')"
wait_for 30 test -s "$WORK/tp.pem"
wait_for 10 eval 'status | grep -qF "Certificate request(s) ..... Yes"'
assert_eq "$(head_of_status 15)" "Trustpoint TP:
$(block "Issuing CA certificate configured" cn=ROOTCA "$ca_pem")
$(block "Router General Purpose certificate configured" "$me" "$WORK/tp.pem")
$(state "Yes (General Purpose, non-exportable)" Yes Yes)" "status once enrolled"
assert_contains "$(status)" "Renewal armed .............. SHADOW at "
pass "enrolled: Issuing CA and Router General Purpose sub-blocks with the certificates' MD5 and SHA-1"

# ---- SHADOW: the Rollover sub-blocks
cli ca server ROOTCA rollover >/dev/null
advance "$(at '+81 days')"
wait_for 30 eval 'cli ca server ROOTCA info requests | grep -qE "^2 +pending"'
assert_contains "$(cli ca server ROOTCA info requests)" "       Type: RenewalReq (renewal)"
cli ca server ROOTCA grant all >/dev/null
advance "$(at '+81 days 1 hour')"
wait_for 30 eval 'status | grep -qF "Rollover Router General Purpose certificate configured:"'
curl -sf "http://127.0.0.1:$port/cgi-bin/pkiclient.exe?operation=GetNextCACert" >"$WORK/next.p7"
openssl pkcs7 -inform DER -in "$WORK/next.p7" -print_certs >"$WORK/next.pem" || fail "GetNextCACert"
rollover=$(status | sed -n '16,25p')
assert_eq "$(head -n 5 <<<"$rollover")" "$(block "Rollover Issuing CA certificate configured" cn=ROOTCA "$WORK/next.pem")" \
  "the Rollover Issuing CA sub-block"
assert_eq "$(sed -n 6,8p <<<"$rollover")" "  Rollover Router General Purpose certificate configured:
    Subject Name:
     $me" "the Rollover Router General Purpose sub-block"
# The switch installs the rollover identity certificate: the fingerprints shown were its own.
advance "$(at '+100 days 1 minute')"
wait_until 30 eval '[ "$(sed -n 4,5p <<<"$(block x x "$WORK/tp.pem")")" = "$(sed -n 9,10p <<<"$rollover")" ]' ||
  fail "the Rollover Router General Purpose fingerprints are not those of the certificate installed at the switch"
pass "SHADOW: Rollover Issuing CA (the next CA certificate) and Rollover Router General Purpose sub-blocks"
