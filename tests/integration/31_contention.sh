#!/bin/bash
# 31_contention.sh: the contention workload makes lock waits that the
# sampler records (waiting backends, blocking pairs, ungranted locks in
# pg_locks), and its lock-order inversions end in deadlocks that the hum
# counts as deadlocks (40P01) and the sampler sees in pg_stat_database.
. "$(dirname "$0")/../lib.sh"
command -v initdb >/dev/null || skip "PostgreSQL 15 server binaries not installed"
command -v influxd >/dev/null || skip "influxd not installed"
command -v jq >/dev/null || skip "jq not installed"

lab_setup contention <<EOC
[hum]
clients = 4
rate = 40
workload = contention

[sampler]
interval_ms = 10
locks_interval_ms = 20
EOC

iq() {
	influx_query "$1" | jq -r '.results[0].series[0].values[0][1] // 0'
}

note "start"
lab start || fail "labsup start failed"

note "waiting for lock waits, a blocking pair and a deadlock (up to 90 s)"
waits() { [ "$(iq "SELECT max(waiting) FROM pg_blocking WHERE node = 'pub'")" -ge 1 ]; }
pairs() { [ "$(iq "SELECT max(pairs) FROM pg_blocking WHERE node = 'pub'")" -ge 1 ]; }
ungranted() {
	[ "$(iq "SELECT max(\"count\") FROM pg_locks WHERE node = 'pub' AND granted = 'false'")" -ge 1 ]
}
hum_deadlocks() { [ "$(iq "SELECT sum(err_deadlock) FROM hum")" -ge 1 ]; }
pg_deadlocks() {
	[ "$(iq "SELECT spread(deadlocks) FROM pg_blocking WHERE node = 'pub'")" -ge 1 ]
}
wait_for 90 waits || fail "the sampler recorded no backend waiting on a lock"
wait_for 30 pairs || fail "the sampler recorded no blocking pair"
note "waits and blocking pairs: $(iq "SELECT max(waiting) FROM pg_blocking WHERE node = 'pub'") waiting, $(iq "SELECT max(pairs) FROM pg_blocking WHERE node = 'pub'") pairs at most"
if ! wait_for 30 ungranted; then
	influx_query "SHOW TAG VALUES FROM pg_locks WITH KEY = granted" >&2
	fail "pg_locks shows no ungranted lock"
fi
wait_for 90 hum_deadlocks || fail "the hum counted no deadlock (40P01)"
wait_for 30 pg_deadlocks || fail "the sampler saw no deadlock in pg_stat_database"
note "deadlocks: hum $(iq "SELECT sum(err_deadlock) FROM hum"), pg_stat_database +$(iq "SELECT spread(deadlocks) FROM pg_blocking WHERE node = 'pub'")"
other=$(iq "SELECT sum(err_other) FROM hum")
[ "$other" -eq 0 ] || fail "the hum counted $other errors that are not deadlocks or serialization failures"
note "ok"
