#!/usr/bin/env bash
# The state directory cannot be redirected: a state or CA directory reached through a symbolic
# link or a directory that another user owns, or through a directory others can write without
# the sticky bit, is refused at start with the component and the fix; the daemon's own links
# (and root's) are followed, also when it runs as an unprivileged user; and a symbolic link found
# inside the state directory where the daemon opens, reads or replaces a file is never followed:
# what it points to is left untouched. Runs as root (it makes files of user nobody).
source "$(dirname "$0")/../lib/common.sh"

if [ "$(id -u)" -ne 0 ] || ! command -v setpriv >/dev/null; then
  echo "ok - skipped: needs root and setpriv"
  exit 0
fi
NOBODY=$(id -u nobody)
NOGROUP=$(id -g nobody)
conf="$WORK/ca.conf"
printf '%s\n' "clock calendar-valid" "crypto pki server ROOTCA" "  grant auto" >"$conf"
chmod 644 "$conf"

# refused WHAT STATE_DIR EXPECTED...: the daemon must refuse to start and say each EXPECTED.
refused() {
  local what=$1 dir=$2 out rc=0
  shift 2
  out=$(timeout 60 "$EVERCERTD" --config "$conf" --state-dir "$dir" --foreground 2>&1) || rc=$?
  [ "$rc" -ne 0 ] || fail "$what: the daemon started"
  [ "$rc" -ne 124 ] || fail "$what: the daemon neither started nor stopped"
  for e in "$@"; do assert_contains "$out" "$e" "$what"; done
}
# starts NAME STATE_DIR [setpriv args]: the daemon starts on STATE_DIR and answers, then stops.
starts() {
  local name=$1 dir=$2
  shift 2
  local -a as=()
  [ $# -eq 0 ] || as=(setpriv "$@" --)
  "${as[@]}" "$EVERCERTD" --config "$conf" --state-dir "$dir" --foreground >"$WORK/$name.log" 2>&1 &
  local pid=$!
  PIDS+=("$pid")
  for _ in $(seq 1 300); do
    if "${as[@]}" "$EVERCERT" --state-dir "$dir" ping >/dev/null 2>&1; then
      kill "$pid"
      wait "$pid" 2>/dev/null || true
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || { cat "$WORK/$name.log" >&2; fail "$name: the daemon exited at start"; }
    sleep 0.1
  done
  cat "$WORK/$name.log" >&2
  fail "$name: the daemon did not start"
}

# ---- a symbolic link on the way, owned by another user
mkdir -p "$WORK/t1/real"
ln -s real "$WORK/t1/link"
chown -h "$NOBODY:$NOGROUP" "$WORK/t1/link"
refused "a link owned by nobody" "$WORK/t1/link/state" \
  "symbolic link $WORK/t1/link is owned by uid $NOBODY" "neither root nor the daemon's user"
[ ! -e "$WORK/t1/real/state" ] || fail "a refused start created the state directory behind the link"
chown -h root:root "$WORK/t1/link"
starts "root's link" "$WORK/t1/link/state"
[ -e "$WORK/t1/real/state/evercertd.lock" ] || fail "root's own link was not followed"
pass "a state directory through a link owned by nobody is refused (named, nothing created); root's link is followed"

# ---- a directory on the way that others can write, or that another user owns
mkdir -p "$WORK/t2/open"
chmod 777 "$WORK/t2/open"
refused "a world-writable component" "$WORK/t2/open/state" \
  "directory $WORK/t2/open is writable by other users (mode 0777) without the sticky bit" "chmod go-w $WORK/t2/open"
chmod 775 "$WORK/t2/open"
refused "a group-writable component" "$WORK/t2/open/state" "(mode 0775) without the sticky bit"
chmod 1777 "$WORK/t2/open"
starts "sticky" "$WORK/t2/open/state"
mkdir -p "$WORK/t3/theirs/state"
chown "$NOBODY:$NOGROUP" "$WORK/t3/theirs"
refused "a component owned by nobody" "$WORK/t3/theirs/state" \
  "directory $WORK/t3/theirs is owned by uid $NOBODY" "neither root nor the daemon's user"
pass "a component writable by group or others (no sticky bit) or owned by another user is refused, with the fix"

# ---- a CA directory (database url) gets the same checks
printf '%s\n' "clock calendar-valid" "crypto pki server ROOTCA" "  grant auto" \
  "  database url $WORK/t3/theirs/ca" >"$WORK/ca-url.conf"
out=$(timeout 60 "$EVERCERTD" --config "$WORK/ca-url.conf" --state-dir "$WORK/t4" --foreground 2>&1) &&
  fail "a database url under a directory of nobody was accepted"
assert_contains "$out" "directory $WORK/t3/theirs is owned by uid $NOBODY" "database url"
pass "a database url directory under a component of another user is refused"

# ---- the daemon's own user: its links and directories are trusted when it runs as nobody
chmod 711 "$WORK"
mkdir -p "$WORK/t5/mine"
chown "$NOBODY:$NOGROUP" "$WORK/t5/mine"
ln -s mine "$WORK/t5/link"
chown -h "$NOBODY:$NOGROUP" "$WORK/t5/link"
starts "as nobody" "$WORK/t5/link/state" --reuid="$NOBODY" --regid="$NOGROUP" --clear-groups
[ "$(stat -c %u "$WORK/t5/mine/state/ROOTCA/ROOTCA.0.key")" = "$NOBODY" ] || fail "the CA key is not nobody's"
pass "run as nobody, the daemon follows its own link and uses a directory it owns"

# ---- links inside the state directory are never followed
state="$WORK/t6"
victim="$WORK/victim"
printf 'precious\n' >"$victim"
chmod 600 "$victim"
mkdir -p "$state"
chmod 700 "$state"
ln -s "$victim" "$state/evercertd.lock"
refused "a link at the lock file" "$state" "$state/evercertd.lock is a symbolic link: refusing to follow it"
rm "$state/evercertd.lock"
ln -s "$victim" "$state/evercertd.log"
out=$(timeout 60 "$EVERCERTD" --config "$conf" --state-dir "$state" 2>&1) && fail "started with a link at the log file"
assert_contains "$out" "evercertd.log is a symbolic link" "a link at the log file (detached start)"
rm "$state/evercertd.log"
mkdir -m 700 "$state/ROOTCA"
ln -s "$victim" "$state/ROOTCA/ROOTCA.keypass"
refused "a link at the CA key password" "$state" "ROOTCA.keypass is a symbolic link"
rm "$state/ROOTCA/ROOTCA.keypass" "$state/ROOTCA"/ROOTCA.db*
ln -s "$victim" "$state/ROOTCA/ROOTCA.db"
refused "a link at the CA database" "$state" "ROOTCA.db is not a regular file"
rm "$state/ROOTCA/ROOTCA.db"
ln -s "$victim" "$state/ROOTCA/ROOTCA.crl"
ln -s "$victim" "$state/ROOTCA/ROOTCA.pem"
starts "links at the CRL and the CA certificate" "$state"
for f in ROOTCA.crl ROOTCA.pem; do
  [ -f "$state/ROOTCA/$f" ] && [ ! -L "$state/ROOTCA/$f" ] || fail "$f is still a link"
done
assert_eq "$(cat "$victim")" "precious" "the target of the links"
[ "$(stat -c %a "$victim")" = 600 ] || fail "the target's mode changed"
pass "links at the lock, log, key password and database are refused; links at the CRL and CA certificate are replaced; their target untouched"
