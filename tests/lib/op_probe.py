#!/usr/bin/env python3
"""Watches a daemon through its operator socket, as evercert speaks to it, for the shell tests.

  op_probe.py STATE_DIR OUT STOP_FILE [INTERVAL_MS]
      every INTERVAL_MS (default 200) asks STATE_DIR/evercertd.sock two read-only questions,
      `show crypto pki timers --json` and `show crypto pki server --json`, each on a connection of
      its own, and appends one JSON line per round to OUT:
        {"at": epoch seconds when the round began,
         "timers_ms": answer time, "server_ms": answer time,
         "timers": {"RENEW TP": fire_at epoch ms, ...}          (the trustpoints' timers)
         "servers": {"ROOTCA": {"crl_next_update": epoch ms, "active_serial": "1",
                                "active_not_after": epoch ms}, ...}}
      until STOP_FILE exists (or ten minutes passed). Started before the daemon, it waits for the
      socket to accept (30 s at most) and measures from there. A round that takes longer than the
      interval is followed by the next one at once: the answer times are those of a steady
      operator.
What is timed is the daemon (connect, request, whole reply), never the start of a process.
"""
import calendar
import json
import os
import socket
import sys
import time

REQUESTS = {
    "timers": [b"show", b"crypto", b"pki", b"timers", b"--json"],
    "server": [b"show", b"crypto", b"pki", b"server", b"--json"],
}
ANSWER_TIMEOUT = 120.0  # far beyond any exchange the daemon could be stuck in
LIFETIME = 600.0


def iso_ms(text):
    """Epoch milliseconds of the daemon's ISO time, e.g. 2026-12-03T02:47:43.066Z."""
    whole, _, frac = text.rstrip("Z").partition(".")
    seconds = calendar.timegm(time.strptime(whole, "%Y-%m-%dT%H:%M:%S"))
    return seconds * 1000 + int((frac or "0")[:3].ljust(3, "0"))


def ask(sock_path, words):
    """The reply's text and the milliseconds from connecting to the end of the reply."""
    t0 = time.monotonic()
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(ANSWER_TIMEOUT)
    try:
        s.connect(sock_path)
        # The framing of util/opproto.h: the words one a line, then an empty line.
        s.sendall(b"".join(w + b"\n" for w in words) + b"\n")
        reply = bytearray()
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            reply += chunk
    finally:
        s.close()
    ms = (time.monotonic() - t0) * 1000.0
    if not reply.startswith(b"OK\n"):
        raise SystemExit("op_probe: unexpected reply to %s: %r" % (b" ".join(words).decode(), bytes(reply[:200])))
    return reply[3:].decode(), ms


def wait_for_socket(sock_path, seconds):
    """Until the daemon accepts on its socket (its start); what follows is measured."""
    end = time.monotonic() + seconds
    while True:
        s = socket.socket(socket.AF_UNIX)
        try:
            s.connect(sock_path)
            return
        except (FileNotFoundError, ConnectionRefusedError):
            if time.monotonic() > end:
                raise SystemExit("op_probe: no daemon answered on %s within %d s" % (sock_path, seconds))
            time.sleep(0.05)
        finally:
            s.close()


def timers_of(text):
    return {t["name"]: iso_ms(t["fire_at"]) for t in json.loads(text)["pki_timers"]}


def servers_of(text):
    """One JSON document: {"servers": [...]}, one object per certificate server."""
    out = {}
    for s in json.loads(text)["servers"]:
        out[s["name"]] = {"crl_next_update": iso_ms(s["crl_next_update"]),
                          "active_serial": s["active"]["serial_hex"],
                          "active_not_after": iso_ms(s["active"]["not_after"])}
    return out


def main():
    state, out_path, stop_file = sys.argv[1], sys.argv[2], sys.argv[3]
    interval = (float(sys.argv[4]) if len(sys.argv) > 4 else 200.0) / 1000.0
    sock_path = os.path.join(state, "evercertd.sock")
    wait_for_socket(sock_path, 30)
    end = time.monotonic() + LIFETIME
    next_round = time.monotonic()
    with open(out_path, "a") as out:
        while not os.path.exists(stop_file) and time.monotonic() < end:
            at = time.time()
            timers, timers_ms = ask(sock_path, REQUESTS["timers"])
            server, server_ms = ask(sock_path, REQUESTS["server"])
            out.write(json.dumps({"at": at, "timers_ms": round(timers_ms, 1), "server_ms": round(server_ms, 1),
                                  "timers": timers_of(timers), "servers": servers_of(server)}) + "\n")
            out.flush()
            next_round += interval
            pause = next_round - time.monotonic()
            if pause > 0:
                time.sleep(pause)  # pacing of the rounds, not a wait for a condition
            else:
                next_round = time.monotonic()


if __name__ == "__main__":
    main()
