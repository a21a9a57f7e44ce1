#!/usr/bin/env bash
# Resource limits of the HTTP side: an oversized body (plain or chunked) is refused with 413;
# slow clients that open connections and send half a request cannot hold the server (one
# address gets at most 64 connections, the others are still served); with most connections
# open, PKIOperations are shed with 503 and Retry-After while GetCACaps is still answered, and
# memory stays bounded; one address cannot fill the manual queue.
source "$(dirname "$0")/../lib/common.sh"
enter_private_network "$@"

TOOL=${EVERCERT_SCEP_TOOL:-$BUILD/tests/scep_tool}
[ -x "$TOOL" ] || fail "scep_tool not built at $TOOL"
port=$(free_port)
start_daemon ca "ip http server $port
ip http bind 127.0.0.1
clock calendar-valid
crypto pki server ROOTCA
  issuer-name CN=Limits Root"
url="http://127.0.0.1:$port/cgi-bin/pkiclient.exe"
ca="$WORK/ca/ROOTCA/ROOTCA.pem"
db="$WORK/ca/ROOTCA/ROOTCA.db"
rows() { sqlite3 "$db" "SELECT (SELECT count(*) FROM certs) || '/' || (SELECT count(*) FROM requests);"; }
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$PID_ca/status"; }

# hold SOURCE COUNT SECONDS: COUNT connections from SOURCE that send half a request and wait.
hold() {
  python3 - "$port" "$1" "$2" "$3" <<'PY' &
import socket, sys, time
port, source, count, seconds = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
held = []
for _ in range(count):
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=2, source_address=(source, 0))
        s.sendall(b"POST /cgi-bin/pkiclient.exe?operation=PKIOperation HTTP/1.1\r\nHost: ca\r\n"
                  b"Content-Length: 100000\r\n\r\n0123456789")
        held.append(s)
    except OSError:
        pass
time.sleep(seconds)
PY
  HOLDERS+=($!)
}
HOLDERS=()
release() { kill "${HOLDERS[@]}" 2>/dev/null || true; wait "${HOLDERS[@]}" 2>/dev/null || true; HOLDERS=(); }
# A request that is granted or queued: its status line from scep_tool.
"$TOOL" keygen --out "$WORK/k.key" --bits 2048
"$TOOL" selfsign --key "$WORK/k.key" --cn limits.example.net --out "$WORK/k.self"
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
hold 127.0.0.1 100 30
sleep 1.5
t0=$(date +%s%N)
caps=$(curl -s -m 5 --interface 127.0.0.2 "$url?operation=GetCACaps") || fail "GetCACaps from another address while one holds connections"
assert_contains "$caps" "POSTPKIOperation" "GetCACaps"
assert_contains "$(pkcsreq tx-slow-1 127.0.0.2)" "status=PENDING" "a PKCSReq from another address"
ms=$((($(date +%s%N) - t0) / 1000000))
code=$(curl -s -m 3 -o /dev/null -w '%{http_code}' --interface 127.0.0.1 "$url?operation=GetCACaps" || true)
release
pass "100 half-sent requests from one address: others are served in ${ms} ms (that address is capped: its next request got '$code')"

# ---- overload: PKIOperations shed, GetCACaps answered, memory bounded
rss0=$(rss_kb)
for src in 127.0.0.3 127.0.0.4 127.0.0.5 127.0.0.6; do hold "$src" 55 30; done
sleep 2
caps_code=$(curl -s -m 5 -o /dev/null -w '%{http_code}' --interface 127.0.0.7 "$url?operation=GetCACaps")
assert_eq "$caps_code" 200 "GetCACaps under overload"
"$TOOL" request --type pkcsreq --ca "$ca" --key "$WORK/k.key" --signer "$WORK/k.self" --txid tx-shed \
  --out "$WORK/shed.der"
code=$(curl -s -m 5 -D "$WORK/shed.headers" -o "$WORK/shed.body" -w '%{http_code}' --interface 127.0.0.7 \
  --data-binary @"$WORK/shed.der" "$url?operation=PKIOperation")
assert_eq "$code" 503 "a PKIOperation with 220 connections open"
grep -qi "^Retry-After: 10" "$WORK/shed.headers" || fail "no Retry-After on the 503"
rss1=$(rss_kb)
release
sleep 1
assert_contains "$(pkcsreq tx-after 127.0.0.7)" "status=PENDING" "a PKCSReq once the connections closed"
[ $((rss1 - rss0)) -lt 32768 ] || fail "RSS grew by $(((rss1 - rss0) / 1024)) MiB with 220 connections open"
pass "220 connections open: PKIOperation 503 with Retry-After, GetCACaps 200; RSS $((rss0 / 1024)) -> $((rss1 / 1024)) MiB; served again after"

# ---- one address cannot fill the manual queue
for i in $(seq 1 61); do
  "$TOOL" request --type pkcsreq --ca "$ca" --key "$WORK/k.key" --signer "$WORK/k.self" --txid "tx-q-$i" \
    --out "$WORK/q.der"
  curl -s -o /dev/null --interface 127.0.0.8 --data-binary @"$WORK/q.der" "$url?operation=PKIOperation"
done
assert_eq "$(sqlite3 "$db" "SELECT count(*) FROM requests WHERE source = '127.0.0.8' AND state = 0;")" 61 \
  "requests queued from 127.0.0.8"
for i in 62 63 64; do pkcsreq "tx-q-$i" 127.0.0.8 >/dev/null; done
before=$(rows)
out=$(pkcsreq tx-q-65 127.0.0.8)
assert_contains "$out" "status=FAILURE" "the 65th pending request from one address"
assert_contains "$out" "failinfo=badRequest" "the 65th pending request from one address"
assert_eq "$(rows)" "$before" "rows after the refused 65th request"
grep -q "already wait for the operator (at most 64)" "$WORK/ca.log" || fail "the reason is not logged"
assert_contains "$(pkcsreq tx-q-other 127.0.0.9)" "status=PENDING" "a request from another address"
pass "64 pending requests from one address: the 65th is refused (badRequest, logged); another address still queues"
