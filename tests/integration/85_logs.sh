#!/bin/bash
# 85_logs.sh: every server writes jsonlog and the logs worker follows it.
# A deadlock on the publisher and an apply error on sub1 (a row sub1 has
# that the publisher then inserts) reach pg_log in InfluxDB (with their
# sqlstate, severity and backend type) and events, and `labsup logs` shows
# them, merged across nodes.  Markers (RAISE WARNING) around a log
# rotation, a server restart and a logs worker killed with -9 all arrive,
# each once, and the restarted worker goes on from its saved offset, or
# after the last line in its lane, instead of reading every file again,
# sending no line twice (the lanes' accounting, tests/tools/faults.sh).
# LAB_BACKEND=docker runs it on the docker backend (the log directory
# bind-mounted from the host).
. "$(dirname "$0")/../lib.sh"
. "$ROOT/tests/tools/faults.sh"

command -v jq >/dev/null || skip "jq is not installed"
if [ "${LAB_BACKEND:-local}" = docker ]; then
	out=$("$ROOT/scripts/dockerd-up.sh" 2>&1) || skip "no Docker engine can run here: $out"
	command -v docker >/dev/null || skip "the docker CLI (used by this test only) is missing"
	"$LABSUP" image build >/dev/null || fail "labsup image build failed"
else
	[ -x /usr/lib/postgresql/15/bin/postgres ] || skip "PostgreSQL 15 is not installed"
	command -v influxd >/dev/null || skip "influxd is not installed"
fi
lab_setup logs <<EOF2
[hum]
clients = 1
rate = 5
EOF2

iq() { influx_value "$1"; }
marker() { psql_node "$1" "DO \$\$BEGIN RAISE WARNING 'labsup-marker-$2'; END\$\$" 2>/dev/null; }
# the marker is in pg_log exactly once (the count of its message field)
marker_in() { [ "$(iq "SELECT count(message) FROM pg_log WHERE message =~ /labsup-marker-$1\$/")" = 1 ]; }
worker() { status_json | jq -r ".workers[] | select(.kind == \"logs\") | $1"; }

# logdir NODE: where the node's server writes its jsonlog, on this host
logdir() {
	if [ "${LAB_BACKEND:-local}" = docker ]; then echo "$LAB_DIR/state/pglog/$1"
	else echo "$LAB_DIR/state/pg/$1/log"; fi
}
# stop_server NODE: stop the node's server; the container worker starts it again
stop_server() {
	if [ "${LAB_BACKEND:-local}" = docker ]; then
		docker stop "labsup-$LAB_NAME-$1" >/dev/null || fail "cannot stop $1's container"
		return
	fi
	local pm
	pm=$(head -n 1 "$LAB_DIR/state/pg/$1/postmaster.pid")
	kill -INT "$pm" || fail "cannot stop $1's server"
	wait_for 60 gone "$pm" || fail "$1's server did not stop"
}

note "labsup logs: bad input, and a lab that never ran"
lab logs --since 10x >/dev/null 2>"$LAB_DIR/err"; [ $? -eq 2 ] || fail "logs --since 10x: not a usage error"
grep -q 'duration such as' "$LAB_DIR/err" || fail "logs --since 10x: $(cat "$LAB_DIR/err")"
lab logs --grep '(' >/dev/null 2>&1; [ $? -eq 2 ] || fail "logs --grep '(': not a usage error"
lab logs nosuch >/dev/null 2>&1; [ $? -eq 2 ] || fail "logs nosuch: not a usage error"
lab logs >/dev/null 2>"$LAB_DIR/err"; [ $? -eq 1 ] || fail "logs before the lab ever ran does not exit 1"
grep -q "cannot read pub's server log .*has the lab started" "$LAB_DIR/err" || fail "logs before start: $(cat "$LAB_DIR/err")"

lanes_tool
lab start >/dev/null || fail "labsup start failed"
ls "$(logdir pub)"/*.json >/dev/null 2>&1 || fail "pub writes no jsonlog in $(logdir pub)"

note "a deadlock on pub"
psql_node "$PUB_PORT" "BEGIN; UPDATE branches SET bbalance = bbalance WHERE bid = 1; SELECT pg_sleep(1.5); UPDATE tellers SET tbalance = tbalance WHERE tid = 1; COMMIT" >/dev/null 2>&1 &
a=$!
sleep 0.3
psql_node "$PUB_PORT" "BEGIN; UPDATE tellers SET tbalance = tbalance WHERE tid = 1; UPDATE branches SET bbalance = bbalance WHERE bid = 1; COMMIT" >/dev/null 2>&1 &
b=$!
wait $a; wait $b
deadlock() { [ "$(iq "SELECT count(message) FROM pg_log WHERE node = 'pub' AND sqlstate = '40P01' AND severity = 'ERROR'")" -ge 1 ]; }
wait_for 60 deadlock || fail "no deadlock (40P01) from pub in pg_log"
# the second session waited on the first for more than deadlock_timeout
# before the first closed the cycle: log_lock_waits logged it
lockwait() { [ "$(iq "SELECT count(message) FROM pg_log WHERE node = 'pub' AND severity = 'LOG' AND message =~ /still waiting for ShareLock/")" -ge 1 ]; }
wait_for 60 lockwait || fail "pg_log has no lock wait (log_lock_waits) from pub"
[ "$(iq "SELECT count(text) FROM events WHERE kind = 'pg_log' AND text =~ /40P01/")" -ge 1 ] || fail "no pg_log event for the deadlock"

note "an apply error on sub1 (duplicate key)"
psql_node "$SUB1_PORT" "INSERT INTO branches (bid, bbalance) VALUES (987654, 0)" || fail "insert on sub1"
psql_node "$PUB_PORT" "INSERT INTO branches (bid, bbalance) VALUES (987654, 0)" || fail "insert on pub"
apply_err() { [ "$(iq "SELECT count(message) FROM pg_log WHERE node = 'sub1' AND severity = 'ERROR' AND sqlstate = '23505' AND backend_type = 'logical replication worker'")" -ge 1 ]; }
wait_for 90 apply_err || fail "no apply error (23505, logical replication worker) from sub1 in pg_log"
# message, DETAIL and CONTEXT: more than one part, merged into one point
[ "$(iq "SELECT count(message_3) FROM pg_log WHERE node = 'sub1' AND sqlstate = '23505' AND message =~ /^duplicate key/")" -ge 1 ] ||
	fail "the apply error in pg_log is not one point of several parts"
# the postmaster's line is longer than one record: its parts are one point
exited() { [ "$(iq "SELECT count(message) FROM pg_log WHERE node = 'sub1' AND backend_type = 'postmaster' AND message =~ /^background worker .logical replication worker/ AND message_2 =~ /exited with exit code 1$/")" -ge 1 ]; }
wait_for 60 exited || fail "pg_log has no exit of sub1's failed apply worker"
[ "$(iq "SELECT count(text) FROM events WHERE kind = 'pg_log' AND text =~ /^sub1 ERROR 23505/")" -ge 1 ] || fail "no pg_log event for the apply error"
# let sub1 apply again, so the lab ends replicating
psql_node "$SUB1_PORT" "DELETE FROM branches WHERE bid = 987654" || fail "delete on sub1"

note "a checkpoint (log_checkpoints)"
psql_node "$PUB_PORT" "CHECKPOINT" || fail "CHECKPOINT"
ckpt() { [ "$(iq "SELECT count(message) FROM pg_log WHERE node = 'pub' AND backend_type = 'checkpointer' AND message =~ /^checkpoint complete/")" -ge 1 ]; }
wait_for 60 ckpt || fail "no checkpoint in pg_log"

note "labsup logs -f"
lab logs -f pub sub2 >"$LAB_DIR/follow" 2>&1 &
follower=$!
marker "$SUB2_PORT" follow
followed() { grep -q ' sub2 WARNING .*labsup-marker-follow$' "$LAB_DIR/follow"; }
wait_for 60 followed || fail "labsup logs -f did not show a new line: $(tail -3 "$LAB_DIR/follow")"
kill "$follower"

lab logs --since 10m >"$LAB_DIR/logs" || fail "labsup logs failed"
grep -q ' pub ERROR 40P01 .*deadlock detected' "$LAB_DIR/logs" || fail "labsup logs shows no deadlock: $(tail -5 "$LAB_DIR/logs")"
grep -q ' sub1 ERROR 23505 \[logical replication worker .*CONTEXT: processing remote data' "$LAB_DIR/logs" ||
	fail "labsup logs shows no apply error on sub1 with its CONTEXT"
sort -c -s -k1,2 "$LAB_DIR/logs" || fail "labsup logs is not in time order"
lab logs sub1 --grep 'duplicate key' >"$LAB_DIR/logs1" || fail "labsup logs sub1 --grep failed"
[ -s "$LAB_DIR/logs1" ] && ! grep -qv ' sub1 ' "$LAB_DIR/logs1" || fail "labsup logs sub1 --grep: $(head -3 "$LAB_DIR/logs1")"

note "rotation"
marker "$PUB_PORT" rot-before
sleep 1.1	# a new file name (the name has the second)
psql_node "$PUB_PORT" "SELECT pg_rotate_logfile()" >/dev/null || fail "pg_rotate_logfile"
marker "$PUB_PORT" rot-after
wait_for 60 marker_in rot-before || fail "the marker before the rotation is not in pg_log once"
wait_for 60 marker_in rot-after || fail "the marker after the rotation is not in pg_log once"
[ "$(ls "$(logdir pub)"/*.json | wc -l)" -ge 2 ] || fail "the rotation made no new file"

note "server restart (sub2)"
marker "$SUB2_PORT" restart-before
stop_server sub2
wait_for 120 marker "$SUB2_PORT" restart-after || fail "sub2 did not come back"
wait_for 60 marker_in restart-before || fail "the marker before the restart is not in pg_log once"
wait_for 60 marker_in restart-after || fail "the marker after the restart is not in pg_log once"

note "logs worker killed (-9)"
marker "$PUB_PORT" kill-before
wait_for 60 marker_in kill-before || fail "marker kill-before"
# then a line of three parts (message, message_2, message_3), the last one
# the worker sends before it dies
psql_node "$PUB_PORT" "DO \$\$BEGIN RAISE WARNING 'labsup-long-%', repeat('x', 130); END\$\$" 2>/dev/null
long_in() { [ "$(iq "SELECT count(message_3) FROM pg_log WHERE message =~ /^labsup-long-/")" = 1 ]; }
wait_for 60 long_in || fail "the three-part line is not in pg_log once"
kept=$(worker '.counters[0]')
p=$(worker .pid)
# As if the worker died after sending kill-before and the long line but
# before it saved its offset (it saves once a second): stopped, its offset
# set back to kill-before, then killed.  The new one finds the long line
# in its lane and goes on after it, sending neither again, every time
# rather than when the timing happens to be so.
kill -STOP "$p" || fail "cannot stop the logs worker"
f=$(cd "$(logdir pub)" && grep -l 'labsup-marker-kill-before"' *.json | tail -n 1)
o=$(grep -b 'labsup-marker-kill-before"' "$(logdir pub)/$f" | cut -d: -f1)
[ -n "$o" ] || fail "kill-before is not in pub's log"
echo "$f $o" >"$LAB_DIR/state/logs-offset.pub.new" && mv "$LAB_DIR/state/logs-offset.pub.new" "$LAB_DIR/state/logs-offset.pub" ||
	fail "cannot set the saved offset back"
kill -9 "$p" || fail "cannot kill the logs worker"
back() { q=$(worker .pid); [ -n "$q" ] && [ "$q" != 0 ] && [ "$q" != "$p" ] && [ "$(worker .state)" = running ]; }
wait_for 60 back || fail "the logs worker did not come back"
marker "$PUB_PORT" kill-after
# the restarted worker may go on from the last line in its lane (when
# its predecessor sent lines after it last saved its offsets): it must
# still read that node's log (it once lost the directory doing so)
wait_for 60 marker_in kill-after || fail "the marker after the worker's restart is not in pg_log once: $(iq "SELECT count(message) FROM pg_log WHERE message =~ /labsup-marker-kill-after\$/") times; the worker: $(worker .detail)"
marker_in kill-before || fail "the marker before the worker's restart is there more than once, or lost"
long_in || fail "the three-part line is not in pg_log once after the restart"
# nothing sent twice: a line sent again would be the same point with new
# seqs, and the seqs it had would be missing from InfluxDB
account kill
again=$(worker '.counters[0]')
[ "$again" -lt "$kept" ] || fail "the restarted worker kept $again lines, its predecessor $kept: it read the logs again from the start"
note "kept before the kill $kept, after $again"

lab logs --since 10m --grep 'labsup-marker' >"$LAB_DIR/markers" || fail "labsup logs --grep"
for m in rot-before rot-after restart-before restart-after kill-before kill-after; do
	[ "$(grep -c "labsup-marker-$m\$" "$LAB_DIR/markers")" = 1 ] || fail "labsup logs shows marker $m $(grep -c "labsup-marker-$m\$" "$LAB_DIR/markers") times"
done
lab stop >/dev/null || fail "stop failed"
note "ok"
