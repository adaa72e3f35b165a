#!/bin/bash
# tags: faults
# 70_scenarios.sh: `labsup scenario`.  One lab runs every built-in
# scenario (scenarios/*.scn) in turn and each must pass (exit 0); the JSON
# report carries each step's start and end and each expectation's measured
# value; every step is in InfluxDB's events with its start and end; a
# scenario whose expectation cannot hold exits 1 naming its line and the
# value measured; a malformed file is refused with file:line (exit 2); a
# lab that does not run exits 3; a run leaves no overlay, held node,
# paused subscription or changed link behind.
. "$(dirname "$0")/../lib.sh"

[ -x /usr/lib/postgresql/15/bin/postgres ] || skip "PostgreSQL 15 is not installed"
command -v influxd >/dev/null || skip "influxd is not installed"
command -v jq >/dev/null || skip "jq is not installed"
lab_setup scenarios <<EOF2
[hum]
clients = 2
rate = 50
EOF2
OUT=$LAB_DIR/out
ERR=$LAB_DIR/err

note "list and show"
lab scenario list >"$OUT" || fail "scenario list failed"
for s in row-lock alter-convoy deadlock pause-resume subscriber-down \
	apply-conflict schema-drift third-subscriber random-faults \
	wan-subscriber partition; do
	grep -q "^$s " "$OUT" || fail "scenario list does not name $s: $(cat "$OUT")"
done
grep -q "does not parse" "$OUT" && fail "a built-in does not parse: $(cat "$OUT")"
lab scenario show deadlock | grep -q "^# Dashboards:" || fail "scenario show deadlock does not print the file"
lab scenario show nosuch >/dev/null 2>&1; [ $? = 2 ] || fail "scenario show of an unknown name does not exit 2"

note "bad files: file:line, exit 2"
printf 'sleep 1s\n\nsleep forever\n' >"$LAB_DIR/bad.scn"
lab scenario run "$LAB_DIR/bad.scn" >"$OUT" 2>"$ERR"; rc=$?
[ $rc = 2 ] || fail "a malformed scenario exits $rc, not 2"
grep -q "$LAB_DIR/bad.scn:3: sleep: expected a duration" "$ERR" || fail "no file:line for a bad scenario: $(cat "$ERR")"
printf 'stop sub9\n' >"$LAB_DIR/bad2.scn"
lab scenario run "$LAB_DIR/bad2.scn" >"$OUT" 2>"$ERR"; rc=$?
[ $rc = 2 ] && grep -q "bad2.scn:1: the lab has no node \"sub9\"" "$ERR" || fail "a node the lab lacks: exit $rc, $(cat "$ERR")"

note "not running: exit 3"
lab scenario run deadlock >"$OUT" 2>"$ERR"; rc=$?
[ $rc = 3 ] || fail "scenario run on a stopped lab exits $rc, not 3: $(cat "$ERR")"

lab start --timeout 240 >/dev/null || fail "labsup start failed"

note "a scenario that cannot hold: exit 1 naming it"
cat >"$LAB_DIR/never.scn" <<'EOS'
# cannot pass: nothing waits for 1000 locks here
calm: sleep 2s
expect pg_blocking.waiting >= 1000 on pub during step calm
EOS
lab scenario run "$LAB_DIR/never.scn" >"$OUT" 2>"$ERR"; rc=$?
[ $rc = 1 ] || fail "an expectation that cannot hold exits $rc, not 1"
grep -q "never.scn:3 did not hold: pg_blocking.waiting >= 1000 on pub during step calm (measured max [0-9]" "$ERR" ||
	fail "the failure does not name the expectation and its value: $(cat "$ERR")"
grep -q "^result: FAILED" "$OUT" || fail "the report does not say FAILED"

note "row-lock, JSON report"
lab scenario run row-lock --json >"$OUT" 2>"$ERR" || fail "row-lock failed: $(cat "$OUT" "$ERR")"
jq -e '.passed and (.steps | length) == 7 and all(.steps[]; .status == "ok" and .end_ns >= .start_ns and .start_ns > 0)' "$OUT" >/dev/null ||
	fail "the JSON report's steps are wrong: $(cat "$OUT")"
jq -e 'all(.expectations[]; .status == "ok" and (.measured | type) == "number")' "$OUT" >/dev/null ||
	fail "the JSON report's expectations are wrong: $(cat "$OUT")"
jq -e '.expectations[0].measured >= 3 and .expectations[0].to_ns > .expectations[0].from_ns' "$OUT" >/dev/null ||
	fail "row-lock measured fewer than 3 waiting: $(cat "$OUT")"
# every step's start and end are in events, at the report's times (read
# as text: jq 1.6 reads numbers as doubles, which round 19-digit ns)
step_ns() { # STEP FIELD: the report's FIELD of step STEP
	awk -v n="\"name\": \"$1\"," -v f="\"$2\":" 'index($0, n) { on = 1 }
		on && index($0, f) { gsub(/[^0-9]/, ""); print; exit }' "$OUT"
}
start=$(step_ns hold start_ns)
end=$(step_ns release end_ns)
[ -n "$start" ] && [ -n "$end" ] || fail "no hold/release times in the report: $(cat "$OUT")"
n=$(influx_value "SELECT count(\"text\") FROM events WHERE kind = 'scenario' AND time >= $start AND time <= $end")
# hold started/ended, queue started/ended, release started/ended
[ "$n" = 6 ] || fail "events holds $n scenario points from hold to release, not 6"
influx_query "SELECT \"text\" FROM events WHERE kind = 'scenario' AND time = $start" | grep -q 'row-lock: hold started' ||
	fail "the hold step's start is not in events at its time"
influx_query "SELECT \"text\" FROM events WHERE kind = 'scenario' AND time = $end" | grep -q 'row-lock: release ended (ok' ||
	fail "the release step's end is not in events at its time"

for s in alter-convoy deadlock pause-resume subscriber-down apply-conflict \
	schema-drift third-subscriber wan-subscriber partition; do
	note "$s"
	lab scenario run "$s" >"$OUT" 2>"$ERR" || fail "$s failed: $(cat "$OUT" "$ERR")"
	grep -q "^result: passed" "$OUT" || fail "$s: no passed verdict"
	[ ! -e "$LAB_DIR/state/scenario.conf" ] || fail "$s left its overlay behind"
	ls "$LAB_DIR"/state/node-held.* >/dev/null 2>&1 && fail "$s left a node held down"
	ls "$LAB_DIR"/state/sub-paused.* >/dev/null 2>&1 && fail "$s left a subscription paused"
	ls "$LAB_DIR"/state/links/*.set >/dev/null 2>&1 && fail "$s left a link changed"
	if [ "$s" = third-subscriber ]; then
		grep -q "^  sync .* held after" "$OUT" || fail "third-subscriber does not report the initial sync time"
	fi
done

note "random-faults --seed 7"
lab scenario run random-faults --seed 7 >"$OUT" 2>"$ERR" || fail "random-faults failed: $(cat "$OUT" "$ERR")"
grep -q "seed 7 (--seed 7 replays it) draws:" "$ERR" || fail "the drawn steps are not printed: $(cat "$ERR")"
grep -q "^scenario random-faults .* seed 7" "$OUT" || fail "the report does not name the seed"

note "the lab is whole after all of them"
lab check --timeout 120 >"$OUT" 2>&1 || fail "check fails after the scenarios: $(cat "$OUT")"
echo "PASS"
