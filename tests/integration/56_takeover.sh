#!/bin/bash
# tags: faults
# 56_takeover.sh: one writer per lab, always.  Ten rounds of kill -9 of the
# supervisor and an immediate `labsup start`, under 100 Hz sampling: the new
# supervisor waits for the old one's workers (its writer may still flush)
# before it rewinds the lanes, and the writer holds the one-writer lock
# (state_dir/writer.lock) for its life.  Afterwards every seq of every lane
# is in InfluxDB, and the log shows the lock never held by two writers.
. "$(dirname "$0")/../lib.sh"
. "$ROOT/tests/tools/faults.sh"
lab_setup takeover <<EOF2
[hum]
clients = 1
rate = 50

[sampler]
interval_ms = 10
locks_interval_ms = 10
EOF2
command -v jq >/dev/null || skip "jq is not installed"
lanes_tool
ROUNDS=${TAKEOVER_ROUNDS:-10}

"$LABSUP" start -c "$LAB_CONF" --timeout 240 >/dev/null || fail "start failed"
for r in $(seq 1 "$ROUNDS"); do
	sup=$(cat "$LAB_DIR/state/labsup.pid")
	kill -9 "$sup" || fail "round $r: kill -9 $sup"
	"$LABSUP" start -c "$LAB_CONF" --timeout 240 >"$LAB_DIR/out" 2>&1 ||
		fail "round $r: start after kill -9: $(tail -3 "$LAB_DIR/out")"
	grep -q adopting "$LAB_DIR/out" || fail "round $r: the segment was not adopted: $(cat "$LAB_DIR/out")"
	echo "round $r: $(grep -c . "$LAB_DIR/out") lines, $(grep -o 'waiting for [0-9]* worker' "$LAB_DIR/out" || echo 'no old workers left')"
done
account takeover

note "the one-writer lock was never held by two writers"
log="$LAB_DIR/state/labsup.log"
grep -c 'one-writer lock taken' "$log" | grep -qx "$((ROUNDS + 1))" ||
	fail "expected $((ROUNDS + 1)) writers to take the lock: $(grep 'one-writer lock' "$log")"
# every writer here ends with SIGTERM (its supervisor's death) and says so
# before it lets go: a "taken" while another holds it is two writers at once
python3 - "$log" <<'PY' || fail "two writers drained the lanes at once (see above)"
import re, sys
held = None
bad = 0
for line in open(sys.argv[1]):
    m = re.search(r'one-writer lock taken: pid (\d+)', line)
    if m:
        if held is not None:
            print('pid %s took the lock while pid %s held it' % (m.group(1), held))
            bad = 1
        held = m.group(1)
    elif re.search(r'one-writer lock released: pid (\d+)', line):
        held = None
sys.exit(bad)
PY
lab stop >/dev/null || fail "stop failed"
echo "takeover: $ROUNDS kill -9 + start rounds, one writer at a time, nothing lost"
