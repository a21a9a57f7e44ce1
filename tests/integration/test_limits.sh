#!/usr/bin/env bash
# Resource limits of the HTTP side, on a listener of 64 connections (`ip http max-connections 64`:
# 16 per address, busy from 48): an oversized body (plain or chunked) is refused with 413; one
# address cannot hold more than its 16 connections (the next is closed at once) and the others are
# served meanwhile; once busy, the addresses holding more than their share get 503 with
# Retry-After for their PKIOperations and no new connection while the others are served; when
# every connection is taken a newcomer is still served, in the place of one of the heaviest; one
# address cannot fill the manual queue. Every wait is for a condition the daemon reports
# (`show ip http server status`), never for a length of time.
source "$(dirname "$0")/../lib/common.sh"
enter_private_network "$@"

use_scep_tool
CONNS="$SRC/tests/lib/conns.py"
source "$SRC/tests/lib/listener.sh"
start_ca ca "ip http max-connections 64
clock calendar-valid
crypto pki server ROOTCA
  issuer-name CN=Limits Root"
url="http://127.0.0.1:$port/cgi-bin/pkiclient.exe"
ca="$WORK/ca/ROOTCA/ROOTCA.pem"
db="$WORK/ca/ROOTCA/ROOTCA.db"
rows() { sqlite3 "$db" "SELECT (SELECT count(*) FROM certs) || '/' || (SELECT count(*) FROM requests);"; }

# hold NAME SOURCES PER: PER connections from each source, each having sent the headers of a POST
# of $WORK/shed.der and waiting (conns.py hold); closed ones are opened again.
HOLDERS=()
hold() {
  mkdir -p "$WORK/$1"
  cp "$WORK/shed.der" "$WORK/$1/body"
  python3 "$CONNS" hold "$port" "$2" "$3" post "$WORK/$1" &
  HOLDERS+=("$1:$!")
}
release() {
  local h
  for h in "${HOLDERS[@]}"; do touch "$WORK/${h%%:*}/stop"; done
  for h in "${HOLDERS[@]}"; do wait "${h#*:}" 2>/dev/null || true; done
  HOLDERS=()
  wait_http ca "connections released" 'connections == 0'
}
# send HOLDER SOURCE: one held connection of SOURCE sends its body; prints the reply's head.
send() {
  touch "$WORK/$1/go-$2"
  wait_until 30 test -s "$WORK/$1/reply-$2" || fail "no reply to the request held by $2"
  cat "$WORK/$1/reply-$2"
}
# closed_at_once SOURCE: a new connection from SOURCE is closed by the server within a second.
closed_at_once() {
  local ms
  ms=$(python3 "$CONNS" probe "$port" "$1")
  [ "$ms" != open ] && [ "$ms" -lt 1000 ] || fail "a connection from $1 was not closed at once ($ms)"
  echo "$ms"
}

"$TOOL" keygen --out "$WORK/k.key" --bits 2048
"$TOOL" selfsign --key "$WORK/k.key" --cn limits.example.net --out "$WORK/k.self"
"$TOOL" request --type pkcsreq --ca "$ca" --key "$WORK/k.key" --signer "$WORK/k.self" --txid tx-shed \
  --out "$WORK/shed.der"
# A request that is granted or queued: its status line from scep_tool.
pkcsreq() { # pkcsreq TXID SOURCE -> status line
  "$TOOL" request --type pkcsreq --ca "$ca" --key "$WORK/k.key" --signer "$WORK/k.self" --txid "$1" \
    --out "$WORK/$1.der" || fail "request $1"
  curl -s -m 10 --interface "$2" -D "$WORK/$1.headers" -o "$WORK/$1.reply" --data-binary @"$WORK/$1.der" \
    "$url?operation=PKIOperation" || fail "POST $1 from $2"
  head -1 "$WORK/$1.headers" | grep -q " 200" || { head -1 "$WORK/$1.headers"; return 0; }
  "$TOOL" reply --in "$WORK/$1.reply" --key "$WORK/k.key" --signer "$WORK/k.self" --ca "$ca" || true
}

# ---- oversized bodies
before=$(rows)
head -c 300000 /dev/urandom >"$WORK/big"
code=$(curl -s -o "$WORK/big.reply" -w '%{http_code}' --data-binary @"$WORK/big" "$url?operation=PKIOperation")
assert_eq "$code" 413 "status of a 300 kB body"
assert_contains "$(cat "$WORK/big.reply")" "larger than" "the 413 reason"
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Transfer-Encoding: chunked" --data-binary @"$WORK/big" \
  "$url?operation=PKIOperation")
assert_eq "$code" 413 "status of a 300 kB chunked body"
assert_eq "$(rows)" "$before" "rows after oversized bodies"
pass "oversized bodies (plain and chunked) get 413 with a reason; nothing stored"

# ---- slow clients from one address
hold slow 127.0.0.1 40
wait_http ca "one address holding connections" 'connections == 16 && heaviest == 16'
caps=$(curl -s -m 5 --interface 127.0.0.2 "$url?operation=GetCACaps") || fail "GetCACaps from another address while one holds connections"
assert_contains "$caps" "POSTPKIOperation" "GetCACaps"
assert_contains "$(pkcsreq tx-slow-1 127.0.0.2)" "status=PENDING" "a PKCSReq from another address"
ms=$(closed_at_once 127.0.0.1)
[ "$(http_figure ca refused_per_address)" -gt 0 ] || fail "no refusal counted at the per-address cap"
release
pass "40 half-sent requests from one address: it holds 16, its next connection is closed in ${ms} ms, others are served"

# ---- busy: the heaviest addresses are shed, the others served
hold heavy 127.0.0.3,127.0.0.4,127.0.0.5 16
wait_http ca "three heavy addresses" 'connections == 48 && addresses == 3'
hold light 127.0.0.6,127.0.0.8 4
wait_http ca "two light addresses beside them" 'connections == 56 && addresses == 5'
head_heavy=$(send heavy 127.0.0.3)
assert_contains "$head_heavy" " 503 " "a PKIOperation from an address holding 16 of 56 connections"
assert_contains "$(echo "$head_heavy" | tr 'A-Z' 'a-z')" "retry-after: 10" "the 503's Retry-After"
ms=$(closed_at_once 127.0.0.4)
assert_contains "$(send light 127.0.0.6)" " 200 " "a PKIOperation from an address holding 4"
caps_code=$(curl -s -m 5 -o /dev/null -w '%{http_code}' --interface 127.0.0.7 "$url?operation=GetCACaps")
assert_eq "$caps_code" 200 "GetCACaps from a new address while busy"
assert_contains "$(pkcsreq tx-busy 127.0.0.7)" "status=PENDING" "a PKCSReq from a new address while busy"
[ "$(http_figure ca refused_above_share)" -gt 0 ] || fail "no refusal above a share counted"
release
pass "busy (56 of 64): an address holding 16 gets 503 Retry-After and its new connection is closed in ${ms} ms; addresses holding 4 or none are served"

# ---- full: a newcomer takes the place of one of the heaviest
hold full 127.0.0.3,127.0.0.4,127.0.0.5,127.0.0.6 16
wait_http ca "every connection taken" 'connections == 64'
caps_code=$(curl -s -m 5 -o /dev/null -w '%{http_code}' --interface 127.0.0.7 "$url?operation=GetCACaps")
assert_eq "$caps_code" 200 "GetCACaps from a new address with every connection taken"
assert_contains "$(pkcsreq tx-full 127.0.0.7)" "status=PENDING" "a PKCSReq from a new address with every connection taken"
ms=$(closed_at_once 127.0.0.5)
[ "$(http_figure ca closed_for_newcomer)" -gt 0 ] || fail "no connection was given up for the newcomer"
release
pass "64 of 64 connections taken: a new address is served in the place of one of the heaviest; a heavy address's new connection is closed in ${ms} ms"
assert_contains "$(pkcsreq tx-after 127.0.0.7)" "status=PENDING" "a PKCSReq once the connections closed"

# ---- one address cannot fill the manual queue
seq 1 61 | xargs -P 4 -I{} "$TOOL" request --type pkcsreq --ca "$ca" --key "$WORK/k.key" --signer "$WORK/k.self" \
  --txid "tx-q-{}" --out "$WORK/q-{}.der"
for i in $(seq 1 61); do
  curl -s -o /dev/null --interface 127.0.0.8 --data-binary @"$WORK/q-$i.der" "$url?operation=PKIOperation"
done
assert_eq "$(sqlite3 "$db" "SELECT count(*) FROM requests WHERE source = '127.0.0.8' AND state = 0;")" 61 \
  "requests queued from 127.0.0.8"
for i in 62 63 64; do pkcsreq "tx-q-$i" 127.0.0.8 >/dev/null; done
before=$(rows)
out=$(pkcsreq tx-q-65 127.0.0.8)
assert_contains "$out" "status=FAILURE" "the 65th pending request from one address"
assert_contains "$out" "failinfo=badRequest" "the 65th pending request from one address"
assert_eq "$(rows)" "$before" "rows after the refused 65th request"
grep -qE "from 127\.0\.0\.8 .*\(at most 64\)" "$WORK/ca.log" || fail "the reason is not logged"
assert_contains "$(pkcsreq tx-q-other 127.0.0.9)" "status=PENDING" "a request from another address"
pass "64 pending requests from one address: the 65th is refused (badRequest, logged); another address still queues"
