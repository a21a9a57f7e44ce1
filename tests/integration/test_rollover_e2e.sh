#!/usr/bin/env bash
# End to end, separate processes over real HTTP on loopback: one CA and three clients on frozen
# simulated clocks moved in lockstep through two CA rollovers (about 5.5 years). At every timer
# instant each client's active identity certificate must be valid and chain to its CA
# certificate; the CA must see no more requests than the renewals need. One client renews
# early (auto-enroll 60): its SHADOW comes before the rollover certificate exists, it must get
# 503 with Retry-After and succeed once the rollover exists. A restart of the CA after it
# created the rollover, of a client after it stored the rollover certificates, and of both after
# the switch, loses nothing.
source "$(dirname "$0")/../lib/common.sh"
enter_private_network "$@"

source "$(dirname "$0")/../lib/rollover_world.sh"
client regen 80 regenerate
client keep 80
client early 60
wait_enrolled regen keep early

EVERCERT="$EVERCERT" WORK="$WORK" python3 - "$SRC/tests/lib" <<'PY'
import os, re, sys
sys.path.insert(0, sys.argv[1])
from fleet import Daemon, Fleet, DAY, iso, verify_at, start, stop

work, cli = os.environ["WORK"], os.environ["EVERCERT"]
ca = Daemon(cli, "ca", f"{work}/ca", f"{work}/ca.log")
clients = [Daemon(cli, n, f"{work}/{n}", f"{work}/{n}.log") for n in ("regen", "keep", "early")]
fleet = Fleet([ca] + clients)
t0 = fleet.now()
checks = 0

def check(now):
    global checks
    for c in clients:
        ok, msg = verify_at(f"{work}/out/{c.name}/cert.pem", f"{work}/out/{c.name}/ca.pem", now)
        if not ok:
            sys.exit(f"FAIL: at {iso(now)} {c.name} has no valid certificate chained to its CA: {msg}")
        checks += 1

def restart(d):
    """Stops and starts one daemon (SIGTERM, then the same configuration and state)."""
    now = fleet.now()
    stop(d)
    start(d, f"{work}/{d.name}.conf", now)

check(t0)
# To just after the first rollover certificate exists (E - 90 days), restart the CA there.
fleet.run_until(t0 + 641 * DAY, check)
assert "Rollover status: available for rollover" in ca.call("show", "crypto", "pki", "server")
restart(ca)
# Past the point where the 80% clients stored their rollover material; restart one of them.
fleet.run_until(t0 + 720 * DAY, check)
status = clients[0].call("show", "crypto", "pki", "timers")
if "SHADOW SWITCH ROOT" not in status:
    sys.exit("FAIL: regen has no SHADOW SWITCH armed before the first expiry:\n" + status)
restart(clients[0])
# Just after the first switch (day 730): restart the CA and a client once more.
fleet.run_until(t0 + 731 * DAY, check)
restart(ca)
restart(clients[1])
# Through the second rollover (day 1460) and beyond.
steps = fleet.run_until(t0 + 2000 * DAY, check)
print(f"ok - {checks} validity checks at every timer instant over {(fleet.now() - t0) // DAY} days; "
      f"no instant without a valid certificate")

calog = ca.log()
gens = re.findall(r"CA certificate generation (\d+) created", calog)
switches = calog.count("is now active")
if len(gens) < 3 or switches < 2:
    sys.exit(f"FAIL: expected at least 2 rollovers, saw generations {gens} and {switches} switches")
print(f"ok - the CA rolled over {switches} times (generations {', '.join(gens)})")

early = calog.count("GetNextCACert -> 503")
if early < 2:
    sys.exit(f"FAIL: the early client never got 503 with Retry-After ({early})")
if early > 2 * (switches + 1):
    sys.exit(f"FAIL: retry storm: {early} early GetNextCACert answers")
print(f"ok - early SHADOW answered 503 Retry-After {early} time(s), one per generation, then served")

pki_ops = calog.count("operation=PKIOperation -> 200")
installs = sum(len(re.findall(r"(certificate \S+ installed|rollover certificate \S+ ready)", c.log()))
               for c in clients)
if pki_ops != installs:
    sys.exit(f"FAIL: the CA answered {pki_ops} PKIOperations for {installs} certificates")
print(f"ok - {pki_ops} PKIOperations for {installs} certificates: no request beyond what renewals need")
for c in clients:
    n = len(re.findall(r"SHADOW: switched", c.log()))
    if n < 2:
        sys.exit(f"FAIL: {c.name} switched {n} time(s)")
print("ok - every client switched CA and identity certificates at each expiry")
PY
