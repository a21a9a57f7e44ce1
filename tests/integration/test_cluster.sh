#!/usr/bin/env bash
# Three evercertd nodes, one CA on one PostgreSQL database, HAProxy in front: a trustpoint and the
# `scep` package's scepclient enroll, poll and renew through HAProxy. A first request waits for
# the operator, is granted on a node other than the one that received it and is collected by the
# client's poll through whichever node HAProxy picks; a renewal signed by the current certificate
# is granted at once (`grant auto trustpoint ROOTCA`). Every certificate is stored in the shared
# database.
source "$(dirname "$0")/../lib/common.sh"
enter_private_network "$@"
source "$(dirname "$0")/../lib/cluster.sh"
command -v scepclient >/dev/null || fail "scepclient missing (scripts/deps.sh installs the scep package)"

pg_start
PG_URL=$(pg_createdb cluster)
cluster_start 3 "clock calendar-valid
$(cluster_ca_config "$PG_URL" "  database level complete
  grant auto trustpoint ROOTCA")"
cafile="$WORK/node1/ROOTCA/ROOTCA.pem"
for n in node2 node3; do
  cmp -s "$cafile" "$WORK/$n/ROOTCA/ROOTCA.pem" || fail "$n publishes another CA certificate than node1"
done
assert_eq "$(pg_sql cluster "SELECT count(*) FROM ca_certs")" 1 "CA generations in the shared database"
haproxy_start "${NODE_PORTS[@]}"
pass "three nodes share one CA certificate and HAProxy has all three UP"

# ---- a trustpoint: enroll (PENDING), grant elsewhere, POLL collects, renew the same way
start=$(date -u -d '+1 minute' +%Y-%m-%dT%H:%M:%SZ)
mkdir -p "$WORK/out"
start_daemon cl "hostname spoke-1
clock simulate start $start rate 0
crypto pki trustpoint ROOT
  enrollment url http://127.0.0.1:$HAPROXY_PORT
  subject-name CN=spoke-1.example,OU=VPN
  auto-enroll 80
  enrollment retry period 1
  output certificate $WORK/out/spoke.pem
  output key $WORK/out/spoke.key"
cli cl authenticate ROOT --yes >/dev/null
read -r id recv granter <<<"$(grant_elsewhere cn=spoke-1.example)"
cli cl clock advance 1m >/dev/null
wait_until 30 test -s "$WORK/out/spoke.pem" || { cli cl show crypto pki timers >&2; fail "the trustpoint's poll did not collect request $id"; }
openssl verify -CAfile "$cafile" "$WORK/out/spoke.pem" >/dev/null || fail "the trustpoint's certificate does not verify"
stored_cert cluster "$WORK/out/spoke.pem" || fail "the trustpoint's certificate is not the one in the database"
pass "trustpoint: request $id received by $recv, granted on $granter, collected by the poll through HAProxy"

first=$(hex_serial "$WORK/out/spoke.pem")
cli cl enroll ROOT --yes >/dev/null
renewed() { [ "$(hex_serial "$WORK/out/spoke.pem")" != "$first" ]; }
wait_until 30 renewed || { cli cl show crypto pki timers >&2; fail "the trustpoint did not renew"; }
stored_cert cluster "$WORK/out/spoke.pem" || fail "the renewed certificate is not the one in the database"
pass "trustpoint renewal through HAProxy, granted at once ($first -> $(hex_serial "$WORK/out/spoke.pem"))"

# ---- scepclient: enroll (it polls while PENDING), then renew with its key and certificate
fp_hex=$(tr -d ':' <<<"$fp" | tr 'A-F' 'a-f')
scep_enroll() { # DIR CN
  (cd "$1" && timeout 150 scepclient -server-url "$HAPROXY_URL" -ca-fingerprint "$fp_hex" -private-key client.key \
     -certificate client.pem -cn "$2" -organization Cluster -keySize 2048 >>scepclient.log 2>&1)
}
mkdir -p "$WORK/s1"
scep_enroll "$WORK/s1" scep-1 &
client=$!
read -r id recv granter <<<"$(grant_elsewhere cn=scep-1)"
wait "$client" || { cat "$WORK/s1/scepclient.log" >&2; fail "scepclient did not collect request $id"; }
openssl verify -CAfile "$cafile" "$WORK/s1/client.pem" >/dev/null || fail "scepclient's certificate does not verify"
stored_cert cluster "$WORK/s1/client.pem" || fail "scepclient's certificate is not the one in the database"
pass "scepclient: request $id received by $recv, granted on $granter, collected by its poll through HAProxy"

first=$(hex_serial "$WORK/s1/client.pem")
scep_enroll "$WORK/s1" scep-1 || { cat "$WORK/s1/scepclient.log" >&2; fail "scepclient's renewal"; }
[ "$(hex_serial "$WORK/s1/client.pem")" != "$first" ] || fail "scepclient's renewal returned the same certificate"
stored_cert cluster "$WORK/s1/client.pem" || fail "scepclient's renewed certificate is not the one in the database"
pass "scepclient renewal through HAProxy, granted at once ($first -> $(hex_serial "$WORK/s1/client.pem"))"

assert_eq "$(pg_sql cluster "SELECT count(*) - count(DISTINCT serial_num) FROM certs")" 0 "serials issued twice"
assert_eq "$(pg_sql cluster "SELECT count(*) FROM certs WHERE subject LIKE '%spoke-1%' OR subject LIKE '%scep-1%'")" 4 \
  "certificates of the two clients in the database"
pass "the database holds each certificate once, every serial distinct"
