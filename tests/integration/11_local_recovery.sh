#!/bin/bash
# 11_local_recovery.sh: the lab heals itself.  kill -9 of a postmaster: the
# container worker restarts it and the subscriber catches up.  kill -9 of
# the container worker: its successor adopts the running servers (same
# postmaster pids).  A dropped subscription and a wiped subscriber are
# repaired by the replication worker; `labsup check` passes after each.
. "$(dirname "$0")/../lib.sh"

[ -x /usr/lib/postgresql/15/bin/postgres ] || skip "PostgreSQL 15 is not installed"
command -v influxd >/dev/null || skip "influxd is not installed"
lab_setup recovery </dev/null

pm_pid() { head -1 "$LAB_DIR/state/pg/$1/postmaster.pid" 2>/dev/null; }
worker_pid() { status_json | jq -r ".workers[] | select(.kind == \"$1\") | .pid"; }
svc_state() { status_json | jq -r ".services[] | select(.name == \"$1\") | .state"; }
repl_running() { [ "$(status_json | jq -r '.workers[] | select(.kind == "replication") | .state')" = running ]; }
# marker TAG PORT: wait until the row tagged TAG has reached the node at PORT
has_marker() { [ "$(psql_node "$2" "SELECT count(*) FROM history WHERE filler = '$1'")" = 1 ]; }
marker() { psql_node "$PUB_PORT" "INSERT INTO history (tid, bid, aid, delta, mtime, filler) VALUES (1, 1, 1, 0, now(), '$1')"; }

lab start >/dev/null || fail "labsup start failed"

note "kill -9 the postmaster of sub1"
old=$(pm_pid sub1)
kill -9 "$old"
wait_for 120 bash -c "p=\$(head -1 $LAB_DIR/state/pg/sub1/postmaster.pid 2>/dev/null); [ -n \"\$p\" ] && [ \"\$p\" != $old ] && kill -0 \$p" ||
	fail "sub1 was not restarted"
wait_for 120 bash -c "$LABSUP status -c $LAB_CONF --json | jq -e '.services[] | select(.name == \"sub1\") | .state == \"ready\"'" ||
	fail "sub1 is not ready again: $(svc_state sub1)"
[ "$(status_json | jq -r '.services[] | select(.name == "sub1") | .restarts')" -ge 1 ] || fail "the restart is not counted"
marker it-11-after-kill
wait_for 120 has_marker it-11-after-kill "$SUB1_PORT" || fail "sub1 did not catch up after its restart"

note "kill -9 the container worker: adopt, do not duplicate"
pids="$(pm_pid pub) $(pm_pid sub1) $(pm_pid sub2)"
influx=$(cat "$LAB_DIR/state/influxdb/influxd.pid")
cw=$(worker_pid container)
kill -9 "$cw"
wait_for 60 bash -c "p=\$($LABSUP status -c $LAB_CONF --json | jq -r '.workers[] | select(.kind == \"container\") | select(.state == \"running\") | .pid'); [ -n \"\$p\" ] && [ \"\$p\" != $cw ] && [ \"\$p\" != 0 ]" ||
	fail "the container worker did not come back running"
sleep 2
[ "$(pm_pid pub) $(pm_pid sub1) $(pm_pid sub2)" = "$pids" ] || fail "postmasters changed: $pids -> $(pm_pid pub) $(pm_pid sub1) $(pm_pid sub2)"
[ "$(cat "$LAB_DIR/state/influxdb/influxd.pid")" = "$influx" ] || fail "influxd was restarted"
for n in pub sub1 sub2; do
	[ "$(pgrep -fc -- "-D $LAB_DIR/state/pg/$n\$")" = 1 ] || fail "more than one postmaster for $n"
done
[ "$(pgrep -fc -- "influxd run -config $LAB_DIR/")" = 1 ] || fail "more than one influxd"

note "a dropped subscription is recreated"
psql_node "$SUB2_PORT" "DROP SUBSCRIPTION sub_sub2"
wait_for 120 bash -c "[ \"\$(PGPASSFILE=$LAB_DIR/state/pgpass psql -XAtq -h 127.0.0.1 -p $SUB2_PORT -U labsup -d labsup -c \"SELECT count(*) FROM pg_subscription WHERE subname = 'sub_sub2'\")\" = 1 ]" ||
	fail "sub_sub2 was not recreated"
wait_for 120 repl_running || fail "replication did not become ready again"
marker it-11-after-drop
wait_for 120 has_marker it-11-after-drop "$SUB2_PORT" || fail "sub2 does not replicate after the repair"
lab check >/dev/null || fail "check fails after the subscription repair: $(lab check 2>&1)"

note "a wiped subscriber is rebuilt"
old=$(pm_pid sub2)
kill -9 "$old"
rm -rf "$LAB_DIR/state/pg/sub2"
wait_for 150 bash -c "[ -f $LAB_DIR/state/pg/sub2/PG_VERSION ] && $LABSUP status -c $LAB_CONF --json | jq -e '.workers[] | select(.kind == \"replication\") | .state == \"running\"' && [ \"\$(PGPASSFILE=$LAB_DIR/state/pgpass psql -XAtq -h 127.0.0.1 -p $SUB2_PORT -U labsup -d labsup -c 'SELECT count(*) FROM accounts')\" = 100000 ]" ||
	fail "sub2 was not rebuilt"
lab check || fail "check fails after the rebuild"
[ "$(status_json | jq -r '.workers[] | select(.kind == "replication") | .counters[2]')" -ge 2 ] ||
	fail "repairs are not counted"

note "stop"
lab stop >/dev/null || fail "labsup stop failed"
sleep 0.5
pgrep -f "$LAB_DIR/" >/dev/null && fail "processes survive stop: $(pgrep -af "$LAB_DIR/")"
[ -e "/dev/shm/labsup.$(id -u).$LAB_NAME" ] && fail "the shm segment survives stop"
note "ok"
