#!/usr/bin/env bash
# `make run-cluster`: the two-node cluster of docs/CLUSTER.md on loopback, in the foreground.
#
#   PostgreSQL  127.0.0.1:$PGPORT (5433), initdb'd into a scratch directory; as root it runs as
#               the system user evercert-pg (created if absent), as PostgreSQL refuses root
#   node1       evercertd on 127.0.0.1:8081, node2 on 127.0.0.1:8082: one CA, ROOTCA
#   HAProxy     127.0.0.1:8080 (the URL clients use, as with `make run`), statistics on
#               http://127.0.0.1:8404/stats
#
# Ctrl-C stops all of it and removes the scratch directory (CLUSTER_KEEP=1 keeps it).
# Usage: scripts/run-cluster.sh [BUILD_DIR]
set -euo pipefail
BUILD=$(cd "${1:-build}" && pwd)
SRC=$(cd "$(dirname "$0")/.." && pwd)
PGPORT=${PGPORT:-5433}
FRONT_PORT=${FRONT_PORT:-8080}
NODE_PORTS=(8081 8082)
PG_USER=evercert-pg
PG_BIN=${EVERCERT_PG_BINDIR:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}
[ -x "$PG_BIN/initdb" ] || { echo "run-cluster: no PostgreSQL server (scripts/deps.sh installs it)" >&2; exit 1; }
command -v haproxy >/dev/null || { echo "run-cluster: no haproxy (scripts/deps.sh installs it)" >&2; exit 1; }

DIR=$(mktemp -d "${TMPDIR:-/tmp}/evercert-cluster.XXXXXX")
PIDS=()
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u "$PG_USER" -- "$@"; else "$@"; fi; }

stop_all() {
  trap - EXIT INT TERM
  echo "run-cluster: stopping"
  local p
  for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]:-}"; do [ -n "$p" ] && wait "$p" 2>/dev/null || true; done
  [ -d "$DIR/pg" ] && as_pg "$PG_BIN/pg_ctl" -D "$DIR/pg/data" -w -m fast stop >/dev/null 2>&1 || true
  if [ -n "${CLUSTER_KEEP:-}" ]; then echo "run-cluster: kept $DIR"; else rm -rf "$DIR"; fi
}
trap stop_all EXIT
trap 'exit 130' INT TERM

# ---- PostgreSQL: the database `evercert`, owned by the role `evercert`, which logs in by password
if [ "$(id -u)" -eq 0 ] && ! id "$PG_USER" >/dev/null 2>&1; then
  useradd --system --no-create-home --shell /usr/sbin/nologin "$PG_USER"
fi
chmod 711 "$DIR"
mkdir -p "$DIR/pg"
[ "$(id -u)" -eq 0 ] && chown "$PG_USER:" "$DIR/pg"
as_pg "$PG_BIN/initdb" -D "$DIR/pg/data" -U postgres --auth-local=trust --auth-host=scram-sha-256 -E UTF8 \
  --locale=C >"$DIR/pg/initdb.log" 2>&1 || { cat "$DIR/pg/initdb.log" >&2; exit 1; }
printf "listen_addresses = '127.0.0.1'\nport = %s\nunix_socket_directories = '%s'\n" "$PGPORT" "$DIR/pg" \
  >>"$DIR/pg/data/postgresql.conf"
as_pg "$PG_BIN/pg_ctl" -D "$DIR/pg/data" -l "$DIR/pg/server.log" -w -t 60 start >/dev/null ||
  { cat "$DIR/pg/server.log" >&2; exit 1; }
password=$(openssl rand -hex 16)
"$PG_BIN/psql" -h "$DIR/pg" -p "$PGPORT" -U postgres -X -q -v ON_ERROR_STOP=1 \
  -c "CREATE ROLE evercert LOGIN PASSWORD '$password'" -c "CREATE DATABASE evercert OWNER evercert"
(umask 077 && echo "127.0.0.1:$PGPORT:evercert:evercert:$password" >"$DIR/pgpass")
echo "run-cluster: PostgreSQL on 127.0.0.1:$PGPORT, database evercert (password in $DIR/pgpass)"

# ---- two nodes: the same CA block, each its own state directory and port
for i in 1 2; do
  mkdir -p -m 700 "$DIR/node$i"
  (umask 077 && sed -e "s|@PORT@|${NODE_PORTS[$((i - 1))]}|" -e "s|@HOST@|node$i|" \
     -e "s|@PGURL@|postgresql://evercert@127.0.0.1:$PGPORT/evercert?passfile=$DIR/pgpass\&connect_timeout=5|" \
     "$SRC/etc/cluster-node.conf" >"$DIR/node$i.conf")
  "$BUILD/evercertd" --config "$DIR/node$i.conf" --state-dir "$DIR/node$i" --foreground \
    > >(sed -u "s/^/node$i: /") 2>&1 &
  PIDS+=($!)
  for _ in $(seq 1 300); do
    "$BUILD/evercert" --state-dir "$DIR/node$i" ping >/dev/null 2>&1 && break
    kill -0 "${PIDS[-1]}" 2>/dev/null || { echo "run-cluster: node$i exited" >&2; exit 1; }
    sleep 0.1
  done
done

# ---- HAProxy in front, checking GET /health
sed -e "s|@FRONT@|$FRONT_PORT|" -e "s|@NODE1@|${NODE_PORTS[0]}|" -e "s|@NODE2@|${NODE_PORTS[1]}|" \
  "$SRC/etc/haproxy-cluster.cfg" >"$DIR/haproxy.cfg"
haproxy -db -f "$DIR/haproxy.cfg" > >(sed -u "s/^/haproxy: /") 2>&1 &
PIDS+=($!)
for _ in $(seq 1 100); do
  curl -sf -o /dev/null "http://127.0.0.1:$FRONT_PORT/health" && break
  sleep 0.1
done
fp=$(openssl x509 -in "$DIR/node1/ROOTCA/ROOTCA.pem" -noout -fingerprint -sha256 | cut -d= -f2 | tr -d ':' | tr 'A-F' 'a-f')
cat <<EOT
run-cluster: ready. Clients enroll through HAProxy at http://127.0.0.1:$FRONT_PORT/cgi-bin/pkiclient.exe
  scepclient -server-url http://127.0.0.1:$FRONT_PORT/cgi-bin/pkiclient.exe -ca-fingerprint $fp -private-key client.key -certificate client.pem -cn myhost
  $BUILD/evercert --state-dir $DIR/node2 server ROOTCA info requests     (either node: one queue)
  curl http://127.0.0.1:${NODE_PORTS[0]}/health; HAProxy's view: http://127.0.0.1:8404/stats
Ctrl-C stops everything.
EOT
wait "${PIDS[@]}"
