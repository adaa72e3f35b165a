#!/bin/bash
# sampler.sh: what sampling costs, on a real lab.
#   sample_cost: mean round trip of one locks+activity+blocking sample on
#     an idle publisher (the sampler's own figure, REC_LABSUP value).
#   sampler_overhead_100hz / _default: the publisher's throughput under the
#     hum at saturation with samplers off against samplers on every node
#     (10 ms with pg_locks every tick, then the defaults), interleaved.
#   footprint_rss: a default lab after a minute of hum and 100 Hz sampling:
#     proportional resident memory (PSS) of the supervisor and every
#     worker, plus the shm segment once.
. "$(dirname "$0")/harness-lab.bash" benchsampler
SECS=${SAMPLER_SECS:-8}
ROUNDS=${SAMPLER_ROUNDS:-4}
FOOT_SECS=${FOOTPRINT_SECS:-60}
base=$(sed '/^\[hum\]/,$d' "$LAB_CONF")
mkconf() {	# mkconf FILE INTERVAL LOCKS_INTERVAL
	printf '%s\n[hum]\nclients = %d\nrate = 0\n\n[sampler]\ninterval_ms = %d\nlocks_interval_ms = %d\n' \
	    "$base" "$C" "$2" "$3" >"$1"
}
mkconf "$LAB_DIR/100hz.conf" 10 10
mkconf "$LAB_DIR/default.conf" 100 100

# -- sample_cost: idle publisher, 100 Hz, mean of the per-second means
cost=$("$HARNESS" -c "$LAB_DIR/100hz.conf" -k sampler -a pub -t 6 |
    awk '/^labsup/ { for (i = 1; i <= NF; i++) if ($i ~ /^value=/) {
	sub("value=", "", $i); if (++n > 1) { s += $i; k++ } } }
	END { printf "%.0f\n", k ? s / k : -1 }')
# the same statement from pgbench at the same rate (-R 100: it sleeps
# between, as a sampler does) and back to back, through the same socket:
# at 100 Hz most of a round trip is waking two idle processes
"$HARNESS" -S >"$LAB_DIR/tick.sql"
pgb() {
	PGPASSFILE="$LAB_DIR/state/pgpass" pgbench -n -M prepared -c 1 "$@" \
	    -f "$LAB_DIR/tick.sql" -h "$LAB_DIR/state/pg/pub" -p "$PUB_PORT" \
	    -U labsup labsup 2>/dev/null |
	    awk '/^latency average/ { printf "%.0f\n", $4 * 1000 }'
}
paced=$(pgb -R 100 -T 6)
b2b=$(pgb -T 3)
awk -v c="$cost" -v p="$paced" 'BEGIN {
	printf "bench: sample_cost = %d us (baseline pgbench_same_sql_100hz = %d us, ratio %.2f) [locks+activity+blocking, idle node, 100 Hz]\n", c, p, c / p }'
echo "bench: sample_round_trip_back_to_back = $b2b us (pgbench, the same statement, no pause between)"

# -- overhead: hum tx/s with samplers off vs on
hum_tps() {	# hum_tps CONF: tx/s of C hum clients at rate 0
	"$HARNESS" -c "$1" -k hum -n "$C" -q -t "$SECS" |
	    awk -v s="$SECS" '/^status/ { for (i = 1; i <= NF; i++)
		if ($i ~ /^c0=/) { sub("c0=", "", $i); t += $i } }
		END { printf "%.0f\n", t / s }'
}
with_samplers() {	# with_samplers CONF: hum tx/s while 3 samplers run
	"$HARNESS" -c "$1" -k sampler -a pub,sub1,sub2 -n 3 -q \
	    -t $(( SECS + 2 )) >"$LAB_DIR/samplers.out" &
	local sp=$!
	sleep 1
	hum_tps "$1"
	wait "$sp"
}
off=0 on100=0 ondef=0
# the order turns every round (off first, then last, ...): a machine that
# warms up or slows down over the run must not favour one setting
for r in $(seq 1 "$ROUNDS"); do
	if [ $(( r % 2 )) = 1 ]; then
		a=$(hum_tps "$LAB_DIR/100hz.conf")
		b=$(with_samplers "$LAB_DIR/100hz.conf")
		c=$(with_samplers "$LAB_DIR/default.conf")
	else
		c=$(with_samplers "$LAB_DIR/default.conf")
		b=$(with_samplers "$LAB_DIR/100hz.conf")
		a=$(hum_tps "$LAB_DIR/100hz.conf")
	fi
	echo "  round $r: off $a, 100 Hz $b, default $c tx/s" >&2
	off=$(( off + a )); on100=$(( on100 + b )); ondef=$(( ondef + c ))
done
awk -v off="$off" -v on="$on100" -v n="$ROUNDS" 'BEGIN {
	printf "bench: sampler_overhead_100hz = %.1f %% (baseline samplers_off = %.0f tx/s, with = %.0f tx/s)\n",
	    100 * (off - on) / off, off / n, on / n }'
awk -v off="$off" -v on="$ondef" -v n="$ROUNDS" 'BEGIN {
	printf "bench: sampler_overhead_default = %.1f %% (baseline samplers_off = %.0f tx/s, with = %.0f tx/s)\n",
	    100 * (off - on) / off, off / n, on / n }'
lab stop >/dev/null 2>&1

# -- footprint: the default lab, hum on, samplers at 100 Hz, for a minute
lab_setup benchfoot <<EOC
[sampler]
interval_ms = 10
locks_interval_ms = 10
EOC
lab start >/dev/null || fail "labsup start failed"
sleep "$FOOT_SECS"
pids=$(status_json | jq -r '[.pid, (.workers[]?.pid)] | map(select(. != null and . > 0)) | .[]' 2>/dev/null)
[ -n "$pids" ] || pids=$(pgrep -f -- "$LAB_CONF")
kb=0
for p in $pids; do
	# proportional set size: libraries shared by the forked workers are
	# split among them, not counted nine times; the segment is counted
	# once, below
	k=$(awk '/^Pss_Anon:|^Pss_File:/ { s += $2 } END { print s + 0 }' "/proc/$p/smaps_rollup" 2>/dev/null)
	kb=$(( kb + ${k:-0} ))
done
seg=$(stat -c %s "/dev/shm/labsup.$(id -u).$LAB_NAME" 2>/dev/null || echo 0)
awk -v kb="$kb" -v seg="$seg" -v n="$(echo $pids | wc -w)" 'BEGIN {
	printf "bench: footprint_rss = %.1f MB (%d processes %.1f MB + segment %.1f MB)\n",
	    (kb * 1024 + seg) / 1048576, n, kb / 1024, seg / 1048576 }'
