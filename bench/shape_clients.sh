# Sourced by bench/shapes.sh (after tests/lib/private_bus.sh): the real SCEP clients whose PKIOperation messages it records. Each
# drive_CLIENT URL OUT CAFILE N makes N enrollments (a fresh key each) at URL, the PKIOperation
# URL of the recording proxy; OUT is a scratch directory of the client's own; CAFILE is the CA
# certificate (PEM) for clients that are given it rather than fetching it. A client's failures are
# left in OUT/*.log; the caller counts the messages the proxy kept.

# micromdm's scepclient (the scep package): two at a time, each its own key and certificate.
drive_scepclient() {
  local url=$1 out=$2 n=$4
  seq 1 "$n" | xargs -P 2 -I{} sh -c 'd=$1/c{}; mkdir -p "$d"; scepclient -server-url "$2" \
    -private-key "$d/key.pem" -certificate "$d/cert.pem" -cn "shape-{}" >"$d/log" 2>&1 || true' \
    _ "$out" "$url"
}

# strongSwan's pki --scep (strongswan-pki) with its defaults, given the CA certificate for both
# encryption and the reply's signature, as an operator runs it.
drive_strongswan() {
  local url=$1 out=$2 cafile=$3 n=$4
  seq 1 "$n" | xargs -P 2 -I{} sh -c 'd=$1/c{}; mkdir -p "$d"; pki --gen --type rsa --size 2048 \
    --outform pem >"$d/key.pem" 2>"$d/log" && pki --scep --url "$2" --in "$d/key.pem" \
    --dn "CN=shape-{}, O=Bench" --cacert-enc "$3" --cacert-sig "$3" --outform pem \
    >"$d/cert.pem" 2>>"$d/log" || true' _ "$out" "$url" "$cafile"
}

# certmonger (its scep-submit helper): a private certmonger on a session bus of its own, its state
# under OUT, so that nothing of the system's is touched or started; N requests tracked at once.
# certmonger 0.79 cannot read the CA certificate from GetCACert of a CA that signs its own
# replies, so the CA is configured with it (-r for encryption, -N for verification).
drive_certmonger() {
  local url=$1 out=$2 cafile=$3 n=$4 c=$2/cm i
  mkdir -p "$c"/conf "$c"/req "$c"/cas "$c"/tmp "$c"/home "$c"/certs
  (
    export HOME="$c/home" CERTMONGER_CONFIG_DIR="$c/conf" CERTMONGER_REQUESTS_DIR="$c/req" \
      CERTMONGER_CAS_DIR="$c/cas" CERTMONGER_TMPDIR="$c/tmp" CERTMONGER_SYSTEM_LOCK_FILE="$c/lock"
    private_bus "$c" || exit 1
    certmonger -s -n -d 1 >"$c/certmonger.log" 2>&1 &
    cm=$!
    for _ in $(seq 1 100); do timeout 5 getcert list-cas -s >/dev/null 2>&1 && break; sleep 0.1; done
    cp "$cafile" "$c/ca.pem"
    getcert add-scep-ca -s -c BENCH -u "$url" -r "$c/ca.pem" -N "$c/ca.pem" >/dev/null
    for i in $(seq 1 "$n"); do
      getcert request -s -c BENCH -f "$c/certs/$i.pem" -k "$c/certs/$i.key" -N "CN=shape-$i" >/dev/null
    done
    # Done when every request has its certificate, or after a generous deadline.
    deadline=$(($(date +%s) + 60 + 2 * n))
    while [ "$(ls "$c/certs" | grep -c '\.pem$')" -lt "$n" ] && [ "$(date +%s)" -lt "$deadline" ]; do
      sleep 0.5
    done
    kill "$cm" "$bus_pid" 2>/dev/null || true
    wait "$cm" 2>/dev/null || true
  )
}
