#!/bin/bash
# 90_probe.sh: [sampler] source = probe on a real lab (issue 18): every
# node's server loads labsup's in-server probe from the lab's state
# directory, its records reach InfluxDB for every node, status says probe;
# under 1 kHz sampling, killing the supervisor and then the writer leaves no
# ERROR, FATAL or PANIC in any server log, and after `labsup start` the
# probes sample again into the new lab's segments.  In the sanitizer run
# (make test-sanitize) the probe is built with ASan and UBSan, the servers
# start with libasan preloaded (LABSUP_TEST_PG_ENV, docs/CONTRIBUTING.md),
# and any sanitizer report of a server process fails the test.
# tags: faults sanitize
. "$(dirname "$0")/../lib.sh"
. "$ROOT/tests/tools/probe.sh"
probe_needs
ASAN_LIB=""
if grep -qa __asan_init "$SO"; then
	ASAN_LIB=$(ldd "$SO" | awk '/libasan/ { print $3 }')
	[ -f "$ASAN_LIB" ] || skip "$SO is built with ASan, but ldd finds no libasan for it"
	# without it libasan hangs a preloaded postgres (probe/asan_preload.c)
	ASAN_SHIM="$(dirname "$LABSUP")/labsup_asan_preload.so"
	[ -f "$ASAN_SHIM" ] || skip "no $ASAN_SHIM (make SANITIZE=1 test-sanitize builds it)"
fi

lab_setup probe <<EOC
[hum]
clients = 2
rate = 100
workload = contention

[sampler]
source = probe
interval_ms = 1
locks_interval_ms = 10
EOC
probe_shm_cleanup() {
	rm -rf /dev/shm/labsup.$(id -u).$LAB_NAME.probe
}
trap 'rc=$?; lab_teardown $rc; probe_shm_cleanup; exit $rc' EXIT
if [ -n "$ASAN_LIB" ]; then
	# PostgreSQL is not built with ASan: its runtime must come first, and
	# postgres forks without exec, so every server process inherits it.
	# Leaks are not checked: a server frees by memory context, at exit.
	mkdir -m 1777 "$LAB_DIR/asan"
	# where the servers' user can read it, as the probe's copy is
	install -m 0755 "$ASAN_SHIM" "$LAB_DIR/asan_preload.so"
	ASAN_SHIM=$LAB_DIR/asan_preload.so
	san_opts="log_path=$LAB_DIR/asan/pg"
	export LABSUP_TEST_PG_ENV="LD_PRELOAD=$ASAN_LIB:$ASAN_SHIM ASAN_OPTIONS=detect_leaks=0:$san_opts UBSAN_OPTIONS=print_stacktrace=1:$san_opts"
	note "sanitizer build: servers start with $LABSUP_TEST_PG_ENV"
fi
# asan_reports: fail when a server process wrote a sanitizer report
asan_reports() {
	[ -n "$ASAN_LIB" ] || return 0
	if [ -n "$(ls "$LAB_DIR/asan")" ]; then
		head -n 60 "$LAB_DIR"/asan/*
		fail "a server process wrote a sanitizer report (above)"
	fi
}

NODES="pub sub1 sub2"

note "start with source = probe at 1 kHz"
lab start || fail "labsup start failed"
wait_for 120 probe_sampling 1 || { status_json | jq -r '.workers[].detail'; fail "the samplers do not report the probe sampling"; }
for n in $NODES; do
	note "sampler $n: $(sampler_detail "$n")"
	grep -q "^shared_preload_libraries = '$LAB_DIR/state/pg/labsup_probe.so'" \
		"$LAB_DIR/state/pg/$n/labsup.conf" || fail "$n does not load the probe from the state directory"
	seg=/dev/shm/labsup.$(id -u).$LAB_NAME.probe/$n
	[ "$(stat -c %a "$seg")" = 600 ] || fail "$seg is not mode 0600"
	[ "$(stat -c %U "$seg")" = "$(stat -c %U "$LAB_DIR/state/pg/$n")" ] ||
		fail "$seg is not owned by the server's user"
done
T0=$(date +%s%N)
wait_for 120 all_records "$T0" || fail "not every node's probe records reached InfluxDB"
# the contention hum makes lock waits: the probe snapshots the lock
# manager and counts blocking pairs on the publisher
wait_for 120 eval '[ "$(influx_value "SELECT max(pairs) FROM pg_blocking WHERE node = '"'pub'"' AND time > '"$T0"'")" -gt 0 ]' ||
	fail "the probe never saw a blocking pair under the contention hum"
# 1 kHz: the probe's ticks on the 1 ms grid, from its own counters
t1=$(status_json | jq '[.workers[] | select(.name == "sampler pub") | .counters[0]][0]')
note "probe ticks on pub so far: $t1"
# the per-tick summaries at most every 10 ms (PROBE_SUMMARY_NS): over two
# seconds of 1 ms ticks, pub's pg_blocking points and pg_activity times
# are no more than the 10 ms windows the span holds, while its ticks are
probe_ticks() { status_json | jq '[.workers[] | select(.name == "sampler pub") | .counters[0]][0]'; }
ta=$(date +%s%N); k0=$(probe_ticks); sleep 2; k1=$(probe_ticks); tb=$(date +%s%N)
wait_for 60 eval '[ "$(influx_value "SELECT count(waiting) FROM pg_blocking WHERE node = '"'pub'"' AND time > '"$tb"'")" -gt 0 ]' ||
	fail "pub's pg_blocking points stopped"
nb=$(influx_value "SELECT count(waiting) FROM pg_blocking WHERE node = 'pub' AND time >= $ta AND time < $tb")
na=$(influx_value "SELECT count(n) FROM (SELECT sum(count) AS n FROM pg_activity WHERE node = 'pub' AND time >= $ta AND time < $tb GROUP BY time(1ms) fill(none))")
windows=$(( (tb - ta) / 10000000 + 2 ))
note "pub over $(( (tb - ta) / 1000000 )) ms: $(( k1 - k0 )) ticks, $nb pg_blocking points, $na pg_activity times (at most $windows windows)"
[ "$nb" -ge 1 ] && [ "$nb" -le "$windows" ] || fail "pub wrote $nb pg_blocking points in $windows 10 ms windows"
[ "$na" -ge 1 ] && [ "$na" -le "$windows" ] || fail "pub wrote pg_activity at $na times in $windows 10 ms windows"
[ $(( k1 - k0 )) -gt "$windows" ] || fail "pub's probe ticked $(( k1 - k0 )) times in $windows 10 ms windows: not at 1 kHz"
if [ -n "$ASAN_LIB" ]; then
	for n in $NODES; do
		# the probe's process: the postmaster's child titled so (it has
		# no database connection, so pg_stat_activity does not list it)
		pm=$(head -n 1 "$LAB_DIR/state/pg/$n/postmaster.pid")
		ppid=""
		for c in $(pgrep -P "$pm"); do
			grep -qa 'labsup probe' "/proc/$c/cmdline" && ppid=$c
		done
		[ -n "$ppid" ] || fail "no labsup probe process in $n (postmaster $pm)"
		grep -q libasan "/proc/$ppid/maps" || fail "the probe in $n (pid $ppid) runs without libasan"
		grep -q labsup_probe.so "/proc/$ppid/maps" || fail "the probe in $n (pid $ppid) has not mapped labsup_probe.so"
	done
	note "every probe runs with the ASan runtime"
	asan_reports
fi

note "kill the supervisor under 1 kHz sampling"
SUP=$(cat "$LAB_DIR/state/labsup.pid" 2>/dev/null || status_json | jq -r '.supervisor.pid')
WRITER=$(status_json | jq -r '.workers[] | select(.name == "writer") | .pid')
kill -9 "$SUP"
wait_for 30 gone "$SUP" || fail "the supervisor did not die"
kill -9 "$WRITER" 2>/dev/null
wait_for 30 gone "$WRITER" || fail "the writer did not die"
# the servers keep running; their probes keep writing into a lane nobody
# reads (it fills and counts drops) for a few seconds
sleep 3
note "labsup start again: the probes reattach"
lab start || fail "labsup start after the kill failed"
wait_for 120 probe_sampling 1 || fail "the samplers do not report the probe sampling after the restart"
T1=$(date +%s%N)
wait_for 120 all_records "$T1" || fail "no probe records after the restart"
note "truncate pub's segment under its probe: the probe faults, unmaps it, and maps the new one"
pm0=$(head -n 1 "$LAB_DIR/state/pg/pub/postmaster.pid")
seg=/dev/shm/labsup.$(id -u).$LAB_NAME.probe/pub
ino=$(stat -c %i "$seg")
truncate -s 4096 "$seg" || fail "cannot truncate $seg"
faulted() { cat "$LAB_DIR/state/pg/pub/log/"*.json | grep -q 'labsup probe: segment .* faulted under us'; }
wait_for 60 faulted || fail "pub's probe did not say its segment faulted"
# the sampler relaying from it faults too; the supervisor restarts it, and
# it makes a new segment
new_seg() { [ "$(stat -c %i "$seg" 2>/dev/null)" != "$ino" ]; }
wait_for 60 new_seg || fail "no new segment for pub after the truncation"
T2=$(date +%s%N)
wait_for 120 node_records pub "$T2" || fail "no records from pub after its segment was truncated"
[ "$(head -n 1 "$LAB_DIR/state/pg/pub/postmaster.pid")" = "$pm0" ] || fail "pub's server restarted"
for n in $NODES; do
	# the server's stderr before its logging collector starts, then its
	# jsonlog (issue 16)
	log=$LAB_DIR/probe-$n.log
	cat "$LAB_DIR/state/pg/$n.log" "$LAB_DIR/state/pg/$n/log/"*.json >"$log" 2>/dev/null
	grep 'labsup probe' "$log" | sed "s/^/    $n: /"
	# a crash of any process (the probe's included) is "terminated by
	# signal" and restarts the server; the probe's own errors name it
	if grep -E 'PANIC|terminated by signal|labsup probe\\?".*exit code|labsup probe.*(ERROR|FATAL)|(ERROR|FATAL).*labsup probe' "$log"; then
		fail "$n's server log shows a probe error, a crash or a PANIC"
	fi
	[ "$(grep -c 'labsup probe: attached to' "$log")" -ge 2 ] ||
		fail "the probe in $n did not attach to the new segment after the restart"
done
asan_reports
echo "PASS"
