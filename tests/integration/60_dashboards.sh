#!/bin/bash
# 60_dashboards.sh: on a real lab with contention (a scripted lock conflict,
# an idle-in-transaction holder and a deadlock on top of the hum), every
# panel query and annotation query of every dashboard returns data from
# the lab's InfluxDB, the provisioning YAML has the shape Grafana documents,
# and the supervisor's and workers' events (start, reload, restart, chaos)
# are what the annotation query returns.  Sessions are ordered, and the
# data awaited, by polling for what must have happened (a session's state
# on the server, points in InfluxDB, lanes committed), never by sleeping.
. "$(dirname "$0")/../lib.sh"
. "$ROOT/tests/tools/faults.sh"	# lanes, wait_committed
command -v initdb >/dev/null || skip "PostgreSQL 15 server binaries not installed"
command -v influxd >/dev/null || skip "influxd not installed"
command -v jq >/dev/null || skip "jq not installed"
# the build the tested labsup comes from (make BUILD=... integration)
BUILD_DIR=$(dirname "$LABSUP")
DASHCHECK=${DASHCHECK:-$BUILD_DIR/tests/tools/dashcheck}
[ -x "$DASHCHECK" ] || make -C "$ROOT" --no-print-directory BUILD="$BUILD_DIR" "$DASHCHECK" >/dev/null ||
	fail "cannot build $DASHCHECK (make $DASHCHECK)"

note "the dashboards are what grafana/dashboards.jq says"
"$ROOT/grafana/mkdash.sh" --check || fail "grafana/dashboards/*.json are stale: run grafana/mkdash.sh"

lab_setup dash <<EOC
[hum]
clients = 2
rate = 40
workload = contention
chaos = yes

[sampler]
interval_ms = 100
locks_interval_ms = 100
EOC

# the sessions below poll; a failed check ends them with the lab
end_sessions() {
	local rc=$?
	kill $(jobs -p) 2>/dev/null
	(exit $rc)
	lab_cleanup # takes the exit code from $?
}
trap end_sessions EXIT

note "start"
lab start >/dev/null || fail "labsup start failed"
lanes_tool

# pg NAME: psql on the publisher reading the script from stdin, as a user
# would through `labsup psql`; NAME is its application_name (it60-NAME)
pg() {
	PGAPPNAME="it60-$1" "$LABSUP" psql -c "$LAB_CONF" pub -X -q -v ON_ERROR_STOP=0 >/dev/null 2>&1
}
# session NAME CONDITION: pub shows session NAME in that condition
session() {
	[ "$(psql_node "$PUB_PORT" "SELECT count(*) FROM pg_stat_activity
	    WHERE application_name = 'it60-$1' AND $2")" = 1 ]
}
# recorded: InfluxDB holds the sampler's view of the hold and the wait on
# it, sampled after the blocked session was seen waiting
since="$LAB_DIR/blocked_since"
recorded() {
	local q t
	[ -s "$since" ] || return 1
	t=$(cat "$since")
	for q in "pg_locks WHERE granted = 'false'" \
	    "pg_activity WHERE wait_event_type = 'Lock'" \
	    "pg_activity WHERE state = 'idle in transaction'"; do
		[ "$(influx_value "SELECT count(count) FROM $q AND node = 'pub' AND time > $t")" -gt 0 ] || return 1
	done
	# the wait's episode lasted long enough for a `waiting` point
	[ "$(influx_value "SELECT count(duration_ms) FROM lock_wait WHERE state = 'waiting' AND node = 'pub' AND time > $t")" -gt 0 ]
}

note "contention: a row held idle in transaction, a session blocked on it, a deadlock"
# the holder commits once the sampler's records of it are in InfluxDB
{ echo "BEGIN; UPDATE accounts SET abalance = abalance WHERE aid = 7;"
  wait_for 300 recorded; echo "COMMIT;"; } | pg holder &
holder=$!
wait_for 60 session holder "state = 'idle in transaction'" || fail "the holder did not take row 7"
echo "UPDATE accounts SET abalance = abalance WHERE aid = 7;" | pg blocked &
blocked=$!
wait_for 60 session blocked "wait_event_type = 'Lock'" || fail "the blocked session is not waiting for row 7"
date +%s%N >"$since"
# two sessions taking two rows in opposite order: PostgreSQL breaks the
# cycle after deadlock_timeout and counts it in pg_stat_database.  Each
# takes its second row once both hold their first (a transaction id
# assigned, kept until the cycle is broken).
both_hold() { session dl1 "backend_xid IS NOT NULL" && session dl2 "backend_xid IS NOT NULL"; }
{ echo "BEGIN; UPDATE accounts SET abalance = abalance WHERE aid = 11;"
  wait_for 60 both_hold; echo "UPDATE accounts SET abalance = abalance WHERE aid = 12; COMMIT;"; } | pg dl1 &
d1=$!
{ echo "BEGIN; UPDATE accounts SET abalance = abalance WHERE aid = 12;"
  wait_for 60 both_hold; echo "UPDATE accounts SET abalance = abalance WHERE aid = 11; COMMIT;"; } | pg dl2 &
d2=$!

note "events: a reload and a worker restart"
lab reload >/dev/null || fail "labsup reload failed"
hpid=$(status_json | jq -r '.workers[] | select(.kind == "hum") | .pid' | head -1)
[ -n "$hpid" ] && [ "$hpid" -gt 0 ] || fail "no hum worker in labsup status --json"
kill -9 "$hpid"	# this test's own lab's worker: the supervisor restarts it
restarted() {
	[ "$(status_json | jq '[.workers[] | select(.kind == "hum") | .restarts] | add')" -ge 1 ]
}
wait_for 30 restarted || fail "the killed hum worker was not restarted"

wait "$holder" "$blocked" "$d1" "$d2"
recorded || fail "the sampler's records of the held row and the wait on it are not in InfluxDB"

note "the deadlock was counted"
deadlocks() {
	influx_value "SELECT max(deadlocks) FROM pg_blocking WHERE node = 'pub' AND time > now() - 5m"
}
counted() { [ "$(deadlocks)" -ge 1 ]; }
wait_for 120 counted || fail "no deadlock counted on pub (pg_blocking.deadlocks = $(deadlocks))"
note "pub deadlocks: $(deadlocks)"
# everything the lab produced so far (events included) is in InfluxDB
lanes >"$LAB_DIR/lanes.dash" || fail "cannot read the lanes"
wait_committed 240 "$LAB_DIR/lanes.dash" || fail "the writer did not commit what the lanes held"

note "dashcheck: provisioning shape, then every query against the lab's InfluxDB"
export LABSUP_INFLUX_URL="http://127.0.0.1:$INFLUX_PORT" LABSUP_INFLUX_DB=labsup
export LABSUP_DASHBOARDS="$ROOT/grafana/dashboards"
# the inert 2.x file is checked too: give its variables values
export LABSUP_INFLUX_ORG=lab LABSUP_INFLUX_BUCKET=labsup LABSUP_INFLUX_TOKEN=unused
"$DASHCHECK" -v -r 5m "$ROOT/grafana/provisioning" || fail "dashcheck found panels without data"

note "dashcheck is not vacuous: a misspelt measurement and a bad key fail it"
bad="$LAB_DIR/bad"
mkdir -p "$bad" && cp -r "$ROOT/grafana/provisioning" "$ROOT/grafana/dashboards" "$bad/"
sed -i 's/\\"pg_blocking\\"/\\"pg_blockin\\"/' "$bad/dashboards/locks.json"
sed -i 's/^    access: proxy/    acess: proxy/' "$bad/provisioning/datasources/labsup.yaml"
out=$(LABSUP_DASHBOARDS="$bad/dashboards" "$DASHCHECK" -r 5m "$bad/provisioning")
[ $? -eq 1 ] || fail "dashcheck passed a broken dashboard"
grep -q 'pg_blockin' <<<"$out" || fail "dashcheck did not name the empty panel: $out"
grep -q 'unknown key "acess"' <<<"$out" || fail "dashcheck did not name the bad key: $out"

note "events show as annotations: the annotation query returns each kind"
aq=$(jq -r '.annotations.list[] | select(.query? // "" | test("events")) | .query' \
	"$ROOT/grafana/dashboards/lab.json" | sed 's/\$timeFilter/time > now() - 5m/')
kinds=$(influx_query "$aq" | jq -r '[.results[0].series[0].values[] | .[2]] | unique | join(" ")')
note "event kinds: $kinds"
for k in start reload restart chaos; do
	[[ " $kinds " == *" $k "* ]] || fail "no \"$k\" event in the annotation query's answer ($kinds)"
done
note "ok"
