#!/bin/bash
# capture.sh: how many short lock waits labsup catches, against
# pg_wait_sampling.  Under the hum, build/bench/capture_driver makes lock
# waits of known length (CAPTURE_LENGTHS ms, CAPTURE_N of each, random
# order and moments, a known blocker pid); the sampler runs on pub with
# each source of CAPTURE_SOURCES (sql: a query per tick; probe: the
# in-server probe, issue 18), at a 10 ms and then a 100 ms interval, and
# the probe also at 1 ms on CAPTURE_1MS_LENGTHS (2 ms waits).  A wait
# counts as caught when labsup wrote an ended lock_wait episode of the
# waiter's pid, with the holder as its blocker, overlapping the wait
# (within one interval); a miss is told apart as seen with no blocker,
# seen with another blocker, or not seen.  Baseline, in the same runs:
# pg_wait_sampling, loaded by this benchmark's own lab
# (shared_preload_libraries; history every 10 ms), catches a wait when its
# history holds a Lock sample of the waiter's pid during the wait.  pub
# loads labsup's probe too (idle while the SQL source runs: it looks for
# its segment once a second).  Prints
#   capture_<L>ms_at_<I>ms_<SOURCE> = P % (baseline pg_wait_sampling = P %, ratio R)
# for every length, interval and source, the CPU both cost (share of the
# machine, also beside each figure) and the episodes' duration error; and
# per length in how many waits a labsup tick (its pg_blocking points) and
# a pg_wait_sampling sample fell, while the waiter surely waited (the
# holder saw it blocked, its COMMIT not yet out) and from its statement
# to the COMMIT's return, and how many of those each caught: what tells a
# miss of the sampler from a wait no look fell in.  CAPTURE_GAP_MS
# (MIN,MAX; 30,130) spaces the waits; CAPTURE_1MS_LENGTHS empty: no 1 ms
# run.
# CAPTURE_BASE_HARNESS (see below) adds the tick cost where nobody waits,
# against another build.
. "$(dirname "$0")/harness-lab.bash" benchcapture
DRIVER=${DRIVER:-$ROOT/$BUILD/bench/capture_driver}
[ -x "$DRIVER" ] || { echo "bench: build $DRIVER first (make bench)" >&2; exit 1; }
N=${CAPTURE_N:-200}
# the short waits three times over (600 each): their ratios are what the
# noise of a few hundred waits hides
LENS=${CAPTURE_LENGTHS:-2,2,2,5,5,5,10,20,50,100}
RATE=${CAPTURE_HUM_RATE:-200}
INTERVALS=${CAPTURE_INTERVALS:-10 100}
SOURCES=${CAPTURE_SOURCES:-sql probe}
LENS_1MS=${CAPTURE_1MS_LENGTHS-2}	# empty: no 1 ms run
GAP=${CAPTURE_GAP_MS:-30,130}	# between waits, ms: MIN,MAX
SO=$ROOT/$BUILD/labsup_probe.so
PUB_DIR="$LAB_DIR/state/pg/pub"
CONNINFO="host=$PUB_DIR port=$PUB_PORT user=labsup dbname=labsup passfile=$LAB_DIR/state/pgpass"

# CAPTURE_BASE_HARNESS=.../sampler_harness of another build: first, on
# the idle lab, what a tick costs where nobody waits, that build against
# this one, alternately (the machine's drift cancels out)
if [ -n "${CAPTURE_BASE_HARNESS:-}" ]; then
	printf '%s\n[hum]\nclients = 0\n\n[sampler]\ninterval_ms = 10\nlocks_interval_ms = 10\n' \
	    "$(sed '/^\[hum\]/,$d' "$LAB_CONF")" >"$LAB_DIR/idle.conf"
	server_us() {	# the samplers' per-second server times, mean
		awk '/^labsup/ { for (i = 1; i <= NF; i++) if ($i ~ /^value=/) {
			sub("value=", "", $i); if (++n > 1) { s += $i; k++ } } }
			END { printf "%.0f\n", k ? s / k : -1 }'
	}
	: >"$LAB_DIR/ab"
	for r in 1 2 3; do
		for h in "$CAPTURE_BASE_HARNESS" "$HARNESS"; do
			echo "$h $("$h" -c "$LAB_DIR/idle.conf" -k sampler -a pub -t 6 | server_us)" >>"$LAB_DIR/ab"
		done
	done
	awk -v base="$CAPTURE_BASE_HARNESS" '$1 == base { b += $2; nb++; next } { a += $2; na++ }
	END { printf "bench: sampler_idle_server_time_100hz = %.0f us (baseline %s = %.0f us, ratio %.2f) [server time a tick takes where nobody waits, idle pub, 3 alternating 6 s runs each]\n",
	    a / na, base, b / nb, (a / na) / (b / nb) }' "$LAB_DIR/ab"
fi

preload="'pg_wait_sampling'"
probe_set=""
if [[ " $SOURCES " == *" probe "* ]]; then
	[ -f "$SO" ] || fail "no $SO for CAPTURE_SOURCES=probe (install postgresql-server-dev-15, make)"
	# the server loads its copy in the state directory, as labsup's own
	cp "$SO" "$LAB_DIR/state/pg/labsup_probe.so"
	chmod 0644 "$LAB_DIR/state/pg/labsup_probe.so"
	chown --reference="$PUB_DIR" "$LAB_DIR/state/pg/labsup_probe.so"
	preload="'$LAB_DIR/state/pg/labsup_probe.so', $preload"
	probe_set="labsup.segment = '/dev/shm/labsup.$(id -u).$LAB_NAME.probe/pub'"
	trap 'rc=$?; lab_teardown $rc; rm -rf /dev/shm/labsup.$(id -u).$LAB_NAME.probe; exit $rc' EXIT
fi
what="pg_wait_sampling"
[ -z "$probe_set" ] || what="$what and labsup's probe"
note "$what into pub (shared_preload_libraries, then a restart)"
# ALTER SYSTEM refuses the extensions' settings until they are loaded:
# they go after it in the same file (history room for the whole benchmark)
psql_node "$PUB_PORT" "ALTER SYSTEM SET shared_preload_libraries = $preload" >/dev/null &&
	printf 'pg_wait_sampling.history_size = 1000000\npg_wait_sampling.history_period = 10\n%s\n' \
	    "$probe_set" >>"$PUB_DIR/postgresql.auto.conf" ||
	fail "cannot configure pg_wait_sampling on pub"
old=$(head -n 1 "$PUB_DIR/postmaster.pid")
kill -9 "$old"	# this benchmark's own server: the lab starts it again
restarted() {
	local p
	p=$(head -n 1 "$PUB_DIR/postmaster.pid" 2>/dev/null)
	[ -n "$p" ] && [ "$p" != "$old" ] && psql_node "$PUB_PORT" "SELECT 1" >/dev/null
}
wait_for 180 restarted || fail "pub did not come back after the restart"
psql_node "$PUB_PORT" "CREATE EXTENSION IF NOT EXISTS pg_wait_sampling" >/dev/null ||
	fail "pg_wait_sampling did not load (is postgresql-15-pg-wait-sampling installed? scripts/deps.sh)"
collector=$(psql_node "$PUB_PORT" "SELECT pid FROM pg_stat_activity WHERE backend_type = 'pg_wait_sampling collector'")
[ -n "$collector" ] || fail "no pg_wait_sampling collector on pub"

base=$(sed '/^\[hum\]/,$d' "$LAB_CONF")

[ -z "$probe_set" ] || {
	probe=$(pgrep -P "$(head -n 1 "$PUB_DIR/postmaster.pid")" -f 'labsup probe')
	[ -n "$probe" ] || fail "pub does not run labsup's probe"
}

# capture SOURCE INTERVAL LENGTHS: one run, its lines
capture() {
	local src=$1 iv=$2 lens=$3 conf tag="$1.$2" sp hp pids c0 c1 w0 w1 t0 t1
	conf="$LAB_DIR/capture.$tag.conf"
	printf '%s\n[hum]\nclients = %d\nrate = %d\n\n[sampler]\nsource = %s\ninterval_ms = %d\nlocks_interval_ms = %d\n' \
	    "$base" "$C" "$RATE" "$src" "$iv" "$(( iv > 100 ? iv : 100 ))" >"$conf"
	"$HARNESS" -c "$conf" -k hum -n "$C" -t 100000 -q >/dev/null &
	hp=$!
	"$HARNESS" -c "$conf" -k sampler -a pub -t 100000 >"$LAB_DIR/sampler.$tag" &
	sp=$!
	sampler_up() {
		[ -n "$(psql_node "$PUB_PORT" "SELECT pid FROM pg_stat_activity WHERE application_name = 'labsup-sampler'")" ]
	}
	wait_for 60 sampler_up || fail "the sampler did not connect to pub"
	# the hum and the sampler settle; the probe maps its segment (1 s)
	sleep $([ "$src" = probe ] && echo 3 || echo 1)
	pids="$(pgrep -P "$sp") $(psql_node "$PUB_PORT" "SELECT pid FROM pg_stat_activity WHERE application_name = 'labsup-sampler'")"
	[ "$src" = probe ] && pids="$pids $probe"
	c0=$(cpu_us $pids); w0=$(cpu_us "$collector"); t0=$(date +%s%N)
	"$DRIVER" -d "$CONNINFO" -n "$N" -l "$lens" -g "$GAP" -s "$iv" >"$LAB_DIR/waits.$tag" ||
		fail "capture_driver failed"
	c1=$(cpu_us $pids); w1=$(cpu_us "$collector"); t1=$(date +%s%N)
	sleep 1	# the last episodes end and reach the lane
	kill -INT "$sp" "$hp"
	wait "$sp" "$hp"
	psql_node "$PUB_PORT" "SELECT pid, (extract(epoch FROM ts) * 1e9)::int8 FROM pg_wait_sampling_history WHERE event_type = 'Lock' AND ts >= to_timestamp($t0 / 1e9)" |
	    tr '|' ' ' >"$LAB_DIR/pgws.$tag"
	# how often each looked while the driver ran: pg_wait_sampling's
	# history holds a row per backend per sample
	ws=$(psql_node "$PUB_PORT" "SELECT count(DISTINCT ts) FROM pg_wait_sampling_history WHERE ts BETWEEN to_timestamp($t0 / 1e9) AND to_timestamp($t1 / 1e9)")
	# and when (a sample of every backend at each)
	psql_node "$PUB_PORT" "SELECT DISTINCT (extract(epoch FROM ts) * 1e9)::int8 AS t FROM pg_wait_sampling_history WHERE ts BETWEEN to_timestamp($t0 / 1e9) AND to_timestamp($t1 / 1e9) ORDER BY t" >"$LAB_DIR/pgwsts.$tag"
	echo "$c0 $c1 $w0 $w1 $t0 $t1 $ws" >"$LAB_DIR/cpu.$tag"
	awk -v iv="$iv" -v src="$src" -v n="$(nproc)" -v cpu="$(cat "$LAB_DIR/cpu.$tag")" '
	BEGIN { split(cpu, c, " ") }
	FILENAME ~ /waits/ { nw++; sent[nw] = $2; seen[nw] = $3; end[nw] = $4
		len[nw] = $5; wp[nw] = $6; hp[nw] = $7; com[nw] = $8; next }
	FILENAME ~ /sampler/ && /^lock_wait / && / ended=1 / {
		for (i = 2; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
		ne++; es[ne] = f["ts"]; ed[ne] = f["duration_ms"] * 1e6
		epid[ne] = f["pid"]; eblk[ne] = f["blocker"]; next }
	FILENAME ~ /sampler/ && /^pg_blocking / {
		for (i = 2; i <= NF; i++) if ($i ~ /^ts=/) { t = substr($i, 4) + 0; break }
		tick[++nt] = t	# at 10 ms and above, every tick has one
		if (t >= c[5] && t <= c[6]) nsum++; next }
	FILENAME ~ /sampler/ && /^labsup / {
		for (i = 2; i <= NF; i++) if ($i ~ /^deadline_misses=/) { sub("deadline_misses=", "", $i); dm = $i } next }
	FILENAME ~ /pgwsts/ { sample[++ns] = $1 + 0; next }
	FILENAME ~ /pgws/ { np++; pp[np] = $1; pt[np] = $2; next }
	# the first of the n looks a[1..n] (in order) at or after t, or +inf
	function first_look(a, n, t,   lo, hi, mid) {
		lo = 1; hi = n
		if (n == 0 || a[n] < t) return 9e18
		while (lo < hi) { mid = int((lo + hi) / 2); if (a[mid] < t) lo = mid + 1; else hi = mid }
		return a[lo]
	}
	END {
		secs = (c[6] - c[5]) / 1e9
		tol = iv * 1e6
		share = 100 * (c[2] - c[1]) / 1e6 / secs / n
		wshare = 100 * (c[4] - c[3]) / 1e6 / secs / n
		for (i = 1; i <= nw; i++) {
			L = len[i]; total[L]++; lens[L] = 1
			hit = right = 0
			for (j = 1; j <= ne; j++) {
				if (used[j] || epid[j] != wp[i]) continue
				if (es[j] > end[i] + tol || es[j] + ed[j] < sent[i] - tol) continue
				used[j] = 1
				if (eblk[j] == hp[i]) {
					got[L]++; hit = right = 1
					# the true wait: from between sent and seen to end
					err = ed[j] / 1e6 - (end[i] - (sent[i] + seen[i]) / 2) / 1e6
					serr += err; aerr += (err < 0 ? -err : err); nerr++
				} else if (eblk[j] == 0) {
					noblk[L]++; hit = 1
				} else {
					other[L]++; hit = 1
				}
				break
			}
			if (!hit) unseen[L]++
			# a tick while it surely waited (the holder saw it blocked,
			# its COMMIT not yet out), and while it may have (the
			# statement of the waiter out, the COMMIT not yet back)
			if (iv >= 10) {
				if (first_look(tick, nt, seen[i]) <= com[i]) { sure[L]++; surehit[L] += right }
				if (first_look(tick, nt, sent[i]) <= end[i]) { maybe[L]++; maybehit[L] += right }
			}
			# the true wait, for the record: (sent + seen) / 2 to end
			real[L] += (end[i] - (sent[i] + seen[i]) / 2) / 1e6
			# pg_wait_sampling: caught at all, and caught before the
			# COMMIT went out (from it on, the holder lets go and the
			# granted waiter waits to run: a sample still says Lock)
			bh = bpre = 0
			for (k = 1; k <= np; k++)
				if (pp[k] == wp[i] && pt[k] >= sent[i] && pt[k] <= end[i] + 1e6) {
					bh = 1
					if (pt[k] < com[i]) bpre = 1
				}
			base[L] += bh; pre[L] += bpre
			if (first_look(sample, ns, seen[i]) <= com[i]) { psure[L]++; psurehit[L] += bh }
			if (first_look(sample, ns, sent[i]) <= end[i]) { pmaybe[L]++; pmaybehit[L] += bh }
		}
		m = 0
		for (L in lens) order[++m] = L + 0
		for (a = 1; a <= m; a++) for (b = a + 1; b <= m; b++)
			if (order[b] < order[a]) { x = order[a]; order[a] = order[b]; order[b] = x }
		for (a = 1; a <= m; a++) {
			L = order[a]; p = 100 * got[L] / total[L]; q = 100 * base[L] / total[L]
			q2 = 100 * pre[L] / total[L]
			printf "bench: capture_%dms_at_%dms_%s = %.1f %% (baseline pg_wait_sampling = %.1f %%, ratio %s) [%d waits of %d ms (%.1f ms on average from the waiter'"'"'s statement to the COMMIT) under the hum, right blocker; missed: %d seen with no blocker, %d with another, %d not seen; pg_wait_sampling before the holder'"'"'s COMMIT went out (after it nobody blocks: the granted waiter waits to run) %.1f %%, ratio %s;%s CPU: labsup %.2f %%, pg_wait_sampling %.2f %% of the %d CPUs]\n",
			    L, iv, src, p, q, (q > 0 ? sprintf("%.2f", p / q) : "inf"), total[L], L, real[L] / total[L],
			    noblk[L], other[L], unseen[L], q2, (q2 > 0 ? sprintf("%.2f", p / q2) : "inf"),
			    (iv >= 10 ? sprintf(" a labsup tick fell while it surely waited (the holder saw it blocked, its COMMIT not out) in %d waits, %d of them caught; from the statement to the COMMIT back in %d, %d caught; a pg_wait_sampling sample in %d (%d caught) and %d (%d);", sure[L], surehit[L], maybe[L], maybehit[L], psure[L], psurehit[L], pmaybe[L], pmaybehit[L]) : ""),
			    share, wshare, n
		}
		printf "bench: capture_cpu_at_%dms_%s = %.2f %% (baseline pg_wait_sampling collector = %.2f %%, ratio %.2f) [share of the %d CPUs over %.0f s: %s, against the collector at 10 ms; %d deadline misses; looked %.1f times a second (pg_blocking points%s), pg_wait_sampling %.1f (its samples: a 10 ms sleep after each)]\n",
		    iv, src, share, wshare, (c[4] > c[3] ? (c[2] - c[1]) / (c[4] - c[3]) : 0), n, secs,
		    (src == "probe" ? "the probe, the sampler relaying and its idle backend" : "the sampler and its backend"), dm,
		    nsum / secs, (iv < 10 ? ", one per 10 ms window" : ""), c[7] / secs
		printf "bench: capture_duration_error_at_%dms_%s = %.1f ms mean absolute (mean %+.1f ms over %d episodes caught; bound: one interval, %d ms)\n",
		    iv, src, (nerr ? aerr / nerr : 0), (nerr ? serr / nerr : 0), nerr, iv
	}' "$LAB_DIR/waits.$tag" "$LAB_DIR/sampler.$tag" "$LAB_DIR/pgwsts.$tag" "$LAB_DIR/pgws.$tag"
}

for src in $SOURCES; do
	for iv in $INTERVALS; do
		capture "$src" "$iv" "$LENS"
	done
	# 1 kHz: the probe only (SQL keeps its 10 ms floor)
	if [ "$src" = probe ] && [ -n "$LENS_1MS" ]; then
		capture probe 1 "$LENS_1MS"
	fi
done
