#!/usr/bin/env bash
# The pictures in a real browser: `show timeline --html` of a CA with two generations and a client
# that enrolled and was told 503 once, and `forecast --html`, each rendered by headless Chromium.
# The screenshot must not be blank (enough non-white pixels, several colours) and the rendered
# DOM must hold one SVG lane per CA generation and per holder; the text form has no ANSI escapes
# when its output is not a terminal.
source "$(dirname "$0")/../lib/common.sh"

browser=$(command -v chromium || true)
[ -n "$browser" ] || fail "chromium is not installed (scripts/deps.sh installs it)"
# Debian's python3-pil serves /usr/bin/python3, which another python3 first in PATH may not see.
pil_python=""
for py in python3 /usr/bin/python3; do
  if "$py" -c 'import PIL' 2>/dev/null; then pil_python=$py; break; fi
done
[ -n "$pil_python" ] || fail "python3-pil is not installed (scripts/deps.sh installs it)"

start_ca ca "clock simulate start 2015-10-09T13:14:16Z rate 0
crypto pki server ROOTCA
  grant auto
  lifetime certificate 365
  lifetime ca-certificate 730
  auto-rollover 90"
start_daemon c1 "hostname c1
clock simulate start 2015-10-09T13:14:16Z rate 0
crypto pki trustpoint ROOT
  enrollment url http://127.0.0.1:$port
  fingerprint $fp
  subject-name CN=c1.example
  auto-enroll 60"
enrolled() { cli c1 show crypto pki trustpoints | grep -q '^  Router General Purpose certificate configured:'; }
wait_for 60 enrolled
# An early GetNextCACert (503), then the successor made by hand: two generations.
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/cgi-bin/pkiclient.exe?operation=GetNextCACert")
assert_eq "$code" 503 "early GetNextCACert"
cli ca server ROOTCA rollover >/dev/null

text=$(cli ca show timeline)
assert_contains "$text" "ROOTCA generation 1" "show timeline"
assert_contains "$text" "c1.example" "show timeline"
case "$text" in *$'\033'*) fail "ANSI escapes in show timeline on a pipe";; esac
pass "show timeline on a pipe: lanes, no escape codes"

out=$(cli ca show timeline --html "$WORK/timeline.html")
assert_contains "$out" "$WORK/timeline.html" "where the page went"
"$EVERCERT" forecast --config "$WORK/ca.conf" --clients 10000 --client-policy 70 --spread 365d \
  --html "$WORK/forecast.html" >/dev/null
for page in timeline forecast; do
  grep -qiE '<script|<link|@import|url\(|@font-face' "$WORK/$page.html" && fail "$page.html loads something"
done
pass "both pages are self-contained"

# screenshot PAGE, dom PAGE: the page as Chromium draws it, and its DOM as Chromium builds it
# (a profile of its own in $WORK).
screenshot() {
  timeout 90 "$browser" --headless --no-sandbox --disable-gpu --user-data-dir="$WORK/chromium" \
    --window-size=1100,700 --screenshot="$WORK/$1.png" "file://$WORK/$1.html" >/dev/null 2>&1 ||
    fail "chromium could not take a screenshot of $1.html"
}
dom() {
  timeout 90 "$browser" --headless --no-sandbox --disable-gpu --user-data-dir="$WORK/chromium" \
    --dump-dom "file://$WORK/$1.html" >"$WORK/$1.dom" 2>/dev/null || fail "chromium could not render $1.html"
}
# not_blank PNG: prints the non-white pixels and the colours; fails under the thresholds.
not_blank() {
  "$pil_python" - "$1" <<'PY'
import sys
from PIL import Image
img = Image.open(sys.argv[1]).convert("RGB")
pixels = list(img.getdata())
ink = sum(1 for p in pixels if p != (255, 255, 255))
colours = len(set(pixels))
print(f"{ink} non-white pixels of {len(pixels)}, {colours} colours")
sys.exit(0 if ink > len(pixels) // 50 and colours >= 8 else 1)
PY
}

screenshot timeline
dom timeline
shot=$(not_blank "$WORK/timeline.png") || fail "the timeline's screenshot is blank: $shot"
lanes=$(grep -o '<g class="lane"' "$WORK/timeline.dom" | wc -l)
assert_eq "$lanes" 3 "SVG lanes in the rendered timeline (generations 0 and 1, c1.example)"
for lane in "ROOTCA generation 0" "ROOTCA generation 1" "c1.example"; do
  grep -q "data-name=\"$lane\"" "$WORK/timeline.dom" || fail "no lane $lane in the rendered DOM"
done
grep -q '<title>503' "$WORK/timeline.dom" || fail "no 503 mark in the rendered timeline"
pass "timeline in Chromium: $shot; $lanes lanes; the 503 marked"

screenshot forecast
shot=$(not_blank "$WORK/forecast.png") || fail "the forecast's screenshot is blank: $shot"
bars=$(grep -o 'class="load"' "$WORK/forecast.html" | wc -l)
[ "$bars" -gt 100 ] || fail "only $bars days of load in the rendered forecast"
pass "forecast in Chromium: $shot; $bars days drawn"
