# Several evercertd nodes acting as one CA on a shared PostgreSQL database, for the shell tests.
# Source it after common.sh and pg.sh (and haproxy.sh to put HAProxy in front).
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
