# Helpers of the interoperability tests that take real SCEP clients across a CA switch. Those
# clients read the real clock, so the CA's certificate is made to end a few seconds from now in
# real time: the CA is first started on a frozen simulated clock set an hour before that end, with
# a CA certificate lifetime of one hour, then restarted on the system clock, where `auto-rollover`
# makes its successor at once (its end is less than the period away). Source after common.sh.

CA_SERVER_LINES="crypto pki server ROOTCA
  issuer-name CN=Rollover Root,O=Evercert
  grant auto trustpoint ROOTCA
  database level complete"

# A sanitizer build runs the CA several times slower: the steps before the CA's end get more time.
REALTIME_SLACK=0
if ldd "$EVERCERTD" 2>/dev/null | grep -q 'libasan\|libtsan'; then REALTIME_SLACK=40; fi

# start_ca_frozen SECONDS: CA ROOTCA on a clock frozen an hour before its CA certificate's end,
# which comes SECONDS from now in real time; its certificate in $WORK/ca0.pem, its port in $port.
# What it issues now starts an hour ago.
start_ca_frozen() {
  local start
  start=$(date -u -d "@$(($(date +%s) + $1 + REALTIME_SLACK - 3600))" +%Y-%m-%dT%H:%M:%SZ)
  port=$(free_port)
  start_daemon ca "ip http server $port
ip http bind 127.0.0.1
clock simulate start $start rate 0
$CA_SERVER_LINES
  lifetime ca-certificate 0 1 0"
  cp "$WORK/ca/ROOTCA/ROOTCA.pem" "$WORK/ca0.pem"
}

# restart_ca_on_system_clock [SERVER LINES]: the same CA (grant auto trustpoint ROOTCA, the default
# renewal grace) on the system clock; its successor is made at once.
restart_ca_on_system_clock() {
  stop_daemon ca
  start_daemon ca "ip http server $port
ip http bind 127.0.0.1
clock calendar-valid
$CA_SERVER_LINES
  lifetime ca-certificate 30
  lifetime certificate 7
  auto-rollover 0 0 2${1:+
$1}"
  # The server's first timer run makes the successor, its key beside the daemon's loop.
  wait_until 60 grep -qF "CA ROOTCA: shadow CA successfully created" "$WORK/ca.log" ||
    { cat "$WORK/ca.log" >&2; fail "the CA made no successor at its start"; }
}

# start_ca_ending_soon SECONDS [SERVER LINES]: both steps at once (SECONDS below 80; a sanitizer
# build adds REALTIME_SLACK: together below the 2 minutes of auto-rollover, so that the successor
# is made at the restart).
start_ca_ending_soon() {
  start_ca_frozen "$1"
  restart_ca_on_system_clock "${2:-}"
}

cert_end() { openssl x509 -in "$1" -noout -enddate | cut -d= -f2; }
cert_serial() { openssl x509 -in "$1" -noout -serial | cut -d= -f2; }

# before_ca_end WHAT: fails when the CA's certificate has already ended (the machine was too slow
# for the steps that must come before it).
before_ca_end() {
  [ "$(date +%s)" -lt "$(date -d "$(cert_end "$WORK/ca0.pem")" +%s)" ] ||
    fail "$1 came after the CA certificate's end: too slow for this test"
}

# wait_ca_switch: until the CA has switched to its successor (bounded by the CA's end + 30 s).
wait_ca_switch() {
  local end
  end=$(date -d "$(cert_end "$WORK/ca0.pem")" +%s)
  while ! grep -q "rollover CA certificate .* is now active" "$WORK/ca.log"; do
    [ "$(date +%s)" -lt $((end + 30)) ] || { tail -5 "$WORK/ca.log" >&2; fail "the CA did not switch at its end"; }
    sleep 0.5
  done
}
