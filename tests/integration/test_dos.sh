#!/usr/bin/env bash
# Hostile addresses against the HTTP listener at its default limits (1024 connections, 64 per
# address, 10 s for a request's headers): eight addresses keep 120 connections each open for two
# minutes, trickling one header line every 5 s, while a ninth address enrolls every 5 s. Each
# enrollment completes within 2 s (6 s in a sanitizer build); every trickling connection is
# closed by the server at the header deadline (10 s, not a minute later); the connections above
# an address's 64 are closed at once. Then 1024 connections are held from 16 addresses: the
# resident size of the CA is measured, a new connection of one of them is closed at once (never
# left in the kernel's backlog), and a new address is still served. The daemon starts with a soft
# limit of 1024 open files and raises it.
source "$(dirname "$0")/../lib/common.sh"
enter_private_network "$@"

use_scep_tool
CONNS="$SRC/tests/lib/conns.py"
source "$SRC/tests/lib/listener.sh"
ATTACKERS=127.0.0.2,127.0.0.3,127.0.0.4,127.0.0.5,127.0.0.6,127.0.0.7,127.0.0.8,127.0.0.9
ENROLLER=127.0.0.10
HEADER_DEADLINE=10
MARGIN=3
# An enrollment's bound; a sanitizer build runs the CA and the client tool several times slower,
# and is there for memory and thread errors, not for latency.
ENROLL_MS=2000
SANITIZED=
# Not `| grep -q`: grep leaving early would end ldd with SIGPIPE, and pipefail would call that a miss.
if ldd "$EVERCERTD" | grep 'libasan\|libtsan' >/dev/null; then SANITIZED=1; ENROLL_MS=6000; fi

hard=$(ulimit -Hn)
if [ "$hard" = unlimited ] || [ "$hard" -gt 4096 ]; then ulimit -Sn 1024; fi
start_ca ca "clock calendar-valid
crypto pki server ROOTCA
  issuer-name CN=DoS Root
  grant auto"
url="http://127.0.0.1:$port/cgi-bin/pkiclient.exe"
ca="$WORK/ca/ROOTCA/ROOTCA.pem"
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$PID_ca/status"; }
soft=$(awk '/^Max open files/ {print $4}' "/proc/$PID_ca/limits")
[ "$soft" = unlimited ] || [ "$soft" -ge 1300 ] || fail "the daemon's limit on open files is $soft"
pass "the daemon raised its limit on open files to $soft"

"$TOOL" keygen --out "$WORK/e.key" --bits 2048
"$TOOL" selfsign --key "$WORK/e.key" --cn dos-client.example.net --out "$WORK/e.self"
# enroll N SOURCE: one whole enrollment (request, POST, reply read and checked) from SOURCE;
# prints its milliseconds.
enroll() {
  local t0 out
  t0=$(date +%s%N)
  "$TOOL" request --type pkcsreq --ca "$ca" --key "$WORK/e.key" --signer "$WORK/e.self" --txid "tx-dos-$1" \
    --cn "dos-$1.example.net" --out "$WORK/e-$1.der" || fail "request $1"
  curl -s -m 10 --interface "$2" -o "$WORK/e-$1.reply" --data-binary @"$WORK/e-$1.der" \
    "$url?operation=PKIOperation" || fail "enrollment $1 from $2: POST failed"
  out=$("$TOOL" reply --in "$WORK/e-$1.reply" --key "$WORK/e.key" --signer "$WORK/e.self" --ca "$ca" \
    --out "$WORK/e-$1.pem") || fail "enrollment $1: reply unreadable"
  assert_contains "$out" "status=SUCCESS" "enrollment $1"
  echo $((($(date +%s%N) - t0) / 1000000))
}

# ---- two minutes of trickling from eight addresses; a ninth enrolls every 5 s
python3 "$CONNS" trickle "$port" "$ATTACKERS" 120 5 120 "$WORK/trickle.json" &
trickler=$!
wait_http ca "the trickling connections" 'connections >= 8 * 60'
lat=()
rss_max=0
conns_max=0
heaviest_max=0
for n in $(seq 1 40); do
  kill -0 "$trickler" 2>/dev/null || break
  t0=$(date +%s%N)
  ms=$(enroll "$n" "$ENROLLER")
  [ "$ms" -le "$ENROLL_MS" ] || fail "enrollment $n took $ms ms"
  lat+=("$ms")
  rss=$(rss_kb)
  [ "$rss" -le "$rss_max" ] || rss_max=$rss
  c=$(http_figure ca connections)
  [ "$c" -le "$conns_max" ] || conns_max=$c
  h=$(http_figure ca heaviest)
  [ "$h" -le "$heaviest_max" ] || heaviest_max=$h
  # The next enrollment 5 s after this one started (pacing, not a wait for a condition).
  left=$((5000 - ($(date +%s%N) - t0) / 1000000))
  [ "$left" -le 0 ] || sleep "$(printf '%d.%03d' $((left / 1000)) $((left % 1000)))"
done
wait "$trickler" || fail "the trickling clients failed"
[ "${#lat[@]}" -ge 20 ] || fail "only ${#lat[@]} enrollments during the two minutes"
sorted=$(printf '%s\n' "${lat[@]}" | sort -n)
p50=$(echo "$sorted" | awk '{a[NR]=$1} END {print a[int((NR + 1) / 2)]}')
max=$(echo "$sorted" | tail -1)
# 64 per address, and a few more admitted between the check and the count (admission and opening
# are two steps of libmicrohttpd's, and connections close meanwhile).
[ "$heaviest_max" -le 72 ] || fail "one address held $heaviest_max connections"
pass "${#lat[@]} enrollments from $ENROLLER during the trickle, each within $((ENROLL_MS / 1000)) s: p50 $p50 ms, max $max ms (server: up to $conns_max connections, $heaviest_max from one address; CA RSS up to $((rss_max / 1024)) MiB)"

python3 - "$WORK/trickle.json" "$HEADER_DEADLINE" "$MARGIN" <<'PY' || fail "trickling clients: see above"
import json, sys
stats, deadline, margin = json.load(open(sys.argv[1])), float(sys.argv[2]), float(sys.argv[3])
bad = []
for source, st in sorted(stats.items()):
    print("  %s: %d closed at the deadline (%.2f..%.2f s), %d refused at once (at most %s ms), %d failed to connect"
          % (source, st["deadline_closed"], st["lifetime_min"] or 0, st["lifetime_max"] or 0, st["refused"],
             st["refusal_ms_max"], st["connect_failed"]))
    if st["deadline_closed"] < 64:
        bad.append("%s: only %d connections closed at the header deadline" % (source, st["deadline_closed"]))
    elif st["lifetime_max"] > deadline + margin:
        bad.append("%s: a trickling connection lived %.2f s" % (source, st["lifetime_max"]))
    elif st["lifetime_min"] < deadline - 0.5:
        bad.append("%s: a connection was closed after %.2f s, neither at once nor at the deadline"
                   % (source, st["lifetime_min"]))
    if st["refused"] == 0:
        bad.append("%s: none of its connections beyond 64 was refused" % source)
    if st["connect_failed"]:
        bad.append("%s: %d connections could not even connect" % (source, st["connect_failed"]))
for b in bad:
    print("FAIL: " + b, file=sys.stderr)
sys.exit(1 if bad else 0)
PY
[ "$(http_figure ca closed_header_timeout)" -gt 0 ] || fail "the server counted no close at the header deadline"
grep -q "request headers were not complete within $HEADER_DEADLINE s" "$WORK/ca.log" || fail "header deadline not logged"
logged=$(grep -c "request headers were not complete" "$WORK/ca.log")
[ "$logged" -le 8 ] || fail "the header deadline was logged $logged times for 8 addresses"
pass "trickling connections closed by the server within ${HEADER_DEADLINE}+${MARGIN} s, those beyond 64 per address at once; logged once per address"

# ---- 1024 connections held from 16 addresses
wait_http ca "the trickling connections gone" 'connections == 0'
mkdir -p "$WORK/full"
cp "$WORK/e-1.der" "$WORK/full/body"
holders=$(seq -s, -f "127.0.0.%g" 11 26)
rss0=$(rss_kb)
python3 "$CONNS" hold "$port" "$holders" 64 post "$WORK/full" &
holder=$!
wait_http ca "1024 connections held" 'connections == 1024'
rss1=$(rss_kb)
ms=$(python3 "$CONNS" probe "$port" 127.0.0.11)
[ "$ms" != open ] && [ "$ms" -lt 1000 ] || fail "a connection beyond 64 from 127.0.0.11 was not closed at once ($ms)"
ms2=$(python3 "$CONNS" probe "$port" 127.0.0.27)
[ "$ms2" = open ] || fail "a connection from a new address was closed ($ms2 ms) with every place taken"
lat_full=$(enroll full 127.0.0.28)
[ "$lat_full" -le "$ENROLL_MS" ] || fail "the enrollment from a new address took $lat_full ms"
touch "$WORK/full/stop"
wait "$holder" || true
if [ -n "$SANITIZED" ]; then
  note="(sanitizer build: not compared with 32 MiB)"
else
  [ "$rss1" -le 32768 ] || fail "the CA's resident size with 1024 connections is $((rss1 / 1024)) MiB"
  note="(at most 32 MiB)"
fi
pass "1024 connections held: CA RSS $((rss0 / 1024)) -> $((rss1 / 1024)) MiB $note; a 65th connection from one address closed in $ms ms; a new address served in the place of another (enrollment in $lat_full ms)"
