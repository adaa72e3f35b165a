#!/bin/bash
# 18_sub_pause.sh: a subscription paused on purpose stays paused.  `labsup
# sub pause sub1` disables it and the replication worker leaves it so
# (before, it re-enabled a disabled subscription within about 2 s) while
# the publisher goes on; `sub status` shows it; `sub resume` and sub1
# catches up, `labsup check` passes.
. "$(dirname "$0")/../lib.sh"

[ -x /usr/lib/postgresql/15/bin/postgres ] || skip "PostgreSQL 15 is not installed"
command -v influxd >/dev/null || skip "influxd is not installed"
command -v jq >/dev/null || skip "jq is not installed"
lab_setup subpause <<EOF2
[hum]
clients = 1
rate = 20
EOF2

enabled() { psql_node "$SUB1_PORT" "SELECT subenabled FROM pg_subscription WHERE subname = 'sub_sub1'"; }
hb() { psql_node "$1" "SELECT seq FROM heartbeat WHERE id = 1"; }
passes() { status_json | jq -r '.workers[] | select(.kind == "replication") | .counters[1]'; }

lab start >/dev/null || fail "labsup start failed"
lab sub pause sub1 >"$LAB_DIR/out" 2>&1 || fail "sub pause failed: $(cat "$LAB_DIR/out")"
[ "$(enabled)" = f ] || fail "sub1's subscription is not disabled after sub pause"
# the replication worker runs a pass every 2 s and beats the heartbeat at
# 10 Hz: 60 more beats is three passes at the least
from=$(passes)
wait_for 120 bash -c "[ \$($LABSUP status -c $LAB_CONF --json | jq -r '.workers[] | select(.kind == \"replication\") | .counters[1]') -ge $((from + 60)) ]" ||
	fail "the replication worker's heartbeat did not advance"
[ "$(enabled)" = f ] || fail "the replication worker re-enabled a paused subscription"
[ "$(hb "$SUB1_PORT")" -lt "$(hb "$PUB_PORT")" ] || fail "sub1 kept up while paused"
lab sub status >"$LAB_DIR/status" || fail "sub status failed"
grep -qE '^sub1 +disabled +yes' "$LAB_DIR/status" || fail "sub status does not show sub1 paused: $(cat "$LAB_DIR/status")"
grep -qE '^sub2 +enabled +no' "$LAB_DIR/status" || fail "sub status: $(cat "$LAB_DIR/status")"

lab sub resume sub1 >/dev/null || fail "sub resume failed"
[ "$(enabled)" = t ] || fail "sub1 is not enabled after sub resume"
caught_up() { [ "$(hb "$SUB1_PORT")" -ge "$1" ]; }
wait_for 120 caught_up "$(hb "$PUB_PORT")" || fail "sub1 did not catch up after resume"
lab check >/dev/null 2>&1 || fail "check fails after resume: $(lab check 2>&1)"
lab stop >/dev/null || fail "stop failed"
note "ok"
