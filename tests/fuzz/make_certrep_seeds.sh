#!/usr/bin/env bash
# Makes the seeds of fuzz_certrep: real CertReps (SUCCESS with a certificate, PENDING, FAILURE,
# GetCRL) from evercertd to the fixed test client of tests/fuzz/keys/ (the key the target embeds).
# Usage: tests/fuzz/make_certrep_seeds.sh [BUILD_DIR]; writes tests/fuzz/corpus/certrep/.
set -euo pipefail
export no_proxy="*" NO_PROXY="*"
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$root/build}
tool="$build/tests/scep_tool"
keys="$root/tests/fuzz/keys"
out="$root/tests/fuzz/corpus/certrep"
work=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
mkdir -p "$out"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
for grant in "grant auto" "" "grant none"; do
  name=${grant// /_}; name=${name:-manual}
  printf 'ip http server %s\nip http bind 127.0.0.1\nclock calendar-valid\ncrypto pki server ROOTCA\n  %s\n' \
    "$port" "$grant" >"$work/$name.conf"
  "$build/evercertd" --config "$work/$name.conf" --state-dir "$work/$name" --foreground >/dev/null 2>&1 &
  pids+=($!)
  for _ in $(seq 1 100); do curl -sf -o /dev/null "http://127.0.0.1:$port/?operation=GetCACaps" && break; sleep 0.1; done
  ca="$work/$name/ROOTCA/ROOTCA.pem"
  for type in pkcsreq getcrl; do
    [ "$type" = getcrl ] && [ "$name" != grant_auto ] && continue
    "$tool" request --type "$type" --ca "$ca" --key "$keys/client.key" --signer "$keys/client.crt" \
      --txid "seed-$name-$type" --out "$work/req.der" --cipher AES --digest SHA-256
    curl -s -o "$out/$name-$type.der" --data-binary @"$work/req.der" \
      "http://127.0.0.1:$port/cgi-bin/pkiclient.exe?operation=PKIOperation"
  done
  kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true
done
ls -l "$out"
