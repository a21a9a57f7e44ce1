#!/usr/bin/env bash
# Bans what the code must never use: unbounded string functions, atoi, exit() below main, and the
# wall clock outside the clock module.
set -euo pipefail
cd "$(dirname "$0")/.."
status=0
ban() {
  local pattern=$1 why=$2; shift 2
  local hits
  hits=$(grep -rnE "$pattern" "$@" --include='*.c' --include='*.h' || true)
  if [ -n "$hits" ]; then
    echo "lint: $why"; echo "$hits" | sed 's/^/    /'; status=1
  fi
}
ban '\b(atoi|atol|sprintf|vsprintf|strcpy|strcat|gets)\(' "unbounded or unchecked conversion" src
ban '(^|[^_a-z])(time\(|gettimeofday\(|X509_cmp_current_time\(|X509_cmp_time\([^,]*, *NULL)' \
    "wall clock outside src/clock (read the daemon clock instead)" \
    $(ls -d src/*/ | grep -v '^src/clock/')
ban 'clock_gettime\(' "wall clock outside src/clock" $(ls -d src/*/ | grep -v '^src/clock/')
ban '(^|[^_a-z])exit\(' "exit() outside a program's main file" \
    $(ls -d src/*/ | grep -vE '^src/(daemon|cli)/')
if [ $status -eq 0 ]; then echo "lint: ok"; fi
exit $status
