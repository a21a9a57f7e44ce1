#!/usr/bin/env bash
# Memory soak: evercertd (SQLite, grant auto) under the load generator for SOAK_SECONDS (600) in
# batches of SOAK_BATCH (4000) enrollments over 8 connections, its resident memory sampled every
# 5 s. Memory must be flat: the resident size at the end within 10% (+1 MiB) of the size after
# the first batch, when caches are warm. Prints the samples' summary and exits non-zero when
# memory grew or any enrollment failed. Runs in a private network namespace like bench/run.sh.
set -euo pipefail
build=${1:-build}
root=$(cd "$(dirname "$0")/.." && pwd)
source "$root/bench/lib.sh"
bench_private_network "$0" "$@"
seconds=${SOAK_SECONDS:-600}
batch=${SOAK_BATCH:-4000}
conns=${BENCH_CONNECTIONS:-8}
loadgen="$root/$build/bench/loadgen"
work=$(mktemp -d "${TMPDIR:-/tmp}/evercert-soak.XXXXXX")
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$work"' EXIT
port=$(port)
mkdir -p "$work/ca"
cat >"$work/ca.conf" <<CONF
ip http server $port
ip http bind 127.0.0.1
clock calendar-valid
crypto pki server ROOTCA
  grant auto
CONF
"$root/$build/evercertd" --config "$work/ca.conf" --state-dir "$work/ca" --foreground >"$work/ca.log" 2>&1 &
ca_pid=$!
pids+=("$ca_pid")
for _ in $(seq 1 100); do curl -sf -o /dev/null "http://127.0.0.1:$port/?operation=GetCACaps" && break; sleep 0.1; done
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$ca_pid/status"; }
(while kill -0 "$ca_pid" 2>/dev/null; do echo "$(date +%s) $(rss_kb)"; sleep 5; done) >"$work/rss" 2>/dev/null &
pids+=($!)

echo "== soak: evercertd, grant auto, $conns connections, batches of $batch enrollments for ${seconds}s"
t_end=$(($(date +%s) + seconds))
n=0 total=0 errors=0 warm=
while [ "$(date +%s)" -lt "$t_end" ]; do
  n=$((n + 1))
  out=$("$loadgen" --url "http://127.0.0.1:$port/cgi-bin/pkiclient.exe" --connections "$conns" \
        --requests "$batch" --pid "$ca_pid" --label "soak-$n" 2>/dev/null)
  read -r ok bad eps < <(python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print(d["success"],
    d["requests"] - d["success"] + d["duplicate_serials"], d["enroll_per_s"])' "$out")
  total=$((total + ok)); errors=$((errors + bad))
  rss=$(rss_kb)
  [ -n "$warm" ] || warm=$rss
  echo "   batch $n: $ok enrollments at $eps/s, $bad errors, RSS $((rss / 1024)) MiB"
done
final=$(rss_kb)
peak=$(awk '{ if ($2 > m) m = $2 } END { print m }' "$work/rss")
samples=$(wc -l <"$work/rss")
stored=$(sqlite3 "$work/ca/ROOTCA/ROOTCA.db" "SELECT count(*) FROM certs;" 2>/dev/null || echo "?")
limit=$((warm * 110 / 100 + 1024))
echo
echo "   $total enrollments in $n batches ($stored certificates stored), $errors errors"
echo "   RSS after the first batch $((warm / 1024)).$(((warm % 1024) * 10 / 1024)) MiB," \
     "peak $((peak / 1024)).$(((peak % 1024) * 10 / 1024)) MiB," \
     "final $((final / 1024)).$(((final % 1024) * 10 / 1024)) MiB ($samples samples)"
status=0
if [ "$final" -gt "$limit" ]; then
  echo "   memory grew: final RSS above 110% of the warm RSS + 1 MiB"; status=1
else
  echo "   memory flat: final RSS within 110% of the warm RSS + 1 MiB"
fi
[ "$errors" -eq 0 ] || { echo "   enrollments failed under the soak"; status=1; }
exit $status
