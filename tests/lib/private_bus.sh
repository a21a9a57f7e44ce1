# Sourced: a D-Bus session bus of its own for certmonger (tests and bench/shape_clients.sh), so
# that getcert never reaches, nor starts by bus activation, a certmonger of the system's.
#
# private_bus DIR: starts dbus-daemon listening under DIR (no service directories), exports
# DBUS_SESSION_BUS_ADDRESS and sets bus_pid; returns non-zero when the daemon did not start
# (its messages in DIR/dbus.log).
private_bus() {
  local dir=$1
  mkdir -p "$dir/bus"
  cat >"$dir/bus.conf" <<CONF
<busconfig>
  <type>session</type>
  <listen>unix:dir=$dir/bus</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/><allow own="*"/><allow send_destination="*" eavesdrop="true"/><allow eavesdrop="true"/>
  </policy>
</busconfig>
CONF
  dbus-daemon --config-file="$dir/bus.conf" --fork --print-address=3 --print-pid=4 3>"$dir/bus.address" \
    4>"$dir/bus.pid" </dev/null >/dev/null 2>"$dir/dbus.log" || return 1
  bus_pid=$(cat "$dir/bus.pid")
  DBUS_SESSION_BUS_ADDRESS=$(head -1 "$dir/bus.address")
  export DBUS_SESSION_BUS_ADDRESS
}
