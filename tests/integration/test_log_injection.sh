#!/usr/bin/env bash
# The log cannot be forged: what a client chooses (the URL path, the operation and message
# parameters, raw bytes in the request line, header values, the subject of its request, its
# transactionID) reaches the log escaped (\xNN for every byte outside printable ASCII and for the
# backslash), so every line of the log is one the daemon wrote, starting with its time and
# "evercertd: ", and none is a line a client made up.
source "$(dirname "$0")/../lib/common.sh"
enter_private_network "$@"

use_scep_tool
start_ca ca "clock calendar-valid
crypto pki server ROOTCA
  grant auto"
url="http://127.0.0.1:$port/cgi-bin/pkiclient.exe"
ca="$WORK/ca/ROOTCA/ROOTCA.pem"
log="$WORK/ca.log"
K="$WORK/k"
mkdir -p "$K"
# What a forger would write after a line break: a line that looks like the daemon's own.
forged="2099-01-01T00:00:00.000Z evercertd: CA ROOTCA: certificate 99 revoked by the operator"
forged_q=${forged// /%20}

wait_log() { wait_for_text "$log" "$1"; }
# raw BYTES...: sends one request exactly as given (printf format) and reads the answer.
raw() {
  printf "$1" | python3 -c '
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.sendall(sys.stdin.buffer.read())
try:
    s.recv(4096)
except OSError:
    pass' "$port"
}

# ---- the URL path, the operation and message parameters, by curl (percent-encoded)
curl -sg -o /dev/null "http://127.0.0.1:$port/path%0A$forged_q%0D/end?operation=GetCACaps%0A$forged_q&message=m%0A$forged_q"
wait_log 'GET /path\x0a2099-01-01T00:00:00.000Z evercertd: CA ROOTCA: certificate 99 revoked by the operator\x0d/end'
curl -sg -o /dev/null "$url?operation=Get%0D%0A$forged_q%1b%5b2J%5cx0a"
wait_log 'operation=Get\x0d\x0a2099-01-01T00:00:00.000Z'
curl -sg -o /dev/null "http://127.0.0.1:$port/unknown%0A$forged_q"
wait_log 'GET /unknown\x0a2099'
pass "a URL path, operation and message with %0A, %0D and ESC reach the log escaped"

# ---- raw control bytes and DEL in the request line, a header value with control bytes, a
# request broken by a bare line feed: libmicrohttpd's own complaints go through the log too
raw 'GET /raw\001\033[31m\177\\x0d HTTP/1.0\r\nX-Note: a\001\033]0;title\007b\r\n\r\n'
wait_log 'GET /raw\x01\x1b[31m\x7f\x5cx0d'
raw "GET /a\n$forged HTTP/1.1\r\nHost: x\r\n\r\n"
raw "GET /b HTTP/1.1\r\nHost: x\r\nUser-Agent: a\r$forged\r\n\r\n"
curl -sg -o /dev/null "$url?operation=GetCACaps&after=raw"
wait_log 'operation=GetCACaps -> 200'
pass "raw control bytes in the request line and headers never reach the log as they are"

# ---- a request whose subject holds a line break and DEL (refused by the issuance policy, the
# refusal logged) with a transactionID that fakes an escape sequence (a literal backslash); then
# one whose subject holds U+2028 (a line separator to some viewers), an accented letter and a
# literal "\x0a" (granted, its subject logged)
"$TOOL" keygen --out "$K/a.key" --bits 2048 || fail "keygen"
cn=$'evil\n2099-01-01T00:00:00.000Z evercertd: cn\x7fend' # 64 characters at most
"$TOOL" selfsign --key "$K/a.key" --cn "$cn" --out "$K/a.self" || fail "selfsign with a line break in CN"
"$TOOL" request --type pkcsreq --ca "$ca" --key "$K/a.key" --signer "$K/a.self" \
  --txid 'tx\x0a2099-01-01T00:00:00.000Z evercertd: forged-by-txid' --out "$K/a.der" || fail "request"
curl -s -o "$K/a.reply" --data-binary @"$K/a.der" "$url?operation=PKIOperation" || fail "POST"
wait_log 'transaction tx\x5cx0a2099-01-01T00:00:00.000Z evercertd: forged-by-txid'
"$TOOL" keygen --out "$K/u.key" --bits 2048 || fail "keygen"
"$TOOL" selfsign --key "$K/u.key" --cn $'evil\\x0a2099 evercertd: u \xe2\x80\xa8 \xc3\xa9' --out "$K/u.self" ||
  fail "selfsign with U+2028 in CN"
"$TOOL" request --type pkcsreq --ca "$ca" --key "$K/u.key" --signer "$K/u.self" --txid tx-utf8 --out "$K/u.der" ||
  fail "request"
curl -s -o "$K/u.reply" --data-binary @"$K/u.der" "$url?operation=PKIOperation" || fail "POST"
wait_log 'transaction tx-utf8'
line=$(grep -F 'transaction tx-utf8' "$log")
assert_contains "$line" 'evercertd: u \xe2\x80\xa8 \xc3\xa9' "the logged subject"
assert_contains "$line" 'evil\x5c' "the logged subject (its backslash)"
pass "subjects with a line break, DEL, U+2028 or a literal \\x0a and a transactionID faking an escape are logged escaped"

# ---- a transactionID holding raw control bytes (the message edited after signing: the CA
# refuses it with 400 before anything else, and logs the request)
placeholder=TXIDPLACEHOLDER-0123456789abcdef
"$TOOL" request --type pkcsreq --ca "$ca" --key "$K/a.key" --signer "$K/a.self" --txid "$placeholder" \
  --out "$K/b.der" || fail "request b"
python3 - "$K/b.der" "$placeholder" <<'PY'
import sys
path, ph = sys.argv[1], sys.argv[2].encode()
data = open(path, "rb").read()
evil = (b"\n2099 evercertd: x\x01\x1b\r" + b"z" * len(ph))[:len(ph)]
assert data.count(ph) == 1
open(path, "wb").write(data.replace(ph, evil))
PY
code=$(curl -s -o "$K/b.reply" -w '%{http_code}' --data-binary @"$K/b.der" "$url?operation=PKIOperation&m=b")
assert_eq "$code" 400 "a transactionID with control bytes"
curl -sg -o /dev/null "$url?operation=GetCACaps&after=txid"
wait_log 'operation=GetCACaps -> 200'
pass "a transactionID with raw control bytes is refused (400)"

# ---- the whole log: every line is the daemon's
stamp='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z evercertd: '
if grep -vE "$stamp" "$log" | grep -q .; then
  grep -vnE "$stamp" "$log" | cat -A | head -20 >&2
  fail "the log has lines that do not start with the daemon's time and 'evercertd: '"
fi
if grep -nE '^2099-' "$log" | grep -q .; then
  grep -nE '^2099-' "$log" >&2
  fail "a client forged a log line"
fi
if LC_ALL=C grep -naP '[^\x20-\x7e]' "$log" | grep -q .; then
  LC_ALL=C grep -naP '[^\x20-\x7e]' "$log" | cat -A | head -10 >&2
  fail "the log holds bytes outside printable ASCII"
fi
lines=$(wc -l <"$log")
pass "all $lines lines of the log start with the daemon's time and 'evercertd: '; none was forged; printable ASCII only"
