# HAProxy in front of several evercertd nodes, for the shell tests: it listens on a free port of
# 127.0.0.1, checks each node with `option httpchk GET /health` every 300 ms (one failure takes a
# node out, one success brings it back), retries a request whose connection a node refused on
# another node, and serves its statistics as CSV on a second free port, from which the helpers
# below read each node's state. Source it after common.sh.
#
#   haproxy_start PORT...     starts HAProxy in front of the nodes on these ports (servers n1, n2,
#                             ...) and waits until every node is UP; sets HAPROXY_PORT, HAPROXY_URL
#   haproxy_up                prints the number of nodes HAProxy has UP
#   haproxy_wait_up COUNT [SECONDS]   waits until exactly COUNT nodes are UP
#   haproxy_state SERVER      prints UP, DOWN, ... for server SERVER (n1, n2, ...)
#   haproxy_stop              stops it (also done at exit)

HAPROXY_PORT=
HAPROXY_URL=
HAPROXY_PID=
HAPROXY_STATS=

# The configuration: one backend, the nodes as servers n1..nN. `timeout check` is short so that a
# node whose database hangs is taken out quickly; `retries` with `option redispatch` send a
# request whose connection failed (the node is gone) to another node: HAProxy retries only
# connection failures, never a request a node has received, so no enrollment is sent twice.
haproxy_config() {
  local i=0 p
  cat <<CONF
global
  maxconn 512
  log stdout format raw local0 info

defaults
  mode http
  log global
  option httplog
  timeout connect 1s
  timeout client 60s
  timeout server 60s
  timeout check 2s
  retries 3
  option redispatch 1
  # With every node down (the database unreachable) HAProxy answers itself: 503 with a
  # Retry-After, as a node does, so that clients wait and come back.
  errorfile 503 $WORK/haproxy-503.http

frontend scep
  bind 127.0.0.1:$HAPROXY_PORT
  default_backend evercert

frontend stats
  bind 127.0.0.1:$HAPROXY_STATS
  stats enable
  stats uri /stats
  stats refresh 1s

backend evercert
  balance roundrobin
  option httpchk GET /health
  http-check expect status 200
  default-server inter 300ms fastinter 200ms downinter 300ms rise 1 fall 1
CONF
  for p in "$@"; do
    i=$((i + 1))
    echo "  server n$i 127.0.0.1:$p check"
  done
}

haproxy_start() {
  command -v haproxy >/dev/null || fail "haproxy missing (scripts/deps.sh installs it)"
  HAPROXY_PORT=$(free_port)
  HAPROXY_STATS=$(free_port)
  HAPROXY_URL="http://127.0.0.1:$HAPROXY_PORT/cgi-bin/pkiclient.exe"
  printf 'HTTP/1.0 503 Service Unavailable\r\nCache-Control: no-cache\r\nConnection: close\r\nContent-Type: text/plain\r\nRetry-After: 10\r\n\r\nno node of the CA can serve now: try again later\n' \
    >"$WORK/haproxy-503.http"
  haproxy_config "$@" >"$WORK/haproxy.cfg"
  haproxy -c -q -f "$WORK/haproxy.cfg" || fail "haproxy refuses its configuration ($WORK/haproxy.cfg)"
  haproxy -db -f "$WORK/haproxy.cfg" >>"$WORK/haproxy.log" 2>&1 &
  HAPROXY_PID=$!
  PIDS+=("$HAPROXY_PID")
  haproxy_wait_up "$#" 30
}

# The CSV statistics: columns 1 (proxy), 2 (server) and 18 (status) are what the helpers read.
haproxy_stats() { curl -sf "http://127.0.0.1:$HAPROXY_STATS/stats;csv"; }

haproxy_up() { haproxy_stats | awk -F, '$1 == "evercert" && $2 ~ /^n[0-9]+$/ && $18 == "UP" {n++} END {print n + 0}'; }

haproxy_state() { haproxy_stats | awk -F, -v s="$1" '$1 == "evercert" && $2 == s {print $18}'; }

haproxy_has_up() { [ "$(haproxy_up)" = "$1" ]; }

haproxy_wait_up() {
  wait_until "${2:-20}" haproxy_has_up "$1" && return 0
  haproxy_stats >&2 || true
  tail -20 "$WORK/haproxy.log" >&2 || true
  fail "HAProxy never had exactly $1 node(s) UP"
}

haproxy_stop() {
  [ -n "$HAPROXY_PID" ] || return 0
  kill "$HAPROXY_PID" 2>/dev/null || true
  wait "$HAPROXY_PID" 2>/dev/null || true
  HAPROXY_PID=
}
