#!/bin/bash
# 30_hum_sampler.sh: on a real lab, the hum keeps to its configured rate
# (counted by the server, from the history rows it inserted), samplers at
# 10 ms deliver a sample for every slot of their 10 ms grid or count it as
# missed, without drift, and a node restarted under its sampler is
# reported lost, then back, and sampled again.
# Every figure comes from the lab's own records and counters (row
# timestamps, record timestamps and seqs in InfluxDB), never from how long
# the test slept: a slow machine takes longer, it does not fail.
. "$(dirname "$0")/../lib.sh"
. "$ROOT/tests/tools/faults.sh"	# influx_csv
command -v initdb >/dev/null || skip "PostgreSQL 15 server binaries not installed"
command -v influxd >/dev/null || skip "influxd not installed"
command -v jq >/dev/null || skip "jq not installed"

RATE=200 CLIENTS=2
lab_setup hum <<EOC
[hum]
clients = $CLIENTS
rate = $RATE
workload = tpcb

[sampler]
interval_ms = 10
locks_interval_ms = 100
EOC

# rows QUERY: an InfluxQL answer as CSV rows "time,field,..." (ns), no
# header, no measurement or tag columns
rows() {
	influx_csv "$1" | awk -F, 'NR > 1 && NF > 2 { sub(/^[^,]*,[^,]*,/, ""); print }'
}

note "start"
lab start || fail "labsup start failed"
# the windows below are instants of lab time from here on: the test waits
# until the lab's records have passed them, however long that takes
T0=$(date +%s%N)

note "hum: $RATE tx/s, counted by the publisher over 20 s of its own time"
# The publisher stamps every history row with its transaction's start
# (mtime).  The transactions that started in (T1, T2] are those the hum
# scheduled in (T1 - lag(T1), T2 - lag(T2)]: lag is how far behind its
# schedule a client ran, from its own records (each 100 ms record has the
# mean lag of that interval).  A busy machine runs late, which shifts the
# window but does not change the count.  The schedule is stratified: in
# 4000 simulated 20 s windows of 2 clients the count stayed within 1.2 % of
# the rate, so 2 % is noise plus the lag's 100 ms resolution, not speed.
W=20
T1=$(( T0 + 1000000000 )) T2=$(( T0 + (1 + W) * 1000000000 ))
hum_past() {	# every client's records reached InfluxDB past T2 + 1 s
	local c
	for c in $(seq 1 "$CLIENTS"); do
		[ "$(influx_value "SELECT count(tx) FROM hum WHERE client = '$c'
		    AND time > $(( T2 + 1000000000 ))")" -gt 0 ] || return 1
	done
}
wait_for 300 hum_past || fail "no hum records past the window in InfluxDB"
n=$(psql_node "$PUB_PORT" "SELECT count(*) FROM history
    WHERE mtime > 'epoch'::timestamptz + $(( T1 / 1000 )) * interval '1 us'
      AND mtime <= 'epoch'::timestamptz + $(( T2 / 1000 )) * interval '1 us'")
want=0
for c in $(seq 1 "$CLIENTS"); do
	l1=$(influx_value "SELECT first(schedule_lag_ms) FROM hum WHERE client = '$c' AND time >= $T1")
	l2=$(influx_value "SELECT first(schedule_lag_ms) FROM hum WHERE client = '$c' AND time >= $T2")
	# deadline_misses of a hum: transactions dropped from its schedule
	# because it fell more than 2 s behind (those the count cannot see)
	s1=$(influx_value "SELECT last(deadline_misses) FROM labsup WHERE worker = 'hum $c'
	    AND deadline_misses >= 0 AND time <= $T1")
	s2=$(influx_value "SELECT first(deadline_misses) FROM labsup WHERE worker = 'hum $c'
	    AND deadline_misses >= 0 AND time >= $T2")
	note "hum $c: schedule lag $l1 ms at the start, $l2 ms at the end; $(( s2 - s1 )) dropped"
	[ "$s2" = "$s1" ] || fail "hum $c dropped $(( s2 - s1 )) transactions from its schedule in the window (more than 2 s behind)"
	want=$(awk -v w="$want" -v r="$RATE" -v n="$CLIENTS" -v t="$W" -v a="$l1" -v b="$l2" \
		'BEGIN { printf "%.1f", w + r / n * (t - (b - a) / 1000) }')
done
note "history rows in the window: $n, the schedule asked for $want (+- 2 %)"
awk -v n="$n" -v w="$want" 'BEGIN { exit !(n >= w * 0.98 && n <= w * 1.02) }' ||
	fail "the publisher saw $n hum transactions where the schedule asked for $want (2 % allowed)"

note "samples at 10 ms: every slot of the grid sampled or counted missed"
# Per node, between two of the sampler's once-a-second records A and B at
# least 10 s apart: the lane's seqs from A to B are all in InfluxDB (none
# lost), its lane dropped none, and the samples (one pg_blocking point per
# tick) plus the deadline misses fill the 10 ms slots between A's and B's
# timestamps.  The sampler writes A and B after moving to its next slot
# that is not yet due, so each lies inside one slot of the grid: the count
# is exact within 1 slot, whatever the machine's speed (2 allowed).  A
# sampler that drifted (slept 10 ms after each tick instead of to the grid)
# or skipped slots without counting them falls short by tens of slots.
sampler_past() {	# A and B for every node, and a second after B
	local node
	for node in pub sub1 sub2; do
		rows "SELECT seq FROM labsup WHERE worker = 'sampler $node'
		    AND deadline_misses >= 0 AND time >= $T0" |
			awk -F, 'NR == 1 { a = $1 } $1 >= a + 11e9 { ok = 1 }
			    END { exit !ok }' || return 1
	done
}
wait_for 300 sampler_past || fail "the samplers' records did not reach InfluxDB past 10 s"
for node in pub sub1 sub2; do
	# time,seq,deadline_misses,ring_drops of A, then of B
	read -r a b < <(rows "SELECT seq, deadline_misses, ring_drops FROM labsup
	    WHERE worker = 'sampler $node' AND deadline_misses >= 0 AND time >= $T0" |
	    awk -F, 'NR == 1 { a = $0; t = $1 } $1 >= t + 10e9 { print a, $0; exit }')
	IFS=, read -r ta qa ma da <<<"$a"
	IFS=, read -r tb qb mb db <<<"$b"
	[ -n "$tb" ] || fail "$node: no sampler records 10 s apart"
	# every seq of the lane between A and B, from all it emits (its
	# replication points are those without lag_bytes)
	span="time >= $(( ta - 1000000000 )) AND time <= $(( tb + 1000000000 ))"
	have=$({
		for m in pg_blocking pg_locks pg_activity; do
			rows "SELECT seq FROM $m WHERE node = '$node' AND $span"
		done
		rows "SELECT seq, lag_bytes FROM \"replication\" WHERE node = '$node' AND $span" |
			awk -F, '$3 == ""'
		rows "SELECT seq FROM labsup WHERE worker = 'sampler $node' AND deadline_misses >= 0 AND $span"
		rows "SELECT seq FROM events WHERE \"text\" =~ /^$node (unreachable|is reachable)/ AND $span"
		# a lock_wait point is the episode and its statements, a seq each
		rows "SELECT seq, seq_query, seq_blocker_query FROM lock_wait WHERE node = '$node' AND $span" |
			awk -F, '{ for (i = 2; i <= 4; i++) if ($i != "") print $1 "," $i }'
	} | awk -F, -v a="$qa" -v b="$qb" '$2 > a && $2 < b { s[$2] = 1 }
		END { n = 0; for (k in s) n++; print n }')
	c=$(rows "SELECT seq FROM pg_blocking WHERE node = '$node' AND $span" |
		awk -F, -v a="$qa" -v b="$qb" '$2 > a && $2 < b { n++ } END { print n + 0 }')
	miss=$(( mb - ma ))
	slots=$(( (tb - ta + 5000000) / 10000000 ))
	note "$node: $c samples + $miss misses in $slots slots of 10 ms; lane seqs $qa..$qb: $have of $(( qb - qa - 1 )) between"
	[ "$have" -eq $(( qb - qa - 1 )) ] ||
		fail "$node: $(( qb - qa - 1 - have )) of the sampler's records between seq $qa and $qb are not in InfluxDB"
	[ "$db" = "$da" ] || fail "$node: the sampler's lane dropped $(( db - da )) records"
	[ $(( c + miss )) -ge $(( slots - 2 )) ] && [ $(( c + miss )) -le $(( slots + 2 )) ] ||
		fail "$node: $c samples + $miss misses in $slots slots of 10 ms: the sampler left the grid"
	# most slots are sampled: a sampler ticking at a fraction of the rate
	# and counting the rest as misses fails here (how few a box misses is
	# a benchmark's business)
	[ $(( c * 2 )) -ge "$slots" ] || fail "$node: only $c of $slots slots sampled"
done

note "the sampler reports the subscription state and apply lag"
st=$(influx_query "SELECT last(apply_lag_ms) FROM \"replication\" WHERE node = 'sub1' GROUP BY state" |
	jq -r '[.results[0].series[]? | {s: .tags.state, t: .values[0][0]}] | max_by(.t) | .s // ""')
lag=$(influx_value "SELECT last(apply_lag_ms) FROM \"replication\" WHERE node = 'sub1'")
note "sub1: state $st, apply lag $lag ms"
[ "$st" = streaming ] || fail "sub1 subscription state is '$st', want streaming"

note "restart sub1 under its sampler"
pidfile=$(grep -lx "$SUB1_PORT" $(find "$LAB_DIR/state" -name postmaster.pid) | head -1)
[ -n "$pidfile" ] || fail "no postmaster.pid for sub1 under $LAB_DIR/state"
pm=$(head -1 "$pidfile")
datadir=$(dirname "$pidfile")
kill -INT "$pm"	# fast shutdown of this test's own sub1
unreachable() {
	status_json | jq -e '.. | objects | select(.name? == "sampler sub1")
	    | tostring | test("unreachable")' >/dev/null
}
if wait_for 10 unreachable; then note "status showed sub1 unreachable"
else note "status did not show it in time (the restart was quick)"; fi
# the container worker brings it back; if it does not, we do
if ! wait_for 30 psql_node "$SUB1_PORT" "SELECT 1"; then
	su postgres -c "pg_ctl -D '$datadir' -w start" >/dev/null 2>&1
fi
wait_for 30 psql_node "$SUB1_PORT" "SELECT 1" || fail "sub1 did not come back"
events() {
	influx_value "SELECT count(text) FROM events WHERE kind = '$1' AND text =~ /^sub1 /"
}
back_ok() { [ "$(events node_back)" -ge 1 ]; }
wait_for 30 back_ok || fail "no node_back event for sub1"
[ "$(events node_lost)" -ge 1 ] || fail "no node_lost event for sub1"
# resumed: samples after the node_back event, counted until there are 200
# (2 s of slots), not within a fixed time
back=$(rows "SELECT seq FROM events WHERE kind = 'node_back' AND \"text\" =~ /^sub1 /" | tail -1 | cut -d, -f1)
resumed() {
	[ "$(influx_value "SELECT count(waiting) FROM pg_blocking WHERE node = 'sub1' AND time > $back")" -ge 200 ]
}
wait_for 120 resumed ||
	fail "sampler sub1 did not resume: $(influx_value "SELECT count(waiting) FROM pg_blocking WHERE node = 'sub1' AND time > $back") samples since it was back"
note "sub1 sampled again after the restart"
note "ok"
