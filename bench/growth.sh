#!/usr/bin/env bash
# make bench-growth (or BENCH_GROWTH=1 make bench): how the CA's costs grow with its store.
# (1) Enrollment throughput with 0, 100000 and 1000000 certificates already stored: a fresh CA
#     (SQLite, grant auto) is started once, stopped, filled with fake certificate rows by the
#     sqlite3 CLI in one transaction, restarted, and loaded by bench/loadgen.
# (2) CRL cost: with 0, 10000 and 100000 revoked certificates stored, the time of
#     `evercert server ROOTCA revoke SERIAL` (which reissues the CRL) and the CRL's size.
# Each size is loaded BENCH_GROWTH_ROUNDS (5) times, rounds interleaved (this machine's speed
# drifts by 20% over a minute); the ratio is the median of each round's ratio to the empty store.
# Runs in a private network namespace, like bench/run.sh.
set -euo pipefail
build=${1:-build}
root=$(cd "$(dirname "$0")/.." && pwd)
source "$root/bench/lib.sh"
bench_private_network "$0" "$@"
conns=${BENCH_CONNECTIONS:-8}
requests=${BENCH_REQUESTS:-400}
sizes=${BENCH_GROWTH_SIZES:-"0 100000 1000000"}
revoked_sizes=${BENCH_GROWTH_REVOKED:-"0 10000 100000"}
rounds=${BENCH_GROWTH_ROUNDS:-5}
loadgen="$root/$build/bench/loadgen"
evercertd="$root/$build/evercertd"
evercert="$root/$build/evercert"
command -v sqlite3 >/dev/null || { echo "growth.sh: needs the sqlite3 CLI" >&2; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/evercert-growth.XXXXXX")
ca_pid=
trap '[ -n "$ca_pid" ] && kill "$ca_pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
now_ns() { date +%s%N; }
ms_since() { echo $((($(now_ns) - $1) / 1000000)); }

# start DIR PORT: run evercertd on DIR until it answers GetCACaps; sets ca_pid and ready_ms.
start() {
  local dir=$1 p=$2 t0
  cat >"$dir.conf" <<CONF
ip http server $p
ip http bind 127.0.0.1
clock calendar-valid
crypto pki server ROOTCA
  grant auto
CONF
  t0=$(now_ns)
  "$evercertd" --config "$dir.conf" --state-dir "$dir" --foreground >>"$dir.log" 2>&1 &
  ca_pid=$!
  for _ in $(seq 1 600); do
    curl -sf -o /dev/null "http://127.0.0.1:$p/?operation=GetCACaps" && { ready_ms=$(ms_since "$t0"); return 0; }
    kill -0 "$ca_pid" 2>/dev/null || break
    sleep 0.05
  done
  echo "growth.sh: evercertd on $dir did not start; its log:" >&2
  cat "$dir.log" >&2
  exit 1
}
stop() { kill "$ca_pid"; wait "$ca_pid" 2>/dev/null || true; ca_pid=; }

# fill DB N STATUS: N fake certificates of the CA (issuer serial 1) above the serial counter, in
# one transaction; the counter moves past them so that real issuance continues after.
fill() {
  local db=$1 n=$2 status=$3
  [ "$n" -gt 0 ] || return 0
  sqlite3 "$db" <<SQL >/dev/null
PRAGMA busy_timeout = 5000;
BEGIN IMMEDIATE;
CREATE TEMP TABLE base AS SELECT last AS b, CAST(strftime('%s','now') AS INTEGER) * 1000 AS t
  FROM serial_counter WHERE id = 1;
WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < $n)
INSERT INTO certs (serial, serial_num, issuer_serial, subject, not_before, not_after, status,
                   revoked_at, der)
SELECT printf('%X', b + i), b + i, '1', 'CN=fake-' || i, t - 86400000, t + 31536000000,
       $status, CASE WHEN $status = 1 THEN t - 3600000 ELSE 0 END, NULL
FROM seq, base;
UPDATE serial_counter SET last = last + $n WHERE id = 1;
COMMIT;
SQL
}

ca_db() { echo "$1/ROOTCA/ROOTCA.db"; }
url() { echo "http://127.0.0.1:$1/cgi-bin/pkiclient.exe"; }

echo "== enrollment throughput against stored certificates ($conns connections, $requests enrollments, $rounds rounds)"
declare -A fill_ms port_of
for n in $sizes; do
  dir="$work/s$n"; mkdir -p "$dir"; p=$(port); port_of[$n]=$p
  start "$dir" "$p"; stop
  t0=$(now_ns); fill "$(ca_db "$dir")" "$n" 0; fill_ms[$n]=$(ms_since "$t0")
done
sync # the fills' dirty pages must not be written back under the timed fsyncs
results=()
# Rounds go over every size in turn, so that drift of the machine spreads over all of them.
for round in $(seq 1 "$rounds"); do
  for n in $sizes; do
    dir="$work/s$n"
    start "$dir" "${port_of[$n]}"
    out=$("$loadgen" --url "$(url "${port_of[$n]}")" --connections "$conns" --requests "$requests" \
          --pid "$ca_pid" --label "stored-$n" 2>/dev/null)
    stop
    echo "   round $round, $n stored: fill ${fill_ms[$n]} ms, restart ${ready_ms} ms, $out"
    results+=("$n ${fill_ms[$n]} $ready_ms $out")
  done
done
for n in $sizes; do rm -rf "$work/s$n" "$work/s$n.conf" "$work/s$n.log"; done

echo "== CRL reissue on revocation against stored revoked certificates"
crl=()
for r in $revoked_sizes; do
  dir="$work/r$r"; mkdir -p "$dir"; p=$(port)
  start "$dir" "$p"
  "$loadgen" --url "$(url "$p")" --connections 1 --requests 2 --pid "$ca_pid" --label seed >/dev/null 2>&1
  stop
  serial=$(sqlite3 "$(ca_db "$dir")" "SELECT serial FROM certs WHERE status = 0 ORDER BY serial_num LIMIT 1")
  [ -n "$serial" ] || { echo "growth.sh: no certificate was issued to revoke" >&2; exit 1; }
  fill "$(ca_db "$dir")" "$r" 1
  sync
  start "$dir" "$p"
  t0=$(now_ns)
  "$evercert" --state-dir "$dir" server ROOTCA revoke "$serial" >/dev/null
  revoke_ms=$(ms_since "$t0")
  size=$(stat -c %s "$dir/ROOTCA/ROOTCA.crl")
  # the CRL must hold every revoked certificate, the real one included
  listed=$(openssl crl -inform DER -in "$dir/ROOTCA/ROOTCA.crl" -noout -text | grep -c 'Serial Number:' || true)
  stop
  echo "   $r revoked: revoke + CRL reissue ${revoke_ms} ms, CRL $size bytes, $listed entries"
  crl+=("$r $revoke_ms $size $listed")
  rm -rf "$dir" "$dir.conf" "$dir.log"
done

python3 - "${results[@]}" -- "${crl[@]}" <<'PY'
import json, sys
args = sys.argv[1:]
cut = args.index("--")
rows, crl = args[:cut], args[cut + 1:]
by = {}
for r in rows:
    n, fill, ready, js = r.split(" ", 3)
    by.setdefault(int(n), []).append((json.loads(js), int(fill), int(ready)))
def median(xs):
    xs = sorted(xs)
    return xs[len(xs) // 2] if len(xs) % 2 else (xs[len(xs) // 2 - 1] + xs[len(xs) // 2]) / 2
print("\n   %-14s %14s %8s %22s %10s %7s %11s %9s" % ("stored certs", "enrollments/s", "ratio",
      "(each round)", "p99 ms", "errors", "restart ms", "fill ms"))
first = min(by)
for n in sorted(by):
    runs = by[n]
    eps = median([d["enroll_per_s"] for d, _, _ in runs])
    ratio = median([d["enroll_per_s"] / b["enroll_per_s"] for (d, _, _), (b, _, _) in zip(runs, by[first])
                    if b["enroll_per_s"]])
    errs = sum(d["failure"] + d["http_errors"] + d["bad_replies"] + d["duplicate_serials"]
               + d["requests"] - d["success"] for d, _, _ in runs)
    print("   %-14d %14.1f %8.2f %22s %10.1f %7d %11d %9d" %
          (n, eps, ratio, " ".join("%.0f" % d["enroll_per_s"] for d, _, _ in runs),
           median([d["p99_ms"] for d, _, _ in runs]), errs, median([r for _, _, r in runs]), runs[0][1]))
print("   (enrollments/s, p99: median of the rounds; ratio: median over the rounds of the ratio to the")
print("   first size in the same round)")
print("\n   %-14s %16s %14s %12s" % ("revoked certs", "revoke+CRL ms", "CRL bytes", "CRL entries"))
for c in crl:
    r, ms, size, listed = c.split()
    print("   %-14s %16s %14s %12s" % (r, ms, size, listed))
PY
