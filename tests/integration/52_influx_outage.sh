#!/bin/bash
# tags: faults
# 52_influx_outage.sh: InfluxDB down for 60 s (longer, until status has
# shown it) under 100 Hz sampling, then back.  While it is down `status`
# shows it (writer influxdb_up false, the spool growing); afterwards the
# spool is replayed and removed, no lane dropped a record, and every sample
# produced before and during the outage is in InfluxDB (per-lane seq
# accounting).
# To keep InfluxDB down, the container worker (which would restart it) is
# held with SIGSTOP for the outage and let go with SIGCONT.
. "$(dirname "$0")/../lib.sh"
. "$ROOT/tests/tools/faults.sh"
lab_setup outage <<EOF2
[hum]
clients = 2
rate = 40

[sampler]
interval_ms = 10
locks_interval_ms = 10
EOF2
command -v jq >/dev/null || skip "jq is not installed"
lanes_tool
OUTAGE=${OUTAGE_SECONDS:-60}
S="$LAB_DIR/state"
wr() { status_json | jq -r ".writer.$1"; }
ctr=""
cleanup_outage() {
	local rc=$?
	[ -n "$ctr" ] && kill -CONT "$ctr" 2>/dev/null
	(exit $rc)
	lab_cleanup # takes the exit code from $?
}
trap cleanup_outage EXIT

"$LABSUP" start -c "$LAB_CONF" --timeout 240 >/dev/null || fail "start failed"
# up: the writer says so and InfluxDB has acknowledged points
writing() { [ "$(wr influxdb_up)" = true ] && [ "$(wr points_written)" -gt 0 ]; }
wait_for 120 writing || fail "writer does not report InfluxDB up before the outage: $(status_json | jq -c .writer)"
lanes >"$LAB_DIR/lanes.before"

note "InfluxDB down for $OUTAGE s"
ctr=$(wpid container)
ipid=$(cat "$S/influxdb/influxd.pid")
[ -n "$ctr" ] && [ -n "$ipid" ] || fail "no container worker or influxd pid"
kill -STOP "$ctr"
kill -TERM "$ipid"
wait_for 60 bash -c "! kill -0 $ipid 2>/dev/null" || fail "influxd $ipid did not stop"
# The outage lasts OUTAGE s, and longer until status has shown it (the
# writer says InfluxDB is down and it has spooled): a slow writer makes
# the outage longer, never the test fail.  Past OUTAGE + 300 s the checks
# below say what status never showed.
start=$(date +%s)
saw_down=0 max_spool=0
while :; do
	status_json >"$LAB_DIR/s.json" || fail "status failed during the outage"
	[ "$(jq -r .writer.influxdb_up "$LAB_DIR/s.json")" = false ] && saw_down=1
	b=$(jq -r .writer.spool_bytes "$LAB_DIR/s.json")
	[ "$b" -gt "$max_spool" ] && max_spool=$b
	(exec 3<>"/dev/tcp/127.0.0.1/$INFLUX_PORT") 2>/dev/null && fail "InfluxDB answers during the outage: the test did not hold it down"
	secs=$(( $(date +%s) - start ))
	[ "$secs" -ge "$OUTAGE" ] && [ $saw_down = 1 ] && [ "$max_spool" -gt 0 ] &&
		[ "$(jq -r .writer.spooled "$LAB_DIR/s.json")" -gt 0 ] && break
	[ "$secs" -ge $(( OUTAGE + 300 )) ] && break
	sleep 2
done
note "InfluxDB was down for $secs s"
jq -c '.writer' "$LAB_DIR/s.json"
[ $saw_down = 1 ] || fail "status never showed influxdb_up false during the outage"
[ "$max_spool" -gt 0 ] || fail "status never showed a spool during the outage"
[ "$(jq -r .writer.spooled "$LAB_DIR/s.json")" -gt 0 ] || fail "no point was spooled"
[ -d "$S/writer-spool" ] || fail "no spool directory during the outage"
jq -e 'all(.workers[]; .state == "running")' "$LAB_DIR/s.json" >/dev/null || fail "a worker is not running during the outage: $(jq -c '[.workers[] | {name, state}]' "$LAB_DIR/s.json")"
lanes >"$LAB_DIR/lanes.during"

note "InfluxDB back: the spool is replayed"
kill -CONT "$ctr"
ctr=""
wait_for 120 bash -c "(exec 3<>/dev/tcp/127.0.0.1/$INFLUX_PORT)" || fail "the container worker did not bring InfluxDB back"
wait_for 300 bash -c "[ \"\$($LABSUP status -c $LAB_CONF --json | jq -r '.writer.influxdb_up and .writer.spool_bytes == 0')\" = true ]" ||
	fail "the spool was not replayed: $(status_json | jq -c .writer)"
wait_for 30 bash -c "[ ! -d $S/writer-spool ] || [ -z \"\$(ls -A $S/writer-spool)\" ]" || fail "spool files left after the replay: $(ls -l "$S/writer-spool")"
replayed=$(status_json | jq '.workers[] | select(.kind == "writer") | .counters[10]')
[ "$replayed" -gt 0 ] || fail "the writer counts no replayed point"
status_json | jq -e '.writer.spool_dropped == 0' >/dev/null || fail "the spool dropped points: $(status_json | jq -c .writer)"
account outage
awk -F'\t' '$7 != 0 { print; bad = 1 } END { exit bad }' "$LAB_DIR/lanes.outage.now" ||
	fail "a lane dropped records during the outage (DROPPED column above): the writer did not keep up by spooling"
echo "outage: $(jq -r .writer.spooled "$LAB_DIR/s.json") points spooled (max $max_spool bytes), $replayed replayed, none lost"
