#!/usr/bin/env bash
# make bench, part 2: enrollment load with requests shaped exactly like real clients', beside the
# load generator's own. The real clients (bench/shape_clients.sh) are the scep package's
# scepclient (micromdm), strongSwan's `pki --scep` and certmonger: each enrolls
# BENCH_SHAPE_REQUESTS times (certmonger BENCH_CERTMONGER_REQUESTS, default 100: it takes about a
# second per request) through tests/lib/tamper_proxy.py in record mode against a CA, and its
# PKIOperation messages (whatever envelope, digest, signer certificate and attributes it chooses)
# are kept. Each measured run starts from a copy of that CA's state as it was before the
# recording (same CA key, no certificate issued), so every recorded message is a new enrollment;
# loadgen --replay sends them once each over BENCH_CONNECTIONS kept-alive connections as the client
# sent them: POST with scepclient's Content-Type, POST with pki's (application/pkcs7-mime), GET
# with certmonger's base64.
# Rows: the four shapes against evercertd with an RSA-2048 CA key, loadgen's and scepclient's with
# an RSA-4096 CA key, and scepclient's shape against the scep package's server (scepserver),
# recorded the same way against it.
#
# Each row: enrollments/s, p50/p99 ms, the CA's CPU per enrollment (/proc/PID/stat), the RSA
# share (the CA's three private operations per enrollment, timed by `openssl speed` on one core in
# the same run, over that CPU), fdatasync and WAL bytes per enrollment (the store's own counters,
# logged by evercertd when it stops, less those of a start, the warm-up and a stop: the CA's own
# commits at start). Each measured run starts its CA, warms it up with 2 of loadgen's own
# enrollments per connection (not counted), then replays; loadgen opens its connections before its
# clock starts. BENCH_RUNS (default 1) repeats each measured row. BENCH_PROFILE=1 adds where the
# CA's CPU goes, by step, from one more replay under perf (bench/cpu_steps.py).
set -euo pipefail
build=${1:-build}
root=$(cd "$(dirname "$0")/.." && pwd)
source "$root/bench/lib.sh"
source "$root/tests/lib/private_bus.sh"
source "$root/bench/shape_clients.sh"
bench_private_network "$0" "$@"
conns=${BENCH_CONNECTIONS:-8}
count=${BENCH_SHAPE_REQUESTS:-200}
cm_count=${BENCH_CERTMONGER_REQUESTS:-100}
runs=${BENCH_RUNS:-1}
warm=$((2 * conns))
loadgen="$root/$build/bench/loadgen"
evercertd="$root/$build/evercertd"
work=$(mktemp -d "${TMPDIR:-/tmp}/evercert-shapes.XXXXXX")
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null; rm -rf "$work"' EXIT

# sign_ms BITS: one RSA private operation of that size on one core, in ms.
sign_ms() {
  openssl speed -seconds 3 "rsa$1" 2>/dev/null | awk -v b="$1" '$1 == "rsa" && $2 == b {print 1000 / $6}'
}

wait_http() { # wait_http URL PID
  for _ in $(seq 1 300); do
    curl -sf -o /dev/null "$1" && return 0
    kill -0 "$2" 2>/dev/null || { echo "the server exited at start" >&2; return 1; }
    sleep 0.05
  done
  echo "no answer from $1" >&2
  return 1
}

# ca_state DIR BITS: a CA's state with a key of BITS, created by one start and stop of evercertd.
ca_state() {
  local dir=$1 bits=$2 p
  p=$(port)
  mkdir -p "$dir/state"
  chmod 700 "$dir/state"
  cat >"$dir/ca.conf" <<CONF
ip http server $p
ip http bind 127.0.0.1
clock calendar-valid
crypto key generate rsa general-keys label ROOTCA modulus $bits
crypto pki server ROOTCA
  grant auto
CONF
  start_evercertd "$dir" "$dir/state"
  stop "$started"
}

# start_evercertd DIR STATE: evercertd on DIR/ca.conf; sets started (its pid) and base (its URL
# without the path).
start_evercertd() {
  local p
  p=$(awk '/^ip http server/ {print $4}' "$1/ca.conf")
  "$evercertd" --config "$1/ca.conf" --state-dir "$2" --foreground >"$2.log" 2>&1 &
  started=$!
  pids+=("$started")
  base="http://127.0.0.1:$p"
  wait_http "$base/cgi-bin/pkiclient.exe?operation=GetCACaps" "$started"
}

stop() { kill -TERM "$1" 2>/dev/null; wait "$1" 2>/dev/null || true; }

# record CLIENT BASE PATH OUT [CAFILE [N]]: CLIENT (drive_CLIENT) enrolls N times (default
# BENCH_SHAPE_REQUESTS) at BASE/PATH through the recording proxy; its PKIOperation messages land in
# OUT/NNNNN.der.
record() {
  local client=$1 upstream=$2 path=$3 out=$4 cafile=${5:-} n=${6:-$count} p proxy
  mkdir -p "$out"
  p=$(port)
  echo record >"$out/mode"
  python3 "$root/tests/lib/tamper_proxy.py" "$p" "$upstream" "$out/mode" &
  proxy=$!
  pids+=("$proxy")
  wait_http "http://127.0.0.1:$p$path?operation=GetCACaps" "$proxy"
  "drive_$client" "http://127.0.0.1:$p$path" "$out/scratch" "$cafile" "$n"
  stop "$proxy"
  for f in "$out"/mode.*.der; do
    [ -e "$f" ] && mv "$f" "$out/$(printf '%05d' "$(basename "$f" .der | cut -d. -f2)").der"
  done
  rm -rf "$out/scratch"
  echo "   recorded $(ls "$out" | grep -c '\.der$') $client requests"
}

# measure LABEL DIR PRISTINE [loadgen args...]: one run against a copy of PRISTINE; prints JSON
# with the store's counters added.
measure() {
  local label=$1 dir=$2 pristine=$3 line out
  shift 3
  rm -rf "$dir/run"
  cp -a "$pristine" "$dir/run"
  start_evercertd "$dir" "$dir/run"
  warm_up
  out=$("$loadgen" --url "$base/cgi-bin/pkiclient.exe" --connections "$conns" --pid "$started" --label "$label" "$@" 2>/dev/null)
  stop "$started"
  line=$(grep -o 'store: .*' "$dir/run.log" | tail -1)
  python3 - "$out" "$line" "$(cat "$dir/idle")" <<'PY'
import json, re, sys
r = json.loads(sys.argv[1])
pat = (r"(\d+) certificates recorded in (\d+) group commits; (\d+) commits, (\d+) fdatasyncs, "
       r"(\d+) WAL pages \((\d+) bytes\)")
m, idle = re.search(pat, sys.argv[2] or ""), re.search(pat, sys.argv[3] or "")
if m:
    g, groups, commits, syncs, pages, wbytes = map(int, m.groups())
    # What a start, the warm-up and a stop sync and write: the CA's own commits at start are not
    # the enrollments' (the warm-up's are left out of the count as well).
    i = list(map(int, idle.groups())) if idle else [0] * 6
    r.update(grants=g, groups=groups, fdatasyncs=syncs - i[3], wal_pages=pages - i[4], wal_bytes=wbytes - i[5],
             net_grants=g - i[0], fdatasyncs_gross=syncs)
print(json.dumps(r))
PY
}

# warm_up [URL]: 2 per connection of loadgen's own enrollments against the CA just started (URL,
# by default evercertd's at base), before the measured run: a fresh process pays once for its
# first requests (code and data paged in, each connection thread's first use of OpenSSL and
# SQLite), which spread over 200 measured enrollments added about a fifth to the CA's CPU per
# enrollment and put the first requests at the top of the latencies.
warm_up() {
  "$loadgen" --url "${1:-$base/cgi-bin/pkiclient.exe}" --connections "$conns" --requests "$warm" --keys 2 >/dev/null 2>&1
}

# idle DIR PRISTINE: the store's counters of a start, the warm-up and a stop of a copy of
# PRISTINE (evercertd logs them only once it has recorded a certificate), kept in DIR/idle for
# measure to subtract.
idle() {
  rm -rf "$1/run"
  cp -a "$2" "$1/run"
  start_evercertd "$1" "$1/run"
  warm_up
  stop "$started"
  grep -o 'store: .*' "$1/run.log" | tail -1 >"$1/idle" || true
}

echo "== RSA private operations on one core (openssl speed, this run)"
ms2048=$(sign_ms 2048)
ms4096=$(sign_ms 4096)
echo "   rsa2048 $ms2048 ms, rsa4096 $ms4096 ms"

results=()
for bits in 2048 4096; do
  d="$work/ca$bits"
  mkdir -p "$d"
  ca_state "$d" "$bits"
  cp -a "$d/state" "$d/pristine"
  clients=(scepclient)
  [ "$bits" = 2048 ] && clients=(scepclient strongswan certmonger)
  for client in "${clients[@]}"; do
    echo "== evercertd, RSA-$bits CA key: recording $client's requests"
    start_evercertd "$d" "$d/state"
    n=$count
    [ "$client" = certmonger ] && n=$cm_count
    record "$client" "$base" /cgi-bin/pkiclient.exe "$d/$client" "$d/state/ROOTCA/ROOTCA.pem" "$n"
    stop "$started"
  done
  # Also the warm-up of the measured rows: the first run after the recordings was always slower.
  idle "$d" "$d/pristine"
  for r in $(seq 1 "$runs"); do
    results+=("$(measure "loadgen rsa$bits" "$d" "$d/pristine" --requests "$(ls "$d/scepclient" | grep -c '\.der$')")")
    results+=("$(measure "scepclient rsa$bits" "$d" "$d/pristine" --replay "$d/scepclient" \
                 --content-type application/octet-stream)")
    [ "$bits" = 2048 ] || continue
    results+=("$(measure "strongswan rsa$bits" "$d" "$d/pristine" --replay "$d/strongswan" \
                 --content-type application/pkcs7-mime)")
    results+=("$(measure "certmonger rsa$bits" "$d" "$d/pristine" --replay "$d/certmonger" --get)")
  done
done

# BENCH_PROFILE=1: one more replay of scepclient's RSA-2048 requests under perf with call chains,
# and where the CA's CPU goes by step and by library (bench/cpu_steps.py), its shares turned into
# ms with the CA CPU per enrollment of the last measured run of that row. With LD_LIBRARY_PATH
# naming a libcrypto built with its symbols, every sample names its function.
if [ "${BENCH_PROFILE:-0}" = 1 ]; then
  echo "== where the CA's CPU goes: scepclient's requests, RSA-2048, under perf"
  if command -v perf >/dev/null; then
    d="$work/ca2048"
    rm -rf "$d/run"
    cp -a "$d/pristine" "$d/run"
    start_evercertd "$d" "$d/run"
    warm_up
    perf record -q -F 1999 --call-graph dwarf,32768 -o "$work/perf.data" -p "$started" >/dev/null 2>&1 &
    profiler=$!
    pids+=("$profiler")
    for _ in $(seq 1 100); do [ -s "$work/perf.data" ] && break; sleep 0.05; done
    "$loadgen" --url "$base/cgi-bin/pkiclient.exe" --connections "$conns" --replay "$d/scepclient" \
      --content-type application/octet-stream >/dev/null 2>&1
    kill -INT "$profiler"
    wait "$profiler" 2>/dev/null || true
    stop "$started"
    cpu_ms=$(python3 -c 'import json, sys
rows = [json.loads(a) for a in sys.argv[1:] if json.loads(a)["label"] == "scepclient rsa2048"]
print(rows[-1]["ca_cpu_s"] * 1000 / max(rows[-1]["success"], 1))' "${results[@]}")
    perf script -i "$work/perf.data" -F comm,tid,ip,sym,dso 2>/dev/null >"$work/perf.txt"
    python3 "$root/bench/cpu_steps.py" --cpu-ms "$cpu_ms" <"$work/perf.txt"
    echo "   the same samples by library"
    python3 "$root/bench/cpu_steps.py" --cpu-ms "$cpu_ms" --libraries <"$work/perf.txt"
  else
    echo "   perf is not installed (Debian: linux-perf): no profile"
  fi
fi

echo "== scepserver (the scep package), RSA-2048: scepclient's requests recorded against it"
d="$work/peer"
mkdir -p "$d"
(cd "$d" && scepserver ca -init -depot depot -keySize 2048 >/dev/null 2>&1)
p=$(port)
scepserver -depot "$d/depot" -port "$p" >"$d/peer.log" 2>&1 &
peer=$!
pids+=("$peer")
wait_http "http://127.0.0.1:$p/scep?operation=GetCACaps" "$peer"
# scepserver keeps its depot in files: the recording's certificates are removed before the runs.
cp -a "$d/depot" "$d/depot.pristine"
record scepclient "http://127.0.0.1:$p" /scep "$d/scepclient"
stop "$peer"
for r in $(seq 1 "$runs"); do
  rm -rf "$d/depot"
  cp -a "$d/depot.pristine" "$d/depot"
  scepserver -depot "$d/depot" -port "$p" >"$d/peer.log" 2>&1 &
  peer=$!
  pids+=("$peer")
  wait_http "http://127.0.0.1:$p/scep?operation=GetCACaps" "$peer"
  warm_up "http://127.0.0.1:$p/scep"
  results+=("$("$loadgen" --url "http://127.0.0.1:$p/scep" --connections "$conns" --pid "$peer" \
               --label "scepserver, scepclient" --replay "$d/scepclient" \
               --content-type application/octet-stream 2>/dev/null)")
  stop "$peer"
done

python3 - "$ms2048" "$ms4096" "${results[@]}" <<'PY'
import json, sys
ms = {"2048": float(sys.argv[1]), "4096": float(sys.argv[2])}
rows = [json.loads(a) for a in sys.argv[3:]]
print("   %-24s %8s %7s %7s %7s %9s %6s %9s %9s" % ("shape", "enroll/s", "p50 ms", "p99 ms", "p99/p50",
                                                 "CPU ms/e", "RSA %", "fsync/e", "WAL B/e"))
for r in rows:
    n = r["success"] or 1
    cpu = r["ca_cpu_s"] * 1000 / n
    bits = "4096" if "4096" in r["label"] else "2048"
    rsa = 100 * 3 * ms[bits] / cpu if cpu > 0 and "scepserver" not in r["label"] else float("nan")
    net = r.get("net_grants") or n
    fs = r["fdatasyncs"] / net if "fdatasyncs" in r else float("nan")
    wb = r["wal_bytes"] / net if "wal_bytes" in r else float("nan")
    print("   %-24s %8.1f %7.1f %7.1f %7.2f %9.2f %6.0f %9.2f %9.0f" % (r["label"], r["enroll_per_s"],
          r["p50_ms"], r["p99_ms"], r["p99_ms"] / (r["p50_ms"] or 1), cpu, rsa, fs, wb))
    if r["success"] != r["requests"]:
        print("   ^ %d of %d enrolled (pending %d, failure %d, HTTP errors %d, bad replies %d)" % (
              r["success"], r["requests"], r["pending"], r["failure"], r["http_errors"], r["bad_replies"]))
ours = [r for r in rows if r["label"] == "scepclient rsa2048"]
peer = [r for r in rows if r["label"].startswith("scepserver")]
for i, (o, p) in enumerate(zip(ours, peer)):
    if p["enroll_per_s"]:
        print("   run %d: evercert / scepserver, scepclient's requests = %.2f" % (i + 1, o["enroll_per_s"] / p["enroll_per_s"]))
PY
