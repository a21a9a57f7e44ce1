# Helpers of the shell tests that watch a daemon's HTTP listener through `show ip http server
# status --json`. Source after common.sh; NAME is the daemon's name given to start_daemon.

# http_figures NAME: sets one shell variable per figure of the status (connections, addresses,
# heaviest, refused_per_address, ...). Read without a subprocess per figure: the tests poll it.
http_figures() {
  local kv
  for kv in $(cli "$1" --json show ip http server status | grep -oE '"[a-z_]+":[0-9]+' | tr -d '"'); do
    printf -v "${kv%%:*}" '%s' "${kv#*:}"
  done
}

# http_figure NAME KEY: prints one figure.
http_figure() {
  http_figures "$1"
  printf '%s\n' "${!2}"
}

# wait_http NAME WHAT EXPR: waits (at most two minutes) until the shell arithmetic EXPR over the
# figures holds, e.g. 'connections == 48 && addresses == 3'.
wait_http() {
  local name=$1 what=$2 expr=$3
  for _ in $(seq 1 1200); do
    http_figures "$name"
    if (($expr)); then return 0; fi
    sleep 0.1
  done
  fail "$what: the server never reported $expr ($(cli "$name" show ip http server status | sed -n 3p))"
}
