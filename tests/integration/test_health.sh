#!/usr/bin/env bash
# GET /health, the check a load balancer makes: 200 "ok" while the node can serve, 503 with the
# reason while its database is out of reach, 200 again once it is back, by itself. HAProxy in
# front of a PostgreSQL node and a SQLite node takes the first out of rotation while PostgreSQL
# is stopped and keeps serving through the second.
source "$(dirname "$0")/../lib/common.sh"
enter_private_network "$@"
source "$(dirname "$0")/../lib/cluster.sh"

pg_start
PG_URL=$(pg_createdb health)

start_ca lite "crypto pki server ROOTCA
  issuer-name CN=Lite Root"
lite_port=$port
assert_eq "$(health "$lite_port")" "200 ok" "/health of a node on SQLite"
assert_eq "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$lite_port/health?operation=GetCACaps")" 200 \
  "/health with operation= (an SCEP request)"
pass "a node on SQLite answers /health with 200 ok"

start_ca pgnode "crypto pki server ROOTCA
  issuer-name CN=PG Root
  database url $PG_URL&connect_timeout=2
  database archive pem password 0 health-archive-secret"
pg_port=$port
assert_eq "$(health "$pg_port")" "200 ok" "/health of a node on PostgreSQL"
pass "a node on PostgreSQL answers /health with 200 ok"

haproxy_start "$pg_port" "$lite_port"
pass "HAProxy sees both nodes UP through their /health"

pg_halt
wait_for 20 health_is "$pg_port" 503
assert_contains "$(health "$pg_port")" "database unavailable" "/health with PostgreSQL stopped"
assert_eq "$(health "$lite_port")" "200 ok" "/health of the SQLite node meanwhile"
pass "with PostgreSQL stopped /health says 503 and why: $(health "$pg_port")"

haproxy_wait_up 1
assert_eq "$(haproxy_state n1)" DOWN "HAProxy's state of the PostgreSQL node"
for i in 1 2 3 4; do
  code=$(curl -s -o /dev/null -w '%{http_code}' "$HAPROXY_URL?operation=GetCACaps")
  assert_eq "$code" 200 "GetCACaps $i through HAProxy with one node down"
done
pass "HAProxy took the node out and serves through the other one"

pg_resume
wait_for 30 health_is "$pg_port" 200
haproxy_wait_up 2
pass "PostgreSQL back: the node says 200 ok again by itself and HAProxy has it UP"
