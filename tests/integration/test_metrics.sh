#!/usr/bin/env bash
# The Prometheus endpoint (`ip http metrics ADDRESS PORT`) of a daemon holding a CA and two
# trustpoints (one enrolled against it, one whose CA cannot be reached): the page passes
# `promtool check metrics`, its values are the certificates' and the queue's own, the failing
# trustpoint counts its failures, the SCEP port does not serve the page, and the alert rules
# of docs/OPERATIONS.md pass `promtool check rules` and fire as documented (`promtool test rules`).
source "$(dirname "$0")/../lib/common.sh"
enter_private_network "$@"
command -v promtool >/dev/null || fail "promtool not installed (scripts/deps.sh installs the prometheus package)"

mport=$(free_port)
start_ca pki "ip http metrics 127.0.0.1 $mport
clock simulate start 2026-01-01T00:00:00Z rate 0
crypto pki server ROOTCA
  lifetime certificate 365
  auto-rollover 90"
cat >>"$WORK/pki.conf" <<EOF
crypto pki trustpoint TP
  enrollment url http://127.0.0.1:$port
  fingerprint $(tr -d : <<<"$fp")
  subject-name CN=tp.example
  auto-enroll 80
  enrollment retry period 1
  output certificate $WORK/tp.pem
crypto pki trustpoint BAD
  enrollment url http://127.0.0.1:$(free_port)
  fingerprint $(tr -d : <<<"$fp")
  subject-name CN=bad.example
  auto-enroll 80
  enrollment retry period 1
EOF
restart_daemon pki
assert_contains "$(cat "$WORK/pki.log")" "metrics at http://127.0.0.1:$mport/metrics"

scrape() { curl -sf "http://127.0.0.1:$mport/metrics"; }
# value NAME LABELS: the sample's value ("" when absent); LABELS as printed, e.g. server="ROOTCA".
value() { scrape | awk -v s="$1{$2}" 'index($0, s " ") == 1 {print $2}'; }
epoch() { date -u -d "$1" +%s; }

wait_for 30 eval '[ "$(value evercert_ca_pending_requests server=\"ROOTCA\")" = 1 ]'
scrape >"$WORK/page.txt"
promtool check metrics <"$WORK/page.txt" || fail "promtool check metrics"
assert_eq "$(value evercert_ca_enrollments_total 'server="ROOTCA",outcome="pending"')" 1 "enrollments answered PENDING"
pass "the page passes promtool; the queue holds the trustpoint's request, answered PENDING"

cli pki server ROOTCA grant all >/dev/null
cli pki clock advance 1m >/dev/null
wait_for 30 test -s "$WORK/tp.pem"
wait_for 30 eval '[ -n "$(value evercert_trustpoint_certificate_not_after_timestamp_seconds trustpoint=\"TP\")" ]'
tp_end=$(epoch "$(openssl x509 -in "$WORK/tp.pem" -noout -enddate | cut -d= -f2)")
assert_eq "$(value evercert_trustpoint_certificate_not_after_timestamp_seconds 'trustpoint="TP"')" "$tp_end.000" \
  "TP's certificate notAfter"
ca_end=$(epoch "$(openssl x509 -in "$WORK/pki/ROOTCA/ROOTCA.pem" -noout -enddate | cut -d= -f2)")
ca_labels='server="ROOTCA",generation="0",role="active",serial_hex="1"'
assert_eq "$(value evercert_ca_certificate_not_after_timestamp_seconds "$ca_labels")" "$ca_end.000" "CA notAfter"
assert_eq "$(value evercert_ca_next_event_timestamp_seconds 'server="ROOTCA",event="shadow_generation"')" \
  "$((ca_end - 90 * 86400)).000" "the shadow generation, 90 days before the CA's end"
assert_eq "$(value evercert_ca_pending_requests 'server="ROOTCA"')" 0 "pending requests after the grant"
assert_eq "$(value evercert_ca_enrollments_total 'server="ROOTCA",outcome="success"')" 1 "enrollments answered SUCCESS"
assert_eq "$(value evercert_ca_rollover_available 'server="ROOTCA"')" 0 "rollover available"
assert_eq "$(value evercert_trustpoint_consecutive_failures 'trustpoint="TP"')" 0 "TP's failures"
assert_eq "$(value evercert_trustpoint_last_success_timestamp_seconds 'trustpoint="TP"')" \
  "$(epoch 2026-01-01T00:01:00Z).000" "TP's last success (the clock's time at the poll)"
renew=$(value evercert_trustpoint_next_renewal_timestamp_seconds 'trustpoint="TP",kind="RENEW"')
[ -n "$renew" ] && [ "${renew%.*}" -lt "$tp_end" ] || fail "TP's RENEW ($renew) before its certificate's end"
pkiops=$(value evercert_scep_request_duration_seconds_count 'operation="PKIOperation"')
[ "$pkiops" -ge 2 ] || fail "PKIOperations counted: $pkiops"
assert_eq "$(value evercert_scep_request_duration_seconds_bucket 'operation="PKIOperation",le="+Inf"')" "$pkiops" \
  "the +Inf bucket holds every PKIOperation"
commits=$(value evercert_store_commits_total 'server="ROOTCA"')
syncs=$(value evercert_store_fdatasyncs_total 'server="ROOTCA"')
[ "$commits" -ge 1 ] && [ "$syncs" -ge 1 ] || fail "the store's commits ($commits) and syncs ($syncs)"
pass "values read back: TP's and the CA's notAfter, next CA event, queue, outcomes, latency, renewal, store"

# BAD's CA does not answer: each attempt (every minute, doubling) adds a failure.
before=$(value evercert_trustpoint_consecutive_failures 'trustpoint="BAD"')
[ "$before" -ge 1 ] || fail "BAD's failures: $before"
cli pki clock advance 10m >/dev/null
wait_for 30 eval '[ "$(value evercert_trustpoint_consecutive_failures trustpoint=\"BAD\")" -gt "$before" ]'
assert_eq "$(value evercert_trustpoint_enrolled 'trustpoint="BAD"')" 0 "BAD enrolled"
assert_eq "$(value evercert_trustpoint_last_success_timestamp_seconds 'trustpoint="BAD"')" "" "BAD's last success"
pass "a trustpoint whose CA is unreachable counts its failures in a row"

# The SCEP port, which faces the clients, does not serve the page; the metrics port serves only it.
code=$(curl -s -o "$WORK/scep.txt" -w '%{http_code}' "http://127.0.0.1:$port/metrics")
if grep -q evercert_build_info "$WORK/scep.txt"; then fail "the SCEP port serves the metrics"; fi
assert_eq "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$mport/")" 404 "/ on the metrics port"
pass "metrics only on their own listener (the SCEP port answered $code)"

# The alert rules of docs/OPERATIONS.md: valid, and they fire as the text says.
awk '/^## Monitoring/ {m = 1} m && /^```yaml/ && rules == 0 {rules = 1; next} rules == 1 && /^```/ {rules = 2}
     rules == 1' \
  "$SRC/docs/OPERATIONS.md" >"$WORK/evercert.rules.yml"
grep -q "EvercertRenewalFailing" "$WORK/evercert.rules.yml" || fail "no rules found in docs/OPERATIONS.md"
promtool check rules "$WORK/evercert.rules.yml" || fail "promtool check rules"
cp "$SRC/tests/integration/metrics_rules_test.yml" "$WORK/"
(cd "$WORK" && promtool test rules metrics_rules_test.yml) || fail "promtool test rules"
pass "the documented alert rules pass promtool check rules and their unit tests"
