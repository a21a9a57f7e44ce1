#!/usr/bin/env bash
# make bench: in one run on this machine, (1) the RSA-2048 private-operation rate through OpenSSL
# and the bound it sets (rate / 3 per core x cores: each granted PKCSReq costs the CA at least
# three private operations), (2) evercertd (SQLite, grant auto) and (3) the scep package's server
# under the same load generator, same key size, and (4) the idle memory of a client-only
# evercertd (bench/client_rss.sh). Prints the two ratios evercert / peer and evercert / bound.
# Runs in a private network namespace: the peer binds every interface.
# bench/cluster.sh then runs the same load on PostgreSQL (one node, three behind HAProxy);
# BENCH_PG=0 leaves it out.
# bench/shapes.sh then replays requests recorded from scepclient (BENCH_SHAPES=0 leaves it out).
# BENCH_GROWTH=1 adds bench/growth.sh: throughput against 10^5 and 10^6 stored certificates and
# the cost of reissuing a CRL of 10^4 and 10^5 entries.
set -euo pipefail
build=${1:-build}
root=$(cd "$(dirname "$0")/.." && pwd)
source "$root/bench/lib.sh"
bench_private_network "$0" "$@"
conns=${BENCH_CONNECTIONS:-8}
requests=${BENCH_REQUESTS:-1000}
loadgen="$root/$build/bench/loadgen"
work=$(mktemp -d "${TMPDIR:-/tmp}/evercert-bench.XXXXXX")
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null; rm -rf "$work"' EXIT

echo "== RSA-2048 private operations on this machine ($(nproc) cores)"
sign=$(openssl speed -seconds 3 rsa2048 2>/dev/null | awk '/^rsa 2048 bits/ {print $6}')
cores=$(nproc)
bound=$(python3 -c "print(round($sign / 3 * $cores, 1))")
echo "   $sign sign/s per core -> bound $bound enrollments/s"

echo "== evercertd: grant auto, SQLite, $conns connections, $requests enrollments"
p1=$(port)
mkdir -p "$work/ca"
cat >"$work/ca.conf" <<CONF
ip http server $p1
ip http bind 127.0.0.1
clock calendar-valid
crypto pki server ROOTCA
  grant auto
CONF
"$root/$build/evercertd" --config "$work/ca.conf" --state-dir "$work/ca" --foreground >"$work/ca.log" 2>&1 &
pids+=($!); ca_pid=$!
for _ in $(seq 1 100); do curl -sf -o /dev/null "http://127.0.0.1:$p1/?operation=GetCACaps" && break; sleep 0.1; done
ours=$("$loadgen" --url "http://127.0.0.1:$p1/cgi-bin/pkiclient.exe" --connections "$conns" --requests "$requests" \
       --pid "$ca_pid" --label evercert)
echo "   $ours"
# The store's counters, logged when the CA stops: syncs and WAL writes per enrollment.
kill -TERM "$ca_pid"
wait "$ca_pid" 2>/dev/null || true
python3 - "$(grep -o 'store: .*' "$work/ca.log" | tail -1)" "$ours" <<'PY'
import json, re, sys
m = re.search(r"(\d+) certificates recorded in (\d+) group commits; (\d+) commits, (\d+) fdatasyncs, "
              r"(\d+) WAL pages \((\d+) bytes\)", sys.argv[1])
n = json.loads(sys.argv[2])["success"] or 1
if m:
    g, groups, commits, syncs, pages, wbytes = map(int, m.groups())
    print("   store: %.2f fdatasync, %.1f WAL pages (%.0f bytes) per enrollment; %.1f certificates per group commit"
          % (syncs / n, pages / n, wbytes / n, g / max(groups, 1)))
PY

echo "== scepserver (the scep package): same load"
p2=$(port)
(cd "$work" && scepserver ca -init -depot depot -keySize 2048 >/dev/null 2>&1)
scepserver -depot "$work/depot" -port "$p2" >"$work/peer.log" 2>&1 &
pids+=($!); peer_pid=$!
for _ in $(seq 1 100); do curl -sf -o /dev/null "http://127.0.0.1:$p2/scep?operation=GetCACaps" && break; sleep 0.1; done
peer=$("$loadgen" --url "http://127.0.0.1:$p2/scep" --connections "$conns" --requests "$requests" \
       --pid "$peer_pid" --label scepserver)
echo "   $peer"

python3 - "$ours" "$peer" "$bound" <<'PY'
import json, sys
ours, peer, bound = json.loads(sys.argv[1]), json.loads(sys.argv[2]), float(sys.argv[3])
rows = [("", "evercert", "scepserver")]
for key, name in [("enroll_per_s", "enrollments/s"), ("p50_ms", "p50 ms"), ("p95_ms", "p95 ms"),
                  ("p99_ms", "p99 ms"), ("success", "successful"), ("failure", "FAILURE replies"),
                  ("http_errors", "HTTP errors"), ("bad_replies", "bad replies"),
                  ("duplicate_serials", "duplicate serials"), ("ca_cpu_s", "CA CPU s"),
                  ("ca_peak_rss_kb", "CA peak RSS KiB")]:
    rows.append((name, str(ours[key]), str(peer[key])))
for r in rows:
    print("   %-20s %12s %12s" % r)
r1 = ours["enroll_per_s"] / peer["enroll_per_s"] if peer["enroll_per_s"] else float("inf")
r2 = ours["enroll_per_s"] / bound
print("   evercert / scepserver = %.2f   evercert / RSA bound (%.1f/s) = %.2f   p99/p50 = %.2f"
      % (r1, bound, r2, ours["p99_ms"] / ours["p50_ms"] if ours["p50_ms"] else 0))
PY

# The same load on PostgreSQL, one node and three behind HAProxy, beside the SQLite figures.
if [ "${BENCH_PG:-1}" = 1 ]; then
  bash "$root/bench/cluster.sh" "$build" "$ours"
fi

# Requests shaped like a real client's (scepclient's, recorded), beside loadgen's, with RSA-2048
# and RSA-4096 CA keys and against scepserver; BENCH_SHAPES=0 leaves it out.
if [ "${BENCH_SHAPES:-1}" = 1 ]; then
  bash "$root/bench/shapes.sh" "$build"
fi

# Already inside the private network namespace: client_rss.sh runs in it as it is.
EVERCERT_IN_NETNS=1 bash "$root/bench/client_rss.sh" "$build" | grep -v '^{'

if [ "${BENCH_GROWTH:-0}" = 1 ]; then
  bash "$root/bench/growth.sh" "$build"
fi
