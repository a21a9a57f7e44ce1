# Shared by the bench scripts (source it). Everything they reach is on loopback, inside a private
# network namespace: the peer's server binds every interface.
export no_proxy="*" NO_PROXY="*"

# bench_private_network SCRIPT ARGS...: runs SCRIPT again inside a new network namespace (once;
# a no-op where namespaces are unavailable), with loopback up.
bench_private_network() {
  local script=$1
  shift
  if [ -z "${EVERCERT_IN_NETNS:-}" ] && unshare --net true 2>/dev/null; then
    EVERCERT_IN_NETNS=1 exec unshare --net bash "$script" "$@"
  fi
  ip link set lo up 2>/dev/null || true
}

# A free TCP port on 127.0.0.1.
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
