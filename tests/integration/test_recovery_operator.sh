#!/usr/bin/env bash
# Recovery after an absence where the operator has a part, separate processes over real HTTP on
# loopback, frozen simulated clocks moved in lockstep (tests/lib/fleet.py).
#  1. A CA that grants by hand (no `grant` line): a client stopped until its certificate ended
#     asks anew at its restart (PKCSReq, self-signed), waits PENDING, and holds a valid
#     certificate one poll after the operator grants it.
#  2. The CA is replaced by an impostor of the same name with another key on the same port: the
#     client finds a CA certificate that does not chain to its own, installs nothing, changes no
#     file, says that it needs `crypto pki authenticate`, and sends nothing more.
#  3. The operator puts the new fingerprint on the trustpoint and authenticates: it enrolls there.
#  4. A CA under `grant auto trustpoint` (its own server) and two clients stopped before their
#     SHADOW renewal, so that their certificates end with the CA generation: one back 5 days after
#     the switch renews with its lapsed certificate (RenewalReq) and is granted at once within the
#     renewal grace; one back 40 days after (past the 30-day grace) waits PENDING until the
#     operator grants it.
source "$(dirname "$0")/../lib/common.sh"
enter_private_network "$@"

start=2015-10-09T13:14:16Z
port=$(free_port)
ca_config() { # ca_config START [GRANT-LINE]: without a grant line every request waits for the operator
  printf '%s\n' "ip http server $port
ip http bind 127.0.0.1
clock simulate start $1 rate 0
crypto pki server ROOTCA
  issuer-name CN=RootCA,OU=TAC,O=Cisco
  lifetime certificate 30
  lifetime ca-certificate 730
  lifetime crl 720
  ${2:-}"
}
start_daemon ca "$(ca_config $start)"
fp=$(openssl x509 -in "$WORK/ca/ROOTCA/ROOTCA.pem" -noout -fingerprint -sha256 | cut -d= -f2)
mkdir -p "$WORK/out/c1"
start_daemon c1 "hostname c1
clock simulate start $start rate 0
crypto pki trustpoint ROOT
  enrollment url http://127.0.0.1:$port
  fingerprint $fp
  subject-name CN=c1.example
  auto-enroll 80
  output certificate $WORK/out/c1/cert.pem
  output key $WORK/out/c1/key.pem
  output chain $WORK/out/c1/ca.pem"

# ---- 1. away until the certificate ended, manual grants ----
EVERCERT="$EVERCERT" WORK="$WORK" python3 - "$SRC/tests/lib" <<'PY'
import os, re, sys
sys.path.insert(0, sys.argv[1])
from fleet import Daemon, Fleet, DAY, iso, verify_at, start, stop, wait_real

work, cli = os.environ["WORK"], os.environ["EVERCERT"]
ca = Daemon(cli, "ca", f"{work}/ca", f"{work}/ca.log")
c1 = Daemon(cli, "c1", f"{work}/c1", f"{work}/c1.log")
fleet = Fleet([ca, c1])
POLL = 60 * 1000

def wait_for(what, cond):
    if not wait_real(cond):
        sys.exit(f"FAIL: {what}\n{c1.log()[-3000:]}")

def valid(at):
    return verify_at(f"{work}/out/c1/cert.pem", f"{work}/out/c1/ca.pem", at)

def grant_and_poll(when):
    """The operator grants what is pending; one poll period later the client holds it."""
    wait_for(f"{when}: the request is not pending",
             lambda: c1.trustpoint_status()["phase"] == "polling")
    ca.call("crypto", "pki", "server", "ROOTCA", "grant", "all")
    now = fleet.now()
    fleet.run_until(now + POLL)
    ok, msg = valid(now + POLL)
    if not ok:
        sys.exit(f"FAIL: {when}: no valid certificate one poll period after the grant: {msg}\n{c1.log()[-3000:]}")

t0 = fleet.now()
grant_and_poll("first enrollment")
print("ok - first enrollment granted by the operator")
fleet.run_until(t0 + 10 * DAY)
stop(c1)
fleet.leave(c1)
end = t0 + 30 * DAY
fleet.run_until(end + 10 * DAY)
back = fleet.now()
if valid(back)[0]:
    sys.exit("FAIL: the certificate should have ended while the client was stopped")
start(c1, f"{work}/c1.conf", back)
fleet.join(c1)
grant_and_poll("after the restart")
tail = c1.log().split("started (state directory")[-1]
if not re.search(r"sending PKCSReq", tail):
    sys.exit("FAIL: the restarted client did not enroll anew with PKCSReq:\n" + tail)
print("ok - restarted after its certificate ended: PKCSReq, PENDING, granted, valid one poll later")
PY

# ---- 2. an impostor CA with the same name and another key ----
now=$(cli c1 --json show clock | python3 -c "import json,sys; sys.path.insert(0,'$SRC/tests/lib'); import fleet; print(fleet.iso(json.load(sys.stdin)['now_ms']))")
stop_daemon ca
start_daemon fake "$(ca_config "$now" "grant auto")"
fake_fp=$(openssl x509 -in "$WORK/fake/ROOTCA/ROOTCA.pem" -noout -fingerprint -sha256 | cut -d= -f2)
[ "$fake_fp" != "$fp" ] || fail "the impostor has the same CA certificate"
before_ca=$(sha256sum <"$WORK/out/c1/ca.pem")
before_cert=$(sha256sum <"$WORK/out/c1/cert.pem")

EVERCERT="$EVERCERT" WORK="$WORK" python3 - "$SRC/tests/lib" <<'PY'
import os, re, subprocess, sys
sys.path.insert(0, sys.argv[1])
from fleet import Daemon, Fleet, DAY

work, cli = os.environ["WORK"], os.environ["EVERCERT"]
fake = Daemon(cli, "fake", f"{work}/fake", f"{work}/fake.log")
c1 = Daemon(cli, "c1", f"{work}/c1", f"{work}/c1.log")
fleet = Fleet([fake, c1])
t = fleet.now()
# Past the client's renewal time (80% of 30 days): its first request to the impostor.
fleet.run_until(t + 25 * DAY)
st = c1.trustpoint_status()
if st["phase"] != "reauthenticate":
    sys.exit(f"FAIL: the client is not waiting for re-authentication: {st}\n{c1.log()[-3000:]}")
if "Issuing CA authenticated ....... No: re-authenticate needed" not in c1.call("show", "crypto", "pki", "trustpoints", "status"):
    sys.exit("FAIL: show crypto pki trustpoints status does not say re-authentication is needed")
log = c1.log()
if not re.search(r"does not chain to the pinned CA certificate.*crypto pki authenticate ROOT", log):
    sys.exit("FAIL: no log line saying why and what to do:\n" + log[-3000:])
if re.search(r"adopted|the CA's certificate changed: SHA-256", log):
    sys.exit("FAIL: the impostor's certificate was adopted:\n" + log[-3000:])
seen = fake.log().count("operation=")
timers = c1.call("show", "crypto", "pki", "timers")
if re.search(r"(RENEW|SHADOW|POLL|CONNECT RETRY) ROOT", timers):
    sys.exit("FAIL: a request timer is still armed:\n" + timers)
out = subprocess.run([cli, "--state-dir", c1.state_dir, "enroll", "ROOT", "--yes"], capture_output=True, text=True)
if out.returncode == 0 or "crypto pki authenticate ROOT" not in out.stderr:
    sys.exit(f"FAIL: enroll while re-authentication is needed does not refuse with what to do: {out}")
fleet.run_until(fleet.now() + 2 * DAY)
if fake.log().count("operation=") != seen:
    sys.exit("FAIL: the client kept sending requests after it needed re-authentication")
print(f"ok - the impostor CA was refused; re-authenticate needed; no request in the 2 days after")
PY
[ "$(sha256sum <"$WORK/out/c1/ca.pem")" = "$before_ca" ] || fail "the chain file changed"
[ "$(sha256sum <"$WORK/out/c1/cert.pem")" = "$before_cert" ] || fail "the certificate file changed"
cli c1 --json show crypto pki certificates | grep -q "$(openssl x509 -in "$WORK/out/c1/ca.pem" -noout -fingerprint -sha256 | cut -d= -f2 | tr -d : | tr A-F a-f)" \
  || fail "the client's CA certificate is no longer the one it held"
pass "the impostor's certificate was never installed; the output files are unchanged"

# ---- 3. the operator accepts the new CA: its fingerprint, then crypto pki authenticate ----
sed -i "s/^  fingerprint $fp\$/  fingerprint $fake_fp/" "$WORK/c1.conf"
EVERCERT="$EVERCERT" WORK="$WORK" python3 - "$SRC/tests/lib" <<'PY'
import os, sys, time
sys.path.insert(0, sys.argv[1])
from fleet import Daemon, Fleet, verify_at, start, stop

work, cli = os.environ["WORK"], os.environ["EVERCERT"]
fake = Daemon(cli, "fake", f"{work}/fake", f"{work}/fake.log")
c1 = Daemon(cli, "c1", f"{work}/c1", f"{work}/c1.log")
now = Fleet([fake]).now()
stop(c1)
start(c1, f"{work}/c1.conf", now)
if c1.trustpoint_status()["phase"] != "reauthenticate":
    sys.exit("FAIL: a restart left the re-authenticate needed state by itself")
c1.call("crypto", "pki", "authenticate", "ROOT")
deadline = time.time() + 30
while time.time() < deadline and not verify_at(f"{work}/out/c1/cert.pem", f"{work}/out/c1/ca.pem", now)[0]:
    time.sleep(0.1)
ok, msg = verify_at(f"{work}/out/c1/cert.pem", f"{work}/out/c1/ca.pem", now)
if not ok or c1.trustpoint_status()["phase"] != "idle":
    sys.exit(f"FAIL: after crypto pki authenticate the client did not enroll with the new CA: {msg}\n"
             + c1.log()[-3000:])
print("ok - crypto pki authenticate with the new fingerprint: the client enrolls with that CA at once")
PY
openssl x509 -in "$WORK/out/c1/ca.pem" -noout -fingerprint -sha256 | grep -q "$fake_fp" || fail "the chain file does not hold the new CA"

# ---- 4. the renewal grace under grant auto trustpoint: clients away across the CA's switch ----
gport=$(free_port)
start_daemon gca "ip http server $gport
ip http bind 127.0.0.1
clock simulate start $start rate 0
crypto pki server ROOTCA
  issuer-name CN=GraceCA,O=Example
  grant auto trustpoint ROOTCA
  lifetime certificate 365
  lifetime ca-certificate 730
  lifetime crl 720
  auto-rollover 90"
gfp=$(openssl x509 -in "$WORK/gca/ROOTCA/ROOTCA.pem" -noout -fingerprint -sha256 | cut -d= -f2)
for c in g1 g2; do
  mkdir -p "$WORK/out/$c"
  start_daemon "$c" "hostname $c
clock simulate start $start rate 0
crypto pki trustpoint ROOT
  enrollment url http://127.0.0.1:$gport
  fingerprint $gfp
  subject-name CN=$c.example
  auto-enroll 80
  output certificate $WORK/out/$c/cert.pem
  output key $WORK/out/$c/key.pem
  output chain $WORK/out/$c/ca.pem"
done

EVERCERT="$EVERCERT" WORK="$WORK" python3 - "$SRC/tests/lib" <<'PY'
import os, re, sys
sys.path.insert(0, sys.argv[1])
from fleet import Daemon, Fleet, DAY, iso, verify_at, cert_dates, start, stop, wait_real

work, cli = os.environ["WORK"], os.environ["EVERCERT"]
ca = Daemon(cli, "gca", f"{work}/gca", f"{work}/gca.log")
g1, g2 = (Daemon(cli, n, f"{work}/{n}", f"{work}/{n}.log") for n in ("g1", "g2"))
fleet = Fleet([ca, g1, g2])
POLL = 60 * 1000

def wait_for(d, what, cond):
    if not wait_real(cond):
        sys.exit(f"FAIL: {what}\n{d.log()[-3000:]}")

def valid(d, at):
    return verify_at(f"{work}/out/{d.name}/cert.pem", f"{work}/out/{d.name}/ca.pem", at)

def phase(d):
    return d.trustpoint_status()["phase"]

def within_one_poll(d, now, what):
    fleet.run_until(now + POLL)
    ok, msg = valid(d, now + POLL)
    if not ok:
        sys.exit(f"FAIL: {what}: no valid certificate one poll period later: {msg}\n{d.log()[-3000:]}")

def come_back(d):
    """Restarts d at the fleet's now, after its certificate and its CA certificate ended."""
    now = fleet.now()
    if valid(d, now)[0]:
        sys.exit(f"FAIL: {d.name}'s certificate should have ended while it was stopped")
    start(d, f"{work}/{d.name}.conf", now)
    fleet.join(d)
    return now

def renewal_sent(d):
    """The transaction of the RenewalReq signed by the lapsed certificate, once logged."""
    tail = d.log().split("started (state directory")[-1]
    if "ended at" in tail and "with the CA certificate that issued it: RenewalReq signed by it" not in tail:
        sys.exit(f"FAIL: {d.name} did not renew with its lapsed certificate:\n{tail[-3000:]}")
    m = re.search(r"sending RenewalReq for '[^']*' \(transaction ([0-9a-fA-F]+)", tail)
    return m.group(1) if m else None

# First enrollments: self-signed, so they wait for the operator.
for d in (g1, g2):
    wait_for(d, f"{d.name}'s first request is not pending", lambda: phase(d) == "polling")
ca.call("crypto", "pki", "server", "ROOTCA", "grant", "all")
within_one_poll(g1, fleet.now(), "first enrollment")
if not valid(g2, fleet.now())[0]:
    sys.exit("FAIL: g2 holds no certificate after the grant")
end0 = cert_dates(f"{work}/gca/ROOTCA/ROOTCA.pem")[1]
# Stopped after the successor exists (end0 - 90 days), before their SHADOW renewal.
fleet.run_until(end0 - 80 * DAY)
for d in (g1, g2):
    st = d.trustpoint_status()
    if st["renewal"] != "SHADOW" or cert_dates(f"{work}/out/{d.name}/cert.pem")[1] != end0:
        sys.exit(f"FAIL: {d.name} should hold a certificate that ends with its CA, SHADOW ahead: {st}")
    stop(d)
    fleet.leave(d)
fleet.run_until(end0 + 5 * DAY)
if cert_dates(f"{work}/gca/ROOTCA/ROOTCA.pem")[1] <= end0:
    sys.exit("FAIL: the CA did not switch to its next generation")

# Within the renewal grace: granted at once, no operator.
now = come_back(g1)
wait_for(g1, "g1 did not send its renewal", lambda: renewal_sent(g1) is not None)
within_one_poll(g1, now, "g1 back 5 days after the switch")
tx = renewal_sent(g1)
if not re.search(r"\(renewal, transaction %s\): renewal signed by a certificate that ended with its CA "
                 r"certificate, within the renewal grace: certificate \w+ issued" % tx, ca.log()):
    sys.exit(f"FAIL: the CA did not grant g1's renewal {tx} within the renewal grace:\n{ca.log()[-3000:]}")
print(f"ok - g1 back {iso(now)}, 5 days after the switch: RenewalReq with its lapsed certificate, "
      "granted within the renewal grace, valid within one poll period")

# Past the grace (30 days by default): the CA's usual path for an expired signer.
fleet.run_until(end0 + 40 * DAY)
now = come_back(g2)
wait_for(g2, "g2's renewal is not pending", lambda: phase(g2) == "polling")
tx = renewal_sent(g2)
if tx is None:
    sys.exit("FAIL: g2 did not send RenewalReq:\n" + g2.log()[-3000:])
queue = ca.call("crypto", "pki", "server", "ROOTCA", "info", "requests")
if "signed by an expired certificate: waiting for the operator" not in queue:
    sys.exit("FAIL: g2's renewal past the grace is not waiting for the operator:\n" + queue)
if valid(g2, fleet.now())[0]:
    sys.exit("FAIL: g2 holds a certificate before the operator granted it")
ca.call("crypto", "pki", "server", "ROOTCA", "grant", "all")
within_one_poll(g2, fleet.now(), "g2 after the operator's grant")
print(f"ok - g2 back {iso(now)}, 40 days after the switch: RenewalReq PENDING, granted by the operator, valid")
PY
