#!/bin/bash
# sampler.sh: what sampling costs, on a real lab.
#   sample_cost: one locks+activity+blocking round trip on an idle
#     publisher, the sampler's own figure (REC_LABSUP value) with ticks back
#     to back, against pgbench running the same statement back to back.
#   sample_round_trip_100hz: the same at 100 Hz, where the sampler and the
#     server backend sleep between ticks, against pgbench -R 100 with the
#     same statement and with SELECT 1 (what the wake-ups alone cost here).
#   sampler_overhead_100hz / _default: the publisher's throughput under the
#     hum at saturation with samplers off against samplers on every node
#     (10 ms with pg_locks every tick, then the defaults), in interleaved
#     rounds whose order turns; the median round, since other tenants of a
#     shared machine make single rounds swing by 10 %.  Also the CPU the
#     three samplers and their server backends used, as a share of the
#     machine: the direct cost, which that noise does not blur.
#   footprint_rss: a default lab after a minute of hum and 100 Hz sampling:
#     proportional resident memory (PSS) of the supervisor and every
#     worker, plus the shm segment once.
. "$(dirname "$0")/harness-lab.bash" benchsampler
SECS=${SAMPLER_SECS:-5}
ROUNDS=${SAMPLER_ROUNDS:-8}
FOOT_SECS=${FOOTPRINT_SECS:-60}
base=$(sed '/^\[hum\]/,$d' "$LAB_CONF")
mkconf() {	# mkconf FILE INTERVAL LOCKS_INTERVAL
	printf '%s\n[hum]\nclients = %d\nrate = 0\n\n[sampler]\ninterval_ms = %d\nlocks_interval_ms = %d\n' \
	    "$base" "$C" "$2" "$3" >"$1"
}
mkconf "$LAB_DIR/100hz.conf" 10 10
mkconf "$LAB_DIR/default.conf" 100 100

# -- sample_cost: idle publisher; mean of the per-second means, the first
# second (connecting, preparing) left out
sampler_cost() {	# sampler_cost HARNESS-ARGS...
	"$HARNESS" -c "$LAB_DIR/100hz.conf" -k sampler -a pub "$@" |
	    awk '/^labsup/ { for (i = 1; i <= NF; i++) if ($i ~ /^value=/) {
		sub("value=", "", $i); if (++n > 1) { s += $i; k++ } } }
		END { printf "%.0f\n", k ? s / k : -1 }'
}
"$HARNESS" -S -a "$(psql_node "$PUB_PORT" "SELECT oid FROM pg_database
    WHERE datname = current_database()")" >"$LAB_DIR/tick.sql"
echo 'SELECT 1;' >"$LAB_DIR/one.sql"
pgb() {	# pgb SQL-FILE PGBENCH-ARGS...: mean latency, us
	PGPASSFILE="$LAB_DIR/state/pgpass" pgbench -n -M prepared -c 1 "${@:2}" \
	    -f "$1" -h "$LAB_DIR/state/pg/pub" -p "$PUB_PORT" \
	    -U labsup labsup 2>/dev/null |
	    awk '/^latency average/ { printf "%.0f\n", $4 * 1000 }'
}
b2b=$(sampler_cost -b -t 4)
b2b_pgb=$(pgb "$LAB_DIR/tick.sql" -T 3)
paced=$(sampler_cost -t 6)
paced_pgb=$(pgb "$LAB_DIR/tick.sql" -R 100 -T 6)
paced_one=$(pgb "$LAB_DIR/one.sql" -R 100 -T 6)
awk -v c="$b2b" -v p="$b2b_pgb" 'BEGIN {
	printf "bench: sample_cost = %d us (baseline pgbench_same_sql = %d us, ratio %.2f) [locks+activity+blocking, one round trip, idle node]\n", c, p, c / p }'
awk -v c="$paced" -v p="$paced_pgb" -v o="$paced_one" 'BEGIN {
	printf "bench: sample_round_trip_100hz = %d us (baseline pgbench_same_sql_100hz = %d us, ratio %.2f; pgbench_select_1_100hz = %d us: waking two sleeping processes)\n", c, p, c / p, o }'

# -- overhead: hum tx/s with samplers off vs on
hum_tps() {	# hum_tps CONF: tx/s of C hum clients at rate 0
	"$HARNESS" -c "$1" -k hum -n "$C" -q -t "$SECS" |
	    awk -v s="$SECS" '/^status/ { for (i = 1; i <= NF; i++)
		if ($i ~ /^c0=/) { sub("c0=", "", $i); t += $i } }
		END { printf "%.0f\n", t / s }'
}
cpu_us() {	# cpu_us PID...: CPU time they used so far, us
	local p t=0
	for p in "$@"; do
		t=$(( t + $(awk '{ printf "%d", $1 / 1000 }' "/proc/$p/schedstat" 2>/dev/null || echo 0) ))
	done
	echo "$t"
}
with_samplers() {	# with_samplers CONF: hum tx/s while 3 samplers run
	local sp pids c0 c1 t0 t1 tps n port
	"$HARNESS" -c "$1" -k sampler -a pub,sub1,sub2 -n 3 -q \
	    -t $(( SECS + 2 )) >"$LAB_DIR/samplers.out" &
	sp=$!
	sleep 1
	# the samplers and the server backends they talk to
	pids=$(pgrep -P "$sp")
	for port in "$PUB_PORT" "$SUB1_PORT" "$SUB2_PORT"; do
		pids="$pids $(psql_node "$port" "SELECT pid FROM pg_stat_activity
		    WHERE application_name = 'labsup-sampler'")"
	done
	c0=$(cpu_us $pids); t0=$(date +%s%N)
	tps=$(hum_tps "$1")
	c1=$(cpu_us $pids); t1=$(date +%s%N)
	wait "$sp"
	n=$(nproc)
	# tx/s, then the share of all CPUs the samplers and backends used, %
	awk -v tps="$tps" -v us=$(( c1 - c0 )) -v ns=$(( t1 - t0 )) -v n="$n" \
	    'BEGIN { printf "%s %.2f\n", tps, 100 * us * 1000 / ns / n }'
}
: >"$LAB_DIR/rounds"
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
	echo "$a $b $c" >>"$LAB_DIR/rounds"
	echo "$a $b $c" | awk -v r="$r" '{ printf "  round %d: off %d, 100 Hz %d (%.1f %%, samplers %.1f %% CPU), default %d (%.1f %%, %.2f %% CPU) tx/s\n",
	    r, $1, $2, 100 * ($1 - $2) / $1, $3, $4, 100 * ($1 - $4) / $1, $5 }' >&2
done
# overhead_summary NAME TPS-FIELD CPU-FIELD: median, range, means
overhead_summary() {
	awk -v name="$1" -v f="$2" -v g="$3" '
	{ off[NR] = $1; on[NR] = $f; cpu[NR] = $g; so += $1; sn += $f; sc += $g
	  o[NR] = 100 * ($1 - $f) / $1 }
	END {
		n = NR
		for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++)
			if (o[j] < o[i]) { t = o[i]; o[i] = o[j]; o[j] = t }
		med = n % 2 ? o[(n + 1) / 2] : (o[n / 2] + o[n / 2 + 1]) / 2
		printf "bench: sampler_overhead_%s = %.1f %% (baseline samplers_off = %.0f tx/s, with = %.0f tx/s; median of %d rounds, %.1f to %.1f %%; samplers and their backends used %.1f %% of the CPUs)\n",
		    name, med, so / n, sn / n, n, o[1], o[n], sc / n
	}' "$LAB_DIR/rounds"
}
overhead_summary 100hz 2 3
overhead_summary default 4 5
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
