#!/usr/bin/env python3
"""Several evercertd on frozen simulated clocks, moved in lockstep.

Each daemon runs `clock simulate start T rate 0`, so its time moves only when told. To go from
now to a target, the fleet repeatedly finds the earliest timer of any daemon, moves every daemon
to that instant (certificate servers first, so that a rollover certificate created at an instant
exists when clients ask at the same instant) and lets a callback check the world. Used by the
end-to-end rollover test and by `make demo`.
"""
import datetime
import json
import os
import re
import subprocess
import time


def iso(ms):
    t = datetime.datetime.fromtimestamp(ms / 1000, tz=datetime.timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (ms % 1000)


def parse_iso(text):
    t = datetime.datetime.strptime(text.replace("Z", "+0000"), "%Y-%m-%dT%H:%M:%S.%f%z")
    return int(t.timestamp() * 1000)


DAY = 86400 * 1000


class Daemon:
    def __init__(self, cli, name, state_dir, log_path):
        self.cli = cli
        self.name = name
        self.state_dir = state_dir
        self.log_path = log_path

    def call(self, *words, check=True):
        out = subprocess.run([self.cli, "--state-dir", self.state_dir, *words],
                             capture_output=True, text=True, timeout=120)
        if check and out.returncode != 0:
            raise RuntimeError("%s: evercert %s failed: %s%s" % (self.name, " ".join(words),
                                                                out.stdout, out.stderr))
        return out.stdout

    def json(self, *words):
        return json.loads(self.call("--json", *words))

    def clock(self):
        return self.json("show", "clock")

    def trustpoint_status(self):
        """The status of the daemon's one trustpoint (show crypto pki trustpoints status)."""
        tps = self.json("show", "crypto", "pki", "trustpoints", "status")["trustpoints"]
        assert len(tps) == 1, tps
        return tps[0]

    def next_timer(self):
        n = self.clock()["next_timer_ms"]
        return None if n < 0 else n

    def advance_to(self, ms):
        self.call("clock", "advance-to", iso(ms))

    def log(self):
        with open(self.log_path, encoding="utf-8", errors="replace") as f:
            return f.read()


def stop(d):
    """Stops a daemon (SIGTERM) and waits until it has exited. Leave it out of the fleet
    (Fleet.leave) while it is stopped: its clock does not move."""
    pid = int(open(os.path.join(d.state_dir, "evercertd.lock")).read())
    os.kill(pid, 15)
    for _ in range(200):
        if _exited(pid):
            return
        time.sleep(0.05)
    raise RuntimeError("%s did not stop" % d.name)


def _exited(pid):
    """Whether the process has ended (reaped here when start made it, a zombie otherwise)."""
    try:
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return True
    except ChildProcessError:
        pass
    try:
        with open("/proc/%d/stat" % pid, encoding="utf-8") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def start(d, config, at_ms):
    """Starts a stopped daemon again with its configuration file `config`, its simulated clock
    set to at_ms (the fleet's now: `clock simulate start <at> rate 0`), and waits until it
    answers. Then Fleet.join puts it back in the lockstep."""
    with open(config, encoding="utf-8") as f:
        text = re.sub(r"(?m)^clock simulate start \S+ rate 0$", "clock simulate start %s rate 0" % iso(at_ms),
                      f.read())
    with open(config, "w", encoding="utf-8") as f:
        f.write(text)
    daemon = os.path.join(os.path.dirname(d.cli), "evercertd")
    subprocess.Popen([daemon, "--config", config, "--state-dir", d.state_dir, "--foreground"],
                     stdout=open(d.log_path, "a"), stderr=subprocess.STDOUT)
    for _ in range(200):
        if subprocess.run([d.cli, "--state-dir", d.state_dir, "ping"], capture_output=True).returncode == 0:
            return
        time.sleep(0.05)
    raise RuntimeError("%s did not start" % d.name)


class Fleet:
    def __init__(self, daemons):
        self.daemons = daemons  # certificate servers first

    def leave(self, d):
        """d no longer moves with the fleet (it is stopped, or kept behind on purpose)."""
        self.daemons.remove(d)

    def join(self, d):
        """d moves with the fleet again; its clock must be at the fleet's now (see start)."""
        self.daemons.append(d)

    def now(self):
        return self.daemons[0].clock()["now_ms"]

    def run_until(self, target, on_step=None, max_steps=100000):
        """Moves every daemon to target, stopping at each timer instant on the way."""
        steps = 0
        while True:
            nexts = [d.next_timer() for d in self.daemons]
            instant = min([n for n in nexts if n is not None] + [target])
            instant = max(instant, self.now())
            for d in self.daemons:
                d.advance_to(instant)
            steps += 1
            if on_step is not None:
                on_step(instant)
            if instant >= target or steps >= max_steps:
                return steps


def cert_dates(path):
    """notBefore/notAfter of a PEM certificate, in ms."""
    out = subprocess.run(["openssl", "x509", "-in", path, "-noout", "-startdate", "-enddate"],
                         capture_output=True, text=True, check=True).stdout
    fields = dict(line.split("=", 1) for line in out.strip().splitlines())
    fmt = "%b %d %H:%M:%S %Y %Z"
    nb = datetime.datetime.strptime(" ".join(fields["notBefore"].split()), fmt)
    na = datetime.datetime.strptime(" ".join(fields["notAfter"].split()), fmt)
    utc = datetime.timezone.utc
    return (int(nb.replace(tzinfo=utc).timestamp() * 1000), int(na.replace(tzinfo=utc).timestamp() * 1000))


def verify_at(cert, chain, ms):
    """openssl verify of cert against chain at time ms; returns (ok, message)."""
    if not (os.path.exists(cert) and os.path.exists(chain)):
        return False, "missing %s or %s" % (cert, chain)
    out = subprocess.run(["openssl", "verify", "-attime", str(ms // 1000), "-CAfile", chain, cert],
                         capture_output=True, text=True)
    return out.returncode == 0, (out.stdout + out.stderr).strip()


def wait_real(cond, seconds=30):
    """Whether cond() holds within `seconds` of real time (a daemon answering at its own pace)."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        if cond():
            return True
        time.sleep(0.1)
    return bool(cond())
