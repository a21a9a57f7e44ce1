#!/usr/bin/env bash
# PostgreSQL stopped and started again under the load of 8 clients, half of them through HAProxy
# and half straight to the three nodes: while it is down every request is answered 503 with a
# Retry-After (by a node, or by HAProxy once every node's /health says 503), never with a
# certificate the database does not hold; once it is back, the nodes and HAProxy resume by
# themselves and every client enrolls again.
source "$(dirname "$0")/../lib/common.sh"
enter_private_network "$@"
source "$(dirname "$0")/../lib/cluster.sh"
use_scep_tool

cluster_up_for_load "&connect_timeout=2"
node_url() { echo "http://127.0.0.1:${NODE_PORTS[$(($1 - 1))]}/cgi-bin/pkiclient.exe"; }

load_start "$cafile" 8 "$HAPROXY_URL" "$(node_url 1)" "$HAPROXY_URL" "$(node_url 2)" "$HAPROXY_URL" "$(node_url 3)"
load_mark "$WORK/mark0"
load_wait_more 2 "$WORK/mark0" 60 || fail "the 8 clients did not enroll ($(load_got) certificates)"
pass "8 clients enroll, through HAProxy and straight to the nodes ($(load_got) certificates so far)"

refusals() { cat "$WORK"/load/*.http | grep -c ' 503 ' || true; }
before=$(refusals)
pg_halt
more_refusals() { [ "$(refusals)" -ge $((before + 8)) ]; }
wait_for 60 more_refusals
haproxy_wait_up 0 30
got_down=$(load_got)
pass "PostgreSQL stopped: requests answered 503 ($(($(refusals) - before)) so far), HAProxy has no node UP"

pg_resume
load_mark "$WORK/mark1"
load_wait_more 2 "$WORK/mark1" 90 || fail "the clients did not enroll again after PostgreSQL came back ($(load_got) certificates)"
haproxy_wait_up 3 30
pass "PostgreSQL back: every client enrolled again by itself, HAProxy has the three nodes UP ($(load_got) certificates)"
load_stop

load_check cluster
assert_eq "$(cat "$WORK"/load/*.bad | wc -l)" 0 "CertReps other than SUCCESS ($(cat "$WORK"/load/*.bad | head -3 | tr '\n' ' '))"
others=$(cat "$WORK"/load/*.http | awk '$2 != 200 && $2 != 503' | sort -k2 | head -5)
[ -z "$others" ] || fail "answers other than 200 and 503 while PostgreSQL was away: $others"
bare=$(cat "$WORK"/load/*.http | awk '$2 == 503 && $3 !~ /^retry-after=[0-9]+$/' | head -5)
[ -z "$bare" ] || fail "503 without a Retry-After: $bare"
pass "$(load_got) certificates, each stored; $(refusals) refusals, all 503 with Retry-After; $got_down received by the time PostgreSQL was down"
