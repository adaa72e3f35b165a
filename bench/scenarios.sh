#!/bin/bash
# scenarios.sh: every built-in scenario (scenarios/*.scn, or those whose
# name contains $SCN_ONLY) run SCN_RUNS times (default 10) in one lab, the
# lab of tests/integration/70_scenarios.sh (scale 1, hum 2 clients at
# 50 tx/s).  Per scenario: how many runs passed, and the spread of its key
# measured value (its first expectation's) over the runs.  Every built-in
# should pass 10 of 10.
# Prints: bench: scenario_NAME = K/N passed (key EXPECT: min X, median Y,
# max Z; no baseline: a pass count)
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$ROOT/tests/lib.sh"
command -v jq >/dev/null || { echo "bench: scenarios needs jq" >&2; exit 1; }
RUNS=${SCN_RUNS:-10}
lab_setup benchscn <<EOC
[hum]
clients = 2
rate = 50
EOC
lab start --timeout 240 >/dev/null || fail "labsup start failed"
rc=0
for f in "$ROOT"/scenarios/*.scn; do
	name=$(basename "$f" .scn)
	[[ $name == *${SCN_ONLY:-}* ]] || continue
	out=$LAB_DIR/$name.json
	t0=$(date +%s)
	lab scenario run "$name" --repeat "$RUNS" --json --seed 1 >"$out" 2>"$LAB_DIR/$name.err"
	secs=$(( $(date +%s) - t0 ))
	passed=$(jq -r '.passed' "$out" 2>/dev/null)
	[ -n "$passed" ] && [ "$passed" != null ] || { echo "bench: scenario_$name: no report: $(tail -3 "$LAB_DIR/$name.err")" >&2; rc=1; continue; }
	key=$(jq -r '.runs[0].expectations[0].expect' "$out")
	spread=$(jq -r '[.runs[].expectations[0].measured | select(. != null)] | sort |
		if length == 0 then "no value" else
		"min \(.[0]), median \(.[length / 2 | floor]), max \(.[-1])" end' "$out")
	echo "bench: scenario_$name = $passed/$RUNS passed (key $key: $spread; ${secs}s; no baseline: a pass count)"
	[ "$passed" = "$RUNS" ] || {
		rc=1
		jq -r '.runs[] | select(.passed | not) | [.steps[] | select(.status == "failed") | "  step \(.name): \(.detail)"] +
			[.expectations[] | select(.status != "ok") | "  line \(.line) \(.expect): \(.measured) \(.detail)"] | .[]' "$out" | sort | uniq -c >&2
	}
done
exit $rc
