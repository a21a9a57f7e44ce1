# Helpers of the shell tests that play an SCEP client with scep_tool against a running CA. Source
# it after common.sh and set K (a key and message directory), ca (the CA certificate) and url (the
# CA's pkiclient.exe URL), or have scep_to set them.
use_scep_tool

# scep_to DAEMON SERVER: the requests go to certificate server SERVER of DAEMON, started by
# start_ca on $port: sets url, ca (its CA certificate), db (its store) and K ($WORK/k, made).
scep_to() {
  url="http://127.0.0.1:$port/cgi-bin/pkiclient.exe"
  ca="$WORK/$1/$2/$2.pem"
  db="$WORK/$1/$2/$2.db"
  K="$WORK/k"
  mkdir -p "$K"
}

# key NAME: a 2048-bit key in $K/NAME.key, made once.
key() { [ -f "$K/$1.key" ] || "$TOOL" keygen --out "$K/$1.key" --bits 2048 || fail "keygen $1"; }

# selfsigned NAME: NAME's key and a self-signed certificate CN=NAME.example.net in $K/NAME.self.
selfsigned() {
  key "$1"
  "$TOOL" selfsign --key "$K/$1.key" --cn "$1.example.net" --out "$K/$1.self" || fail "selfsign $1"
}

# ask NAME TYPE KEY SIGNER TXID [request options...]: sends one request signed with $K/KEY.key by
# SIGNER; prints the reply's status line ('status=S failinfo=F txid=T'); a certificate received
# is left in $K/NAME.pem (and only then).
ask() {
  local name=$1 type=$2 k=$3 signer=$4 txid=$5
  shift 5
  rm -f "$K/$name.pem"
  "$TOOL" request --type "$type" --ca "$ca" --key "$K/$k.key" --signer "$signer" --txid "$txid" \
    --out "$K/$name.der" "$@" || fail "request $name"
  curl -s -o "$K/$name.reply" --data-binary @"$K/$name.der" "$url?operation=PKIOperation" || fail "POST $name"
  "$TOOL" reply --in "$K/$name.reply" --key "$K/$k.key" --signer "$signer" --ca "$ca" --out "$K/$name.pem" ||
    fail "reply to $name unreadable"
}

# expect WHAT STATUS [FAILINFO] LINE: the status line of a reply says STATUS (and FAILINFO).
expect() {
  local what=$1 status=$2 info=${3:-} line=${4:-}
  [ -n "$line" ] || { line=$info; info=; }
  assert_contains "$line" "status=$status" "$what"
  [ -z "$info" ] || assert_contains "$line" "failinfo=$info" "$what"
}

serial_of() { openssl x509 -in "$1" -noout -serial | cut -d= -f2; }
