#!/usr/bin/env bash
# A CA rollover on three nodes of one CA sharing PostgreSQL, on frozen simulated clocks moved in
# lockstep: the node holding the lease on the timed events is SIGKILLed just before the shadow
# generation; another takes the lease over and makes the one shadow key and rollover
# certificate; all nodes serve the same GetNextCACert; the switch happens once
# (tests/lib/cluster_rollover.py).
source "$(dirname "$0")/../lib/common.sh"
enter_private_network "$@"
source "$(dirname "$0")/../lib/cluster.sh"

pg_start
PG_URL=$(pg_createdb cluster)
cluster_start 3 "clock simulate start 2015-10-09T13:14:16Z rate 0
$(cluster_ca_config "$PG_URL" "  grant auto
  lifetime ca-certificate 730
  lifetime crl 720
  auto-rollover 90")"
PATH="$PG_BIN:$PATH" python3 "$SRC/tests/lib/cluster_rollover.py" "$WORK" "$EVERCERT" "$PG_DIR" cluster "${NODE_PORTS[@]}" ||
  fail "the rollover on three nodes (logs in $WORK/node*.log)"
