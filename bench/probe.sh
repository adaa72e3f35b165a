#!/bin/bash
# probe.sh: what the in-server probe costs (issue 18), beside the SQL
# sampler and pg_wait_sampling, on one real lab (three nodes, scale 10,
# every server started with labsup's probe and pg_wait_sampling loaded),
# the hum at saturation on the publisher, in the same run:
#   sampler_overhead_100hz_probe: the probes at 10 ms with a lock-manager
#     snapshot every tick, switched on and off every second through their
#     control words (bench/probe_toggle.c; labsup's own way);
#   sampler_overhead_100hz_sql: the SQL samplers at 10 ms with pg_locks
#     every tick (what bench/sampler.sh calls sampler_overhead_100hz),
#     stopped and continued every second;
#   sampler_overhead_1khz: the probes at 1 ms, locks every 10 ms and on
#     lock waits;
#   pg_wait_sampling_overhead_10ms: pg_wait_sampling's collector at its
#     default 10 ms periods (profile and history), stopped and continued
#     every second, only ever stopped while it sleeps (stopped holding
#     ProcArrayLock it would stall every commit).
#   sampler_overhead_100hz_probe_unstored (run probe100_unstored, not by
#     default): the 100 Hz probe with the lab's writer stopped, so nothing
#     is stored (the lanes fill and drop): the probes without the store;
#   sampler_overhead_null: the same, the probes' switches printed but
#     nothing switched: what the method reads into no change at all (its
#     bias, and the noise its interval says).
# PROBE_RUNS says which, in which order (by default the 100 Hz probe run
# once near the start and once at the end, and their pairs pooled); a
# PROBE_WARMUP of hum first, not counted (a fresh server's climbing first
# minute reads as a cost of whatever runs at its steep end).
# Each off second (PROBE_PERIOD_MS) is compared with the on seconds either
# side of it (the drift of a shared machine cancels out), as
# bench/sampler.sh does.  The
# CPU share is that of the probes' background workers plus the sampler
# workers relaying their records (those run all the time: counted as if
# only while on, an overestimate), of the SQL samplers and their backends,
# or of the collectors, while on, as a share of the machine's CPUs.
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
. "$ROOT/tests/lib.sh"
BUILD=${BUILD:-build}
HARNESS=$ROOT/$BUILD/bench/sampler_harness
TOGGLE=$ROOT/$BUILD/bench/probe_toggle
for b in "$HARNESS" "$TOGGLE"; do
	[ -x "$b" ] || { echo "bench: build $b first (make bench)" >&2; exit 1; }
done
[ -f "$(dirname "$LABSUP")/labsup_probe.so" ] ||
	{ echo "bench: probe: no labsup_probe.so beside $LABSUP (install postgresql-server-dev-15, make)" >&2; exit 1; }
[ -f /usr/lib/postgresql/15/lib/pg_wait_sampling.so ] ||
	{ echo "bench: probe: pg_wait_sampling is not installed (apt-get install postgresql-15-pg-wait-sampling)" >&2; exit 1; }
SECS=${PROBE_SECS:-40}	# per run, half of it on
PERIOD=${PROBE_PERIOD_MS:-1000}	# switched every PERIOD ms
WARM=${PROBE_WARMUP:-30}	# s of hum before the first run, not counted
# the runs, in this order (a name twice: run twice, then pooled)
RUNS=${PROBE_RUNS:-null probe100 probe100_locks sql probe1k pgws probe100}
C=${HUM_CLIENTS:-4}
# the hum: tpcb (writes, replicated: what the lab runs) or select (reads
# alone: CPU-bound, no WAL, no vacuum: far less noise per second)
WORKLOAD=${PROBE_HUM_WORKLOAD:-tpcb}
NODES="pub sub1 sub2"

LAB_SCALE=${LAB_SCALE:-10} lab_setup benchprobe <<EOC
[hum]
clients = 0

[sampler]
source = probe
interval_ms = 10
locks_interval_ms = 10
EOC
trap 'rc=$?; kill -CONT ${WRITER:-} ${PGWS:-} 2>/dev/null; lab_teardown $rc; rm -rf /dev/shm/labsup.$(id -u).$LAB_NAME.probe; exit $rc' EXIT
lab start >/dev/null || fail "labsup start failed"
base=$(sed '/^\[hum\]/,$d' "$LAB_CONF")
printf '%s\n[hum]\nclients = %d\nrate = 0\nworkload = %s\n\n[sampler]\nsource = sql\ninterval_ms = 10\nlocks_interval_ms = 10\n' \
    "$base" "$C" "$WORKLOAD" >"$LAB_DIR/bench.conf"

# every server loads pg_wait_sampling too (ALTER SYSTEM outranks the
# labsup.conf labsup writes); a fast shutdown, and the container worker
# starts each again
port_of() { case $1 in pub) echo "$PUB_PORT" ;; sub1) echo "$SUB1_PORT" ;; sub2) echo "$SUB2_PORT" ;; esac; }
so=$LAB_DIR/state/pg/labsup_probe.so
for n in $NODES; do
	psql_node "$(port_of "$n")" "ALTER SYSTEM SET shared_preload_libraries = '$so', 'pg_wait_sampling'" >/dev/null
	kill -INT "$(head -n 1 "$LAB_DIR/state/pg/$n/postmaster.pid")"
done
pgws_loaded() {
	local n
	for n in $NODES; do
		psql_node "$(port_of "$n")" "SHOW shared_preload_libraries" | grep -q pg_wait_sampling || return 1
	done
}
wait_for 180 pgws_loaded || fail "the servers did not come back with pg_wait_sampling"
segs=""
for n in $NODES; do segs="$segs /dev/shm/labsup.$(id -u).$LAB_NAME.probe/$n"; done
# children of the lab's postmasters whose title names them
bgw_pids() {
	local n pm
	for n in $NODES; do
		pm=$(head -n 1 "$LAB_DIR/state/pg/$n/postmaster.pid")
		pgrep -P "$pm" -f "$1"
	done
}
probes_up() { [ "$(bgw_pids 'labsup probe' | wc -l)" = 3 ] && [ "$(bgw_pids 'pg_wait_sampling collector' | wc -l)" = 3 ]; }
wait_for 120 probes_up || fail "not every server runs the probe and pg_wait_sampling's collector"
PROBES=$(bgw_pids 'labsup probe')
PGWS=$(bgw_pids 'pg_wait_sampling collector')
RELAYS=$(status_json | jq -r '.workers[] | select(.kind == "sampler") | .pid')

cpu_us() {	# cpu_us PID...: CPU time they (all their threads) used so far, us
	local p t=0
	for p in "$@"; do
		t=$(( t + $(cat /proc/"$p"/task/*/schedstat 2>/dev/null |
		    awk '{ t += $1 } END { printf "%d", t / 1000 }') ))
	done
	echo "$t"
}
# what stores the points: the lab's writer and InfluxDB (its own threads)
WRITER=$(status_json | jq -r '.workers[] | select(.kind == "writer") | .pid')
STORE="$WRITER $(cat "$LAB_DIR/state/influxdb/influxd.pid")"
declare -A STORE_US
stop_asleep() {	# stop_asleep PID...: SIGSTOP each while it sleeps (if it does within 50 looks)
	local p i
	for p in "$@"; do
		for i in $(seq 1 50); do
			[ "$(awk '{ print $3 }' "/proc/$p/stat" 2>/dev/null)" = S ] && break
		done
		kill -STOP "$p"
	done
}
# sig_toggles OUT STOP PID...: SIGSTOP (with STOP: kill -STOP, or
# stop_asleep) and SIGCONT every second for SECS, as probe_toggle prints
# its switches
sig_toggles() {
	local out=$1 stop=$2 on=1 end; shift 2
	: >"$out"
	end=$(( $(date +%s) + SECS ))
	while [ "$(date +%s)" -lt "$end" ]; do
		echo "$(date +%s%N) $on" >>"$out"
		sleep "$(awk -v p="$PERIOD" 'BEGIN { print p / 1000 }')"
		if [ "$on" = 1 ]; then $stop "$@"; on=0; else kill -CONT "$@"; on=1; fi
	done
	echo "$(date +%s%N) $on" >>"$out"
	kill -CONT "$@"
}
# pairs TOGGLES HUM-OUT: per off second, its tx/s and its on neighbours'
pairs() {
	awk 'NR == FNR { t[NR] = $1; st[NR] = $2; n = NR; next }
	/^hum / { for (i = 1; i <= NF; i++) {
			if ($i ~ /^ts=/) ts = substr($i, 4)
			if ($i ~ /^tx=/) tx = substr($i, 4) }
		b = 0
		for (j = 1; j < n; j++) if (ts >= t[j] && ts < t[j + 1]) b = j
		if (b == 0 || ts - t[b] < 200000000) next
		sum[b] += tx }
	function v(b) { return sum[b] / ((t[b + 1] - t[b]) / 1e9 - 0.2) }
	END { for (b = 2; b < n - 1; b++) if (st[b] == 0)
		printf "%.4f %.4f\n", v(b), (v(b - 1) + v(b + 1)) / 2 }' "$1" "$2"
}
report() {	# report NAME CPU-SHARE PAIRS-FILE NOTE
	awk -v name="$1" -v cpu="$2" -v note="$4" '
	{ off += $1; on += $2; d[++k] = 100 * ($1 - $2) / $1; sd += d[k]; sq += d[k] * d[k] }
	END {
		for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++)
			if (d[j] < d[i]) { x = d[i]; d[i] = d[j]; d[j] = x }
		# the pairs mean and its 95 % confidence interval (normal): what
		# the run resolves
		m = sd / k; se = (k > 1 ? sqrt((sq - k * m * m) / (k - 1) / k) : 0)
		printf "bench: %s = %.1f %% (baseline off = %.0f tx/s, with = %.0f tx/s; %d paired seconds, median %.1f %%, quartiles %.1f to %.1f %%, mean of the pairs %.1f %%, 95 %% interval %.1f to %.1f %%; %s used %.2f %% of the CPUs)\n",
		    name, 100 * (off - on) / off, off / k, on / k, k,
		    d[int((k + 1) / 2)], d[int(k / 4) + 1], d[int(3 * k / 4)],
		    m, m - 1.96 * se, m + 1.96 * se, note, cpu }' "$3"
}
share() {	# share US [SECS]: CPU share over SECS (the on half of a run)
	awk -v us="$1" -v s="${2:-}" -v half="$SECS" -v n="$(nproc)" \
	    'BEGIN { if (s == "") s = half / 2; printf "%.2f\n", 100 * us / 1e6 / s / n }'
}
hum_start() {
	"$HARNESS" -c "$LAB_DIR/bench.conf" -k hum -n "$C" -t $(( SECS + 3 )) >"$LAB_DIR/hum.out" &
	HP=$!
	sleep 1
}

# -- the probes, toggled through their control words
declare -A TIMES CPU_SUM
probe_run() {	# probe_run NAME INTERVAL_MS LOCKS_EVERY [-d]
	local c0 c1 p0 p1 ticks name=$1 cpu what
	TIMES[$1]=$(( ${TIMES[$1]:-0} + 1 ))
	[ "${TIMES[$1]}" -gt 1 ] && name="$1_run${TIMES[$1]}"
	hum_start
	c0=$(cpu_us $PROBES $RELAYS); p0=$(cpu_us $PROBES); s0=$(cpu_us $STORE)
	"$TOGGLE" -i "$2" -l "$3" -t "$SECS" -p "$PERIOD" ${4:-} $segs >"$LAB_DIR/toggles" 2>"$LAB_DIR/ticks"
	c1=$(cpu_us $PROBES $RELAYS); p1=$(cpu_us $PROBES); s1=$(cpu_us $STORE)
	STORE_US[$1]=$(( ${STORE_US[$1]:-0} + s1 - s0 ))
	CPU_SUM[$1]=$(( ${CPU_SUM[$1]:-0} + c1 - c0 ))
	"$TOGGLE" -o 0 -i "$2" -l "$3" $segs
	wait "$HP"
	ticks=$(cat "$LAB_DIR/ticks")
	pairs "$LAB_DIR/toggles" "$LAB_DIR/hum.out" >"$LAB_DIR/pairs.$name"
	cat "$LAB_DIR/pairs.$name" >>"$LAB_DIR/pairs.all.$1"
	cpu=$(share $(( c1 - c0 )))
	what="the probes ($(share $(( p1 - p0 ))) % of it; $ticks) and the samplers relaying"
	if [ "${4:-}" = -d ]; then
		# both halves alike: what the method reads into no change
		cpu=$(share $(( c1 - c0 )) "$SECS")
		what="nothing switched: the probes off, both halves alike, the method's own bias and noise; the probes and samplers relaying (over the whole run)"
	fi
	report "$name" "$cpu" "$LAB_DIR/pairs.$name" "$what"
}
# a run given twice or more: every pair of its runs together
pooled() {	# pooled NAME
	[ "${TIMES[$1]:-0}" -gt 1 ] || return 0
	report "$1_pooled" "$(share "${CPU_SUM[$1]}" $(( SECS / 2 * ${TIMES[$1]} )))" \
	    "$LAB_DIR/pairs.all.$1" "the pairs of its ${TIMES[$1]} runs together; the probes and the samplers relaying"
}

# -- the SQL samplers, stopped and continued.  Their backends are looked
# up before the hum starts (psql is slow on a loaded machine); both run
# until the switching is over, then stop
sql_run() {
	local kids pids n c0 c1
	"$HARNESS" -c "$LAB_DIR/bench.conf" -k sampler -a pub,sub1,sub2 -n 3 -q -t $(( SECS + 600 )) >"$LAB_DIR/sql.out" 2>&1 &
	SP=$!
	sql_up() { [ "$(pgrep -P "$SP" | wc -l)" = 3 ]; }
	wait_for 30 sql_up || { cat "$LAB_DIR/sql.out"; fail "the SQL samplers did not start"; }
	sleep 2
	kids=$(pgrep -P "$SP")
	pids=$kids
	for n in $NODES; do	# the relays' connections are older
		pids="$pids $(psql_node "$(port_of "$n")" "SELECT pid FROM pg_stat_activity
		    WHERE application_name = 'labsup-sampler' AND backend_start >= now() - interval '10 s'" | tr '\n' ' ')"
	done
	"$HARNESS" -c "$LAB_DIR/bench.conf" -k hum -n "$C" -t $(( SECS + 600 )) >"$LAB_DIR/hum.out" &
	HP=$!
	sleep 1
	c0=$(cpu_us $pids)
	kill -0 $kids || { cat "$LAB_DIR/sql.out"; fail "the SQL samplers exited"; }
	sig_toggles "$LAB_DIR/toggles" "kill -STOP" $kids
	c1=$(cpu_us $pids)
	kill -0 $kids || { cat "$LAB_DIR/sql.out"; fail "the SQL samplers exited during the run"; }
	kill "$HP" "$SP"
	wait "$HP" "$SP" 2>/dev/null
	pairs "$LAB_DIR/toggles" "$LAB_DIR/hum.out" >"$LAB_DIR/pairs.sql"
	report sampler_overhead_100hz_sql "$(share $(( c1 - c0 )))" "$LAB_DIR/pairs.sql" \
	    "the SQL samplers and their backends"
}

# -- pg_wait_sampling's collector, stopped and continued
pgws_run() {
	local c0 c1
	hum_start
	c0=$(cpu_us $PGWS); s0=$(cpu_us $STORE)
	kill -CONT $PGWS
	sig_toggles "$LAB_DIR/toggles" stop_asleep $PGWS
	c1=$(cpu_us $PGWS); s1=$(cpu_us $STORE)
	STORE_US[pgws]=$(( s1 - s0 ))
	wait "$HP"
	pairs "$LAB_DIR/toggles" "$LAB_DIR/hum.out" >"$LAB_DIR/pairs.pgws"
	report pg_wait_sampling_overhead_10ms "$(share $(( c1 - c0 )))" "$LAB_DIR/pairs.pgws" \
	    "the pg_wait_sampling collectors"
}

stop_asleep $PGWS
"$TOGGLE" -o 0 $segs
# a fresh server's first minute is not the rest: its caches fill, its
# throughput climbs, and a climbing curve reads as a cost of whatever is
# on at its steep end (on seconds against the off second between them)
"$HARNESS" -c "$LAB_DIR/bench.conf" -k hum -n "$C" -t "$WARM" >/dev/null
for r in $RUNS; do
	case $r in
	# the method alone: nothing switched
	null) probe_run sampler_overhead_null 10 10 -d ;;
	# the probe at 100 Hz as configured by default (locks every 100 ms
	# and on the ticks where a backend waits on a lock), then with a
	# lock-manager snapshot every tick, as the SQL samplers scan pg_locks
	probe100) probe_run sampler_overhead_100hz_probe 10 10 ;;
	probe100_locks) probe_run sampler_overhead_100hz_probe_locks_every_tick 10 1 ;;
	# the same with the lab's writer stopped: nothing stored (the lanes
	# fill and drop, counted), what the probes cost without the store
	probe100_unstored)
		kill -STOP $WRITER
		probe_run sampler_overhead_100hz_probe_unstored 10 10
		kill -CONT $WRITER ;;
	probe1k) probe_run sampler_overhead_1khz 1 10 ;;
	sql) sql_run ;;
	pgws) pgws_run ;;
	*) fail "PROBE_RUNS: no run $r (null probe100 probe100_unstored probe100_locks probe1k sql pgws)" ;;
	esac
done
# the collectors, stopped unless a pgws run continued them, would hold
# up their servers' shutdown
kill -CONT $PGWS
for name in sampler_overhead_null sampler_overhead_100hz_probe sampler_overhead_100hz_probe_unstored \
    sampler_overhead_100hz_probe_locks_every_tick sampler_overhead_1khz; do
	pooled "$name"
done
# what the probes' points cost to store, against the hum's own points (the
# pg_wait_sampling run: the probes off), over whole runs
if [ -n "${STORE_US[pgws]:-}" ]; then
	base_store=$(share "${STORE_US[pgws]}" "$SECS")
	for name in sampler_overhead_100hz_probe sampler_overhead_100hz_probe_locks_every_tick sampler_overhead_1khz; do
		[ -n "${STORE_US[$name]:-}" ] || continue
		awk -v name="$name" -v a="$(share "${STORE_US[$name]}" $(( SECS * ${TIMES[$name]} )))" -v b="$base_store" \
		    'BEGIN { printf "bench: %s_store_cpu = %.2f %% (baseline the hum alone = %.2f %%, ratio %.2f) [the writer and InfluxDB, share of the CPUs over the run, the probes on half of it]\n", name, a, b, (b > 0 ? a / b : 0) }'
	done
fi
"$TOGGLE" -o 1 -i 10 -l 1 $segs
