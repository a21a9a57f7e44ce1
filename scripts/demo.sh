#!/usr/bin/env bash
# The demo: from nothing, one CA and three clients (auto-enroll 80% with regenerate, 80%, and 60%
# which asks early) as separate evercertd processes on loopback, moved together through two CA
# rollovers in simulated time, and a fourth host (lap-1) switched off before its SHADOW renewal
# and on again five days after the CA switched, which must come back by itself. Prints every
# renewal and switch as it happens, the CA's timeline (also written as an HTML page, whose path it
# prints), a summary per client, then the verdict. Escape codes only on a terminal.
set -euo pipefail
export no_proxy="*" NO_PROXY="*" # everything here is on loopback
build=${1:-build}
root=$(cd "$(dirname "$0")/.." && pwd)
export EVERCERTD="$root/$build/evercertd" EVERCERT="$root/$build/evercert"
work=$(mktemp -d "${TMPDIR:-/tmp}/evercert-demo.XXXXXX")
pids=()
# At exit every daemon goes, lap-1's second life too: it was started by the Python part, so its pid
# is only in its lock file.
stop_all() {
  for lock in "$work"/*/evercertd.lock; do
    p=$(cat "$lock" 2>/dev/null) || continue
    grep -qa evercertd "/proc/$p/cmdline" 2>/dev/null && pids+=("$p")
  done
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do for _ in $(seq 1 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done; done
  rm -rf "$work"
}
trap stop_all EXIT
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
for spec in "vpn-1 80 regenerate" "web-1 80" "iot-1 60" "lap-1 80"; do
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
echo "== evercert check: is every client's SHADOW after the CA's rollover (E-90d)?"
{ grep -v '^clock\|^hostname\|^ip http' "$work/ca.conf"
  for spec in "vpn-1 80" "web-1 80" "iot-1 60" "lap-1 80"; do
    set -- $spec
    printf 'crypto pki trustpoint %s\n  enrollment url http://127.0.0.1:%s\n  auto-enroll %s\n' "$1" "$port" "$2"
  done; } >"$work/all.conf"
# One row per client instead of a timeline each: the timelines differ only in the client's line.
"$EVERCERT" check --config "$work/all.conf" | awk '
  /^Certificate server .* with trustpoint/ { client = $6; pct = $8; sub(/^\(/, "", pct); sub(/\)$/, "", pct) }
  /earliest client SHADOW/ { earliest = $1 }
  /rule \(1 - P\)/ { verdict = ($0 ~ /UNSAFE/) ? "UNSAFE: asks before the successor exists (503, then retries)" : "safe"
                      printf "  %-6s auto-enroll %-4s earliest SHADOW at %-9s %s\n", client, pct, earliest, verdict }
  /^(safe|UNSAFE):/ { print "  " $0 }' || true
echo
echo "== Five and a half simulated years (each line is a timer that fired)"
html="$root/$build/demo-timeline.html"
WORK="$work" TIMELINE_HTML="$html" python3 - "$root/tests/lib" <<'PY'
import os, re, shutil, sys, time
sys.path.insert(0, sys.argv[1])
from fleet import Daemon, Fleet, DAY, iso, verify_at, cert_dates, start, stop

work, cli = os.environ["WORK"], os.environ["EVERCERT"]
names = ["vpn-1", "web-1", "iot-1", "lap-1"]
ca = Daemon(cli, "ca", f"{work}/ca", f"{work}/ca.log")
clients = [Daemon(cli, n, f"{work}/{n}", f"{work}/{n}.log") for n in names]
lap = clients[3]
fleet = Fleet([ca] + clients)
t0 = fleet.now()
seen = {d.name: 0 for d in fleet.daemons}
online = list(names)
lapses = []
interesting = re.compile(r"(generation \d+ created|is now active|shadow generation timer|installed|"
                         r"rollover CA certificate stored|rollover certificate \S+ ready|switched|"
                         r"no rollover CA certificate yet|RENEW: sending|SHADOW: sending|"
                         r"CA's certificate changed|re-authenticat)")

MONTHS = {m: i + 1 for i, m in enumerate("Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split())}

def plain(text):
    """One date format (YYYY-MM-DD HH:MM:SS), serials named as such, no transaction ids."""
    text = re.sub(r"(\d\d:\d\d:\d\d)(?:\.\d+)? UTC (\w{3}) (\d{1,2}) (\d{4})",
                  lambda m: f"{m[4]}-{MONTHS[m[2]]:02d}-{int(m[3]):02d} {m[1]}", text)
    text = re.sub(r"(\d{4}-\d\d-\d\d)T(\d\d:\d\d:\d\d)(?:\.\d+)?Z", r"\1 \2", text)
    text = re.sub(r"\b(certificate|CA certificate) ([0-9A-F]+)\b(?= (installed|ready|expired|is now))",
                  r"\1 serial \2", text)
    text = re.sub(r" \(transaction [0-9a-f]+, [^)]*\)", "", text)
    return re.sub(r"\(SHA-256 ([0-9A-F]{8})[0-9A-F ]*\)", r"(SHA-256 \1...)", text)

def say(now, who, text):
    print(f"  {iso(now)[:10]} (day {((now - t0) // DAY):4d})  {who:6s} {plain(text)}")

def valid(n, at):
    return verify_at(f"{work}/out/{n}/cert.pem", f"{work}/out/{n}/ca.pem", at)

def step(now):
    for d in [ca] + clients:
        lines = d.log().splitlines()
        for line in lines[seen[d.name]:]:
            if interesting.search(line):
                say(now, d.name, line.split("evercertd: ", 1)[-1])
        seen[d.name] = len(lines)
    for n in online:
        ok, msg = valid(n, now)
        if not ok:
            lapses.append(f"{iso(now)} {n}: {msg}")

step(t0)
# lap-1 is switched off once the CA's successor exists but before its own SHADOW renewal, and on
# again five days after the CA switched: its certificate ended with the old CA while it was off.
end0 = cert_dates(f"{work}/ca/ROOTCA/ROOTCA.pem")[1]
fleet.run_until(end0 - 80 * DAY, step)
stop(lap)
fleet.leave(lap)
online.remove("lap-1")
off_at = fleet.now()
lap_end = cert_dates(f"{work}/out/lap-1/cert.pem")[1]
say(off_at, "lap-1", "*** switched off (its SHADOW renewal not yet due)")
fleet.run_until(end0 + 5 * DAY, step)
on_at = fleet.now()
say(on_at, "lap-1", "*** switched on again, 5 days after the CA switched")
began = time.monotonic()
start(lap, f"{work}/lap-1.conf", on_at)
while time.monotonic() - began < 60 and not valid("lap-1", on_at)[0]:
    time.sleep(0.1)
waited = time.monotonic() - began
fleet.join(lap)
back_at = on_at
if not valid("lap-1", on_at)[0]:
    fleet.run_until(on_at + 3600 * 1000, step)  # at most one backoff period more
    back_at = fleet.now()
recovered = valid("lap-1", back_at)[0]
step(back_at)
if recovered:
    online.append("lap-1")
    say(back_at, "lap-1", f"*** valid certificate again ({waited:.1f} s of real time after its start)")
fleet.run_until(t0 + 2000 * DAY, step)
print()
# The CA's timeline: on a terminal to its width and in colour, else plain at 100 columns.
words = ["show", "timeline"]
if sys.stdout.isatty():
    words += ["width", str(shutil.get_terminal_size().columns)] + ([] if os.environ.get("NO_COLOR") else ["colour"])
print(ca.call(*words))
html = os.environ["TIMELINE_HTML"]
print(ca.call("show", "timeline", "--html", html).strip())
print()
ca_log = ca.log()
print("  client  renewals  shadows  requests  503s  lapse")
for n, d in zip(names, clients):
    log = d.log()
    requests = len(re.findall(rf"request \d+ from \S+ for 'CN={n}\.example'", ca_log))
    lapse = f"{(back_at - lap_end) / DAY:.1f} days, while off" if n == "lap-1" else \
        ("none" if not any(f" {n}: " in l for l in lapses) else "LAPSED")
    print(f"  {n:6s}  {log.count('RENEW: sending'):8d}  {log.count('SHADOW: sending'):7d}  {requests:8d}  "
          f"{log.count('answered 503'):4d}  {lapse}")
print()
if lapses or not recovered:
    print("VERDICT: lapse!")
    for l in lapses:
        print("  " + plain(l))
    if not recovered:
        print("  lap-1 did not come back by itself:\n" + lap.log()[-3000:])
    sys.exit(1)
print("VERDICT: no lapse — vpn-1, web-1 and iot-1 held a valid certificate chained to a valid CA at "
      "every timer instant")
print(plain(f"         lap-1 was off from {iso(off_at)} to {iso(on_at)}; its certificate ended at {iso(lap_end)} "
      f"while it was off (lapse of {(back_at - lap_end) / DAY:.1f} days, all of it while off); it held a valid "
      f"certificate again {(back_at - on_at) / 1000:.0f} s of simulated time ({waited:.1f} s real) after "
      f"it was switched on, by itself, and has been valid at every timer instant since"))
PY
