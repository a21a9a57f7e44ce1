#!/usr/bin/env bash
# What an operator installs and starts: `cmake --install` into a scratch root (DESTDIR) holds
# exactly the programs, manual pages, systemd unit, sysusers file, configuration and completion;
# the unit passes systemd-analyze verify; the installed evercertd runs a CA and enrolls a
# trustpoint through the installed evercert-http; --help lists every command; completion offers
# the configured names; a detached evercertd says what it did, even into a pipe; READY=1 and
# STOPPING=1 reach a notify socket; `make run` builds the programs and no test.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/installed.sh"
enter_private_network "$@"

prefix=$(sed -n 's/^CMAKE_INSTALL_PREFIX:PATH=//p' "$BUILD/CMakeCache.txt")
etc=$prefix/etc
[ "$prefix" != /usr ] || etc=/etc
root=$WORK/root
DESTDIR=$root cmake --install "$BUILD" >"$WORK/install.log" 2>&1 || { cat "$WORK/install.log"; fail "cmake --install"; }
expected=$(LC_ALL=C sort <<LIST
$etc/evercert/evercert.conf
$prefix/lib/systemd/system/evercertd.service
$prefix/lib/sysusers.d/evercert.conf
$prefix/libexec/evercert/evercert-http
$prefix/sbin/evercert
$prefix/sbin/evercertd
$prefix/share/bash-completion/completions/evercert
$prefix/share/bash-completion/completions/evercertd
$prefix/share/man/man5/evercert.conf.5
$prefix/share/man/man8/evercert.8
$prefix/share/man/man8/evercertd.8
LIST
)
assert_eq "$(installed_files "$root")" "$expected" "files installed under DESTDIR"
pass "DESTDIR install: programs, man pages, unit, sysusers, configuration, completion"

# The unit as installed, its ExecStart pointed at the staged program (verify runs it through
# access(2)) and its Documentation= pages found in the staged tree.
unit=$root$prefix/lib/systemd/system/evercertd.service
for line in Type=notify User=evercert StateDirectory=evercert StateDirectoryMode=0700 LogsDirectory=evercert \
  'ExecReload=/bin/kill -HUP $MAINPID' NoNewPrivileges=yes ProtectSystem=strict PrivateTmp=yes \
  ProtectHome=yes SystemCallFilter=@system-service \
  "ExecStart=$prefix/sbin/evercertd --config $etc/evercert/evercert.conf --state-dir /var/lib/evercert --foreground"; do
  grep -qxF -- "$line" "$unit" || fail "evercertd.service lacks '$line'"
done
mkdir -p "$WORK/units"
sed "s|$prefix/sbin/evercertd|$root$prefix/sbin/evercertd|" "$unit" >"$WORK/units/evercertd.service"
MANPATH=$root$prefix/share/man: systemd-analyze verify "$WORK/units/evercertd.service" >"$WORK/verify.log" 2>&1 \
  || { cat "$WORK/verify.log"; fail "systemd-analyze verify"; }
pass "evercertd.service: Type=notify, evercert user, state directory 0700, hardening; systemd-analyze verify passes"

enroll_from_installed "$root$prefix/sbin"
pass "the installed evercertd runs a CA, and a trustpoint enrolls through the installed evercert-http"

# Every form of the operator's grammar (src/daemon/cmd_grammar.c) has its line in evercert --help
# (its keywords in order, placeholders and alternatives between them), and so has each command
# the CLI runs alone.
help=$("$root$prefix/sbin/evercert" --help)
missing=$(python3 - "$SRC/src/daemon/cmd_grammar.c" "$help" <<'PY'
import re, sys
source, help_text = open(sys.argv[1]).read(), sys.argv[2]
table = source[source.index("FORMS[]"):]
table = table[:table.index("};")]
forms = re.findall(r'"([^"]+)"', table) + ["check --config", "forecast --config", "restore BACKUP"]
for form in forms:
    words = [w for w in form.split() if w != "SERVER" and not w.isupper()]
    between = r"[ \t\[\]|A-Z.]*(?:\n +)?"
    if not re.search(between.join(re.escape(w) for w in words), help_text):
        print(form)
PY
)
[ -z "$missing" ] || { printf '%s\n' "$help"; fail "evercert --help lacks: $missing"; }
assert_contains "$help" "show crypto pki trustpoints [status]" "evercert --help"
help=$("$root$prefix/sbin/evercertd" --help)
for option in --config --state-dir --foreground --check --help --version; do
  assert_contains "$help" "$option" "evercertd --help"
done
for page in man8/evercertd.8 man8/evercert.8 man5/evercert.conf.5; do
  MANWIDTH=80 man --warnings -l "$root$prefix/share/man/$page" >/dev/null 2>"$WORK/man.err"
  [ ! -s "$WORK/man.err" ] || { cat "$WORK/man.err"; fail "$page renders with warnings"; }
done
pass "--help lists every command and option; the manual pages render without warnings"

# Completion as bash runs it: the words after `evercert ...`, the names from the configuration.
cat >"$WORK/names.conf" <<CONF
crypto pki server ROOTCA
  grant auto
crypto pki trustpoint VPN
  enrollment url http://127.0.0.1:8080
crypto pki trustpoint WEB
  enrollment url http://127.0.0.1:8080
CONF
complete_words() {
  bash -c 'source /usr/share/bash-completion/bash_completion
    source "$1"; shift
    COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
    _evercert; printf "%s\n" "${COMPREPLY[@]}" | LC_ALL=C sort | tr "\n" " "' \
    _ "$root$prefix/share/bash-completion/completions/evercert" "$@"
}
export EVERCERT_CONFIG=$WORK/names.conf
assert_eq "$(complete_words evercert server '')" "ROOTCA " "completion of server NAME"
assert_eq "$(complete_words evercert crypto pki enroll '')" "VPN WEB " "completion of crypto pki enroll TP"
assert_eq "$(complete_words evercert --state-dir /var/lib/evercert --json authenticate W)" "WEB " \
  "completion of authenticate TP after options"
assert_eq "$(complete_words evercert show crypto pki '')" "certificates server timers trustpoints " \
  "completion of show crypto pki"
assert_eq "$(complete_words evercert server ROOTCA gr)" "grant " "completion of server NAME gr"
assert_eq "$(complete_words evercert show '')" "clock crypto ip timeline " "completion of show"
assert_contains "$(complete_words evercert '')" "reload " "completion of the first word"
unset EVERCERT_CONFIG
pass "bash completion: command words, and the servers and trustpoints of the configuration"

# Without --foreground, into a file (no terminal): the pid and the log, once the CA is ready.
bg_port=$(free_port)
printf 'ip http server %s\nip http bind 127.0.0.1\nclock calendar-valid\ncrypto pki server BG\n' "$bg_port" >"$WORK/bg.conf"
"$EVERCERTD" --config "$WORK/bg.conf" --state-dir "$WORK/bg" >"$WORK/bg.out" 2>&1 </dev/null \
  || { cat "$WORK/bg.out"; fail "detached start"; }
out=$(cat "$WORK/bg.out")
assert_contains "$out" "evercertd: started in the background (pid "
assert_contains "$out" "logging to $(realpath "$WORK/bg")/evercertd.log"
bg_pid=$(sed -n 's/.*(pid \([0-9]*\)).*/\1/p' "$WORK/bg.out")
PIDS+=("$bg_pid")
kill -0 "$bg_pid" || fail "the detached daemon $bg_pid is not running"
curl -fsS "http://127.0.0.1:$bg_port/health" >/dev/null || fail "the detached CA does not answer at its start's end"
# A second one on the same port cannot start: it says why and exits 1.
set +e
"$EVERCERTD" --config "$WORK/bg.conf" --state-dir "$WORK/bg2" >"$WORK/bg2.out" 2>&1 </dev/null; rc=$?
set -e
assert_eq "$rc" 1 "exit status of a detached start that failed"
assert_contains "$(cat "$WORK/bg2.out")" "ip http server $bg_port"
kill "$bg_pid"
wait_for 20 eval "! kill -0 $bg_pid 2>/dev/null"
pass "detached: pid and log printed into a file once ready; a failed start says why and exits 1"

# Type=notify without systemd: a datagram socket where the service manager would listen.
python3 - "$WORK/notify.sock" "$WORK/notify.out" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "a") as out:
    while True:
        message = s.recv(4096).decode()
        out.write(message + "\n")
        out.flush()
        if "STOPPING=1" in message:
            break
PY
listener=$!
PIDS+=("$listener")
wait_for 10 test -S "$WORK/notify.sock"
n_port=$(free_port)
printf 'ip http server %s\nip http bind 127.0.0.1\nclock calendar-valid\ncrypto pki server NT\n' "$n_port" >"$WORK/nt.conf"
NOTIFY_SOCKET=$WORK/notify.sock "$EVERCERTD" --config "$WORK/nt.conf" --state-dir "$WORK/nt" --foreground \
  >>"$WORK/nt.log" 2>&1 &
nt_pid=$!
PIDS+=("$nt_pid")
wait_for_text "$WORK/notify.out" "READY=1" 60
curl -fsS "http://127.0.0.1:$n_port/health" >/dev/null || fail "READY=1 sent before the listener answers"
assert_contains "$(cat "$WORK/notify.out")" "STATUS=1 certificate server(s), 0 trustpoint(s)"
kill "$nt_pid"
wait_for_text "$WORK/notify.out" "STOPPING=1" 30
wait "$listener"
pass "READY=1 once the listener answers, STOPPING=1 at SIGTERM (libsystemd loaded on demand)"

# make run builds the three programs (and the pages), no test: what `make -n -B` would link.
assert_contains "$(make -n -C "$SRC" run BUILD="$BUILD" 2>/dev/null | grep -- '--target')" "--target install-parts"
if [ -f "$BUILD/Makefile" ]; then
  linked=$(make -n -B -C "$BUILD" install-parts 2>/dev/null | grep -oE '"Linking C [a-z ]+ [A-Za-z_.-]+"' | tr -d '"' |
           awk '{print $NF}' | LC_ALL=C sort -u | tr '\n' ' ')
  assert_eq "$linked" "evercert evercert-http evercertd libevercert_core.a libevercert_curl.a " "what make run builds"
fi
pass "make run builds evercertd, evercert and evercert-http, no test program"
