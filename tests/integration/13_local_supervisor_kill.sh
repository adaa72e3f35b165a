#!/bin/bash
# 13_local_supervisor_kill.sh: the servers outlive a kill -9 of the
# supervisor (its workers die with it); the next `labsup start` adopts them
# (same postmaster pids, no duplicates) and the lab passes check; stop
# --purge leaves no process, no segment and no data.
. "$(dirname "$0")/../lib.sh"

[ -x /usr/lib/postgresql/15/bin/postgres ] || skip "PostgreSQL 15 is not installed"
command -v influxd >/dev/null || skip "influxd is not installed"
lab_setup supkill </dev/null

pm_pid() { head -1 "$LAB_DIR/state/pg/$1/postmaster.pid" 2>/dev/null; }

lab start >/dev/null || fail "labsup start failed"
pids="$(pm_pid pub) $(pm_pid sub1) $(pm_pid sub2)"
influx=$(cat "$LAB_DIR/state/influxdb/influxd.pid")
sup=$(cat "$LAB_DIR/state/labsup.pid")
workers=$(status_json | jq -r '.workers[].pid' | tr '\n' ' ')

note "kill -9 the supervisor"
kill -9 "$sup"
wait_for 30 bash -c "for p in $workers; do kill -0 \$p 2>/dev/null && exit 1; done; exit 0" ||
	fail "workers outlived the supervisor: $workers"
for p in $pids $influx; do
	kill -0 "$p" || fail "server $p died with the supervisor"
done

note "start again: adopt"
lab start >/dev/null || fail "the second labsup start failed"
[ "$(pm_pid pub) $(pm_pid sub1) $(pm_pid sub2)" = "$pids" ] || fail "postmasters were replaced: $pids -> $(pm_pid pub) $(pm_pid sub1) $(pm_pid sub2)"
[ "$(cat "$LAB_DIR/state/influxdb/influxd.pid")" = "$influx" ] || fail "influxd was replaced"
for n in pub sub1 sub2; do
	[ "$(pgrep -fc -- "-D $LAB_DIR/state/pg/$n\$")" = 1 ] || fail "more than one postmaster for $n"
done
[ "$(status_json | jq -r '.workers[] | select(.kind == "replication") | .counters[2]')" = 0 ] ||
	fail "adoption made the replication worker repair something"
lab check >/dev/null || fail "check fails after adoption: $(lab check 2>&1)"

note "stop --purge"
lab stop --purge >/dev/null || fail "labsup stop --purge failed"
sleep 0.5
pgrep -f "$LAB_DIR/" >/dev/null && fail "processes survive stop: $(pgrep -af "$LAB_DIR/")"
[ -e "/dev/shm/labsup.$(id -u).$LAB_NAME" ] && fail "the shm segment survives stop"
for f in pg influxdb password pgpass; do
	[ -e "$LAB_DIR/state/$f" ] && fail "$f survives stop --purge"
done
note "ok"
