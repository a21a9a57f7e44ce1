#!/usr/bin/env bash
# Every read command with --json against a daemon holding a CA and two trustpoints (one
# enrolled, one whose CA cannot be reached): each prints exactly one JSON document, keys in
# snake_case, times in ISO 8601 UTC, serials as hex in `serial_hex`, fingerprints in lower-case
# hex (docs/JSON.md). `evercert --help` lists no show command that is left out here.
source "$(dirname "$0")/../lib/common.sh"
enter_private_network "$@"

# A manual CA first (the trustpoints' fingerprint comes from it), then the same daemon with
# the trustpoints: TP enrolls against its own daemon's CA, BAD against a port nobody serves.
start_ca pki "clock simulate start 2026-01-01T00:00:00Z rate 0
crypto pki server ROOTCA
  lifetime certificate 365
  auto-rollover 90"
hex_fp=$(tr -d : <<<"$fp")
cat >>"$WORK/pki.conf" <<EOF
crypto pki trustpoint TP
  enrollment url http://127.0.0.1:$port
  fingerprint $hex_fp
  subject-name CN=tp.example
  subject-alt-name tp.example
  auto-enroll 80
  enrollment retry period 1
crypto pki trustpoint BAD
  enrollment url http://127.0.0.1:$(free_port)
  fingerprint $hex_fp
  subject-name CN=bad.example
  auto-enroll 80
  enrollment retry period 1
EOF
restart_daemon pki
wait_for 30 eval '[ "$(cli pki server ROOTCA info requests | grep -c "cn=tp.example")" -ge 1 ]'

# check_json WHAT PYTHON_ASSERTIONS: parses standard input as one JSON document (json.load
# refuses a second one after it), checks the naming scheme everywhere in it, then runs the
# assertions with the document as `d`.
check_json() {
  python3 -c '
import json, re, sys
what, extra = sys.argv[1], sys.argv[2]
text = sys.stdin.read()
try:
    d = json.loads(text)
except ValueError as e:
    sys.exit("%s: not one JSON document (%s): %r" % (what, e, text[:300]))
iso = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?Z$")
def walk(v, path):
    if isinstance(v, dict):
        for k, x in v.items():
            assert re.match(r"^[a-z][a-z0-9_]*$", k), "%s: key %r is not snake_case" % (path, k)
            if k.endswith("serial_hex"):
                assert re.match(r"^[0-9A-F]+$", x), "%s.%s: %r" % (path, k, x)
            if "fingerprint" in k and x:
                hexlen = 32 if k.endswith("_md5") else 40 if k.endswith("_sha1") else 64
                assert re.match(r"^[0-9a-f]{%d}$" % hexlen, x), "%s.%s: %r" % (path, k, x)
            if k in ("not_before", "not_after", "now", "fire_at", "created", "expires", "renewal_at",
                     "last_success", "certificate_not_after", "next_timer", "crl_next_update") and x:
                assert iso.match(x), "%s.%s: %r is not ISO 8601 UTC" % (path, k, x)
            assert k != "serial", "%s: a serial outside serial_hex" % path
            walk(x, path + "." + k)
    elif isinstance(v, list):
        for i, x in enumerate(v):
            walk(x, "%s[%d]" % (path, i))
walk(d, what)
exec(extra)
' "$1" "$2" || fail "$1 --json"
}

cli pki --json server ROOTCA info requests | check_json "info requests" '
r = d["requests"]
assert d["server"] == "ROOTCA" and len(r) == 1 and r[0]["state"] == "pending", d
assert r[0]["subject"] == "CN=tp.example" and re.match(r"^[0-9a-f]{64}$", r[0]["key_fingerprint_sha256"]), r
assert re.match(r"^[0-9a-f]{32}$", r[0]["fingerprint_md5"]) and r[0]["message_type"] == "PKCSReq", r'
pass "info requests --json: the pending request"

cli pki server ROOTCA grant all >/dev/null
cli pki clock advance 1m >/dev/null
wait_for 30 eval 'cli pki show crypto pki trustpoints | grep -q "Certificate request(s) ..... Yes"'

ca_serial=$(openssl x509 -in "$WORK/pki/ROOTCA/ROOTCA.pem" -noout -serial | cut -d= -f2 | sed 's/^0*//')
ca_fp=$(tr -d : <<<"$fp" | tr A-F a-f)
cli pki --json show crypto pki server | check_json "show crypto pki server" '
s = d["servers"][0]
assert len(d["servers"]) == 1 and s["name"] == "ROOTCA" and s["granting_mode"] == "manual", s
assert s["active"]["serial_hex"] == "'"$ca_serial"'" and s["active"]["fingerprint_sha256"] == "'"$ca_fp"'", s
assert s["rollover"] is None and s["database_level"] == "minimum", s'
cli pki --json show crypto pki certificates | check_json "show crypto pki certificates" '
c = d["certificates"]
assert sorted(x["type"] for x in c) == ["ca_certificate", "certificate"], c
ca = [x for x in c if x["type"] == "ca_certificate"][0]
assert ca["associated_trustpoints"] == ["ROOTCA", "TP", "BAD"] or ca["associated_trustpoints"] == ["ROOTCA", "TP"], ca
assert ca["fingerprint_sha256"] == "'"$ca_fp"'", ca'
cli pki --json show crypto pki timers | check_json "show crypto pki timers" '
assert "CS CERT EXPIRE" in [t["name"] for t in d["cs_timers"]], d
assert "RENEW TP" in [t["name"] for t in d["pki_timers"]], d'
cli pki --json show crypto pki trustpoints | check_json "show crypto pki trustpoints" '
t = {x["trustpoint"]: x for x in d["trustpoints"]}
assert t["TP"]["enrolled"] and t["TP"]["consecutive_failures"] == 0 and t["TP"]["renewal"] == "RENEW", t
assert not t["BAD"]["enrolled"] and t["BAD"]["consecutive_failures"] >= 1, t["BAD"]
assert t["BAD"]["certificate_not_after"] is None and t["BAD"]["last_success"] is None, t["BAD"]'
cli pki --json show crypto key mypubkey rsa | check_json "show crypto key mypubkey rsa" '
k = d["keys"]
ca = [x for x in k if "server" in x]
assert len(ca) == 1 and ca[0]["server"] == "ROOTCA" and ca[0]["bits"] == 2048 and ca[0]["role"] == "active", k
assert ca[0]["generated_at_source"] == "recorded" and ca[0]["storage_device"].endswith("/ROOTCA.0.key"), k
tp = [x for x in k if x.get("trustpoint") == "TP"]
assert len(tp) == 1 and tp[0]["key_name"] == "TP" and tp[0]["role"] == "active", k'
cli pki --json show clock | check_json "show clock" '
assert d["simulated"] and d["now"] == "2026-01-01T00:01:00.000Z", d'
cli pki --json show ip http server status | check_json "show ip http server status" '
assert d["enabled"] and d["port"] == '"$port"', d'
cli pki --json ping | check_json "ping" 'assert d["running"] is True, d'
# The flag after the words works as well as before them.
cli pki show crypto pki trustpoints --json | check_json "show crypto pki trustpoints (flag last)" 'assert d["trustpoints"]'
pass "show server, certificates, timers, trustpoints, mypubkey, clock, ip http server, ping: one document each"

# The certificate listing's notAfter is the certificate's own.
cli pki --json show crypto pki certificates >"$WORK/certs.json"
cert_end=$(openssl x509 -in "$WORK/pki/ROOTCA/ROOTCA.pem" -noout -enddate | cut -d= -f2)
want=$(date -u -d "$cert_end" +%Y-%m-%dT%H:%M:%S.000Z)
check_json "CA notAfter" 'assert [x for x in d["certificates"] if x["type"] == "ca_certificate"][0]["not_after"] == "'"$want"'"' \
  <"$WORK/certs.json"
pass "a CA certificate's not_after in JSON is the certificate's notAfter"

# evercert check: one document, whether --json comes before the command or after it.
"$EVERCERT" --json check --config "$WORK/pki.conf" | check_json "check" '
assert d["safe"] is True and d["combinations"] == 2 and len(d["checks"]) == 2, d
assert {c["client"] for c in d["checks"]} == {"TP", "BAD"}, d'
set +e
"$EVERCERT" check --config "$WORK/pki.conf" --client-policy 50 --json >"$WORK/check.json"
rc=$?
set -e
assert_eq "$rc" 1 "exit status of check --json when unsafe"
check_json "check (unsafe)" 'assert d["safe"] is False and d["unsafe"] == 1, d' <"$WORK/check.json"
pass "check --json: one document, exit status as without it"

# No show command of the help is left out above. `show timeline` draws the others' facts as a
# picture (text or HTML); its data is in the documents of show crypto pki server and certificates.
listed=$("$EVERCERT" --help | grep -E '^  show ' | sed -E 's/^  //; s/ *\[.*//; s/  .*//' | grep -v '^show timeline' |
  sort -u)
tested="show clock
show crypto key mypubkey rsa
show crypto pki certificates
show crypto pki server
show crypto pki timers
show crypto pki trustpoints
show ip http server status"
assert_eq "$listed" "$tested" "show commands of evercert --help"
pass "every show command of evercert --help is tested"
