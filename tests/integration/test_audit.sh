#!/usr/bin/env bash
# The audit trail: each operator action is one "audit:" line with the operator's uid (from
# SO_PEERCRED) and its outcome, beside the CA's own line for the decision; commands that only
# read (show, ping, info requests) are logged at debug and never audited; the levels of the
# `logging` lines hold, and change on reload.
source "$(dirname "$0")/../lib/common.sh"

uid=$(id -u)
conf="clock calendar-valid
logging console debug
crypto pki server ROOTCA
  grant auto"
start_daemon ca "$conf"
log="$WORK/ca.log"

cli ca show crypto pki server >/dev/null
cli ca ping >/dev/null
cli ca server ROOTCA info requests >/dev/null
cli ca server ROOTCA password generate 5 >/dev/null
cli ca server ROOTCA revoke 7F 2>/dev/null && fail "revoking an unknown serial succeeded"
wait_for_text "$log" "audit: operator uid $uid: server ROOTCA revoke 7F: failed: "
assert_contains "$(cat "$log")" "audit: operator uid $uid: server ROOTCA password generate 5: done"
assert_contains "$(cat "$log")" "audit: CA ROOTCA: one-time enrollment password generated, valid 5 minutes"
assert_contains "$(cat "$log")" "debug: operator uid $uid: show crypto pki server"
assert_contains "$(cat "$log")" "debug: operator uid $uid: server ROOTCA info requests"
if grep -E "audit: .*(show|ping|info requests)" "$log"; then fail "a read-only command is in the audit trail"; fi
pass "operator actions audited with uid $uid and outcome; show, ping and info requests at debug only"

# At info, the read-only commands leave no line at all; the actions are still audited.
printf '%s\n' "$conf" | sed 's/logging console debug/logging console info/' >"$WORK/ca.conf"
cli ca reload >/dev/null || fail "reload to logging console info"
assert_contains "$(cat "$log")" "reload: logging: console info, file off, syslog off"
before=$(grep -c "" "$log")
cli ca show crypto pki timers >/dev/null
cli ca server ROOTCA shutdown >/dev/null
wait_for_text "$log" "audit: operator uid $uid: server ROOTCA shutdown: done"
tail -n +"$((before + 1))" "$log" | grep -q "show crypto pki timers" && fail "a show command logged at info"
assert_contains "$(cat "$log")" "audit: CA ROOTCA: server shut down by the operator"
pass "logging console info: show commands silent, actions still audited"
