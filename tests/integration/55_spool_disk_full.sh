#!/bin/bash
# tags: faults
# 55_spool_disk_full.sh: the spool's disk fills up.  The spool directory is
# a 512 KB tmpfs; InfluxDB goes down under 100 Hz sampling, the writer
# spools until the disk is full, then keeps the records in the ring (lanes
# fill and drop their newest records, counted and shown in status) -- and
# does not crash.  InfluxDB back: the spool and the ring drain, and every
# record that made it into a lane is in InfluxDB (drops use no seq, so the
# per-lane accounting is still exact).
# Needs root (mount -t tmpfs); skips loudly otherwise.
. "$(dirname "$0")/../lib.sh"
. "$ROOT/tests/tools/faults.sh"
lab_setup diskfull <<EOF2
[hum]
clients = 2
rate = 40

[sampler]
interval_ms = 10
locks_interval_ms = 10
EOF2
command -v jq >/dev/null || skip "jq is not installed"
S="$LAB_DIR/state"
SP="$S/writer-spool"
mkdir -p "$SP" && chmod 0711 "$S" && chmod 0700 "$SP"
mount -t tmpfs -o size=512k,mode=0700 "labsup-test-spool" "$SP" 2>"$LAB_DIR/mount.err" ||
	skip "cannot mount a tmpfs for the spool ($(cat "$LAB_DIR/mount.err")): run as root to test a full disk"
ctr=""
cleanup_full() {
	local rc=$?
	[ -n "$ctr" ] && kill -CONT "$ctr" 2>/dev/null
	timeout 60 "$LABSUP" stop -c "$LAB_CONF" >/dev/null 2>&1
	umount "$SP" 2>/dev/null || umount -l "$SP" 2>/dev/null
	(exit $rc)
	lab_cleanup
}
trap cleanup_full EXIT
lanes_tool

"$LABSUP" start -c "$LAB_CONF" --timeout 240 >/dev/null || fail "start failed"
lanes >/dev/null
wr0=$(wpid writer)

note "InfluxDB down until the spool's 512 KB are full"
ctr=$(wpid container)
ipid=$(cat "$S/influxdb/influxd.pid")
kill -STOP "$ctr"
kill -TERM "$ipid"
wait_for 60 bash -c "! kill -0 $ipid 2>/dev/null" || fail "influxd did not stop"
full() { [ "$(df --output=avail -k "$SP" | tail -1)" -lt 64 ]; }
wait_for 240 full || fail "the spool never filled its disk: $(df -k "$SP" | tail -1), $(status_json | jq -c .writer)"
note "disk full: the writer holds the records in the ring, lanes drop and count"
d0=$(status_json | jq .ring.dropped)
e0=$(status_json | jq '.workers[] | select(.kind == "writer") | .counters[7]')
wait_for 120 bash -c "[ \$($LABSUP status -c $LAB_CONF --json | jq .ring.dropped) -gt $d0 ]" ||
	fail "no drop counted while the disk is full: $(status_json | jq -c .ring)"
wait_for 60 bash -c "[ \$($LABSUP status -c $LAB_CONF --json | jq '.workers[] | select(.kind == \"writer\") | .counters[7]') -gt $e0 ]" ||
	fail "the writer counts no error for the full disk"
sleep 10
status_json >"$LAB_DIR/s.json"
[ "$(jq '.workers[] | select(.kind == "writer") | .pid' "$LAB_DIR/s.json")" = "$wr0" ] ||
	fail "the writer crashed on the full disk (restarts $(jq '.workers[] | select(.kind == "writer") | .restarts' "$LAB_DIR/s.json"))"
grep -q "No space left on device" "$S/labsup.log" || fail "the log does not say the disk is full"
"$LABSUP" status -c "$LAB_CONF" | grep -qi "drop" || fail "status (text) does not show the drops"
jq -c '{ring, writer}' "$LAB_DIR/s.json"

note "InfluxDB back: spool and ring drain, the writer goes on"
kill -CONT "$ctr"
ctr=""
wait_for 120 bash -c "(exec 3<>/dev/tcp/127.0.0.1/$INFLUX_PORT)" || fail "InfluxDB did not come back"
wait_for 300 bash -c "[ \"\$($LABSUP status -c $LAB_CONF --json | jq -r '.writer.influxdb_up and .writer.spool_bytes == 0')\" = true ]" ||
	fail "the spool was not replayed: $(status_json | jq -c .writer)"
account diskfull
[ "$(wpid writer)" = "$wr0" ] || fail "the writer was restarted"
echo "disk full: $(status_json | jq .ring.dropped) records dropped and counted, everything in a lane delivered"
