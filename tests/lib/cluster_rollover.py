#!/usr/bin/env python3
"""A CA rollover on three nodes of one CA (one PostgreSQL database), on frozen simulated clocks.

Run by tests/integration/test_cluster_rollover.sh with: WORK CLI PSQL_HOST DB PORT1 PORT2 PORT3.
The nodes are node1..node3 in WORK. Just before the shadow generation instant the node holding
the lease on the timed events is SIGKILLed: another node must make the shadow key and rollover
certificate once the lease has lapsed, and only one node may make it. The killed node comes back;
all three serve the same GetNextCACert; at the end of the CA certificate the store records the
switch once, no node switches twice, and all serve the new CA certificate.
"""
import os
import signal
import subprocess
import sys
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fleet  # noqa: E402

SECOND = 1000
work, cli, pg_host, db = sys.argv[1:5]
ports = sys.argv[5:8]
names = ["node1", "node2", "node3"]
nodes = {n: fleet.Daemon(cli, n, os.path.join(work, n), os.path.join(work, n + ".log")) for n in names}
port_of = dict(zip(names, ports))


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def ok(msg):
    print("ok - " + msg, flush=True)


def sql(query):
    out = subprocess.run(["psql", "-h", pg_host, "-p", "5432", "-U", "postgres", "-d", db, "-X", "-q", "-A",
                          "-t", "-v", "ON_ERROR_STOP=1", "-c", query], capture_output=True, text=True)
    if out.returncode != 0:
        fail("psql: " + out.stderr.strip())
    return out.stdout.strip()


def get(name, path):
    """Body of GET path on a node, or None when it does not answer 200."""
    try:
        with urllib.request.urlopen("http://127.0.0.1:%s%s" % (port_of[name], path), timeout=10) as r:
            return r.read()
    except Exception:  # noqa: BLE001 - any failure is "not served"
        return None


def log_count(name, text):
    return nodes[name].log().count(text)


def pid_of(name):
    return int(open(os.path.join(work, name, "evercertd.lock")).read())


def jump(fl, target):
    """Every node of fl to target by a restart on a clock starting there: `clock advance-to`
    would stop at each of the nodes' one-second lease checks on the way, years of them."""
    for d in fl.daemons:
        fleet.stop(d)
    for d in fl.daemons:
        fleet.start(d, os.path.join(work, d.name + ".conf"), target)


def move(fl, target):
    """Every node of fl to target, second by second (each node's lease check is a one-second
    timer), so that a lease lapses at its own instant."""
    fl.run_until(target)


ca_pem = os.path.join(work, "node1", "ROOTCA", "ROOTCA.pem")
not_before, not_after = fleet.cert_dates(ca_pem)
shadow_at = not_after - 90 * fleet.DAY
fl = fleet.Fleet([nodes[n] for n in names])

# ---- just before the shadow generation: who leads? It is killed.
jump(fl, shadow_at - 6 * SECOND)
move(fl, shadow_at - 5 * SECOND)
holder = sql("SELECT holder FROM leases WHERE name = 'ROOTCA' AND expires > %d" % fl.now())
if not holder:
    fail("no node holds the lease 5 s before the shadow generation")
lead = [n for n in names if ":%d:" % pid_of(n) in holder]
if len(lead) != 1:
    fail("the lease holder %s is none of the nodes" % holder)
lead = lead[0]
if sql("SELECT count(*) FROM ca_certs") != "1":
    fail("a rollover CA certificate exists before the shadow generation instant")
os.kill(pid_of(lead), signal.SIGKILL)
fleet.wait_real(lambda: fleet._exited(pid_of(lead)), 10) or fail("%s did not die" % lead)
fl.leave(nodes[lead])
ok("%s held the lease 5 s before the shadow generation and was SIGKILLed" % lead)

# ---- the survivors: once the dead node's lease lapses, one of them makes the shadow, once.
move(fl, shadow_at + 15 * SECOND)
made = lambda: sql("SELECT count(*) FROM ca_certs WHERE role = 1") == "1" and sql("SELECT count(*) FROM ca_keys") == "2"
fleet.wait_real(made, 60) or fail("no shadow CA certificate and key in the store after the lease lapsed")
makers = [n for n in names if log_count(n, "shadow CA successfully created") > 0]
if len(makers) != 1 or makers[0] == lead:
    fail("the shadow was made by %s (expected one surviving node)" % (makers or "nobody"))
if sql("SELECT count(*) FROM ca_certs") != "2" or log_count(makers[0], "shadow CA successfully created") != 1:
    fail("more than one shadow generation: %s" % sql("SELECT generation, role FROM ca_certs"))
ok("%s took the lease over and made the one shadow key and rollover certificate" % makers[0])

# ---- the killed node comes back: all three serve the same rollover certificate.
fleet.start(nodes[lead], os.path.join(work, lead + ".conf"), fl.now())
fl.join(nodes[lead])
rollover = lambda n: get(n, "/ROOTCA-rollover.pem")
same = lambda: len({rollover(n) for n in names}) == 1 and rollover(names[0]) is not None
fleet.wait_real(same, 30) or fail("the nodes serve different rollover CA certificates: %s" %
                                  {n: (rollover(n) or b"")[:80] for n in names})
next_ca = lambda n: get(n, "/cgi-bin/pkiclient.exe?operation=GetNextCACert")
if any(next_ca(n) is None for n in names):
    fail("a node does not answer GetNextCACert")
ok("all three nodes serve the same rollover CA certificate (GetNextCACert answered by each)")

# ---- the switch at the end of the CA certificate: every node switches once, recorded once.
rollover_pem = rollover(names[0])
jump(fl, not_after - 3 * SECOND)
move(fl, not_after + 5 * SECOND)
recorded = lambda: sql("SELECT string_agg(role::text, ',' ORDER BY generation) FROM ca_certs") == "2,0"
fleet.wait_real(recorded, 30) or fail("the store does not record one switch: %s" %
                                      sql("SELECT generation, role FROM ca_certs"))
switched = lambda: all(get(n, "/ROOTCA.pem") == rollover_pem for n in names)
fleet.wait_real(switched, 30) or fail("not every node serves the new CA certificate after the switch")
# The lease holder switches and records it; the others may switch by themselves or take the
# switch from the store, but none may switch twice.
switches = {n: log_count(n, "is now active") for n in names}
if max(switches.values()) > 1 or sum(switches.values()) < 1:
    fail("switches per node: %s" % switches)
for n in names:
    if rollover(n) is not None:
        fail("%s still serves a rollover CA certificate after the switch" % n)
ok("at the end of the CA certificate the store recorded one switch (%s), all three serve the new CA" %
   ", ".join("%s %d" % kv for kv in switches.items()))
