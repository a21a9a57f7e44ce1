#!/usr/bin/env bash
# Signals that must not stop the CA: SIGHUP (logrotate's postrotate) reopens the log file of a
# detached daemon, so the next lines go to a new file, and reloads the configuration (here
# unchanged; test_reload.sh changes it); SIGPIPE is ignored. Each time the daemon still answers.
source "$(dirname "$0")/../lib/common.sh"

conf="clock calendar-valid
crypto pki server ROOTCA
  grant auto"

# ---- in the foreground (log on standard error)
start_daemon fg "$conf"
kill -HUP "$PID_fg"
wait_for_text "$WORK/fg.log" "reload: configuration $WORK/fg.conf in force (0 change(s))"
kill -PIPE "$PID_fg"
cli fg ping >/dev/null || fail "the daemon does not answer after SIGHUP and SIGPIPE"
kill -0 "$PID_fg" 2>/dev/null || fail "the daemon stopped"
pass "foreground: SIGHUP reloads the unchanged configuration, SIGPIPE ignored; the daemon still answers"

# ---- detached, logging to DIR/evercertd.log: what logrotate does
state="$WORK/bg"
printf '%s\n' "$conf" >"$WORK/bg.conf"
out=$("$EVERCERTD" --config "$WORK/bg.conf" --state-dir "$state") || fail "detached start: $out"
pid=$(cat "$state/evercertd.lock")
[ -n "$pid" ] && kill -0 "$pid" || fail "no daemon behind the lock file"
PIDS+=("$pid")
wait_for_text "$state/evercertd.log" "started (state directory"
mv "$state/evercertd.log" "$state/evercertd.log.1"
kill -HUP "$pid"
wait_for_text "$state/evercertd.log" "log file $state/evercertd.log reopened"
cli bg server ROOTCA password generate 5 >/dev/null || fail "no answer after SIGHUP"
wait_for_text "$state/evercertd.log" "one-time enrollment password generated"
grep -q "password generated" "$state/evercertd.log.1" && fail "a line after SIGHUP went to the rotated file"
# Each SIGHUP is acted on (signals close together may count as one: wait for each).
for n in 2 3; do
  kill -HUP "$pid"
  wait_until 10 eval '[ "$(grep -c "reload (SIGHUP)" "$state/evercertd.log")" -ge $n ]' || fail "SIGHUP number $n was not logged"
done
cli bg ping >/dev/null || fail "no answer after three SIGHUPs"
kill -0 "$pid" 2>/dev/null || fail "the daemon stopped"
pass "detached: SIGHUP reopens evercertd.log (lines after it go to the new file), the daemon keeps running"
