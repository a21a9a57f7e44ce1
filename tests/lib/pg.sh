# A private PostgreSQL server for the shell tests: initdb into a scratch directory, listening on
# a Unix socket in that directory only (no TCP), started with pg_ctl -w, stopped with
# pg_ctl stop -m immediate and removed when the test exits. Source it after common.sh.
#
# PostgreSQL refuses to run as root: as root, initdb and the server run as the system user
# evercert-test (created with useradd --system if absent) through runuser. The binaries come
# from $EVERCERT_PG_BINDIR, else the newest /usr/lib/postgresql/N/bin (scripts/deps.sh installs
# them); without them pg_start fails the test, it never skips it.
#
#   pg_start              starts the server; sets PG_DIR
#   pg_createdb NAME      creates database NAME; prints its libpq URL (for `database url`)
#   pg_restart            restarts it (open connections are cut)
#   pg_stop               stops it and removes PG_DIR (also done at exit)
#   pg_sql NAME SQL       runs SQL on database NAME with psql, rows unaligned without headers

PG_USER=evercert-test
PG_PORT=5432   # names the socket file in PG_DIR: no TCP port is used
PG_DIR=
PG_BIN=

# The bin directory of the newest PostgreSQL server installed, or $EVERCERT_PG_BINDIR.
pg_bindir() {
  if [ -n "${EVERCERT_PG_BINDIR:-}" ]; then echo "$EVERCERT_PG_BINDIR"; return; fi
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  echo "$d"
}

# Runs a server program as the server's user (ourselves when not root).
pg_as_owner() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u "$PG_USER" -- "$@"; else "$@"; fi
}

pg_start() {
  PG_BIN=$(pg_bindir)
  [ -n "$PG_BIN" ] && [ -x "$PG_BIN/initdb" ] ||
    fail "PostgreSQL server binaries not found (no initdb in \$EVERCERT_PG_BINDIR or /usr/lib/postgresql/*/bin): run scripts/deps.sh (packages postgresql, libpq-dev)"
  if [ "$(id -u)" -eq 0 ] && ! id "$PG_USER" >/dev/null 2>&1; then
    useradd --system --no-create-home --shell /usr/sbin/nologin "$PG_USER" 2>/dev/null ||
      id "$PG_USER" >/dev/null 2>&1 || fail "cannot create the system user $PG_USER to run PostgreSQL"
  fi
  local base=${EVERCERT_TEST_TMP:-$WORK}
  mkdir -p "$base"
  chmod o+x "$base"   # the server's user passes through (cannot list) to its own directory
  PG_DIR=$(mktemp -d "$base/pg.XXXXXX")
  [ "$(id -u)" -eq 0 ] && chown "$PG_USER:" "$PG_DIR"
  pg_as_owner "$PG_BIN/initdb" -D "$PG_DIR/data" -U postgres -A trust -E UTF8 --locale=C --no-sync \
    >"$PG_DIR/initdb.log" 2>&1 || { cat "$PG_DIR/initdb.log" >&2; fail "initdb failed"; }
  printf "listen_addresses = ''\nunix_socket_directories = '%s'\nport = %s\nfsync = off\n" \
    "$PG_DIR" "$PG_PORT" >>"$PG_DIR/data/postgresql.conf"
  pg_as_owner "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 120 start >/dev/null ||
    { cat "$PG_DIR/server.log" >&2; fail "PostgreSQL did not start"; }
  # pg_ctl -w has waited for it; this checks that the socket answers where the URLs point.
  wait_for 30 "$PG_BIN/pg_isready" -h "$PG_DIR" -p "$PG_PORT"
  trap 'pg_stop; cleanup' EXIT
}

pg_createdb() {
  "$PG_BIN/createdb" -h "$PG_DIR" -p "$PG_PORT" -U postgres "$1" || fail "createdb $1"
  echo "postgresql://postgres@/$1?host=$PG_DIR&port=$PG_PORT"
}

pg_sql() {
  "$PG_BIN/psql" -h "$PG_DIR" -p "$PG_PORT" -U postgres -d "$1" -X -q -A -t -v ON_ERROR_STOP=1 -c "$2"
}

pg_restart() {
  pg_as_owner "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 120 -m fast restart >/dev/null ||
    { cat "$PG_DIR/server.log" >&2; fail "PostgreSQL did not restart"; }
}

pg_stop() {
  [ -n "$PG_DIR" ] || return 0
  pg_as_owner "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -w -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$PG_DIR"
  PG_DIR=
}
