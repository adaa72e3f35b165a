#!/bin/bash
# sampler.sh: what sampling costs, on a real lab.
#   sample_cost: one locks+activity+blocking round trip on an idle
#     publisher: the sampler's own ticks back to back (harness -b), their
#     rate turned into a time, against pgbench running the same statement
#     back to back.  Also the server's time to take the snapshot (from
#     Bind), back to back and at 100 Hz (the sampler's REC_LABSUP value),
#     beside what a round trip costs pgbench at 100 Hz (the same
#     statement, and SELECT 1: the wake-ups alone).
#   sampler_overhead_100hz / _default: the publisher's throughput under the
#     hum at saturation, samplers on every node (10 ms with pg_locks every
#     tick, then the defaults) switched off and on every second
#     (SIGSTOP/SIGCONT) while the hum runs; each off second is compared
#     with the on seconds either side of it, so the drift of a shared
#     machine (10 % over a minute here) cancels out.  The figure is the
#     mean over all pairs, with their median and quartiles, and the CPU the
#     samplers and their server backends used, as a share of the machine.
#   sampler_latency_p50_100hz / _default: the same switching with the hum
#     at a fixed rate (half what it reached with the samplers off): the
#     change in the p50 latency of its transactions (each hum record's
#     p50 over 100 ms, averaged per second).
#   footprint_rss: a default lab after a minute of hum and 100 Hz sampling:
#     proportional resident memory (PSS) of the supervisor and every
#     worker, plus the shm segment once.
. "$(dirname "$0")/harness-lab.bash" benchsampler
SECS=${SAMPLER_SECS:-60}	# per overhead run, half of it with samplers
ROUNDS=${SAMPLER_ROUNDS:-2}	# overhead runs per setting, pooled
LAT_ROUNDS=${SAMPLER_LAT_ROUNDS:-1}	# fixed-rate latency runs per setting
FOOT_SECS=${FOOTPRINT_SECS:-60}
base=$(sed '/^\[hum\]/,$d' "$LAB_CONF")
mkconf() {	# mkconf FILE INTERVAL LOCKS_INTERVAL [RATE]
	printf '%s\n[hum]\nclients = %d\nrate = %d\n\n[sampler]\ninterval_ms = %d\nlocks_interval_ms = %d\n' \
	    "$base" "$C" "${4:-0}" "$2" "$3" >"$1"
}
mkconf "$LAB_DIR/100hz.conf" 10 10
mkconf "$LAB_DIR/default.conf" 100 100

# -- sample_cost: idle publisher
server_us() {	# server_us: mean of the samplers' per-second server times
	awk '/^labsup/ { for (i = 1; i <= NF; i++) if ($i ~ /^value=/) {
		sub("value=", "", $i); if (++n > 1) { s += $i; k++ } } }
		END { printf "%.0f\n", k ? s / k : -1 }'
}
"$HARNESS" -c "$LAB_DIR/100hz.conf" -k sampler -a pub -b -t 4 >"$LAB_DIR/b2b.out"
b2b=$(awk '/^status/ { for (i = 1; i <= NF; i++) if ($i ~ /^c0=/) {
	sub("c0=", "", $i); printf "%.0f\n", 4e6 / $i } }' "$LAB_DIR/b2b.out")
b2b_server=$(server_us <"$LAB_DIR/b2b.out")
paced_server=$("$HARNESS" -c "$LAB_DIR/100hz.conf" -k sampler -a pub -t 6 | server_us)
"$HARNESS" -S -a "$(psql_node "$PUB_PORT" "SELECT oid FROM pg_database
    WHERE datname = current_database()")" >"$LAB_DIR/tick.sql"
echo 'SELECT 1;' >"$LAB_DIR/one.sql"
pgb() {	# pgb SQL-FILE PGBENCH-ARGS...: mean latency, us
	PGPASSFILE="$LAB_DIR/state/pgpass" pgbench -n -M prepared -c 1 "${@:2}" \
	    -f "$1" -h "$LAB_DIR/state/pg/pub" -p "$PUB_PORT" \
	    -U labsup labsup 2>/dev/null |
	    awk '/^latency average/ { printf "%.0f\n", $4 * 1000 }'
}
b2b_pgb=$(pgb "$LAB_DIR/tick.sql" -T 3)
paced_pgb=$(pgb "$LAB_DIR/tick.sql" -R 100 -T 6)
paced_one=$(pgb "$LAB_DIR/one.sql" -R 100 -T 6)
awk -v c="$b2b" -v p="$b2b_pgb" -v s="$b2b_server" 'BEGIN {
	printf "bench: sample_cost = %d us (baseline pgbench_same_sql = %d us, ratio %.2f) [locks+activity+blocking, one round trip, idle node; %d us of it on the server]\n", c, p, c / p, s }'
awk -v c="$paced_server" -v p="$paced_pgb" -v o="$paced_one" 'BEGIN {
	printf "bench: sample_server_time_100hz = %d us (server time from Bind to the snapshot taken, idle node, 100 Hz; a round trip at 100 Hz costs pgbench %d us with the same statement, %d us with SELECT 1: waking two sleeping processes)\n", c, p, o }'

# -- overhead: hum throughput with the samplers stopped and running
toggle_run() {	# toggle_run CONF OUT FIELD: one run; pairs to OUT, CPU share on stdout
	local hp sp kids pids port on=1 c0 c1 end
	"$HARNESS" -c "$1" -k hum -n "$C" -t $(( SECS + 3 )) >"$LAB_DIR/hum.out" &
	hp=$!
	"$HARNESS" -c "$1" -k sampler -a pub,sub1,sub2 -n 3 -q \
	    -t $(( SECS + 4 )) >/dev/null &
	sp=$!
	sleep 1
	kids=$(pgrep -P "$sp")
	pids=$kids
	for port in "$PUB_PORT" "$SUB1_PORT" "$SUB2_PORT"; do
		pids="$pids $(psql_node "$port" "SELECT pid FROM pg_stat_activity
		    WHERE application_name = 'labsup-sampler'")"
	done
	: >"$LAB_DIR/toggles"
	c0=$(cpu_us $pids)
	end=$(( $(date +%s) + SECS ))
	while [ "$(date +%s)" -lt "$end" ]; do
		echo "$(date +%s%N) $on" >>"$LAB_DIR/toggles"
		sleep 1
		if [ "$on" = 1 ]; then kill -STOP $kids; on=0; else kill -CONT $kids; on=1; fi
	done
	echo "$(date +%s%N) $on" >>"$LAB_DIR/toggles"
	c1=$(cpu_us $pids)
	kill -CONT $kids
	wait "$hp" "$sp"
	# every block's figure (its first 200 ms left out: the switch
	# settles): tx/s, or the mean of the hum records' p50 latency; then
	# each off block against the mean of its two on neighbours
	awk -v field="$3" 'NR == FNR { t[NR] = $1; st[NR] = $2; n = NR; next }
	/^hum / { for (i = 1; i <= NF; i++) {
			if ($i ~ /^ts=/) ts = substr($i, 4)
			if ($i ~ /^tx=/) tx = substr($i, 4)
			if ($i ~ /^p50=/) p50 = substr($i, 5) }
		b = 0
		for (j = 1; j < n; j++) if (ts >= t[j] && ts < t[j + 1]) b = j
		if (b == 0 || ts - t[b] < 200000000) next
		if (field == "tx") sum[b] += tx
		else if (tx > 0) { sum[b] += p50; cnt[b]++ } }
	function v(b) { return field == "tx" ? sum[b] / ((t[b + 1] - t[b]) / 1e9 - 0.2) : \
		(cnt[b] ? sum[b] / cnt[b] : 0) }
	END { for (b = 2; b < n - 1; b++) if (st[b] == 0)
		printf "%.4f %.4f\n", v(b), (v(b - 1) + v(b + 1)) / 2 }' \
	    "$LAB_DIR/toggles" "$LAB_DIR/hum.out" >>"$2"
	# CPU share while on: the samplers ran half the time
	awk -v us=$(( c1 - c0 )) -v s="$SECS" -v n="$(nproc)" \
	    'BEGIN { printf "%.2f\n", 100 * us / 1e6 / (s / 2) / n }'
}
toggle_runs() {	# toggle_runs NAME CONF FIELD ROUNDS: pairs in pairs.NAME; mean CPU share
	local r cpu=0
	: >"$LAB_DIR/pairs.$1"
	for r in $(seq 1 "$4"); do
		cpu=$(awk -v a="$cpu" -v b="$(toggle_run "$2" "$LAB_DIR/pairs.$1" "$3")" \
		    'BEGIN { print a + b }')
	done
	awk -v c="$cpu" -v r="$4" 'BEGIN { print c / r }'
}
overhead() {	# overhead NAME CONF
	local cpu
	cpu=$(toggle_runs "$1" "$2" tx "$ROUNDS")
	awk -v name="$1" -v cpu="$cpu" '
	{ off += $1; on += $2; d[++k] = 100 * ($1 - $2) / $1 }
	END {
		for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++)
			if (d[j] < d[i]) { x = d[i]; d[i] = d[j]; d[j] = x }
		printf "bench: sampler_overhead_%s = %.1f %% (baseline samplers_off = %.0f tx/s, with = %.0f tx/s; %d paired seconds, median %.1f %%, quartiles %.1f to %.1f %%; samplers and their backends used %.1f %% of the CPUs)\n",
		    name, 100 * (off - on) / off, off / k, on / k, k,
		    d[int((k + 1) / 2)], d[int(k / 4) + 1], d[int(3 * k / 4)],
		    cpu }' "$LAB_DIR/pairs.$1"
}
latency() {	# latency NAME CONF: the hum's p50 at a fixed rate, samplers off and on
	local cpu
	cpu=$(toggle_runs "lat_$1" "$2" p50 "$LAT_ROUNDS")
	awk -v name="$1" -v cpu="$cpu" -v rate="$RATE" '
	{ off += $1; on += $2; d[++k] = 100 * ($2 - $1) / $1 }
	END {
		for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++)
			if (d[j] < d[i]) { x = d[i]; d[i] = d[j]; d[j] = x }
		printf "bench: sampler_latency_p50_%s = %+.1f %% (baseline samplers_off = %.3f ms, with = %.3f ms; hum at a fixed %d tx/s; %d paired seconds, median %+.1f %%, quartiles %+.1f to %+.1f %%; samplers and their backends used %.1f %% of the CPUs)\n",
		    name, 100 * (on - off) / off, off / k, on / k, rate, k,
		    d[int((k + 1) / 2)], d[int(k / 4) + 1], d[int(3 * k / 4)],
		    cpu }' "$LAB_DIR/pairs.lat_$1"
}
overhead 100hz "$LAB_DIR/100hz.conf"
overhead default "$LAB_DIR/default.conf"
# the p50 latency change at a fixed rate: half of what the hum reached
# above with the samplers off, so it has room to absorb their wake-ups
RATE=$(awk '{ s += $1; k++ } END { printf "%d\n", s / k / 2 }' "$LAB_DIR/pairs.default")
mkconf "$LAB_DIR/lat100hz.conf" 10 10 "$RATE"
mkconf "$LAB_DIR/latdefault.conf" 100 100 "$RATE"
latency 100hz "$LAB_DIR/lat100hz.conf"
latency default "$LAB_DIR/latdefault.conf"
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
