# Several evercertd nodes acting as one CA on a shared PostgreSQL database, for the shell tests.
# Source it after common.sh: it brings pg.sh (the private PostgreSQL) and haproxy.sh (the front).
#
#   health PORT               prints "CODE BODY" of GET /health on the node at PORT
#   health_is PORT CODE       whether /health answers CODE
#   pg_halt / pg_resume       stops PostgreSQL (fast: open connections are cut) and starts it again
#                             on the same data, each waiting until it has happened
#   cluster_start N CONFIG    starts nodes node1..nodeN one after the other, each on a free port of
#                             127.0.0.1 with the server block CONFIG (the same on every node); sets
#                             NODE_PORTS (their ports) and fp (the CA certificate's fingerprint as
#                             the first node publishes it)
#   node_pid NAME             the process id of node NAME (from its lock file)
#   kill_node NAME            SIGKILL to node NAME, and waits until it is gone

source "$(dirname "${BASH_SOURCE[0]}")/pg.sh"
source "$(dirname "${BASH_SOURCE[0]}")/haproxy.sh"

health() {
  local out
  out=$(curl -s -m 10 -w '\n%{http_code}' "http://127.0.0.1:$1/health") || true
  echo "$(tail -n 1 <<<"$out") $(sed '$d' <<<"$out" | tr -s '\n' ' ' | sed 's/ $//')"
}

health_is() { [ "$(curl -s -m 10 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$1/health")" = "$2" ]; }

pg_halt() {
  pg_as_owner "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -w -t 60 -m fast stop >/dev/null ||
    { cat "$PG_DIR/server.log" >&2; fail "PostgreSQL did not stop"; }
}

pg_resume() {
  pg_as_owner "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 120 start >/dev/null ||
    { cat "$PG_DIR/server.log" >&2; fail "PostgreSQL did not start again"; }
}

NODE_PORTS=()

cluster_start() {
  local n=$1 config=$2 i p
  NODE_PORTS=()
  for i in $(seq 1 "$n"); do
    p=$(free_port)
    start_daemon "node$i" "ip http server $p
ip http bind 127.0.0.1
$config"
    NODE_PORTS+=("$p")
  done
  local server
  server=$(awk '$1 == "crypto" && $2 == "pki" && $3 == "server" {print $4; exit}' <<<"$config")
  wait_for 30 test -s "$WORK/node1/$server/$server.pem"
  fp=$(ca_fingerprint node1 "$server")
}

node_pid() { cat "$WORK/$1/evercertd.lock"; }

kill_node() {
  local pid
  pid=$(node_pid "$1")
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  wait_until 10 bash -c "! kill -0 $pid" || fail "node $1 (pid $pid) did not die"
}

# cluster_ca_config PG_URL [LINES]: the server block every node of the test CA runs (manual grant
# unless LINES say otherwise). A shared store needs an archive password: it encrypts the CA keys
# in the database.
cluster_ca_config() {
  printf 'crypto pki server ROOTCA\n  issuer-name CN=Cluster Root,O=Evercert\n  database url %s\n  database archive pem password 0 cluster-archive-secret\n  lifetime certificate 365\n%s' \
    "$1" "${2:-}"
}

# cluster_up_for_load [URL_OPTIONS]: PostgreSQL with a database `cluster`, three nodes under
# `grant auto` keeping whole certificates (load_check compares them), HAProxy in front; sets
# PG_URL, cafile (the CA certificate) and what cluster_start and haproxy_start set. URL_OPTIONS
# (e.g. "&connect_timeout=2") are added to the nodes' database URL.
cluster_up_for_load() {
  pg_start
  PG_URL=$(pg_createdb cluster)
  cluster_start 3 "clock calendar-valid
$(cluster_ca_config "$PG_URL${1:-}" "  database level complete
  grant auto")"
  cafile="$WORK/node1/ROOTCA/ROOTCA.pem"
  haproxy_start "${NODE_PORTS[@]}"
}

# pending_id SUBJECT_PART: the id of the pending request whose subject holds SUBJECT_PART, as
# node1 lists the shared queue (empty while there is none).
pending_id() {
  cli node1 server ROOTCA info requests 2>/dev/null | awk -v s="$1" '$2 == "pending" && index($0, s) {print $1; exit}'
}
has_pending() { [ -n "$(pending_id "$1")" ]; }

# receiver ID: the node whose log recorded request ID on arrival.
receiver() { grep -lE "request $1 from .*waiting for the operator" "$WORK"/node[0-9].log | head -n 1 | xargs -r basename | sed 's/\.log$//'; }

# other_node NODE: another node of three than NODE (node1 -> node2 -> node3 -> node1).
other_node() { local i=${1#node}; echo "node$((i % 3 + 1))"; }

# grant_elsewhere SUBJECT_PART: waits for SUBJECT_PART's pending request, grants it on a node that
# did not receive it; prints "ID RECEIVER GRANTER".
grant_elsewhere() {
  wait_until 60 has_pending "$1" || { cli node1 server ROOTCA info requests >&2; fail "no pending request for $1"; }
  local id recv other
  id=$(pending_id "$1")
  recv=$(receiver "$id")
  [ -n "$recv" ] || fail "no node logged the arrival of request $id"
  other=$(other_node "$recv")
  cli "$other" server ROOTCA grant "$id" >/dev/null || fail "grant $id on $other"
  echo "$id $recv $other"
}

# Serials as the store writes them: upper-case hex without leading zeros.
hex_serial() { openssl x509 -in "$1" -noout -serial | cut -d= -f2 | sed 's/^0*//'; }

# stored_cert DB PEM: whether the certificate in PEM is stored under its serial in DB: the very
# certificate where the store keeps it whole (database level complete), else a row of that serial.
stored_cert() {
  local serial row
  serial=$(hex_serial "$2")
  row=$(pg_sql "$1" "SELECT coalesce(encode(der, 'hex'), 'no-der') FROM certs WHERE serial = '$serial'") || return 1
  [ -n "$row" ] || return 1
  [ "$row" = no-der ] && return 0
  [ "$row" = "$(openssl x509 -in "$2" -outform DER | od -An -tx1 -v | tr -d ' \n')" ]
}

# enroll_loop CLIENT URL CA: a client that enrolls over and over until $WORK/stop exists, each
# enrollment a new transactionID and subject, signed by CLIENT's self-signed certificate (made
# here, in $K). A request that gets no CertRep (connection cut, HTTP 502 or 503) is sent again
# with the same transactionID, as real clients do, until it does. Writes, in $WORK/load/CLIENT.*:
#   .http   one line per HTTP exchange: "TXID CODE", and for a 503 " retry-after=SECONDS" (empty
#           when the reply had no Retry-After)
#   .got    one line per certificate received: "TXID SERIAL", the certificate in TXID.pem
#   .bad    one line per CertRep other than SUCCESS: "TXID status=..."
enroll_loop() {
  local c=$1 url=$2 ca=$3 i=0 tx code line d="$WORK/load"
  mkdir -p "$d"
  "$TOOL" keygen --out "$d/$c.key" --bits 2048 || fail "keygen $c"
  "$TOOL" selfsign --key "$d/$c.key" --cn "$c.load.example" --out "$d/$c.self" || fail "selfsign $c"
  : >"$d/$c.http"; : >"$d/$c.got"; : >"$d/$c.bad"
  while [ ! -e "$WORK/stop" ]; do
    i=$((i + 1))
    tx="$c-$i"
    "$TOOL" request --type pkcsreq --ca "$ca" --key "$d/$c.key" --signer "$d/$c.self" --txid "$tx" \
      --cn "$tx.load.example" --out "$d/$c.der" || fail "request $tx"
    while [ ! -e "$WORK/stop" ]; do
      code=$(curl -s -m 30 -D "$d/$c.head" -o "$d/$c.reply" -w '%{http_code}' --data-binary @"$d/$c.der" \
        "$url?operation=PKIOperation") || true
      if [ "$code" = 503 ]; then
        echo "$tx $code retry-after=$(awk -F': *' 'tolower($1) == "retry-after" {gsub(/\r/, "", $2); print $2}' "$d/$c.head")"
      else
        echo "$tx $code"
      fi >>"$d/$c.http"
      if [ "$code" = 200 ]; then
        line=$("$TOOL" reply --in "$d/$c.reply" --key "$d/$c.key" --signer "$d/$c.self" --ca "$ca" \
          --out "$d/$tx.pem" 2>&1) || line="unreadable: $line"
        case "$line" in
          status=SUCCESS*) echo "$tx $(hex_serial "$d/$tx.pem")" >>"$d/$c.got" ;;
          *) echo "$tx $line" >>"$d/$c.bad" ;;
        esac
        break
      fi
      sleep 0.2   # the pace of a retrying client, not a wait for a condition
    done
  done
}

# load_start CA N URL... / load_stop: N enroll_loop clients c1..cN in the background, client i
# sending to the i-th URL (round robin over those given), then stopped.
LOAD_PIDS=()
load_start() {
  local ca=$1 n=$2 i
  shift 2
  local urls=("$@")
  rm -f "$WORK/stop"
  for i in $(seq 1 "$n"); do
    enroll_loop "c$i" "${urls[$(((i - 1) % ${#urls[@]}))]}" "$ca" &
    LOAD_PIDS+=($!)
    PIDS+=($!)
  done
  wait_for 60 load_ready "$n"
}
load_ready() { [ "$(ls "$WORK"/load/*.got 2>/dev/null | wc -l)" -eq "$1" ]; }
load_stop() {
  touch "$WORK/stop"
  local p
  for p in "${LOAD_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  LOAD_PIDS=()
}

# load_wait_more N MARK SECONDS: waits until load_each_got_more N MARK holds, SECONDS of real time
# at most (each look reads every client's file: counting tries would stretch the deadline).
load_wait_more() {
  local end=$((SECONDS + $3))
  until load_each_got_more "$1" "$2"; do
    [ "$SECONDS" -lt "$end" ] || return 1
    sleep 0.2
  done
}

# load_got: certificates received by all load clients so far.
load_got() { cat "$WORK"/load/*.got 2>/dev/null | wc -l; }

# load_each_got_more N MARK: whether every load client received N more certificates than the
# counts in MARK (a file of "CLIENT COUNT" lines written by load_mark).
load_mark() { local f; for f in "$WORK"/load/*.got; do echo "$(basename "$f" .got) $(wc -l <"$f")"; done >"$1"; }
load_each_got_more() {
  [ -s "$2" ] || return 1
  local c n
  while read -r c n; do
    [ "$(wc -l <"$WORK/load/$c.got")" -ge $((n + $1)) ] || return 1
  done <"$2"
}

# load_check DB: every certificate a load client received is the one stored in DB under its
# serial, no serial was received twice, the store holds no serial twice, and no transactionID
# came to two certificates (a client that sent one again got the same certificate). The CA
# must keep subjects (database level names or complete).
load_check() {
  local dups
  pg_sql "$1" "SELECT serial, coalesce(encode(der, 'hex'), '') FROM certs" >"$WORK/load/stored" ||
    fail "reading the stored certificates"
  python3 - "$WORK/load" <<'PY' || fail "a certificate received is not the one stored under its serial"
import base64, glob, os, sys
d = sys.argv[1]
stored = dict(line.rstrip("\n").split("|", 1) for line in open(os.path.join(d, "stored")) if "|" in line)
bad = []
for got in glob.glob(os.path.join(d, "*.got")):
    for line in open(got):
        tx, serial = line.split()
        pem = open(os.path.join(d, tx + ".pem")).read()
        b64 = pem.split("-----BEGIN CERTIFICATE-----")[1].split("-----END CERTIFICATE-----")[0]
        der = base64.b64decode("".join(b64.split())).hex()
        if stored.get(serial) != der:
            bad.append("%s (serial %s): %s" % (tx, serial, "not stored" if serial not in stored else "another certificate stored"))
if bad:
    print("\n".join(bad[:10]), file=sys.stderr)
    sys.exit(1)
PY
  dups=$(cat "$WORK"/load/*.got | awk '{print $2}' | sort | uniq -d)
  [ -z "$dups" ] || fail "serials received twice: $dups"
  assert_eq "$(pg_sql "$1" "SELECT count(*) - count(DISTINCT serial_num) FROM certs")" 0 "serials stored twice"
  dups=$(pg_sql "$1" "SELECT txid FROM requests WHERE cert_serial <> '' GROUP BY txid HAVING count(DISTINCT cert_serial) > 1")
  [ -z "$dups" ] || fail "transactionIDs answered with two certificates: $dups"
  # Each transaction asks for its own subject: two certificates of one subject are one
  # transactionID issued twice, whatever the requests table says.
  dups=$(pg_sql "$1" "SELECT subject FROM certs WHERE subject LIKE '%.load.example%' GROUP BY subject HAVING count(*) > 1")
  [ -z "$dups" ] || fail "transactions issued two certificates: $dups"
}
