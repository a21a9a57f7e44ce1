# The world of the simulated-clock rollover tests (test_rollover_e2e, test_recovery): one CA
# ROOTCA on loopback, frozen at $start, with two-year generations whose successor is made 90 days
# ahead, one-year certificates granted at once; clients enrolled to it by fingerprint, their
# output files in $WORK/out/NAME. Source after common.sh; sets start, port and fp.
start=2015-10-09T13:14:16Z
start_ca ca "clock simulate start $start rate 0
crypto pki server ROOTCA
  issuer-name CN=RootCA,OU=TAC,O=Cisco
  grant auto
  lifetime certificate 365
  lifetime ca-certificate 730
  lifetime crl 720
  auto-rollover 90"

# client NAME PERCENT [regenerate]: a trustpoint ROOT with auto-enroll PERCENT.
client() {
  mkdir -p "$WORK/out/$1"
  start_daemon "$1" "hostname $1
clock simulate start $start rate 0
crypto pki trustpoint ROOT
  enrollment url http://127.0.0.1:$port
  fingerprint $fp
  subject-name CN=$1.example
  auto-enroll $2 ${3:-}
  output certificate $WORK/out/$1/cert.pem
  output key $WORK/out/$1/key.pem
  output chain $WORK/out/$1/ca.pem"
}

# wait_enrolled NAME...: until every client named has written its first certificate.
wait_enrolled() {
  local name
  for name in "$@"; do
    wait_until 30 test -s "$WORK/out/$name/cert.pem" || fail "$name has no certificate"
  done
}
