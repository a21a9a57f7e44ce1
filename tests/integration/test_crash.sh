#!/usr/bin/env bash
# Crash safety: evercertd killed with SIGKILL while enrollments are in flight, restarted on the
# same state, and the clients resend what they did not get. Nothing a client received is lost by
# the store, no serial is given twice, and a resent transaction gets the certificate it got
# before. CRASH_ITERATIONS (default 8) sets the number of kills; `make soak` runs 100.
source "$(dirname "$0")/../lib/common.sh"
enter_private_network "$@"

use_scep_tool
ITER=${CRASH_ITERATIONS:-8}
CLIENTS=${CRASH_CLIENTS:-10}

start_ca ca "clock calendar-valid
crypto pki server ROOTCA
  issuer-name CN=Crash Root,O=Evercert
  grant auto
  database level complete"
url="http://127.0.0.1:$port/cgi-bin/pkiclient.exe"
state="$WORK/ca"
db="$state/ROOTCA/ROOTCA.db"
ca="$state/ROOTCA/ROOTCA.pem"
[ -f "$ca" ] || fail "no CA certificate at $ca"

# (Re)starts the daemon on the same state after a kill; every start's log is kept (ca.N.log).
starts=1
restart() {
  starts=$((starts + 1))
  local log="$WORK/ca.$starts.log"
  "$EVERCERTD" --config "$WORK/ca.conf" --state-dir "$state" --foreground >"$log" 2>&1 &
  PID_ca=$!
  PIDS=("$PID_ca")
  for _ in $(seq 1 300); do
    if "$EVERCERT" --state-dir "$state" ping >/dev/null 2>&1; then return 0; fi
    kill -0 "$PID_ca" 2>/dev/null || { cat "$log" >&2; fail "restart $starts: evercertd exited at start"; }
    sleep 0.05
  done
  cat "$log" >&2
  fail "restart $starts: evercertd did not answer"
}

# ---- requests: one directory per request (key, signer, nonce, req.der); a fresh batch of
# CLIENTS distinct keys and transactionIDs for each iteration, all made before the first kill.
prepare() { # prepare DIR CN TXID
  local dir=$1 cn=$2 txid=$3
  mkdir -p "$dir"
  "$TOOL" keygen --out "$dir/key.pem" --bits 2048 || fail "keygen $dir"
  "$TOOL" selfsign --key "$dir/key.pem" --cn "$cn" --out "$dir/signer.pem" || fail "selfsign $dir"
  openssl rand -hex 16 >"$dir/nonce"
  echo "$txid" >"$dir/txid"
  "$TOOL" request --type pkcsreq --ca "$ca" --key "$dir/key.pem" --signer "$dir/signer.pem" \
    --txid "$txid" --nonce "$(cat "$dir/nonce")" --out "$dir/req.der" || fail "request in $dir"
}
for it in $(seq 1 "$ITER"); do
  makers=() # a bare `wait` would also wait for the daemon
  for c in $(seq 1 "$CLIENTS"); do
    prepare "$WORK/req/$it-$c" "crash-$it-$c.example.net" "crash-$it-$c-$RANDOM$RANDOM" &
    makers+=($!)
  done
  wait "${makers[@]}"
done

# send DIR: POSTs DIR/req.der, the reply in DIR/reply.der (whatever arrived); curl's exit in DIR/curl.rc
send() {
  local dir=$1 rc=0
  curl -s -m 20 -o "$dir/reply.der" --data-binary @"$dir/req.der" "$url?operation=PKIOperation" || rc=$?
  echo "$rc" >"$dir/curl.rc"
}
# received DIR: true when DIR/reply.der is a whole SUCCESS reply; its certificate in DIR/got.pem
received() {
  local dir=$1 status
  [ "$(cat "$dir/curl.rc" 2>/dev/null)" = 0 ] && [ -s "$dir/reply.der" ] || return 1
  status=$("$TOOL" reply --in "$dir/reply.der" --key "$dir/key.pem" --signer "$dir/signer.pem" --ca "$ca" \
    --nonce "$(cat "$dir/nonce")" --out "$dir/got.pem" 2>"$dir/reply.err") || return 1
  case "$status" in
    *status=SUCCESS*) return 0 ;;
    *) fail "$dir: a whole reply that is not SUCCESS: $status" ;;
  esac
}
serial_num() { local hex; hex=$(openssl x509 -in "$1" -noout -serial | cut -d= -f2); echo $((16#$hex)); }
# note DIR WHEN: records the certificate DIR received; a second one must have the same serial (c)
note() {
  local dir=$1 when=$2 s
  s=$(serial_num "$dir/got.pem")
  if [ -f "$dir/serial" ]; then
    [ "$(cat "$dir/serial")" = "$s" ] ||
      fail "$dir (txid $(cat "$dir/txid")): serial $(cat "$dir/serial") before, $s $when — a different certificate for the same transaction"
    resent_same=$((resent_same + 1))
  else
    echo "$s" >"$dir/serial"
    cp "$dir/got.pem" "$dir/cert.pem"
  fi
}
db_ok() { # the store opens and is consistent (the WAL of the killed daemon recovered)
  local r
  r=$(sqlite3 "$db" "PRAGMA integrity_check;" 2>&1) || fail "sqlite3 cannot open $db after restart $starts: $r"
  assert_eq "$r" ok "integrity_check after restart $starts"
}

in_flight_total=0
lost_replies=0
resent_same=0
killed_mid_reply=0
for it in $(seq 1 "$ITER"); do
  batch=("$WORK"/req/"$it"-*)
  # The previous batch is resent with the new one: those transactions are already answered.
  old=()
  [ "$it" -gt 1 ] && old=("$WORK"/req/$((it - 1))-*)
  curls=()
  for dir in "${batch[@]}" "${old[@]}"; do
    rm -f "$dir/reply.der" "$dir/curl.rc"
    send "$dir" &
    curls+=($!)
  done
  # The kill comes once a random number of the replies have arrived, so that it lands while the
  # rest are in the CA (a random delay mostly lands after the whole batch: it takes ~50 ms).
  total_sent=$(( ${#batch[@]} + ${#old[@]} ))
  kill_after=$((RANDOM % total_sent))
  for _ in $(seq 1 2000); do
    done_count=$(find "${batch[@]}" "${old[@]}" -maxdepth 1 -name curl.rc | wc -l)
    [ "$done_count" -ge "$kill_after" ] && break
    sleep 0.002
  done
  in_flight=0
  for p in "${curls[@]}"; do kill -0 "$p" 2>/dev/null && in_flight=$((in_flight + 1)); done
  kill -KILL "$PID_ca"
  wait "$PID_ca" 2>/dev/null || true
  wait "${curls[@]}" 2>/dev/null || true
  in_flight_total=$((in_flight_total + in_flight))

  missing=()
  for dir in "${batch[@]}" "${old[@]}"; do
    if received "$dir"; then note "$dir" "before the kill"; else missing+=("$dir"); fi
  done
  lost_replies=$((lost_replies + ${#missing[@]}))

  restart
  db_ok
  # Every request of the batch is resent: the missing ones get their certificate now, the
  # answered ones must get the same certificate again.
  for dir in "${batch[@]}"; do
    ok=""
    for _ in 1 2 3; do
      send "$dir"
      if received "$dir"; then ok=1; break; fi
      sleep 0.2
    done
    [ -n "$ok" ] || fail "$dir: no whole reply after restart $starts (curl $(cat "$dir/curl.rc"); $(cat "$dir/reply.err" 2>/dev/null))"
    note "$dir" "after restart $starts"
  done
  echo "# iteration $it: $in_flight of $(( ${#batch[@]} + ${#old[@]} )) requests in flight at the kill, ${#missing[@]} replies missing or truncated"
done
pass "$ITER SIGKILLs with $in_flight_total requests in flight in all ($lost_replies replies lost, resent)"
pass "the daemon restarted $((starts - 1)) times on the same state, the store consistent each time"

# A last pass, no kill: every transaction resent once more gets the certificate it got first.
for dir in "$WORK"/req/*; do
  send "$dir"
  received "$dir" || fail "$dir: final resend got no whole reply"
  note "$dir" "on the final resend"
done
pass "$resent_same resends of an answered transaction got the same certificate (serial) again"

# (a) serials unique in the store and among what clients hold.
dups=$(sqlite3 "$db" "SELECT serial_num FROM certs GROUP BY serial_num HAVING count(*) > 1;")
[ -z "$dups" ] || fail "serials stored twice: $dups"
dups=$(sqlite3 "$db" "SELECT serial FROM certs GROUP BY upper(serial) HAVING count(*) > 1;")
[ -z "$dups" ] || fail "serial text stored twice: $dups"
total=$(ls -d "$WORK"/req/* | wc -l)
cat "$WORK"/req/*/serial >"$WORK/client-serials"
[ "$(wc -l <"$WORK/client-serials")" -eq "$total" ] || fail "not every request holds a certificate"
dups=$(sort "$WORK/client-serials" | uniq -d)
[ -z "$dups" ] || fail "the same serial given to two clients: $dups"
pass "no serial twice: $(sqlite3 "$db" 'SELECT count(*) FROM certs;') stored, $total held by clients, all distinct"

# (b) every certificate a client holds is in the store, by serial, with the same DER.
for dir in "$WORK"/req/*; do
  s=$(cat "$dir/serial")
  hex=$(sqlite3 "$db" "SELECT hex(der) FROM certs WHERE serial_num = $s;")
  [ -n "$hex" ] || fail "$dir: certificate serial $s held by the client is not in the store"
  mine=$(openssl x509 -in "$dir/cert.pem" -outform DER | od -An -v -tx1 | tr -d ' \n' | tr a-f A-F)
  assert_eq "$hex" "$mine" "$dir: stored DER of serial $s"
  printf -v shex '%X' "$s"
  [ -f "$state/ROOTCA/$shex.cer" ] || fail "$dir: serial $shex stored but $shex.cer missing (database level complete)"
done
pass "every certificate a client received is in the store (certs row and .cer file)"

stop_daemon ca
