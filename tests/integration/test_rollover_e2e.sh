#!/usr/bin/env bash
# End to end, separate processes over real HTTP on loopback: one CA and three clients on frozen
# simulated clocks moved in lockstep through two CA rollovers (about 5.5 years). At every timer
# instant each client's active identity certificate must be valid and chain to its CA
# certificate; the CA must see no more requests than the renewals need. One client renews
# early (auto-enroll 60): its SHADOW comes before the rollover certificate exists, it must get
# 503 with Retry-After and succeed once the rollover exists. A restart of the CA after it
# created the rollover, of a client after it stored the rollover certificates, and of both after
# the switch, loses nothing.
source "$(dirname "$0")/../lib/common.sh"
enter_private_network "$@"

source "$(dirname "$0")/../lib/rollover_world.sh"
client regen 80 regenerate
client keep 80
client early 60
wait_enrolled regen keep early

python3 "$SRC/tests/lib/rollover_e2e.py" "$WORK" "$EVERCERT"
