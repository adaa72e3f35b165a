#!/bin/bash
# tags: faults
# 53_publisher_restart.sh: the publisher killed (-9) and restarted under hum
# and 100 Hz sampling, twice: hum and the samplers reconnect and go on,
# the subscribers catch up.  Then PostgreSQL errors mid-sample: the lab's
# sessions terminated under them, and every statement failing for a while
# (statement_timeout = 1ms for the lab's role): errors are counted, no
# worker crashes.  Hum stopped by a reload with clients = 0, `labsup check`
# passes, and every sample committed to a lane is in InfluxDB.
# (A subscriber killed, its subscription dropped or its data directory
# wiped: tests/integration/11_local_recovery.sh.)
. "$(dirname "$0")/../lib.sh"
. "$ROOT/tests/tools/faults.sh"
lab_setup pubkill <<EOF2
[hum]
clients = 2
rate = 40

[sampler]
interval_ms = 10
locks_interval_ms = 10
; the statements failing mid-sample below are the SQL sampler's: the
; in-server probe runs none per tick (issue 18; 90_probe kills under it)
source = sql
EOF2
command -v jq >/dev/null || skip "jq is not installed"
lanes_tool
pm_pid() { head -1 "$LAB_DIR/state/pg/$1/postmaster.pid" 2>/dev/null; }
# cnt NAME IDX: a worker's counter (shm/status.h: hum 0 tx, 1 errors,
# 2 reconnects; sampler 0 ticks, 2 errors, 3 reconnects, 4 unreachable)
cnt() { status_json | jq -r ".workers[] | select(.name == \"$1\") | .counters[$2]"; }
restarts() { status_json | jq -c '[.workers[] | {name, restarts}] | sort_by(.name)'; }
grows() { [ "$(cnt "$1" "$2")" -gt "$3" ]; }
has_marker() { [ "$(psql_node "$2" "SELECT count(*) FROM history WHERE filler = '$1'")" = 1 ]; }
marker() { psql_node "$PUB_PORT" "INSERT INTO history (tid, bid, aid, delta, mtime, filler) VALUES (1, 1, 1, 0, now(), '$1')"; }

"$LABSUP" start -c "$LAB_CONF" --timeout 240 >/dev/null || fail "start failed"
wait_for 60 grows "hum 1" 0 0 || fail "hum does not run"
lanes >/dev/null # learn the lane names (hum leaves with a reload)
r0=$(restarts)

for i in 1 2; do
	note "kill -9 the publisher (#$i)"
	old=$(pm_pid pub)
	declare -A rc0=()
	for w in "hum 1" "hum 2"; do rc0[$w]=$(cnt "$w" 2); done
	for w in "sampler pub"; do rc0[$w]=$(cnt "$w" 3); done
	kill -9 "$old"
	wait_for 120 bash -c "p=\$(head -1 $LAB_DIR/state/pg/pub/postmaster.pid 2>/dev/null); [ -n \"\$p\" ] && [ \"\$p\" != $old ] && kill -0 \$p" ||
		fail "the publisher was not restarted"
	wait_for 120 bash -c "$LABSUP status -c $LAB_CONF --json | jq -e '.services[] | select(.name == \"pub\") | .state == \"ready\"'" ||
		fail "the publisher is not ready again"
	for w in "hum 1" "hum 2"; do
		wait_for 120 grows "$w" 2 "${rc0[$w]}" || fail "$w did not reconnect (reconnects $(cnt "$w" 2))"
		tx=$(cnt "$w" 0)
		wait_for 60 grows "$w" 0 "$tx" || fail "$w commits nothing after the publisher restart"
	done
	wait_for 120 grows "sampler pub" 3 "${rc0[sampler pub]}" || fail "sampler pub did not reconnect"
	wait_for 60 bash -c "[ \"\$($LABSUP status -c $LAB_CONF --json | jq -r '.workers[] | select(.name == \"sampler pub\") | .counters[4]')\" = 0 ]" ||
		fail "sampler pub still reports the publisher unreachable"
	ticks=$(cnt "sampler pub" 0)
	wait_for 30 grows "sampler pub" 0 "$ticks" || fail "sampler pub does not tick after the restart"
	marker "it-53-after-kill-$i"
	for port in "$SUB1_PORT" "$SUB2_PORT"; do
		wait_for 180 has_marker "it-53-after-kill-$i" "$port" || fail "subscriber on $port did not catch up after publisher kill #$i"
	done
done
[ "$(restarts)" = "$r0" ] || fail "a worker crashed because the publisher went away: $r0 -> $(restarts)"

note "PostgreSQL errors mid-sample: sessions terminated under the workers"
e0=$(cnt "sampler pub" 2) r0s=$(cnt "sampler pub" 3)
# the test's own sessions override the role's statement_timeout
pub_sql() { PGOPTIONS='-c statement_timeout=0' psql_node "$PUB_PORT" "$1"; }
kill_sessions() {
	pub_sql "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name LIKE 'labsup-%' AND backend_type = 'client backend' AND pid <> pg_backend_pid()" >/dev/null
}
for i in 1 2 3; do
	kill_sessions || fail "cannot terminate the lab's sessions"
	sleep 2
done
wait_for 60 bash -c "[ \$(( \$($LABSUP status -c $LAB_CONF --json | jq '.workers[] | select(.name == \"sampler pub\") | .counters[2] + .counters[3]') )) -gt $(( e0 + r0s )) ]" ||
	fail "sampler pub counted no error or reconnect when its session was terminated"

note "PostgreSQL errors mid-sample: every statement times out"
pub_sql "ALTER ROLE labsup IN DATABASE labsup SET statement_timeout = '1ms'" || fail "alter role"
kill_sessions || fail "cannot terminate the lab's sessions"
e1=$(cnt "sampler pub" 2)
h1=$(( $(cnt "hum 1" 1) + $(cnt "hum 2" 1) ))
# a failing sample is an error; a failing PREPARE at connect leaves the
# node "unreachable" (with the reason in detail) until it works again
saw() { grows "sampler pub" 2 "$e1" || [ "$(cnt "sampler pub" 4)" = 1 ]; }
wait_for 60 saw || fail "sampler pub shows neither errors nor the node unreachable under statement_timeout = 1ms"
status_json | jq -r '.workers[] | select(.name == "sampler pub") | "sampler pub: \(.detail)"'

sleep 5
pub_sql "ALTER ROLE labsup IN DATABASE labsup RESET statement_timeout" || fail "reset role"
kill_sessions
echo "errors: sampler pub $(cnt "sampler pub" 2), hum $(( $(cnt "hum 1" 1) + $(cnt "hum 2" 1) - h1 )) during the timeouts"
wait_for 60 bash -c "[ \"\$($LABSUP status -c $LAB_CONF --json | jq -r '.workers[] | select(.name == \"sampler pub\") | .counters[4]')\" = 0 ]" ||
	fail "sampler pub does not recover once statements work again"
ticks=$(cnt "sampler pub" 0)
wait_for 60 grows "sampler pub" 0 "$ticks" || fail "sampler pub does not tick after the errors"
for w in "hum 1" "hum 2"; do
	tx=$(cnt "$w" 0)
	wait_for 60 grows "$w" 0 "$tx" || fail "$w commits nothing after the errors"
done
[ "$(restarts)" = "$r0" ] || fail "a worker crashed on PostgreSQL errors: $r0 -> $(restarts)"

note "hum stopped by a reload (clients = 0): the nodes agree"
printf '[hum]\nclients = 0\n' >"$LAB_DIR/nohum"
sed '/^\[hum\]/,/^$/d' "$LAB_CONF" >"$LAB_DIR/conf.new" && cat "$LAB_DIR/nohum" >>"$LAB_DIR/conf.new"
cp "$LAB_DIR/conf.new" "$LAB_CONF"
"$LABSUP" reload -c "$LAB_CONF" >/dev/null || fail "reload with clients = 0 refused"
wait_for 60 bash -c "[ \"\$($LABSUP status -c $LAB_CONF --json | jq '[.workers[] | select(.kind == \"hum\")] | length')\" = 0 ]" || fail "hum workers still there"
wait_for 240 "$LABSUP" check -c "$LAB_CONF" || fail "labsup check fails after hum stopped: $("$LABSUP" check -c "$LAB_CONF" 2>&1 | tail -3)"
account publisher
echo "publisher restarts and PostgreSQL errors survived"
