#!/bin/bash
# 86_subhealth.sh: subscription health, read once a second by the
# replication worker.  Both subscribers' sub_stats (enabled, an apply
# worker), sub_rel (every table ready), the apply worker's and walsender's
# sub_worker samples tagged with their subscription, and the publisher's
# sub_slot for each (reserved, active) reach InfluxDB.  `labsup sub pause
# sub1` shows: sub1's sub_stats say disabled with no apply worker, its
# slot goes inactive and the WAL it retains grows under the hum, while
# sub2's slot stays active.
. "$(dirname "$0")/../lib.sh"

[ -x /usr/lib/postgresql/15/bin/postgres ] || skip "PostgreSQL 15 is not installed"
command -v influxd >/dev/null || skip "influxd is not installed"
command -v jq >/dev/null || skip "jq is not installed"
lab_setup subhealth <<EOF2
[hum]
clients = 1
rate = 20
EOF2

iq() { influx_value "$1"; }
# (subscription is an InfluxQL keyword: quoted)
# has N QUERY: the query's first value is at least N
has() { [ "$(iq "$2")" -ge "$1" ]; }

lab start >/dev/null || fail "labsup start failed"
t0=$(date +%s%N)
for s in sub1 sub2; do
	w="node = '$s' AND \"subscription\" = 'sub_$s' AND time > $t0"
	wait_for 60 has 1 "SELECT count(enabled) FROM sub_stats WHERE $w AND enabled = 1 AND apply_pid > 0" ||
		fail "no sub_stats for $s with its subscription enabled and an apply worker"
	[ "$(iq "SELECT last(apply_errors) FROM sub_stats WHERE $w")" -eq 0 ] || fail "$s: apply errors on a fresh lab"
	wait_for 60 has 5 "SELECT count(state) FROM (SELECT last(state) AS state FROM sub_rel WHERE $w GROUP BY \"table\") WHERE state = 'r'" ||
		fail "sub_rel: not every table of $s is ready ('r')"
	wait_for 60 has 1 "SELECT count(pid) FROM sub_worker WHERE $w AND role = 'apply'" ||
		fail "no sub_worker sample of $s's apply worker"
	p="node = 'pub' AND \"subscription\" = 'sub_$s' AND time > $t0"
	wait_for 60 has 1 "SELECT count(active) FROM sub_slot WHERE $p AND active = 1 AND wal_status = 'reserved' AND sender_state = 'streaming'" ||
		fail "no sub_slot on pub for sub_$s, reserved, active and streaming"
	wait_for 60 has 1 "SELECT count(pid) FROM sub_worker WHERE $p AND role = 'sender'" ||
		fail "no sub_worker sample of sub_$s's walsender on pub"
done
[ "$(iq "SELECT last(received_lsn) FROM sub_stats WHERE node = 'sub1'")" -gt 0 ] || fail "sub1's received_lsn is not a position"

note "pause sub1"
lab sub pause sub1 >/dev/null || fail "sub pause failed"
t1=$(date +%s%N)
w="node = 'sub1' AND time > $t1"
wait_for 60 has 1 "SELECT count(enabled) FROM sub_stats WHERE $w AND enabled = 0 AND apply_pid = 0" ||
	fail "sub_stats do not show sub1 paused (enabled 0, no apply worker)"
p="node = 'pub' AND \"subscription\" = 'sub_sub1'"
wait_for 60 has 1 "SELECT count(active) FROM sub_slot WHERE $p AND time > $t1 AND active = 0" ||
	fail "sub_sub1's slot did not go inactive"
t2=$(date +%s%N)
wait_for 30 has 1 "SELECT count(active) FROM sub_slot WHERE $p AND time > $t2" || fail "no sub_slot after the pause"
first=$(iq "SELECT first(retained_bytes) FROM sub_slot WHERE $p AND time > $t2")
grows() { [ "$(iq "SELECT last(retained_bytes) FROM sub_slot WHERE $p AND time > $t2")" -gt "$first" ]; }
wait_for 120 grows || fail "sub_sub1's slot retains no more WAL while paused (stays $first bytes)"
[ "$(iq "SELECT last(active) FROM sub_slot WHERE node = 'pub' AND \"subscription\" = 'sub_sub2' AND time > $t2")" = 1 ] ||
	fail "sub_sub2's slot is not active while sub1 is paused"
note "retained WAL of the paused slot: $first -> $(iq "SELECT last(retained_bytes) FROM sub_slot WHERE $p AND time > $t2") bytes"

lab sub resume sub1 >/dev/null || fail "sub resume failed"
t3=$(date +%s%N)
wait_for 60 has 1 "SELECT count(enabled) FROM sub_stats WHERE node = 'sub1' AND time > $t3 AND enabled = 1 AND apply_pid > 0" ||
	fail "sub_stats do not show sub1 running again after resume"
lab stop >/dev/null || fail "stop failed"
note "ok"
