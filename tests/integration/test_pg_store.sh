#!/usr/bin/env bash
# A CA whose store is PostgreSQL (`database url postgresql://...`): it creates its tables and
# first generation there, records what it issues there (not in a NAME.db), and carries on by
# itself after PostgreSQL restarts under it.
source "$(dirname "$0")/../lib/common.sh"
enter_private_network "$@"
source "$(dirname "$0")/../lib/scep.sh"
source "$(dirname "$0")/../lib/pg.sh"
use_scep_tool

pg_start
PG_URL=$(pg_createdb ca)

start_ca ca "clock simulate start 2020-01-01T00:00:00Z rate 0
crypto pki server ROOTCA
  issuer-name CN=ROOTCA
  database url $PG_URL
  database archive pkcs12 password 0 pg-store-test-pass"
scep_to ca ROOTCA
[ ! -e "$db" ] || fail "a SQLite database was made beside the PostgreSQL store: $db"
assert_eq "$(pg_sql ca "SELECT count(*) FROM ca_certs")" 1 "CA generations in PostgreSQL"
assert_eq "$(pg_sql ca "SELECT value FROM meta WHERE key = 'schema_version'")" 2 "schema version"
pass "the CA made its tables and first generation in PostgreSQL"

selfsigned alice
pw=$(one_time_password ca ROOTCA)
expect "an enrollment with a one-time password" SUCCESS "$(ask a1 pkcsreq alice "$K/alice.self" tx-a1 --challenge "$pw" --cn alice.example.net)"
assert_eq "$(pg_sql ca "SELECT count(*) FROM certs")" 1 "certificates in PostgreSQL"
assert_eq "$(pg_sql ca "SELECT state FROM requests WHERE txid = 'tx-a1'")" 1 "alice's transaction (GRANTED)"
assert_eq "$(pg_sql ca "SELECT used FROM otp")" 1 "the one-time password, used"
pass "an issued certificate, its transaction and the password's use are recorded in PostgreSQL"

# ---- PostgreSQL restarts: the CA's next uses of the store reconnect by themselves
pg_restart
selfsigned bob
# The first use of the store after the restart is either the CA's own timer (logged) or this
# command (its answer): whichever it is, it says "database unavailable".
for try in 1 2 3; do
  answer=$(cli ca server ROOTCA password generate 60 2>&1 || true)
  echo "$answer" >>"$WORK/otp.answers"
  pw=$(echo "$answer" | awk -F': ' '/One-time enrollment password/ {print $2}')
  [ -n "$pw" ] && break
done
[ -n "$pw" ] || fail "no one-time password from the CA after PostgreSQL restarted"
expect "an enrollment after PostgreSQL restarted" SUCCESS "$(ask b1 pkcsreq bob "$K/bob.self" tx-b1 --challenge "$pw" --cn bob.example.net)"
assert_eq "$(pg_sql ca "SELECT count(*) FROM certs")" 2 "certificates after the restart"
assert_contains "$(cat "$WORK/ca.log" "$WORK/otp.answers")" "database unavailable" \
  "the CA's log or the operator's answers after the restart"
pass "after a PostgreSQL restart one use of the store fails with 'database unavailable', the next reconnects"
