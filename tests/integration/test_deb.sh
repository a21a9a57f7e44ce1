#!/usr/bin/env bash
# make deb: the Debian package built by dpkg-buildpackage from a copy of the tree (the longest
# step: about a minute on two idle cores, three on busy ones), lintian without errors, the files
# and maintainer scripts an operator relies on (the evercert user, /var/lib/evercert 0700, the
# configuration as a conffile), the unit verified by systemd-analyze; unpacked with dpkg-deb -x,
# the package's evercertd runs a CA and a trustpoint enrolls from that root.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/installed.sh"
enter_private_network "$@"

for tool in dpkg-buildpackage dh lintian scdoc fakeroot; do
  command -v "$tool" >/dev/null || fail "$tool is missing (scripts/deps.sh installs it)"
done
started=$SECONDS
bash "$SRC/scripts/build-deb.sh" "$WORK/deb" >"$WORK/build-deb.out" 2>&1 \
  || { cat "$WORK/build-deb.out"; fail "make deb"; }
deb=$(ls "$WORK"/deb/evercert_*.deb)
pass "package built in $((SECONDS - started)) s: $(basename "$deb")"

lintian --tag-display-limit 0 "$deb" >"$WORK/lintian.log" 2>&1 || true
if grep -q '^E: ' "$WORK/lintian.log"; then cat "$WORK/lintian.log"; fail "lintian reports errors"; fi
pass "lintian: no errors ($(grep -c '^W: ' "$WORK/lintian.log" || true) warning(s))"

root=$WORK/root
dpkg-deb -x "$deb" "$root"
expected=$( (cat <<LIST
/etc/evercert/evercert.conf
/lib/systemd/system/evercertd.service
/usr/lib/sysusers.d/evercert.conf
/usr/libexec/evercert/evercert-http
/usr/sbin/evercert
/usr/sbin/evercertd
/usr/share/bash-completion/completions/evercert
/usr/share/bash-completion/completions/evercertd
/usr/share/doc/evercert/changelog.gz
/usr/share/doc/evercert/copyright
/usr/share/man/man5/evercert.conf.5.gz
/usr/share/man/man8/evercert.8.gz
/usr/share/man/man8/evercertd.8.gz
LIST
  awk -F/ '{print "/usr/share/doc/evercert/" $NF ".gz"}' "$SRC/debian/docs") | LC_ALL=C sort)
assert_eq "$(installed_files "$root")" "$expected" "files of the package"
control=$(dpkg-deb -f "$deb" Depends)
assert_contains "$control" "adduser" "Depends"
assert_contains "$control" "libmicrohttpd12" "Depends"
dpkg-deb -e "$deb" "$WORK/control"
assert_eq "$(cat "$WORK/control/conffiles")" "/etc/evercert/evercert.conf" "conffiles"
postinst=$(cat "$WORK/control/postinst")
assert_contains "$postinst" "adduser --system --group" "postinst"
assert_contains "$postinst" "install -d -o evercert -g evercert -m 0700 /var/lib/evercert" "postinst"
assert_contains "$postinst" "chown root:evercert /etc/evercert/evercert.conf" "postinst"
"$root/usr/sbin/evercertd" --check --config "$root/etc/evercert/evercert.conf" >/dev/null \
  || fail "the packaged configuration does not pass --check"
pass "contents: programs, man pages, unit, docs; the evercert user and /var/lib/evercert 0700 made at configure"

unit=$root/lib/systemd/system/evercertd.service
grep -qxF "ExecStart=/usr/sbin/evercertd --config /etc/evercert/evercert.conf --state-dir /var/lib/evercert --foreground" \
  "$unit" || fail "the packaged unit does not run /usr/sbin/evercertd on /etc/evercert/evercert.conf"
mkdir -p "$WORK/units"
sed "s|/usr/sbin/evercertd|$root/usr/sbin/evercertd|" "$unit" >"$WORK/units/evercertd.service"
MANPATH=$root/usr/share/man: systemd-analyze verify "$WORK/units/evercertd.service" >"$WORK/verify.log" 2>&1 \
  || { cat "$WORK/verify.log"; fail "systemd-analyze verify"; }
pass "the packaged unit passes systemd-analyze verify"

enroll_from_installed "$root/usr/sbin"
pass "from the unpacked package: a CA runs and a trustpoint enrolls through its evercert-http"
