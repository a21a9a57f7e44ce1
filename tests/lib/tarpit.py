#!/usr/bin/env python3
"""A CA that is there but never answers, for the shell tests: a TCP listener on 127.0.0.1 that
accepts every connection, reads and discards what arrives, and never sends a byte nor closes.

  tarpit.py PORT_FILE [SECONDS]
      listens on a free port, writes it to PORT_FILE once listening, and holds every connection
      it accepts until its peer closes it, for SECONDS at most (default 600: the listener never
      outlives a test that forgot it).
Nothing leaves loopback.
"""
import os
import selectors
import socket
import sys
import time


def main():
    port_file = sys.argv[1]
    lifetime = float(sys.argv[2]) if len(sys.argv) > 2 else 600.0
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    listener.setblocking(False)
    sel = selectors.DefaultSelector()
    sel.register(listener, selectors.EVENT_READ)
    # Written whole under another name, then renamed: a reader never sees half a port number.
    with open(port_file + ".tmp", "w") as f:
        f.write("%d\n" % listener.getsockname()[1])
    os.rename(port_file + ".tmp", port_file)
    held = 0
    end = time.monotonic() + lifetime
    while time.monotonic() < end:
        for key, _ in sel.select(timeout=1.0):
            if key.fileobj is listener:
                conn, _ = listener.accept()
                conn.setblocking(False)
                sel.register(conn, selectors.EVENT_READ)
                held += 1
                continue
            # The request is read (so the peer's writes never block) and ignored.
            try:
                data = key.fileobj.recv(65536)
            except OSError:
                data = b""
            if not data:
                sel.unregister(key.fileobj)
                key.fileobj.close()
    print("tarpit: %d connection(s) held" % held, file=sys.stderr)


if __name__ == "__main__":
    main()
