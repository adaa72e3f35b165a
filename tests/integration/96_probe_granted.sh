#!/bin/bash
# 96_probe_granted.sh: a lock waiter the probe only ever sees granted but
# not yet running.  Its lock wait is still reported (pg_wait_sampling
# counts it), pg_blocking_pids() shows no blocker any more, and the probe
# names the blocker from the table of ended transactions its library
# keeps in every backend (the transaction's end, written before its locks
# go).  Made deterministic: the probe is switched off (its control word),
# a session waits for a row, its backend is stopped (SIGSTOP), the holder
# commits (the stopped waiter is granted), the probe is switched on again
# and sees the waiter in that state for a second; then the waiter goes on.
# The episode must name the holder, with no blocking pair counted.
. "$(dirname "$0")/../lib.sh"
. "$ROOT/tests/tools/probe.sh"
probe_needs
TOGGLE="$(dirname "$LABSUP")/bench/probe_toggle"
[ -x "$TOGGLE" ] || skip "no $TOGGLE (make builds it)"

lab_setup granted <<EOC
[hum]
clients = 0

[sampler]
source = probe
interval_ms = 10
locks_interval_ms = 100
EOC
SEG=/dev/shm/labsup.$(id -u).$LAB_NAME.probe/pub
end_sessions() {
	local rc=$?
	[ -n "${wpid:-}" ] && kill -CONT "$wpid" 2>/dev/null
	"$TOGGLE" -o 1 -i 10 -l 10 "$SEG" 2>/dev/null
	kill $(jobs -p) 2>/dev/null
	(exit $rc)
	lab_cleanup
	rm -rf /dev/shm/labsup.$(id -u).$LAB_NAME.probe
}
trap end_sessions EXIT

lab start >/dev/null || fail "labsup start failed"
NODES=pub
wait_for 120 probe_sampling 10 || fail "sampler pub does not sample with the probe: $(sampler_detail pub)"

SESSION_APP=it96
. "$ROOT/tests/tools/sessions.sh"

note "the holder takes row 7; the probe off, a waiter waits for it and is stopped"
{ echo "BEGIN;"; lock 7; wait_for 120 test -e "$LAB_DIR/commit"; echo "COMMIT;"; } | pg holder &
holder=$!
wait_for 60 session holder "state = 'idle in transaction'" || fail "the holder did not take row 7"
hpid=$(pid_of holder)
"$TOGGLE" -o 0 -i 10 -l 10 "$SEG" || fail "cannot switch the probe off"
sleep 0.3	# its tick in flight is over
tw=$(date +%s%N)
{ lock 7; } | pg waiter &
waiter=$!
wait_for 60 waiting waiter || fail "the waiter is not waiting for row 7"
wpid=$(pid_of waiter)
kill -STOP "$wpid" || fail "cannot stop the waiter's backend $wpid"
touch "$LAB_DIR/commit"
wait "$holder" || fail "the holder failed: $(cat "$LAB_DIR/holder.out")"
[ "$(psql_node "$PUB_PORT" "SELECT count(*) FROM pg_locks WHERE pid = $wpid AND NOT granted")" = 0 ] ||
	fail "the stopped waiter $wpid is not granted after the holder's COMMIT"
[ "$(psql_node "$PUB_PORT" "SELECT wait_event_type || ' ' || cardinality(pg_blocking_pids($wpid)) FROM pg_stat_activity WHERE pid = $wpid")" = "Lock 0" ] ||
	fail "the stopped waiter does not report its lock wait with no blocker"

note "the probe on: for a second it sees waiter $wpid granted, not running"
t0=$(date +%s%N)
"$TOGGLE" -o 1 -i 10 -l 10 "$SEG" || fail "cannot switch the probe on"
sleep 1
t1=$(date +%s%N)
kill -CONT "$wpid"
wait "$waiter" || fail "the waiter failed: $(cat "$LAB_DIR/waiter.out")"

ended() {
	influx_query "SELECT * FROM lock_wait WHERE state = 'ended' AND pid = '$wpid' AND time > now() - 10m"
}
have_ended() { [ "$(ended | jq '.results[0].series[0].values | length')" -ge 1 ]; }
wait_for 60 have_ended || fail "no ended lock_wait point for $wpid in InfluxDB"
ep=$(ended)
field() {
	jq -r --arg f "$1" '.results[0].series[0] as $s | ($s.columns | index($f)) as $i |
	    if $i == null then "none" else $s.values[0][$i] end' <<<"$ep"
}
[ "$(ended | jq '.results[0].series[0].values | length')" = 1 ] || fail "more than one episode for $wpid: $ep"
[ "$(field blocker)" = "$hpid" ] || fail "blocker $(field blocker), not the holder $hpid: $ep"
[ "$(field locktype)" = transactionid ] || fail "locktype $(field locktype): $ep"
[ "$(field mode)" = ShareLock ] || fail "mode wanted $(field mode), not ShareLock: $ep"
[ "$(field held)" = ExclusiveLock ] || fail "mode held $(field held), not ExclusiveLock: $ep"
[ "$(field target)" = accounts ] || fail "target $(field target), not accounts: $ep"
dur=$(field duration_ms)
# from its start (waitStart, when the probe gets it; else its first tick,
# up to IDLE_MS = 100 ms after it was switched on: idle, it looks at its
# control word that often) to the first tick after it ran
lo=$(( (t1 - t0) / 1000000 - 120 )) hi=$(( (t1 - tw) / 1000000 + 200 ))
awk -v d="$dur" -v lo=$lo -v hi=$hi 'BEGIN { exit !(d >= lo && d <= hi) }' ||
	fail "duration $dur ms: not within [$lo, $hi] ms (the second seen granted, up to the whole wait)"
# nobody blocks it any more: waiting, but no pair
pb=$(influx_query "SELECT max(waiting), max(pairs) FROM pg_blocking WHERE node = 'pub' AND time >= ${t0} + 100000000 AND time <= ${t1}")
[ "$(jq -r '.results[0].series[0].values[0][1]' <<<"$pb")" = 1 ] || fail "pg_blocking did not count the granted waiter as waiting: $pb"
[ "$(jq -r '.results[0].series[0].values[0][2]' <<<"$pb")" = 0 ] || fail "pg_blocking counted a pair for the granted waiter: $pb"
note "episode of $dur ms on $(field target), blocker $hpid named from the ended transaction"
