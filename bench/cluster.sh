#!/usr/bin/env bash
# The PostgreSQL rows of `make bench`: the load generator of bench/run.sh against one evercertd on
# PostgreSQL, then against three nodes of one CA behind HAProxy (GET /health checks), beside the
# SQLite figures run.sh measured (its JSON line, the second argument). PostgreSQL runs from a
# scratch directory with fsync on (tests/lib/pg.sh turns it off for the tests): like SQLite's
# synchronous=FULL, every issued certificate is durable before its reply. Besides the load
# generator's own duplicate-serial count, the store is asked for serials stored twice.
# Usage: bench/cluster.sh BUILD_DIR SQLITE_JSON; run inside run.sh's private network namespace.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
export EVERCERT_BUILD="$root/${1:-build}" EVERCERT_SRC="$root" EVERCERT_IN_NETNS=1
sqlite_json=${2:-}
source "$root/tests/lib/common.sh"
source "$root/tests/lib/cluster.sh"
conns=${BENCH_CONNECTIONS:-8}
requests=${BENCH_REQUESTS:-1000}
loadgen="$EVERCERT_BUILD/bench/loadgen"

pg_start
pg_sql postgres "ALTER SYSTEM SET fsync = on" >/dev/null
pg_restart

# run_load LABEL DB URL PID: the load generator's JSON line, with the store's duplicate serials.
run_load() {
  local out dups
  out=$("$loadgen" --url "$3" --connections "$conns" --requests "$requests" --pid "$4" --label "$1")
  dups=$(pg_sql "$2" "SELECT count(*) - count(DISTINCT serial_num) FROM certs")
  python3 -c 'import json, sys; d = json.loads(sys.argv[1]); d["stored_duplicates"] = int(sys.argv[2]); print(json.dumps(d))' \
    "$out" "$dups"
}

echo "== evercertd on PostgreSQL: one node, then three behind HAProxy ($conns connections, $requests enrollments each)"
url=$(pg_createdb one)
start_ca one "clock calendar-valid
$(cluster_ca_config "$url" "  grant auto")"
one=$(run_load postgresql-1 one "http://127.0.0.1:$port/cgi-bin/pkiclient.exe" "$PID_one")
stop_daemon one

url=$(pg_createdb three)
cluster_start 3 "clock calendar-valid
$(cluster_ca_config "$url" "  grant auto")"
haproxy_start "${NODE_PORTS[@]}"
three=$(run_load postgresql-3 three "$HAPROXY_URL" "$(node_pid node1)")

python3 - "$sqlite_json" "$one" "$three" <<'PY'
import json, sys
cols = [json.loads(a) if a else None for a in sys.argv[1:4]]
heads = ["SQLite, 1 node", "PostgreSQL, 1", "PG, 3 + HAProxy"]
print("   %-22s" % "" + "".join("%17s" % h for h, c in zip(heads, cols) if c))
for key, name in [("enroll_per_s", "enrollments/s"), ("p50_ms", "p50 ms"), ("p95_ms", "p95 ms"),
                  ("p99_ms", "p99 ms"), ("success", "successful"), ("failure", "FAILURE replies"),
                  ("http_errors", "HTTP errors"), ("bad_replies", "bad replies"),
                  ("duplicate_serials", "duplicate serials"), ("stored_duplicates", "stored duplicates"),
                  ("ca_cpu_s", "CA CPU s (node1)"), ("ca_peak_rss_kb", "CA peak RSS KiB")]:
    print("   %-22s" % name + "".join("%17s" % c.get(key, "-") for c in cols if c))
PY
