# Helpers of the interoperability tests that take real SCEP clients across a CA switch. Those
# clients read the real clock, so the CA's certificate is made to end a few seconds from now in
# real time: the CA is first started on a frozen simulated clock set so that its 1-minute CA
# certificate ends SECONDS from now, then restarted on the system clock, where `auto-rollover`
# makes its successor at once (its end is less than the period away). Source after common.sh.

# start_ca_ending_soon SECONDS [SERVER LINES]: CA ROOTCA (grant auto trustpoint ROOTCA, the default
# renewal grace), its certificate in $WORK/ca0.pem, its port in $port.
start_ca_ending_soon() {
  local left=$1 extra=${2:-}
  local start
  start=$(date -u -d "@$(($(date +%s) + left - 60))" +%Y-%m-%dT%H:%M:%SZ)
  port=$(free_port)
  local common="ip http server $port
ip http bind 127.0.0.1"
  local server="crypto pki server ROOTCA
  issuer-name CN=Rollover Root,O=Evercert
  grant auto trustpoint ROOTCA
  database level complete"
  start_daemon ca "$common
clock simulate start $start rate 0
$server
  lifetime ca-certificate 0 0 1"
  stop_daemon ca
  start_daemon ca "$common
clock calendar-valid
$server
  lifetime ca-certificate 30
  lifetime certificate 7
  auto-rollover 0 0 1${extra:+
$extra}"
  cp "$WORK/ca/ROOTCA/ROOTCA.pem" "$WORK/ca0.pem"
  grep -q "key 'ROOTCA#' does not exist; generated automatically" "$WORK/ca.log" ||
    { cat "$WORK/ca.log" >&2; fail "the CA made no successor at its start"; }
}

cert_end() { openssl x509 -in "$1" -noout -enddate | cut -d= -f2; }
cert_serial() { openssl x509 -in "$1" -noout -serial | cut -d= -f2; }

# wait_ca_switch: until the CA has switched to its successor (bounded by the CA's end + 30 s).
wait_ca_switch() {
  local end
  end=$(date -d "$(cert_end "$WORK/ca0.pem")" +%s)
  while ! grep -q "rollover CA certificate .* is now active" "$WORK/ca.log"; do
    [ "$(date +%s)" -lt $((end + 30)) ] || { tail -5 "$WORK/ca.log" >&2; fail "the CA did not switch at its end"; }
    sleep 0.5
  done
}
