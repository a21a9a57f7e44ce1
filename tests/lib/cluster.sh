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
