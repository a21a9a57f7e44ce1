#!/usr/bin/env bash
# show crypto pki server, show crypto pki certificates and show crypto key mypubkey rsa as the
# router prints them: the seed guide's CA (ROOTCA, CN=RootCA,OU=TAC,O=Cisco, clock timezone CET)
# through its shadow generation, compared line for line with the guide's outputs where the router
# has the line; a shut-down server with the default issuer name; the MD5 fingerprint of the
# rollover CA certificate; the State note of an unauthoritative clock; and a client-only daemon
# listing its trustpoint's key pair (and its successor TP# during a regenerated SHADOW renewal)
# and certificates in the same layout.
source "$(dirname "$0")/../lib/common.sh"
enter_private_network "$@"

# expect_block WHAT OUTPUT EXPECTED: the lines of EXPECTED are consecutive lines of OUTPUT, both
# with indentation and runs of spaces ignored (copies of the guide lose them); a line of EXPECTED
# may hold shell wildcards (*) where the value is evercert's own (paths, fingerprints, serials).
expect_block() {
  python3 - "$2" "$3" <<'EOF' || fail "$1: not the router's lines"
import fnmatch, re, sys
norm = lambda text: [re.sub(r"\s+", " ", l).strip() for l in text.splitlines() if l.strip()]
got, want = norm(sys.argv[1]), norm(sys.argv[2])
for i in range(len(got) - len(want) + 1):
    if all(fnmatch.fnmatchcase(g, w) for g, w in zip(got[i:i + len(want)], want)):
        sys.exit(0)
print("\n".join(sys.argv[1].splitlines()), file=sys.stderr)
print("--- expected, consecutively:\n" + "\n".join(want), file=sys.stderr)
sys.exit(1)
EOF
}

# The guide's CA names, under Issuer and Subject (the guide prints Name: under the rollover
# certificate's Subject only; evercert has one form for every entry).
rootca_names="  Issuer:
    cn=RootCA
    ou=TAC
    o=Cisco
  Subject:
    Name: RootCA
    cn=RootCA
    ou=TAC
    o=Cisco"
# active_entry TRUSTPOINTS STORAGE: the guide's entry of the first CA certificate.
active_entry() {
  printf '%s\n' "CA Certificate" "  Status: Available" "  Certificate Serial Number (hex): 01" \
    "  Certificate Usage: Signature" "$rootca_names" "  Validity Date:" "    start date: 13:14:16 CET Oct 9 2015" \
    "    end   date: 13:14:16 CET Oct 8 2017" "  Associated Trustpoints: $1" "  Storage: $2"
}

# The MD5 fingerprint of a PEM certificate as the router prints it: 4 groups of 8 hex digits.
md5_router() { openssl x509 -in "$1" -noout -fingerprint -md5 | cut -d= -f2 | tr -d : | sed -E 's/(.{8})/\1 /g; s/ $//'; }

# The guide's server block; a CRL lifetime of a week (the router's default) keeps the 640 days
# before the shadow generation to 92 CRL updates.
start_ca ca "clock timezone CET 1
clock simulate start 2015-10-09T12:14:16Z rate 0
crypto pki server ROOTCA
  database level complete
  issuer-name CN=RootCA,OU=TAC,O=Cisco
  lifetime ca-certificate 730
  lifetime crl 168
  auto-rollover 90
crypto pki server SUB
  shutdown"
dir="$WORK/ca/ROOTCA" ca_port=$port ca_fp=$fp

# The shadow generation timer fires at 13:14:16 CET Jul 10 2017 (the guide's time).
cli ca clock advance-to 2017-07-10T12:14:18Z >/dev/null
wait_for 30 test -s "$dir/ROOTCA-rollover.pem"
server=$(cli ca show crypto pki server)
expect_block "show crypto pki server" "$server" "Certificate Server ROOTCA:
  Status: enabled
  State: enabled
  Server's configuration is locked (enter \"shut\" to unlock it)
  Issuer name: CN=RootCA,OU=TAC,O=Cisco
  CA cert fingerprint: *
  Granting mode is: manual
  Last certificate issued serial number (hex): *
  CA certificate expiration timer: 13:14:16 CET Oct 8 2017
  CRL NextUpdate timer: * CET Jul * 2017
  Current primary storage dir: unix:$dir/
  Database Level: Complete - all issued certs written as <serialnum>.cer
  Rollover status: available for rollover
  Rollover CA certificate fingerprint: *
  Rollover CA certificate expiration time: 13:14:16 CET Oct 8 2019
  Auto-Rollover configured, overlap period 90 days"
pass "show crypto pki server: the guide's lines after the shadow generation"

md5=$(cli ca show crypto pki server --md5)
expect_block "show crypto pki server --md5" "$md5" "CA cert fingerprint: *
  CA cert fingerprint (MD5): $(md5_router "$dir/ROOTCA.pem")"
expect_block "show crypto pki server --md5 (rollover)" "$md5" "Rollover CA certificate fingerprint: *
  Rollover CA certificate fingerprint (MD5): $(md5_router "$dir/ROOTCA-rollover.pem")
  Rollover CA certificate expiration time: 13:14:16 CET Oct 8 2019"
pass "--md5: the MD5 fingerprints of the active and of the rollover CA certificate"

expect_block "show crypto pki server (shut down, default issuer)" "$server" "Certificate Server SUB:
  Status: disabled
  State: disabled
  Server's configuration is unlocked (enter \"no shut\" to lock it)
  Issuer name: CN=SUB"
pass "a shut-down server is unlocked (\"no shut\" locks it); the default issuer name CN=NAME is shown"

certs=$(cli ca show crypto pki certificates)
expect_block "show crypto pki certificates" "$certs" "CA Certificate (Rollover)
  Status: Available
  Certificate Serial Number (hex): *
  Certificate Usage: Signature
$rootca_names
  Validity Date:
    start date: 13:14:16 CET Oct 8 2017
    end   date: 13:14:16 CET Oct 8 2019
  Associated Trustpoints: ROOTCA
  Storage: $dir/ROOTCA-rollover.pem
$(active_entry ROOTCA "$dir/ROOTCA.pem")"
pass "show crypto pki certificates: the guide's entries, with Name: and Storage:"

keys=$(cli ca show crypto key mypubkey rsa)
expect_block "show crypto key mypubkey rsa (ROOTCA)" "$keys" "% Key pair was generated at: 13:14:16 CET Oct 9 2015
Key name: ROOTCA
Key type: RSA KEYS
  Key size: 2048 bits
  Storage Device: $dir/ROOTCA.0.key
  Usage: General Purpose Key
  Key is not exportable.
  Key Data:"
expect_block "show crypto key mypubkey rsa (ROOTCA#)" "$keys" "% Key pair was generated at: 13:14:1? CET Jul 10 2017
Key name: ROOTCA#
Key type: RSA KEYS
  Key size: 2048 bits
  Storage Device: $dir/ROOTCA.1.key
  Usage: General Purpose Key
  Key is not exportable.
  Key Data:"
# The key data is the public key's DER (SubjectPublicKeyInfo), 8 words a line.
want=$(openssl x509 -in "$dir/ROOTCA.pem" -noout -pubkey | openssl pkey -pubin -outform DER | xxd -p -u | tr -d '\n')
got=$(awk '/^Key name: ROOTCA$/{k=1} k && /Key Data:/{d=1; next} d && !/^  /{exit} d' <<<"$keys" | tr -d ' \n')
assert_eq "$got" "$want" "ROOTCA's key data"
pass "show crypto key mypubkey rsa: generated at the CA's creation and at the shadow generation (simulated time), RSA KEYS, the key files"

cli ca --json show crypto key mypubkey rsa | python3 -c '
import json, sys
k = {x["key_name"]: x for x in json.load(sys.stdin)["keys"]}
assert k["ROOTCA"]["generated_at"] == "2015-10-09T12:14:16.000Z" and k["ROOTCA"]["generated_at_source"] == "recorded", k
assert k["ROOTCA#"]["role"] == "rollover" and k["ROOTCA"]["exportable"] is False, k
assert k["ROOTCA"]["storage_device"].endswith("/ROOTCA/ROOTCA.0.key"), k
' || fail "show crypto key mypubkey rsa --json"
pass "--json: generated_at, its source and the storage device"

# The system clock without `clock calendar-valid`: the State line carries the note when the
# kernel does not call the clock synchronised (as in most containers), and none when it does.
start_ca sys "crypto pki server NTP
  grant auto"
if [ "$(cli sys --json show clock | python3 -c 'import json,sys; print(json.load(sys.stdin)["authoritative"])')" = False ]; then
  assert_contains "$(cli sys show crypto pki server)" "    Status: enabled
    State: enabled - clock not authoritative
"
  pass "an unauthoritative clock: State: enabled - clock not authoritative"
else
  assert_contains "$(cli sys show crypto pki server)" "    State: enabled
"
  pass "a synchronised system clock: State: enabled (the note is covered by the unit test)"
fi
stop_daemon sys

# A client-only daemon: its trustpoint's key pair and certificates.
start_daemon cl "clock timezone CET 1
clock simulate start 2017-07-10T12:30:00Z rate 0
crypto pki trustpoint TP
  enrollment url http://127.0.0.1:$ca_port
  fingerprint $ca_fp
  subject-name CN=spoke.example.test,O=Example
  auto-enroll 80 regenerate
  output certificate $WORK/tp.pem"
# The key pair is listed once its file is written beside the loop, with the (simulated) time it
# was made, not its certificate's start.
wait_for 30 eval 'cli cl show crypto key mypubkey rsa | grep -q "^% Key pair was generated at: "'
expect_block "show crypto key mypubkey rsa (trustpoint)" "$(cli cl show crypto key mypubkey rsa)" "% Key pair was generated at: 13:30:00 CET Jul 10 2017
Key name: TP
Key type: RSA KEYS
  Key size: 2048 bits
  Storage Device: $WORK/cl/trustpoints/keys/TP.?.key
  Usage: General Purpose Key
  Key is not exportable.
  Key Data:"
pass "a client-only daemon lists its trustpoint's key pair"

# Granted on the CA, polled by the client: the identity certificate in the router's layout.
wait_for 60 eval 'cli ca server ROOTCA grant all >/dev/null 2>&1; cli cl clock advance 1m >/dev/null; test -s "$WORK/tp.pem"'
expect_block "show crypto pki certificates (trustpoint)" "$(cli cl show crypto pki certificates)" "Certificate
  Status: Available
  Certificate Serial Number (hex): *
  Certificate Usage: General Purpose
  Issuer:
    cn=RootCA
    ou=TAC
    o=Cisco
  Subject:
    Name: spoke.example.test
    cn=spoke.example.test
    o=Example
  Validity Date:
    start date: * CET Jul 10 2017
    end   date: 13:14:16 CET Oct 8 2017
  Associated Trustpoints: TP
  Storage: $WORK/tp.pem
$(active_entry TP "$WORK/cl/trustpoints/TP.state")"
cli cl --json show crypto pki certificates | python3 -c '
import json, sys
c = json.load(sys.stdin)["certificates"]
assert [x["storage"] for x in c] == ["'"$WORK/tp.pem"'", "'"$WORK/cl/trustpoints/TP.state"'"], c
' || fail "show crypto pki certificates --json (storage)"
pass "a trustpoint's certificates: the CA entries' form, Certificate Usage: General Purpose, Storage"

# The SHADOW renewal (80% of the certificate's life, which ends with the CA's) regenerates the
# key pair: while its request waits at the CA the successor is listed as TP#, in the other slot.
active_key=$(cd "$WORK"/cl/trustpoints/keys && ls -- *.key)
cli cl clock advance-to 2017-09-25T00:00:00Z >/dev/null
wait_for 30 eval 'cli cl show crypto key mypubkey rsa | grep -q "^Key name: TP#$"'
keys=$(cli cl show crypto key mypubkey rsa)
expect_block "show crypto key mypubkey rsa (TP)" "$keys" "Key name: TP
Key type: RSA KEYS
  Key size: 2048 bits
  Storage Device: $WORK/cl/trustpoints/keys/$active_key"
expect_block "show crypto key mypubkey rsa (TP#)" "$keys" "Key name: TP#
Key type: RSA KEYS
  Key size: 2048 bits
  Storage Device: $WORK/cl/trustpoints/keys/TP.?.key"
assert_contains "$keys" "Storage Device: $WORK/cl/trustpoints/keys/TP.$([ "$active_key" = TP.a.key ] && echo b || echo a).key"
pass "a regenerated SHADOW renewal: the trustpoint's key pair and its successor TP#"
