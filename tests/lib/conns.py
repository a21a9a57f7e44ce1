#!/usr/bin/env python3
"""Hostile HTTP clients for the shell tests, on loopback, each bound to a chosen source address.

  conns.py trickle PORT SOURCES PER EVERY SECONDS OUT
      keeps PER connections open from each source (comma-separated addresses), each sending a
      request line and then one header line every EVERY seconds, never finishing; a connection the
      server closes is opened again (a second later when it was closed at once). Writes JSON
      to OUT: per source, how long the server took to close trickling connections and
      connections refused at once.
  conns.py hold PORT SOURCES PER MODE DIR
      opens PER connections from each source and holds them until DIR/stop appears, opening
      again those the server closes. MODE: idle (nothing sent), post (the headers of a POST whose
      body, DIR/body, is not sent). When DIR/go-SOURCE appears, a post connection of SOURCE sends
      its body and writes the reply's status line and headers to DIR/reply-SOURCE.
  conns.py probe PORT SOURCE
      connects from SOURCE and prints the milliseconds until the server closes the connection
      (or 'open' after 5 s).
Every loop is bounded in time; nothing leaves loopback.
"""
import json
import os
import resource
import selectors
import socket
import sys
import time

REQUEST_LINE = b"GET /cgi-bin/pkiclient.exe?operation=GetCACaps HTTP/1.1\r\nHost: ca\r\n"
# A close within this many seconds of connecting is a refusal: far from the header deadline
# (10 s), and the server's listening thread, which refuses, may take over a second to get to a
# connection on a loaded 2-core machine under a sanitizer while it starts hundreds of threads.
REFUSED_AT_ONCE = 2.0


def raise_file_limit():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def connect(port, source):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((source, 0))
    s.settimeout(2)
    s.connect(("127.0.0.1", port))
    s.setblocking(False)
    return s


def closed(s):
    """True when the server ended the connection (end of stream or reset)."""
    try:
        return s.recv(65536) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


class Conn:
    def __init__(self, source, sock):
        self.source, self.sock = source, sock
        self.start = self.last = time.monotonic()
        self.lines = 0


def trickle(port, sources, per, every, seconds, out):
    sel = selectors.DefaultSelector()
    stats = {s: {"deadline_closed": 0, "refused": 0, "connect_failed": 0, "lifetimes": [],
                 "refusal_ms": []} for s in sources}
    retry = {s: [] for s in sources}  # times at which to open a connection again
    end = time.monotonic() + seconds

    def open_one(source):
        try:
            c = Conn(source, connect(port, source))
        except OSError:
            stats[source]["connect_failed"] += 1
            retry[source].append(time.monotonic() + 0.5)
            return
        try:
            c.sock.send(REQUEST_LINE)
        except OSError:
            pass
        sel.register(c.sock, selectors.EVENT_READ, c)

    for source in sources:
        for _ in range(per):
            open_one(source)
    while time.monotonic() < end:
        now = time.monotonic()
        for key, _ in sel.select(timeout=0.1):
            c = key.data
            if not closed(c.sock):
                continue
            sel.unregister(c.sock)
            c.sock.close()
            life = time.monotonic() - c.start
            st = stats[c.source]
            if life < REFUSED_AT_ONCE and c.lines == 0:
                st["refused"] += 1
                st["refusal_ms"].append(round(life * 1000))
                retry[c.source].append(time.monotonic() + 1)
            else:
                st["deadline_closed"] += 1
                st["lifetimes"].append(round(life, 2))
                retry[c.source].append(time.monotonic())
        now = time.monotonic()
        for key in list(sel.get_map().values()):
            c = key.data
            if now - c.last >= every:
                try:
                    c.sock.send(b"X-Trickle-%d: %d\r\n" % (c.lines, c.lines))
                except OSError:
                    pass
                c.lines += 1
                c.last = now
        for source in sources:
            due = [t for t in retry[source] if t <= now]
            retry[source] = [t for t in retry[source] if t > now]
            for _ in due:
                open_one(source)
    for key in list(sel.get_map().values()):
        key.data.sock.close()
    for st in stats.values():
        lt, rf = st.pop("lifetimes"), st.pop("refusal_ms")
        st["lifetime_max"] = max(lt) if lt else None
        st["lifetime_min"] = min(lt) if lt else None
        st["refusal_ms_max"] = max(rf) if rf else None
    with open(out, "w") as f:
        json.dump(stats, f, indent=1, sort_keys=True)


def hold(port, sources, per, mode, workdir):
    body = b""
    if mode == "post":
        with open(os.path.join(workdir, "body"), "rb") as f:
            body = f.read()
    head = (b"POST /cgi-bin/pkiclient.exe?operation=PKIOperation HTTP/1.1\r\nHost: ca\r\n"
            b"Content-Length: %d\r\n\r\n" % len(body))
    held = {s: [] for s in sources}
    end = time.monotonic() + 240

    def open_one(source):
        try:
            s = connect(port, source)
            if mode == "post":
                s.send(head)
            held[source].append(s)
        except OSError:
            pass

    for source in sources:
        for _ in range(per):
            open_one(source)
    while time.monotonic() < end and not os.path.exists(os.path.join(workdir, "stop")):
        for source in sources:
            live = [s for s in held[source] if not closed(s)]
            for s in held[source]:
                if s not in live:
                    s.close()
            held[source] = live
            go = os.path.join(workdir, "go-" + source)
            if mode == "post" and live and os.path.exists(go):
                os.unlink(go)
                s = live.pop(0)
                reply = exchange(s, body)
                with open(os.path.join(workdir, "reply-" + source), "wb") as f:
                    f.write(reply)
            for _ in range(per - len(held[source])):
                open_one(source)
        time.sleep(0.2)
    for socks in held.values():
        for s in socks:
            s.close()


def exchange(s, body):
    """Sends the rest of a request on s; returns the reply's head (status line and headers)."""
    s.setblocking(True)
    s.settimeout(10)
    reply = b""
    try:
        s.sendall(body)
        while b"\r\n\r\n" not in reply:
            chunk = s.recv(65536)
            if not chunk:
                break
            reply += chunk
    except OSError as e:
        reply += b"error: " + str(e).encode()
    s.close()
    return reply.split(b"\r\n\r\n")[0] + b"\n"


def probe(port, source):
    s = connect(port, source)
    start = time.monotonic()
    while time.monotonic() - start < 5:
        if closed(s):
            print(round((time.monotonic() - start) * 1000))
            return
        time.sleep(0.005)
    print("open")


def main():
    raise_file_limit()
    cmd, port = sys.argv[1], int(sys.argv[2])
    if cmd == "trickle":
        trickle(port, sys.argv[3].split(","), int(sys.argv[4]), float(sys.argv[5]), float(sys.argv[6]),
                sys.argv[7])
    elif cmd == "hold":
        hold(port, sys.argv[3].split(","), int(sys.argv[4]), sys.argv[5], sys.argv[6])
    elif cmd == "probe":
        probe(port, sys.argv[3])
    else:
        sys.exit("usage: conns.py trickle|hold|probe ...")


if __name__ == "__main__":
    main()
