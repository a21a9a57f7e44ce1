#!/usr/bin/env python3
"""The scenario of test_rollover_e2e.sh, on the world of tests/lib/rollover_world.sh (a CA and the
clients regen, keep and early, enrolled): moves them in lockstep through two CA rollovers,
checking at every timer instant that each client's certificate is valid and chains to its CA
certificate, restarting the CA and clients at the delicate points; then reads the logs for the
rollovers, the early client's 503 answers and the number of requests.

usage: rollover_e2e.py WORK EVERCERT  (the test's work directory and the evercert program)
Prints one `ok - ...` line per verdict; exits with `FAIL: ...` at the first one that fails.
"""
import re
import sys

from fleet import DAY, Daemon, Fleet, iso, start, stop, verify_at


class World:
    def __init__(self, work, cli):
        self.work = work
        self.ca = Daemon(cli, "ca", f"{work}/ca", f"{work}/ca.log")
        self.clients = [Daemon(cli, n, f"{work}/{n}", f"{work}/{n}.log") for n in ("regen", "keep", "early")]
        self.fleet = Fleet([self.ca] + self.clients)
        self.checks = 0

    def check(self, now):
        """Every client holds a certificate valid at now that chains to its CA certificate."""
        for c in self.clients:
            out = f"{self.work}/out/{c.name}"
            ok, msg = verify_at(f"{out}/cert.pem", f"{out}/ca.pem", now)
            if not ok:
                sys.exit(f"FAIL: at {iso(now)} {c.name} has no valid certificate chained to its CA: {msg}")
            self.checks += 1

    def restart(self, d):
        """Stops and starts one daemon (SIGTERM, then the same configuration and state)."""
        now = self.fleet.now()
        stop(d)
        start(d, f"{self.work}/{d.name}.conf", now)


def through_two_rollovers(w):
    t0 = w.fleet.now()
    w.check(t0)
    # To just after the first rollover certificate exists (E - 90 days), restart the CA there.
    w.fleet.run_until(t0 + 641 * DAY, w.check)
    assert "Rollover status: available for rollover" in w.ca.call("show", "crypto", "pki", "server")
    w.restart(w.ca)
    # Past the point where the 80% clients stored their rollover material; restart one of them.
    w.fleet.run_until(t0 + 720 * DAY, w.check)
    status = w.clients[0].call("show", "crypto", "pki", "timers")
    if "SHADOW SWITCH ROOT" not in status:
        sys.exit("FAIL: regen has no SHADOW SWITCH armed before the first expiry:\n" + status)
    w.restart(w.clients[0])
    # Just after the first switch (day 730): restart the CA and a client once more.
    w.fleet.run_until(t0 + 731 * DAY, w.check)
    w.restart(w.ca)
    w.restart(w.clients[1])
    # Through the second rollover (day 1460) and beyond.
    w.fleet.run_until(t0 + 2000 * DAY, w.check)
    print(f"ok - {w.checks} validity checks at every timer instant over {(w.fleet.now() - t0) // DAY} days; "
          f"no instant without a valid certificate")


def what_the_logs_say(w):
    calog = w.ca.log()
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
                   for c in w.clients)
    if pki_ops != installs:
        sys.exit(f"FAIL: the CA answered {pki_ops} PKIOperations for {installs} certificates")
    print(f"ok - {pki_ops} PKIOperations for {installs} certificates: no request beyond what renewals need")
    for c in w.clients:
        n = len(re.findall(r"SHADOW: switched", c.log()))
        if n < 2:
            sys.exit(f"FAIL: {c.name} switched {n} time(s)")
    print("ok - every client switched CA and identity certificates at each expiry")


def main(work, cli):
    world = World(work, cli)
    through_two_rollovers(world)
    what_the_logs_say(world)


if __name__ == "__main__":
    main(*sys.argv[1:3])
