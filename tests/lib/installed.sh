# Steps shared by the tests of an installed tree (a DESTDIR installation, a .deb unpacked with
# dpkg-deb -x). Source it after common.sh.

# installed_files ROOT: every file and link under ROOT, as absolute paths inside it, sorted.
installed_files() { (cd "$1" && find . -type f -o -type l) | sed 's|^\.||' | LC_ALL=C sort; }

# enroll_from_installed SBIN: a CA run by SBIN/evercertd, and a trustpoint in a second daemon
# of SBIN that authenticates it by fingerprint and enrolls: the installed evercertd finds the
# installed evercert-http by itself (EVERCERT_HTTP_HELPER unset). SBIN/evercert operates both.
enroll_from_installed() {
  local sbin=$1 saved_d=$EVERCERTD saved_c=$EVERCERT
  EVERCERTD=$sbin/evercertd EVERCERT=$sbin/evercert
  unset EVERCERT_HTTP_HELPER
  start_ca ica "clock calendar-valid
crypto pki server ROOTCA
  issuer-name CN=Installed Root,O=Evercert
  grant auto"
  start_daemon itp "hostname spoke-i
clock calendar-valid
crypto pki trustpoint ROOT
  enrollment url http://127.0.0.1:$port
  fingerprint $fp
  auto-enroll 80
  output certificate $WORK/itp.pem"
  wait_for 60 test -s "$WORK/itp.pem"
  openssl verify -CAfile "$WORK/ica/ROOTCA/ROOTCA.pem" "$WORK/itp.pem" >/dev/null || fail "enrolled certificate does not verify"
  stop_daemon itp
  stop_daemon ica
  EVERCERTD=$saved_d EVERCERT=$saved_c
}
