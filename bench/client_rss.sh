#!/usr/bin/env bash
# The client daemon's idle memory: a client-only evercertd with one trustpoint that authenticates
# from the CA's fingerprint and enrolls by itself against a loopback CA (grant auto); once its
# certificate is installed and it has idled for a few seconds, its resident memory is read from
# /proc: RSS, its anonymous (private heap) and file-backed (shared library pages) parts, PSS,
# and the libraries that weigh most. Prints one JSON line last.
set -euo pipefail
build=${1:-build}
root=$(cd "$(dirname "$0")/.." && pwd)
source "$root/bench/lib.sh"
bench_private_network "$0" "$@"
work=$(mktemp -d "${TMPDIR:-/tmp}/evercert-client-rss.XXXXXX")
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$work"' EXIT

p=$(port)
mkdir -p "$work/ca" "$work/cl" "$work/out"
cat >"$work/ca.conf" <<CONF
ip http server $p
ip http bind 127.0.0.1
clock calendar-valid
crypto pki server ROOTCA
  grant auto
CONF
"$root/$build/evercertd" --config "$work/ca.conf" --state-dir "$work/ca" --foreground >"$work/ca.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do curl -sf -o /dev/null "http://127.0.0.1:$p/?operation=GetCACaps" && break; sleep 0.1; done
fp=$(openssl x509 -in "$work/ca/ROOTCA/ROOTCA.pem" -noout -fingerprint -sha256 | cut -d= -f2)
cat >"$work/cl.conf" <<CONF
hostname spoke-1
clock calendar-valid
crypto pki trustpoint ROOT
  enrollment url http://127.0.0.1:$p
  fingerprint $fp
  subject-name CN=spoke-1.example
  auto-enroll 80
  output certificate $work/out/spoke.pem
CONF
"$root/$build/evercertd" --config "$work/cl.conf" --state-dir "$work/cl" --foreground >"$work/cl.log" 2>&1 &
pids+=($!); cl_pid=$!
for _ in $(seq 1 300); do [ -s "$work/out/spoke.pem" ] && break; sleep 0.1; done
[ -s "$work/out/spoke.pem" ] || { echo "client-rss: the client did not enroll" >&2; cat "$work/cl.log" >&2; exit 1; }
sleep "${CLIENT_IDLE_SECONDS:-5}"

kb() { awk -v k="$1:" '$1 == k {print $2}' "/proc/$cl_pid/$2"; }
rss=$(kb VmRSS status); anon=$(kb RssAnon status); file=$(kb RssFile status); pss=$(kb Pss smaps_rollup)
echo "== client-only evercertd, one trustpoint, enrolled and idle"
echo "   RSS $rss KiB: anonymous $anon KiB, file-backed $file KiB; PSS $pss KiB"
echo "   heaviest mappings (RSS KiB):"
awk '/^[0-9a-f]+-[0-9a-f]+ / {name = ($6 == "" ? "[anon]" : $6)} /^Rss:/ {rss[name] += $2}
     END {for (n in rss) printf "%8d %s\n", rss[n], n}' "/proc/$cl_pid/smaps" | sort -rn | head -8 |
  sed 's/^/   /'
printf '{"client_rss_kb":%s,"client_anon_kb":%s,"client_file_kb":%s,"client_pss_kb":%s}\n' \
  "$rss" "$anon" "$file" "$pss"
