#!/usr/bin/env bash
# The demo: from nothing, one CA and three clients (auto-enroll 80% with regenerate, 80%, and 60%
# which asks early) as separate evercertd processes on loopback, moved together through two CA
# rollovers in simulated time. Prints a timeline of every renewal and switch, then the verdict.
set -euo pipefail
export no_proxy="*" NO_PROXY="*" # everything here is on loopback
build=${1:-build}
root=$(cd "$(dirname "$0")/.." && pwd)
export EVERCERTD="$root/$build/evercertd" EVERCERT="$root/$build/evercert"
work=$(mktemp -d "${TMPDIR:-/tmp}/evercert-demo.XXXXXX")
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$work"' EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
start=2015-10-09T13:14:16Z

launch() { # launch NAME CONFIG
  mkdir -p "$work/$1"
  printf '%s\n' "$2" >"$work/$1.conf"
  "$EVERCERTD" --config "$work/$1.conf" --state-dir "$work/$1" --foreground >"$work/$1.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 100); do "$EVERCERT" --state-dir "$work/$1" ping >/dev/null 2>&1 && return; sleep 0.1; done
  cat "$work/$1.log"; exit 1
}

echo "== One root CA: certificates of 365 days, CA certificates of 730 days, auto-rollover 90 days"
launch ca "ip http server $port
ip http bind 127.0.0.1
clock simulate start $start rate 0
crypto pki server ROOTCA
  issuer-name CN=RootCA,OU=TAC,O=Cisco
  grant auto
  lifetime certificate 365
  lifetime ca-certificate 730
  lifetime crl 720
  auto-rollover 90"
fp=$(openssl x509 -in "$work/ca/ROOTCA/ROOTCA.pem" -noout -fingerprint -sha256 | cut -d= -f2)
for spec in "vpn-1 80 regenerate" "web-1 80" "iot-1 60"; do
  set -- $spec
  mkdir -p "$work/out/$1"
  echo "== Client $1: auto-enroll $2 ${3:-}"
  launch "$1" "hostname $1
clock simulate start $start rate 0
crypto pki trustpoint ROOT
  enrollment url http://127.0.0.1:$port
  fingerprint $fp
  subject-name CN=$1.example
  auto-enroll $2 ${3:-}
  output certificate $work/out/$1/cert.pem
  output chain $work/out/$1/ca.pem"
done
echo
echo "== evercert check: is every client's SHADOW after the CA's rollover?"
{ grep -v '^clock\|^hostname\|^ip http' "$work/ca.conf"
  for spec in "vpn-1 80" "web-1 80" "iot-1 60"; do
    set -- $spec
    printf 'crypto pki trustpoint %s\n  enrollment url http://127.0.0.1:%s\n  auto-enroll %s\n' "$1" "$port" "$2"
  done; } >"$work/all.conf"
"$EVERCERT" check --config "$work/all.conf" || true
echo
echo "== Five and a half simulated years (each line is a timer that fired)"
WORK="$work" python3 - "$root/tests/lib" <<'PY'
import os, re, sys
sys.path.insert(0, sys.argv[1])
from fleet import Daemon, Fleet, DAY, iso, verify_at

work, cli = os.environ["WORK"], os.environ["EVERCERT"]
names = ["vpn-1", "web-1", "iot-1"]
ca = Daemon(cli, "ca", f"{work}/ca", f"{work}/ca.log")
clients = [Daemon(cli, n, f"{work}/{n}", f"{work}/{n}.log") for n in names]
fleet = Fleet([ca] + clients)
t0 = fleet.now()
seen = {d.name: 0 for d in fleet.daemons}
lapses = []
interesting = re.compile(r"(generation \d+ created|is now active|shadow generation timer|installed|"
                         r"rollover CA certificate stored|rollover certificate \S+ ready|switched|"
                         r"no rollover CA certificate yet|RENEW: sending|SHADOW: sending)")

def step(now):
    for d in fleet.daemons:
        lines = d.log().splitlines()
        for line in lines[seen[d.name]:]:
            if interesting.search(line):
                text = line.split("evercertd: ", 1)[-1]
                print(f"  {line[:10]} (day {((now - t0) // DAY):4d})  {d.name:6s} {text}")
        seen[d.name] = len(lines)
    for n in names:
        ok, msg = verify_at(f"{work}/out/{n}/cert.pem", f"{work}/out/{n}/ca.pem", now)
        if not ok:
            lapses.append(f"{iso(now)} {n}: {msg}")

step(t0)
fleet.run_until(t0 + 2000 * DAY, step)
print()
print(ca.call("show", "crypto", "pki", "server"))
if lapses:
    print("VERDICT: lapse!")
    for l in lapses:
        print("  " + l)
    sys.exit(1)
print("VERDICT: no lapse — every client held a valid certificate chained to a valid CA at every timer instant")
PY
