#!/usr/bin/env bash
# Recovery after an absence, separate processes over real HTTP on loopback, frozen simulated
# clocks moved in lockstep (tests/lib/fleet.py). One CA (two-year generations, the successor
# made 90 days ahead) and three clients: `steady` runs throughout; `away1` is stopped before its
# SHADOW renewal and restarted five days after the CA switched (the successor of the new
# generation does not exist yet); `away2` is stopped at the same point and restarted after the
# second switch. Each restarted client must follow the chain of custody from the CA certificate
# it holds to the current one, adopt it and hold a valid certificate again within one poll period
# of its restart; the running clients' files verify at every timer instant and at each switch
# instant +-1 s.
source "$(dirname "$0")/../lib/common.sh"
enter_private_network "$@"

source "$(dirname "$0")/../lib/rollover_world.sh"
for c in steady away1 away2; do client $c 80; done
wait_enrolled steady away1 away2

EVERCERT="$EVERCERT" WORK="$WORK" python3 - "$SRC/tests/lib" <<'PY'
import os, re, sys, time
sys.path.insert(0, sys.argv[1])
from fleet import Daemon, Fleet, DAY, iso, verify_at, cert_dates, start, stop

work, cli = os.environ["WORK"], os.environ["EVERCERT"]
ca = Daemon(cli, "ca", f"{work}/ca", f"{work}/ca.log")
steady, away1, away2 = (Daemon(cli, n, f"{work}/{n}", f"{work}/{n}.log") for n in ("steady", "away1", "away2"))
fleet = Fleet([ca, steady, away1, away2])
t0 = fleet.now()
online = [steady, away1, away2]
POLL = 60 * 1000  # the trustpoints' retry period: one minute

def valid(d, at):
    return verify_at(f"{work}/out/{d.name}/cert.pem", f"{work}/out/{d.name}/ca.pem", at)

def check(now):
    for d in online:
        ok, msg = valid(d, now)
        if not ok:
            sys.exit(f"FAIL: at {iso(now)} {d.name} has no valid certificate chained to its CA: {msg}")

def around_switch(end):
    """The running clients' files at the switch instant and one second either side."""
    for at in (end - 1000, end, end + 1000):
        fleet.run_until(at, check)
        check(at)

def leave(d):
    stop(d)
    fleet.leave(d)
    online.remove(d)

def come_back(d):
    """Restarts d at the fleet's now; it must hold a valid certificate within one poll period."""
    now = fleet.now()
    start(d, f"{work}/{d.name}.conf", now)
    deadline = time.time() + 30
    while time.time() < deadline and not valid(d, now)[0]:
        time.sleep(0.1)
    fleet.join(d)
    if not valid(d, now)[0]:
        fleet.run_until(now + POLL, check)
    ok, msg = valid(d, now + POLL)
    if not ok:
        sys.exit(f"FAIL: {d.name} restarted at {iso(now)} holds no valid certificate one poll period "
                 f"later: {msg}\n{d.log()[-3000:]}")
    online.append(d)
    print(f"ok - {d.name} restarted at {iso(now)} holds a valid certificate within one poll period")

end0 = cert_dates(f"{work}/ca/ROOTCA/ROOTCA.pem")[1]
# Both away clients stop after the successor exists (end0 - 90 days) but before their SHADOW.
fleet.run_until(end0 - 80 * DAY, check)
for d in (away1, away2):
    st = d.trustpoint_status()
    if st["renewal"] != "SHADOW":
        sys.exit(f"FAIL: {d.name} should have a SHADOW renewal ahead: {st}")
    leave(d)
around_switch(end0)
end1 = cert_dates(f"{work}/ca/ROOTCA/ROOTCA.pem")[1]
if end1 <= end0:
    sys.exit("FAIL: the CA did not switch to its next generation")
fleet.run_until(end0 + 5 * DAY, check)
come_back(away1)
log1 = away1.log()
if not re.search(r"the CA's certificate changed: SHA-256 [0-9A-F ]+ -> [0-9A-F ]+, chained to the old one through 1 link", log1):
    sys.exit("FAIL: away1 did not log its adoption of the new CA certificate:\n" + log1[-3000:])
print("ok - away1 followed one link certificate to the current CA certificate")

around_switch(end1)
fleet.run_until(end1 + 5 * DAY, check)
come_back(away2)
if not re.search(r"through 2 link certificate", away2.log()):
    sys.exit("FAIL: away2 did not follow two link certificates:\n" + away2.log()[-3000:])
print("ok - away2, away across two switches, followed two link certificates")
fleet.run_until(end1 + 10 * DAY, check)

calog = ca.log()
chains = calog.count("GetCARolloverChain")
if chains < 2 or chains > 6:
    sys.exit(f"FAIL: expected one GetCARolloverChain per restarted client, the CA saw {chains}")
for d in (away1, away2):
    retries = len(re.findall(r"CONNECT RETRY|re-authenticate", d.log()))
    if retries:
        sys.exit(f"FAIL: {d.name} retried or stopped ({retries}):\n" + d.log()[-3000:])
print(f"ok - {chains} chain requests, no retry, every running client valid at every instant")
PY
