#!/usr/bin/env bash
# Runs every libFuzzer target built in BUILD_DIR for SECONDS seconds each, starting from its seed
# corpus in tests/fuzz/corpus/<target without fuzz_>/ (read only: new inputs go to a temp dir).
# Prints the executions reached per target; fails if any target finds a crash.
set -euo pipefail
build=${1:-build-fuzz}
seconds=${2:-30}
root=$(cd "$(dirname "$0")/.." && pwd)
status=0
for bin in "$build"/tests/fuzz/fuzz_*; do
  [ -x "$bin" ] || continue
  name=$(basename "$bin")
  seeds="$root/tests/fuzz/corpus/${name#fuzz_}"
  work=$(mktemp -d)
  args=("$work")
  [ -d "$seeds" ] && args+=("$seeds")
  log="$work/log"
  if "$bin" -max_total_time="$seconds" -print_final_stats=1 -artifact_prefix="$work/" \
       "${args[@]}" >"$log" 2>&1; then
    execs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' || echo '?')
    echo "fuzz: $name: $execs executions in ${seconds}s, no crash"
  else
    echo "fuzz: $name: FAILED"; tail -n 40 "$log"; status=1
    ls "$work"/crash-* 2>/dev/null | sed 's/^/    artifact: /' || true
  fi
done
exit $status
