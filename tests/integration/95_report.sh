#!/bin/bash
# 95_report.sh: `labsup report` on a real lab (local backend, contention
# hum, samplers), opened in Debian's headless Chromium: the page draws
# every chart with data (each chart's element says so once uPlot drew it),
# logs nothing to the console, holds no script an event text or a config
# value smuggled in, needs no network, and a range before the lab existed
# draws "no data" everywhere.  Keeps a screenshot (path printed).  A
# `scenario run deadlock` keeps its result and a report beside it with
# its steps as marks and its expectations as windows, which `report
# --scenario` draws again from the saved result.
# The lab's 20 s are counted in its own records in InfluxDB, not slept.
. "$(dirname "$0")/../lib.sh"
command -v initdb >/dev/null || skip "PostgreSQL 15 server binaries not installed"
command -v influxd >/dev/null || skip "influxd not installed"
command -v chromium >/dev/null || skip "chromium not installed (scripts/deps.sh installs it)"

# the build the tested labsup comes from (make BUILD=... integration)
BUILD_DIR=$(dirname "$LABSUP")
RMARKS=$BUILD_DIR/tests/tools/reportmarks
[ -x "$RMARKS" ] || make -C "$ROOT" --no-print-directory BUILD="$BUILD_DIR" "$RMARKS" >/dev/null ||
	fail "cannot build $RMARKS"

ART=${ARTIFACTS:-/tmp/labsup-artifacts}
mkdir -p "$ART" || fail "cannot create the artifact directory $ART"

# a config value that would be markup if the header did not escape it
# (the docker image names mean nothing to the local backend)
HOSTILE_CONF="x</pre><script>document.body.setAttribute('data-pwned','conf')</script>"
lab_setup report <<EOC
[hum]
clients = 4
rate = 60
workload = contention

[docker]
image_grafana = $HOSTILE_CONF
EOC

# chrome ARGS... URL: headless Chromium with its own profile; as root it
# needs --no-sandbox (no user namespaces in a container either)
CHROME_HOME="$LAB_DIR/chromium"
mkdir -p "$CHROME_HOME"
chrome() {
	HOME=$CHROME_HOME timeout 120 chromium --headless --no-sandbox \
	    --disable-gpu --no-first-run --disable-extensions \
	    --user-data-dir="$CHROME_HOME/profile" "$@"
}

note "chromium can run here"
printf '<!DOCTYPE html><body data-ok="1"></body>' >"$LAB_DIR/probe.html"
if ! chrome --dump-dom "file://$LAB_DIR/probe.html" >"$LAB_DIR/probe.dom" 2>"$LAB_DIR/probe.err" ||
	! grep -q 'data-ok="1"' "$LAB_DIR/probe.dom"; then
	skip "headless chromium cannot run here: $(grep -v dbus "$LAB_DIR/probe.err" | tail -1)"
fi

note "usage errors come first"
out=$(lab report --since soon 2>&1); rc=$?
[ $rc -eq 2 ] || fail "report --since soon exited $rc, want 2: $out"
echo "$out" | grep -q -- '--since: expected a duration such as .*, not "soon"' || fail "no reason for --since soon: $out"
out=$(lab report --since 1h --from now 2>&1); rc=$?
[ $rc -eq 2 ] || fail "--since with --from exited $rc, want 2: $out"

note "no InfluxDB: one line that says what to do, and no file"
out=$(lab report -o "$LAB_DIR/none.html" 2>&1); rc=$?
[ $rc -eq 1 ] || fail "report without a lab exited $rc, want 1: $out"
echo "$out" | grep -q "cannot query InfluxDB at http://127.0.0.1:$INFLUX_PORT.*labsup start" ||
	fail "no useful error without InfluxDB: $out"
[ "$(echo "$out" | wc -l)" -eq 1 ] || fail "more than one line: $out"
ls "$LAB_DIR" | grep -q '^none\.html' && fail "a failed report left a file: $(ls "$LAB_DIR")"

note "start a lab and let it run 20 s of its own time"
T0=$(date +%s)	# before the start, so the start event is in the range
lab start >/dev/null || fail "labsup start failed"
# an event text that would be script if the page did not escape it
HOSTILE='</script><script>document.body.setAttribute(\"data-pwned\",\"event\")</script><img src=x onerror=document.body.setAttribute(\"data-pwned\",\"img\")>'
curl -sS -o /dev/null -w '%{http_code}' -XPOST \
	"http://127.0.0.1:$INFLUX_PORT/write?db=labsup&precision=s" \
	--data-binary "events,kind=test text=\"$HOSTILE\" $(( T0 + 1 ))" | grep -q 204 ||
	fail "cannot write the test event to InfluxDB"
past() {	# hum and sampler records 20 s past the start, and a lock wait
	[ "$(influx_value "SELECT count(tx) FROM hum WHERE time > $(( (T0 + 20) * 1000000000 ))")" -gt 0 ] &&
	[ "$(influx_value "SELECT count(waiting) FROM pg_blocking WHERE time > $(( (T0 + 20) * 1000000000 ))")" -gt 0 ] &&
	[ "$(influx_value "SELECT count(\"count\") FROM pg_locks WHERE granted = 'false' AND time > $(( T0 * 1000000000 ))")" -gt 0 ]
}
wait_for 300 past || fail "no hum, sampler and lock-wait records 20 s past the start in InfluxDB"

note "scenario run deadlock: its result and its report are kept"
out=$(lab scenario run deadlock 2>"$LAB_DIR/scn.err"); rc=$?
[ $rc -eq 0 ] || fail "scenario run deadlock exited $rc: $out $(cat "$LAB_DIR/scn.err")"
grep -q warning "$LAB_DIR/scn.err" && fail "scenario run warned: $(cat "$LAB_DIR/scn.err")"
SCN_JSON=$(sed -n 's/^saved: //p' <<<"$out") SCN_HTML=$(sed -n 's/^report: //p' <<<"$out")
case $SCN_JSON in
*/scenarios/deadlock-*Z.json) ;;
*) fail "scenario run did not say where it saved its result: $out" ;;
esac
[ -f "$SCN_JSON" ] && [ -f "$SCN_HTML" ] || fail "no $SCN_JSON or ${SCN_HTML:-report}: $out"
[ "${SCN_HTML%.html}" = "${SCN_JSON%.json}" ] || fail "the report $SCN_HTML is not beside $SCN_JSON"
jq -e '.scenario == "deadlock" and .passed' "$SCN_JSON" >/dev/null || fail "the saved result: $(head -c 300 "$SCN_JSON")"
SCN_MARKS=$(jq '[.steps[] | select(.start_ns > 0)] | length * 2' "$SCN_JSON")
SCN_WINDOWS=$(jq '.expectations | length' "$SCN_JSON")
note "$SCN_HTML: $SCN_MARKS marks, $SCN_WINDOWS windows expected"
# its deadlock is one lock-wait episode and one server ERROR
logged() {
	[ "$(influx_value "SELECT count(message) FROM pg_log WHERE severity = 'ERROR' AND time > $(( T0 * 1000000000 ))")" -gt 0 ] &&
	[ "$(influx_value "SELECT count(duration_ms) FROM lock_wait WHERE state = 'ended' AND time > $(( T0 * 1000000000 ))")" -gt 0 ]
}
wait_for 60 logged || fail "no pg_log ERROR and no ended lock_wait episode in InfluxDB after the deadlock"

note "labsup report"
REPORT="$LAB_DIR/report.html"
out=$(lab report --from "@$(( T0 - 5 ))" --to now -o "$REPORT" 2>&1) ||
	fail "labsup report failed: $out"
[ "$out" = "$REPORT" ] || fail "report printed \"$out\", want the file's path"
size=$(stat -c %s "$REPORT")
note "report: $size bytes"
grep -qi '<script[^>]*src=\|<link[^>]*href=' "$REPORT" && fail "the page loads something from elsewhere"
cp "$REPORT" "$ART/95_report.html"

note "open it in headless chromium"
chrome --enable-logging=stderr --v=0 --virtual-time-budget=10000 \
	--dump-dom "file://$REPORT" >"$LAB_DIR/report.dom" 2>"$LAB_DIR/chrome.err" ||
	fail "chromium failed on the report: $(grep -v dbus "$LAB_DIR/chrome.err" | tail -3)"
body=$(grep -o '<body [^>]*>' "$LAB_DIR/report.dom" | head -1)
note "page: $body"
echo "$body" | grep -q 'data-state="ready"' || fail "the page did not finish: $body"
echo "$body" | grep -q 'data-errors="0"' || fail "the page saw script errors: $body"
echo "$body" | grep -q 'data-pwned' && fail "injected script ran: $body"
if grep 'CONSOLE' "$LAB_DIR/chrome.err"; then
	fail "the page wrote to the console (above)"
fi
grep -q '<img' "$LAB_DIR/report.dom" && fail "an event text became an element"
grep -qF 'document.body.setAttribute("data-pwned","event")&lt;/script&gt;' "$LAB_DIR/report.dom" ||
	fail "the hostile event's text is not shown as text"
grep -qF "x&lt;/pre&gt;&lt;script&gt;document.body.setAttribute(" "$LAB_DIR/report.dom" ||
	fail "the hostile config value is not shown as text"

charts=$(grep -o '<section class="chart" id="chart-[a-z_]*" data-state="[a-z]*"[^>]*>' "$LAB_DIR/report.dom")
n=$(echo "$charts" | grep -c .)
want=$(echo "$body" | sed -n 's/.*data-charts="\([0-9]*\)".*/\1/p')
note "$n charts on the page, $want in the report"
[ "$n" -ge 15 ] && [ "$n" = "$want" ] || fail "$n charts drawn of $want: $charts"
# attr LINE NAME: the value of attribute NAME in an element's start tag
attr() { sed -n "s/.* $2=\"\([^\"]*\)\".*/\1/p" <<<"$1"; }
nev=$(attr "$body" data-events)
[ "${nev:-0}" -ge 2 ] || fail "the page lists ${nev:-no} events, want the start and the test event"
while read -r line; do
	id=$(attr "$line" id) st=$(attr "$line" data-state)
	pts=$(attr "$line" data-points) ev=$(attr "$line" data-events)
	note "$id: $st, ${pts:-0} points, ${ev:-no} event lines"
	[ "$st" = drawn ] && [ "${pts:-0}" -gt 0 ] || fail "$id is $st with ${pts:-0} points"
	[ "$ev" = "$nev" ] || fail "$id drew ${ev:-no} of the $nev events"
done <<<"$charts"
grep -q '<span class="k">start: </span>' "$LAB_DIR/report.dom" || fail "the lab's start event is not listed"

note "screenshot"
chrome --screenshot="$ART/95_report.png" --window-size=1400,3600 \
	--virtual-time-budget=10000 "file://$REPORT" >/dev/null 2>&1 ||
	fail "chromium could not take a screenshot"
[ "$(head -c 8 "$ART/95_report.png" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] ||
	fail "the screenshot is not a PNG"
note "screenshot: $ART/95_report.png (page: $ART/95_report.html)"

note "report_write with a caller's marks and windows (as a scenario run)"
"$RMARKS" "$LAB_CONF" "$(( T0 - 5 ))" "$(date +%s)" "$LAB_DIR/marks.html" \
	"$(( T0 + 8 )):step 1 <b>load</b>" "$(( T0 + 15 )):step 2" \
	"W:$(( T0 + 10 )):$(( T0 + 14 )):pass:lag < 2 s: 840 ms" \
	"W:$(( T0 + 16 )):$(( T0 + 19 )):fail:no errors: 3" || fail "reportmarks failed"
chrome --enable-logging=stderr --v=0 --virtual-time-budget=10000 \
	--dump-dom "file://$LAB_DIR/marks.html" >"$LAB_DIR/marks.dom" 2>"$LAB_DIR/marks.err" ||
	fail "chromium failed on the marked report"
mbody=$(grep -o '<body [^>]*>' "$LAB_DIR/marks.dom" | head -1)
[ "$(attr "$mbody" data-state)" = ready ] && [ "$(attr "$mbody" data-errors)" = 0 ] ||
	fail "the marked report did not finish cleanly: $mbody"
[ "$(attr "$mbody" data-marks)" = 2 ] && [ "$(attr "$mbody" data-windows)" = 2 ] ||
	fail "the page has not the 2 marks and 2 windows: $mbody"
grep -q CONSOLE "$LAB_DIR/marks.err" && fail "the marked report wrote to the console"
bad=$(grep -o '<section class="chart"[^>]*data-state="drawn"[^>]*>' "$LAB_DIR/marks.dom" |
	grep -v 'data-windows="2" data-marks="2"')
[ -z "$bad" ] || fail "charts without both marks and windows: $bad"
grep -q '<li class="pass">.*lag &lt; 2 s: 840 ms (pass)</li>' "$LAB_DIR/marks.dom" || fail "the pass window is not listed"
grep -q '<li class="fail">.*no errors: 3 (fail)</li>' "$LAB_DIR/marks.dom" || fail "the fail window is not listed"
grep -qF 'step 1 &lt;b&gt;load&lt;/b&gt;</li>' "$LAB_DIR/marks.dom" || fail "a mark's label is not shown as text"
grep -qF '<h1>reportmarks: a &lt;scenario&gt; &amp; its steps</h1>' "$LAB_DIR/marks.dom" || fail "the title is not escaped"
chrome --screenshot="$ART/95_report_marks.png" --window-size=1400,1400 \
	--virtual-time-budget=10000 "file://$LAB_DIR/marks.html" >/dev/null 2>&1 ||
	fail "chromium could not take the marked screenshot"
note "screenshot with marks and windows: $ART/95_report_marks.png"

note "the scenario's report: its steps as marks, its expectations as windows"
chrome --enable-logging=stderr --v=0 --virtual-time-budget=10000 \
	--dump-dom "file://$SCN_HTML" >"$LAB_DIR/scn.dom" 2>"$LAB_DIR/scn.cerr" ||
	fail "chromium failed on the scenario's report"
sbody=$(grep -o '<body [^>]*>' "$LAB_DIR/scn.dom" | head -1)
note "page: $sbody"
[ "$(attr "$sbody" data-state)" = ready ] && [ "$(attr "$sbody" data-errors)" = 0 ] ||
	fail "the scenario's report did not finish cleanly: $sbody"
[ "$(attr "$sbody" data-marks)" = "$SCN_MARKS" ] && [ "$(attr "$sbody" data-windows)" = "$SCN_WINDOWS" ] ||
	fail "the scenario's report has not $SCN_MARKS marks and $SCN_WINDOWS windows: $sbody"
grep -q CONSOLE "$LAB_DIR/scn.cerr" && fail "the scenario's report wrote to the console"
sdrawn=$(grep -o '<section class="chart"[^>]*data-state="drawn"[^>]*>' "$LAB_DIR/scn.dom")
[ -n "$sdrawn" ] || fail "the scenario's report drew no chart"
bad=$(grep -v "data-windows=\"$SCN_WINDOWS\" data-marks=\"$SCN_MARKS\"" <<<"$sdrawn")
[ -z "$bad" ] || fail "charts without the run's marks and windows: $bad"
grep -q '<li class="pass">.*session_errors == 1: 1 (pass)</li>' "$LAB_DIR/scn.dom" ||
	fail "the session_errors window is not listed with its value"
grep -qF '<h1>labsup scenario deadlock: passed</h1>' "$LAB_DIR/scn.dom" || fail "the scenario's report has not its title"
cp "$SCN_HTML" "$ART/95_report_scenario.html"

note "report --scenario: the saved run again, by last, by name and by path"
# data FILE: the page's data object
data() { sed -n 's/^<script type="application\/json" id="report-data">\(.*\)<\/script>$/\1/p' "$1"; }
start=$(jq '.start_ns / 1e9 - 10 | floor' "$SCN_JSON")
for run in last deadlock "$SCN_JSON"; do
	out=$(lab report --scenario "$run" -o "$LAB_DIR/again.html" 2>&1) ||
		fail "report --scenario $run failed: $out"
	d=$(data "$LAB_DIR/again.html")
	[ "$(jq '.marks | length' <<<"$d")" = "$SCN_MARKS" ] &&
	[ "$(jq '.windows | length' <<<"$d")" = "$SCN_WINDOWS" ] &&
	[ "$(jq '.from | floor' <<<"$d")" = "$start" ] ||
		fail "report --scenario $run: not the run's range, marks and windows: $(head -c 300 <<<"$d")"
done
out=$(lab report --scenario no-such-run 2>&1); rc=$?
[ $rc -eq 1 ] && grep -q 'no saved scenario run "no-such-run" in .*/scenarios' <<<"$out" ||
	fail "report --scenario of nothing exited $rc: $out"
out=$(lab report --scenario last --since 1h 2>&1); rc=$?
[ $rc -eq 2 ] || fail "--scenario with --since exited $rc, want 2: $out"

note "a report that cannot be written is a warning: the run still passes and is kept"
out=$(lab scenario run deadlock --json --report "$LAB_DIR/no-such-dir/x.html" 2>"$LAB_DIR/scn2.err"); rc=$?
[ $rc -eq 0 ] || fail "scenario run with an unwritable --report exited $rc: $(cat "$LAB_DIR/scn2.err")"
grep -q "warning: no report: cannot create $LAB_DIR/no-such-dir/x.html" "$LAB_DIR/scn2.err" ||
	fail "no warning for the unwritable report: $(cat "$LAB_DIR/scn2.err")"
jq -e '.passed and (.saved | test("/scenarios/deadlock-.*\\.json$")) and (has("report") | not)' <<<"$out" >/dev/null ||
	fail "scenario run --json: not passed with saved and without report: $(head -c 400 <<<"$out")"
[ -f "$(jq -r .saved <<<"$out")" ] || fail "the second run's result was not kept"

note "a range before the lab existed: every chart says no data"
lab report --from "@$(( T0 - 7200 ))" --to "@$(( T0 - 3600 ))" -o "$LAB_DIR/empty.html" >/dev/null ||
	fail "report of an empty range failed"
chrome --enable-logging=stderr --v=0 --virtual-time-budget=10000 \
	--dump-dom "file://$LAB_DIR/empty.html" >"$LAB_DIR/empty.dom" 2>"$LAB_DIR/empty.err" ||
	fail "chromium failed on the empty report"
grep -q '<body [^>]*data-state="ready"[^>]*data-errors="0"' "$LAB_DIR/empty.dom" ||
	fail "the empty report did not finish cleanly: $(grep -o '<body [^>]*>' "$LAB_DIR/empty.dom")"
grep -q CONSOLE "$LAB_DIR/empty.err" && fail "the empty report wrote to the console"
nodata=$(grep -o 'data-state="nodata"' "$LAB_DIR/empty.dom" | wc -l)
[ "$nodata" = "$want" ] || fail "$nodata of $want charts say no data in an empty range"
grep -q '<div class="nodata">no data</div>' "$LAB_DIR/empty.dom" || fail "no \"no data\" text"
note "ok"
