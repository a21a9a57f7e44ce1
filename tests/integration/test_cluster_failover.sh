#!/usr/bin/env bash
# Three nodes of one CA behind HAProxy, 8 clients enrolling without pause; one node is killed
# (SIGKILL), then another. Every certificate a client received is the one stored under its
# serial in PostgreSQL, no serial is handed out twice, no transactionID (sent again by a client
# whose connection was cut) comes to two certificates, and the clients go on enrolling through
# the node that is left.
source "$(dirname "$0")/../lib/common.sh"
enter_private_network "$@"
source "$(dirname "$0")/../lib/cluster.sh"
use_scep_tool

cluster_up_for_load

load_start "$cafile" 8 "$HAPROXY_URL"
load_mark "$WORK/mark0"
load_wait_more 2 "$WORK/mark0" 60 || fail "the 8 clients did not enroll through three nodes ($(load_got) certificates)"
pass "8 clients enroll through HAProxy in front of three nodes ($(load_got) certificates so far)"

# Under this load a node usually has requests in hand: the kill may cut some of them.
kill_node node2
haproxy_wait_up 2
load_mark "$WORK/mark1"
load_wait_more 2 "$WORK/mark1" 60 || fail "the clients did not go on after node2 was killed ($(load_got) certificates)"
pass "node2 SIGKILLed under load: HAProxy took it out, every client went on ($(load_got) certificates)"

kill_node node1
haproxy_wait_up 1
load_mark "$WORK/mark2"
load_wait_more 2 "$WORK/mark2" 60 || fail "the clients did not go on through node3 alone ($(load_got) certificates)"
pass "node1 SIGKILLed too: every client went on through node3 ($(load_got) certificates)"
load_stop

load_check cluster
retried=$(cat "$WORK"/load/*.http | awk '$2 != 200' | wc -l)
bad=$(cat "$WORK"/load/*.bad | wc -l)
assert_eq "$bad" 0 "CertReps other than SUCCESS ($(cat "$WORK"/load/*.bad | head -3 | tr '\n' ' '))"
pass "$(load_got) certificates received, each stored under its own serial, one per transaction ($retried exchanges without a CertRep were sent again)"
