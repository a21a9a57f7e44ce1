#!/usr/bin/env python3
"""A misbehaving CA for client tests: an HTTP proxy in front of a real certificate server that
damages its PKIOperation replies in one chosen way.

usage: tamper_proxy.py LISTEN_PORT UPSTREAM_URL MODE_FILE

MODE_FILE holds the current mode (re-read at every request, so a test switches modes without
restarting the proxy):
  pass         forward unchanged
  garbage      200 with the right content type and random bytes
  wrong-type   200 with the real reply but Content-Type text/html
  truncated    200 with the first half of the real reply
  badsig       200 with the real reply, one byte of its signature flipped
  replay       200 with the first PKIOperation reply the proxy ever saw (another transaction:
               wrong transactionID and nonce)
  http500      500 with a reason, no Retry-After
  legacy-caps  GetCACaps answered "DES" and "MD5" only (what an attacker would like a client to
               use); PKIOperation forwarded unchanged
  record       forward unchanged, and keep each PKIOperation request (DER, sent by POST or GET)
               as MODE_FILE.N.der, N counting from 1
Other requests than PKIOperation are forwarded unchanged, but GetCACaps in legacy-caps mode.
"""
import base64
import http.server
import os
import sys
import urllib.error
import urllib.parse
import urllib.request

port, upstream, mode_file = int(sys.argv[1]), sys.argv[2].rstrip("/"), sys.argv[3]
first_reply = None
recorded = 0


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def forward(self, body):
        req = urllib.request.Request(upstream + self.path, data=body, method=self.command)
        if body is not None:
            req.add_header("Content-Type", "application/x-pki-message")
        try:
            with urllib.request.urlopen(req, timeout=20) as r:
                return r.status, r.headers.get("Content-Type", ""), r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.headers.get("Content-Type", ""), e.read()

    def send(self, status, ctype, data):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def record(self, body):
        global recorded
        if body is None:  # by GET: base64 in message=, '+' sent raw by some clients
            query = urllib.parse.urlsplit(self.path).query
            raw = [v for k, _, v in (p.partition("=") for p in query.split("&")) if k == "message"]
            body = base64.b64decode(urllib.parse.unquote(raw[0] if raw else ""))
        recorded += 1
        with open("%s.%d.der" % (mode_file, recorded), "wb") as f:
            f.write(body)

    def handle_any(self, body):
        global first_reply
        if "operation=PKIOperation" in self.path and open(mode_file).read().strip() == "record":
            self.record(body)
        if "operation=GetCACaps" in self.path and open(mode_file).read().strip() == "legacy-caps":
            return self.send(200, "text/plain", b"DES\nMD5\n")
        status, ctype, data = self.forward(body)
        if "operation=PKIOperation" not in self.path:
            return self.send(status, ctype, data)
        if first_reply is None:
            first_reply = data
        mode = open(mode_file).read().strip()
        if mode == "garbage":
            return self.send(200, ctype, os.urandom(700))
        if mode == "wrong-type":
            return self.send(200, "text/html", data)
        if mode == "truncated":
            return self.send(200, ctype, data[: len(data) // 2])
        if mode == "badsig":
            damaged = bytearray(data)
            damaged[-1] ^= 0x5A
            return self.send(200, ctype, bytes(damaged))
        if mode == "replay":
            return self.send(200, ctype, first_reply)
        if mode == "http500":
            return self.send(500, "text/plain", b"internal trouble\n")
        return self.send(status, ctype, data)

    def do_GET(self):
        self.handle_any(None)

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        self.handle_any(self.rfile.read(n))


http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
