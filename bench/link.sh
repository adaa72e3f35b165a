#!/bin/bash
# link.sh: what a pass-through link costs, on a real lab (local backend).
#   link_overhead_p99: apply lag at p99 through a pass-through link against
#     a direct subscription in the same run: sub1 and sub2 take the same
#     WAL from the same publisher under the hum, one through its link, the
#     other with [link] bypass = yes; then a reload swaps them, so each
#     node is measured both ways and what differs between the two servers
#     cancels out.  The apply lag is the samplers' (now - the heartbeat
#     row's time on the subscriber, every 10 ms, the heartbeat beating
#     every 10 ms), from the replication measurement in InfluxDB.
#   link_cpu_per_mb: the link worker's CPU time (utime + stime) per MB it
#     carried, and its share of one core over the run.
# Prints: bench: link_overhead_p99 = D ms (baseline direct p99 = X ms,
#   ratio R) and bench: link_cpu_per_mb = N ms/MB (CPU share S %).
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
. "$ROOT/tests/lib.sh"
SECS=${LINK_SECS:-40}		# per round
RATE=${LINK_RATE:-200}		# hum tx/s

LAB_SCALE=${LAB_SCALE:-1} lab_setup benchlink <<EOC
[hum]
clients = 2
rate = $RATE

[sampler]
interval_ms = 10
locks_interval_ms = 100
EOC
sed -i 's/^scale = .*/&\nheartbeat_ms = 10/' "$LAB_CONF"
base=$(cat "$LAB_CONF")
# bypass NODE: that subscriber's link is bypassed, the other's is not
bypass() { printf '%s\n\n[link %s]\nbypass = yes\n' "$base" "$1" >"$LAB_CONF"; }

# linked NODE PORT / direct NODE PORT: where its subscription connects
linked() { [ -f "$LAB_DIR/state/links/$1.addr" ] &&
	psql_node "$2" "SELECT subconninfo FROM pg_subscription" | grep -q "port='$(cut -d' ' -f2 "$LAB_DIR/state/links/$1.addr")'"; }
direct() { psql_node "$2" "SELECT subconninfo FROM pg_subscription" | grep -q "port='$PUB_PORT'"; }
linkpid() { status_json | jq -r ".workers[] | select(.name == \"link $1\" and .state == \"running\") | .pid"; }
link_bytes() { status_json | jq -r ".workers[] | select(.name == \"link $1\") | .counters[0] + .counters[1]"; }
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
p99() {	# p99 NODE FROM_NS TO_NS
	influx_value "SELECT percentile(apply_lag_ms, 99) FROM \"replication\" WHERE node = '$1' AND time >= $2 AND time < $3"
}
p50() {
	influx_value "SELECT percentile(apply_lag_ms, 50) FROM \"replication\" WHERE node = '$1' AND time >= $2 AND time < $3"
}

bypass sub2
lab start >/dev/null || fail "labsup start failed"
lab check --timeout 240 >/dev/null 2>&1 || fail "check fails before the benchmark"
hz=$(getconf CLK_TCK)
linked_sum=0 direct_sum=0 hold_sum=0 cpu=0 bytes=0 wall=0
# round: linked node (and its port), direct node (and its port)
round() {
	local ln=$1 lp=$2 dn=$3 dp=$4 pid t0 t1 c0 c1 b0 b1 lq dq l50 d50
	wait_for 120 direct "$dn" "$dp" || fail "$dn's subscription is not direct"
	wait_for 120 linked "$ln" "$lp" || fail "$ln's subscription is not through its link"
	sleep 5		# the moved subscription settles
	pid=$(linkpid "$ln")
	[ -n "$pid" ] || fail "no link worker for $ln"
	c0=$(cpu_ticks "$pid"); b0=$(link_bytes "$ln"); t0=$(date +%s%N)
	sleep "$SECS"
	c1=$(cpu_ticks "$pid"); b1=$(link_bytes "$ln"); t1=$(date +%s%N)
	sleep 2		# the last points reach InfluxDB
	lq=$(p99 "$ln" "$t0" "$t1"); dq=$(p99 "$dn" "$t0" "$t1")
	l50=$(p50 "$ln" "$t0" "$t1"); d50=$(p50 "$dn" "$t0" "$t1")
	# what the link itself held the bytes, read to written (its own figure)
	hold=$(influx_value "SELECT mean(link_delay_ms) FROM labsup WHERE worker = 'link $ln' AND time >= $t0 AND time < $t1")
	echo "  $ln through its link: p50 $l50 ms, p99 $lq ms (the link held bytes $hold ms on average); $dn direct: p50 $d50 ms, p99 $dq ms" >&2
	hold_sum=$(awk -v a="$hold_sum" -v b="$hold" 'BEGIN { print a + b }')
	linked_sum=$(awk -v a="$linked_sum" -v b="$lq" 'BEGIN { print a + b }')
	direct_sum=$(awk -v a="$direct_sum" -v b="$dq" 'BEGIN { print a + b }')
	cpu=$(( cpu + c1 - c0 )); bytes=$(( bytes + b1 - b0 ))
	wall=$(( wall + (t1 - t0) / 1000000 ))
}
round sub1 "$SUB1_PORT" sub2 "$SUB2_PORT"
bypass sub1
lab reload >/dev/null || fail "reload failed"
round sub2 "$SUB2_PORT" sub1 "$SUB1_PORT"
lab check --timeout 240 >/dev/null 2>&1 || fail "check fails after the benchmark"
[ "$bytes" -gt 0 ] || fail "the links carried nothing"
awk -v l="$linked_sum" -v d="$direct_sum" 'BEGIN {
	l /= 2; d /= 2
	printf "bench: link_overhead_p99 = %.2f ms (baseline direct p99 = %.2f ms, through the link %.2f ms, ratio %.3f) [target: within 1 ms]\n",
	    l - d, d, l, (d > 0 ? l / d : 0) }'
awk -v h="$hold_sum" 'BEGIN {
	printf "bench: link_hold_mean = %.3f ms (what the link itself held a chunk, read to written; the rest of the overhead is scheduling the extra process, load %s)\n",
	    h / 2, "'"$(cut -d' ' -f1 /proc/loadavg)"'" }'
awk -v c="$cpu" -v hz="$hz" -v b="$bytes" -v w="$wall" 'BEGIN {
	ms = c * 1000 / hz; mb = b / 1048576
	printf "bench: link_cpu_per_mb = %.1f ms/MB (%.1f MB carried, CPU share %.2f %% of one core)\n",
	    (mb > 0 ? ms / mb : 0), mb, (w > 0 ? 100 * ms / w : 0) }'
lab stop >/dev/null
