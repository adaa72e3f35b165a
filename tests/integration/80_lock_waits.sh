#!/bin/bash
# 80_lock_waits.sh: lock-wait episodes.  psql sessions on the publisher
# make known waits: a holder takes a row FOR UPDATE and stays idle in
# transaction for 2 s after a second session is seen waiting for it; then
# a chain (a waits on b, which waits on c).  Each episode must reach
# InfluxDB as a lock_wait point with the right blocker pid, relation,
# modes, statements and a duration between what the sessions saw (within
# one sampler interval), with `waiting` points while it lasted; `top`
# must show the open one; and `labsup waits` must list them, longest first, with the chain.
# IT80_SOURCE picks the sampler's source (93_probe_lock_waits.sh runs it
# with the in-server probe); the episodes must be the same.
. "$(dirname "$0")/../lib.sh"
command -v initdb >/dev/null || skip "PostgreSQL 15 server binaries not installed"
command -v influxd >/dev/null || skip "influxd not installed"
command -v jq >/dev/null || skip "jq not installed"

IV=100	# sampler interval, ms: the precision the durations are held to
SOURCE=${IT80_SOURCE:-sql}
lab_setup waits <<EOC
[hum]
clients = 0

[sampler]
source = $SOURCE
interval_ms = $IV
locks_interval_ms = $IV
EOC
end_sessions() {
	local rc=$?
	kill $(jobs -p) 2>/dev/null
	(exit $rc)
	lab_cleanup
	rm -rf /dev/shm/labsup.$(id -u).$LAB_NAME.probe
}
trap end_sessions EXIT

note "usage errors come first"
lab waits --since 10x >/dev/null 2>"$LAB_DIR/err"; [ $? -eq 2 ] || fail "waits --since 10x did not exit 2"
grep -q 'waits: --since: expected a duration such as ' "$LAB_DIR/err" || fail "waits --since 10x: $(cat "$LAB_DIR/err")"
lab waits nosuch >/dev/null 2>&1; [ $? -eq 2 ] || fail "waits on an unknown node did not exit 2"

note "start (source = $SOURCE)"
lab start >/dev/null || fail "labsup start failed"
if [ "$SOURCE" = probe ]; then
	probe_on() {
		status_json | jq -r '.workers[] | select(.name == "sampler pub") | .detail' |
		    grep -q '^probe: every'
	}
	wait_for 120 probe_on || fail "sampler pub does not sample with the probe: $(status_json | jq -r '.workers[].detail')"
fi

SESSION_APP=it80
. "$ROOT/tests/tools/sessions.sh"

note "a holder idle in transaction for 2 s, a session waiting for its row"
# the holder lets go 2 s after `top` showed the wait (or failed to)
{ echo "BEGIN;"; lock 7; wait_for 60 waiting waiter; wait_for 90 test -e "$LAB_DIR/top_done"
  sleep 2; echo "COMMIT;"; } | pg holder &
holder=$!
wait_for 60 session holder "state = 'idle in transaction'" || fail "the holder did not take row 7"
hpid=$(pid_of holder)
{ echo '\timing on'; lock 7; } | pg waiter &
waiter=$!
wait_for 60 waiting waiter || fail "the waiter is not waiting for row 7"
wpid=$(pid_of waiter)
note "top shows the open episode, waiter > blocker"
top_shows() { lab top --once | grep -q "^waits   pub 1, longest $wpid > $hpid "; }
wait_for 60 top_shows; shown=$?
touch "$LAB_DIR/top_done"
[ $shown = 0 ] || fail "top does not show $wpid waiting on $hpid: $(lab top --once | grep '^waits')"
wait "$holder" || fail "the holder failed: $(cat "$LAB_DIR/holder.out")"
wait "$waiter" || fail "the waiter failed: $(cat "$LAB_DIR/waiter.out")"
# what the waiter's client saw: an upper bound of its wait
took=$(awk '/^Time: / { print $2 }' "$LAB_DIR/waiter.out")
[ -n "$took" ] || fail "no timing from the waiter: $(cat "$LAB_DIR/waiter.out")"
note "waiter $wpid waited on holder $hpid; its statement took $took ms"

ended() {
	influx_query "SELECT * FROM lock_wait WHERE state = 'ended' AND pid = '$1' AND time > now() - 10m"
}
have_ended() { [ "$(ended "$1" | jq '.results[0].series[0].values | length')" -ge 1 ]; }
wait_for 60 have_ended "$wpid" || fail "no ended lock_wait point for $wpid in InfluxDB"
# field NAME: that field of the episode's point
ep=$(ended "$wpid")
field() {
	jq -r --arg f "$1" '.results[0].series[0] as $s | ($s.columns | index($f)) as $i |
	    if $i == null then "none" else $s.values[0][$i] end' <<<"$ep"
}
[ "$(field blocker)" = "$hpid" ] || fail "blocker $(field blocker), not $hpid: $ep"
[ "$(field target)" = accounts ] || fail "target $(field target), not accounts: $ep"
[ "$(field locktype)" = transactionid ] || fail "locktype $(field locktype): $ep"
[ "$(field mode)" = ShareLock ] || fail "mode wanted $(field mode), not ShareLock: $ep"
[ "$(field held)" = ExclusiveLock ] || fail "mode held $(field held), not ExclusiveLock: $ep"
[ "$(field blocker_idle_in_tx)" = 1 ] || fail "the blocker was idle in transaction: $ep"
[ "$(field blockers)" = 1 ] || fail "one blocker: $ep"
grep -q 'aid = 7 FOR UPDATE' <<<"$(field query)" || fail "the waiter's statement: $(field query)"
grep -q 'aid = 7 FOR UPDATE' <<<"$(field blocker_query)" || fail "the blocker's statement: $(field blocker_query)"
[ "$(field query_id)" != none ] && [ "$(field query_id)" != 0 ] || fail "no query_id: $ep"
dur=$(field duration_ms)
awk -v d="$dur" -v t="$took" -v iv="$IV" 'BEGIN { exit !(d >= 2000 - iv && d <= t + iv) }' ||
	fail "duration $dur ms is not within $IV ms of [2000, $took] ms"
note "episode: $dur ms, $(field mode) wanted, $(field held) held, on $(field target)"
n=$(influx_value "SELECT count(duration_ms) FROM lock_wait WHERE state = 'waiting' AND pid = '$wpid'")
[ "$n" -ge 1 ] || fail "no waiting point while the 2 s wait lasted"

note "a chain: a waits on b, b waits on c"
# c lets go a second after the test has every pid
{ echo "BEGIN;"; lock 8; wait_for 60 waiting a; wait_for 90 test -e "$LAB_DIR/chain_done"
  sleep 1; echo "COMMIT;"; } | pg c &
c=$!
wait_for 60 session c "state = 'idle in transaction'" || fail "c did not take row 8"
cpid=$(pid_of c)
{ echo "BEGIN;"; lock 9; lock 8; echo "COMMIT;"; } | pg b &
b=$!
wait_for 60 waiting b || fail "b is not waiting for row 8"
bpid=$(pid_of b)
{ lock 9; } | pg a &
a=$!
wait_for 60 waiting a || fail "a is not waiting for row 9"
apid=$(pid_of a)
touch "$LAB_DIR/chain_done"
wait "$c" "$b" "$a" || fail "a chain session failed"
wait_for 60 have_ended "$apid" || fail "no ended lock_wait point for a ($apid)"
wait_for 60 have_ended "$bpid" || fail "no ended lock_wait point for b ($bpid)"

note "labsup waits"
out=$(lab waits pub --json) || fail "labsup waits --json exited $?"
jq -e --argjson w "$wpid" --argjson h "$hpid" 'any(.[]; .pid == $w and .blocker == $h and
    .target == "accounts" and .chain == [$w, $h] and .blocker_idle_in_tx == true)' <<<"$out" >/dev/null ||
	fail "waits --json lacks $wpid blocked by $hpid: $out"
jq -e --argjson a "$apid" --argjson b "$bpid" --argjson c "$cpid" \
    'any(.[]; .pid == $a and .chain == [$a, $b, $c])' <<<"$out" >/dev/null ||
	fail "waits --json lacks the chain $apid > $bpid > $cpid: $out"
jq -e '[.[].duration_ms] as $d | $d == ($d | sort | reverse)' <<<"$out" >/dev/null ||
	fail "waits --json is not longest first: $out"
text=$(lab waits --since 1h) || fail "labsup waits exited $?"
# the durations every command takes (lib/duration.h): combined, in seconds
[ "$(lab waits --since 59m60s)" = "$text" ] || fail "waits --since 59m60s differs from --since 1h"
[ "$(lab waits --since 3600)" = "$text" ] || fail "waits --since 3600 differs from --since 1h"
grep -E "^[0-9-]+ [0-9:.]+ +pub +[0-9.]+ +$wpid +$hpid\\* .*accounts +$wpid > $hpid\$" <<<"$text" >/dev/null ||
	fail "labsup waits does not show $wpid blocked by $hpid: $text"
grep -q "$apid > $bpid > $cpid" <<<"$text" || fail "labsup waits does not show the chain: $text"
grep -q "waiter:  SELECT aid FROM accounts WHERE aid = 7 FOR UPDATE" <<<"$text" ||
	fail "labsup waits does not show the waiter's statement: $text"
echo "$text" | head -n 6
none=$(lab waits sub1) || fail "labsup waits sub1 exited $?"
[ "$none" = "no lock-wait episode in that time" ] || fail "sub1 had no waits: $none"
note "ok"
