#!/usr/bin/env python3
"""Verdicts on a daemon's punctuality, from what tests/lib/op_probe.py recorded (PROBE) and the
daemon's log (LOG), for the shell tests. Each prints its figures on one line and, when a bound is
passed, the offending events one a line after "FAIL:", exiting 1. Times are shown in seconds
since START (epoch seconds, the daemon's start).

  timeliness.py latency PROBE START BOUND_MS
      every answer time of the operator socket: count, median, max; each above BOUND_MS.
  timeliness.py renewals PROBE LOG START BOUND_MS AT_LEAST TP...
      each certificate of TP installed after its first (a renewal), from the log line's time,
      against the RENEW time the probe last saw scheduled before it (or, when the probe saw none,
      the one the previous install's line announced); each TP must have renewed AT_LEAST times.
  timeliness.py crl PROBE START SERVER LIFETIME_MS BOUND_MS [NEXT_UPDATE_MS]
      each CRL update of SERVER that was seen scheduled (by the probe, or NEXT_UPDATE_MS, the
      nextUpdate known before the probe began): its issue (the new nextUpdate less LIFETIME_MS,
      to the millisecond) against the nextUpdate it replaced; at least one.
  timeliness.py switch LOG START SERVER BOUND_MS
      each switch of SERVER to its rollover CA certificate (the log line) against the end of the
      CA certificate it replaced (as logged at its creation); at least one.
"""
import calendar
import json
import re
import statistics
import sys
import time

from op_probe import iso_ms

LOG_TAG = re.compile(r"^(audit|error|warning|notice|info|debug): ")
LOG_TIME = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z) evercertd: (.*)$")


def rounds(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def log_events(path, pattern):
    """(epoch ms, match) of each log line whose message matches pattern."""
    rx = re.compile(pattern)
    out = []
    with open(path, errors="replace") as f:
        for line in f:
            m = LOG_TIME.match(line.rstrip("\n"))
            # The daemon tags decisions and problems ("audit: CA ...", "warning: ..."): the
            # message is what follows the tag.
            message = LOG_TAG.sub("", m.group(2)) if m else ""
            if m and rx.search(message):
                out.append((iso_ms(m.group(1)), rx.search(message)))
    return out


class Verdict:
    def __init__(self, start):
        self.start_ms = start * 1000.0
        self.bad = []

    def at(self, ms):
        return "+%.1f s" % ((ms - self.start_ms) / 1000.0)

    def finish(self, line):
        """Prints the figures, then the offences, the worst first (an offence is a text, or a
        (weight, text) pair)."""
        print(line)
        self.bad = [b[1] for b in sorted((b if isinstance(b, tuple) else (0, b) for b in self.bad),
                                         key=lambda b: -b[0])]
        for b in self.bad[:15]:
            print("FAIL: " + b, file=sys.stderr)
        if len(self.bad) > 15:
            print("FAIL: ... and %d more" % (len(self.bad) - 15), file=sys.stderr)
        return 1 if self.bad else 0


def latency(probe, start, bound):
    v = Verdict(float(start))
    answers = []
    for r in rounds(probe):
        answers.append((r["timers_ms"], r["at"] * 1000, "show crypto pki timers"))
        answers.append((r["server_ms"], r["at"] * 1000, "show crypto pki server"))
    if not answers:
        v.bad.append("the probe recorded no answer")
        return v.finish("operator socket: no answers")
    for ms, at, what in answers:
        if ms > float(bound):
            v.bad.append((ms, "%s answered in %.0f ms (asked at %s)" % (what, ms, v.at(at))))
    times = [a[0] for a in answers]
    worst = max(answers)
    return v.finish("operator socket: %d answers over %.0f s, median %.1f ms, max %.0f ms (asked at %s), "
                    "%d above the bound of %s ms"
                    % (len(times), (answers[-1][1] - answers[0][1]) / 1000.0, statistics.median(times), worst[0],
                       v.at(worst[1]), len(v.bad), bound))


def renewals(probe, log, start, bound, at_least, tps):
    v = Verdict(float(start))
    data = rounds(probe)
    installs = {}
    for ms, m in log_events(log, r"^trustpoint (\S+): certificate \S+ installed, .*; RENEW at (.*)$"):
        # The install line gives the next RENEW to the second only: its last millisecond is taken,
        # which never makes a renewal look late.
        renew_at = calendar.timegm(time.strptime(m.group(2), "%H:%M:%S UTC %b %d %Y")) * 1000 + 999
        installs.setdefault(m.group(1), []).append((ms, renew_at))
    late = []
    from_log = 0
    for tp in tps:
        times = installs.get(tp, [])
        if len(times) < int(at_least) + 1:
            v.bad.append("%s installed %d certificate(s), not its first and %s renewal(s)" % (tp, len(times), at_least))
            continue
        planned = sorted({r["timers"]["RENEW " + tp] for r in data if "RENEW " + tp in r["timers"]})
        for (prev, logged), (this, _) in zip(times, times[1:]):
            # The RENEW armed by the previous install, due at or before this one, as the probe saw
            # it (to the millisecond); else as the previous install's line announced it.
            due = [p for p in planned if prev < p <= this] or [logged]
            from_log += due[-1] == logged
            late.append((this - due[-1], tp, due[-1]))
    for ms, tp, due in late:
        if ms > float(bound):
            v.bad.append((ms, "%s renewed %.0f ms after its RENEW time (due at %s)" % (tp, ms, v.at(due))))
    if not late:
        return v.finish("renewals: none measured")
    worst = max(late)
    return v.finish("renewals: %d by %d trustpoints, late by median %.0f ms, max %.0f ms (%s, due at %s), "
                    "%d later than %s ms (%d RENEW times from the log, the probe missed them)"
                    % (len(late), len(tps), statistics.median(l[0] for l in late), worst[0], worst[1],
                       v.at(worst[2]), sum(1 for l in late if l[0] > float(bound)), bound, from_log))


def punctual(v, events, bound, what, due):
    """The verdict on events, each (milliseconds after it was due, when it was due): one at least,
    none early, none later than bound."""
    if not events:
        v.bad.append("no %s seen" % what)
        return v.finish("%s: none seen" % what)
    for ms, at in events:
        if ms > float(bound) or ms < 0:
            v.bad.append((abs(ms), "%s %.0f ms after %s (due at %s)" % (what, ms, due, v.at(at))))
    return v.finish("%s: %d, each %s ms after %s; bound %s ms"
                    % (what, len(events), ", ".join("%.0f" % e[0] for e in events), due, bound))


def crl(probe, start, server, lifetime, bound, next_update=None):
    v = Verdict(float(start))
    updates = []
    prev, prev_seen = (int(next_update), 0) if next_update else (None, None)
    for r in rounds(probe):
        nu = r["servers"][server]["crl_next_update"]
        # Only an update whose time the probe saw coming is measured (not one overdue at start).
        if prev is not None and nu != prev and prev_seen < prev:
            updates.append((nu - int(lifetime) - prev, prev))
        if nu != prev:
            prev, prev_seen = nu, r["at"] * 1000
    return punctual(v, updates, bound, "CRL update of %s" % server, "the nextUpdate it replaced")


def switch(log, start, server, bound):
    v = Verdict(float(start))
    # The end of each CA certificate of the server, as the log announced it at its creation.
    ends = {m.group(1): iso_ms(m.group(2)) for _, m in log_events(
        log, r"^CA %s: CA certificate generation \d+ created: serial (\S+), valid \S+ to (\S+)$" % re.escape(server))}
    switches = log_events(log, r"^CA %s: CA certificate (\S+) expired; rollover CA certificate \S+ is now active"
                          % re.escape(server))
    measured = [(ms - ends[m.group(1)], ends[m.group(1)]) for ms, m in switches if m.group(1) in ends]
    return punctual(v, measured, bound, "switch of %s" % server, "the end of the CA certificate it replaced")


if __name__ == "__main__":
    verbs = {"latency": latency, "renewals": lambda p, l, s, b, n, *tps: renewals(p, l, s, b, n, tps),
             "crl": crl, "switch": switch}
    if len(sys.argv) < 2 or sys.argv[1] not in verbs:
        raise SystemExit(__doc__)
    sys.exit(verbs[sys.argv[1]](*sys.argv[2:]))
