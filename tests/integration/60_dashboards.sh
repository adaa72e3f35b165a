#!/bin/bash
# 60_dashboards.sh: on a real lab with contention (a scripted lock conflict,
# an idle-in-transaction holder and a deadlock on top of the hum), every
# panel query and annotation query of every dashboard returns data from
# the lab's InfluxDB, the provisioning YAML has the shape Grafana documents,
# and the supervisor's and workers' events (start, reload, restart, chaos)
# are what the annotation query returns.
. "$(dirname "$0")/../lib.sh"
command -v initdb >/dev/null || skip "PostgreSQL 15 server binaries not installed"
command -v influxd >/dev/null || skip "influxd not installed"
command -v jq >/dev/null || skip "jq not installed"
DASHCHECK=${DASHCHECK:-$ROOT/build/tests/tools/dashcheck}
[ -x "$DASHCHECK" ] || make -C "$ROOT" --no-print-directory build/tests/tools/dashcheck >/dev/null ||
	fail "cannot build $DASHCHECK (make build/tests/tools/dashcheck)"

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

note "start"
lab start >/dev/null || fail "labsup start failed"

# pg SQL...: psql on the publisher reading the script from stdin, as a user
# would through `labsup psql`
pg() { "$LABSUP" psql -c "$LAB_CONF" pub -X -q -v ON_ERROR_STOP=0 >/dev/null 2>&1; }

note "contention: a row held idle in transaction, a session blocked on it, a deadlock"
{ echo "BEGIN; UPDATE accounts SET abalance = abalance WHERE aid = 7;"
  sleep 12; echo "COMMIT;"; } | pg &
holder=$!
sleep 1
echo "UPDATE accounts SET abalance = abalance WHERE aid = 7;" | pg &
blocked=$!
# two sessions taking two rows in opposite order: PostgreSQL breaks the
# cycle after deadlock_timeout and counts it in pg_stat_database
{ echo "BEGIN; UPDATE accounts SET abalance = abalance WHERE aid = 11;"
  sleep 2; echo "UPDATE accounts SET abalance = abalance WHERE aid = 12; COMMIT;"; } | pg &
d1=$!
{ echo "BEGIN; UPDATE accounts SET abalance = abalance WHERE aid = 12;"
  sleep 2; echo "UPDATE accounts SET abalance = abalance WHERE aid = 11; COMMIT;"; } | pg &
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
# let the writer deliver the last of it
sleep 3

note "the deadlock was counted"
dl=$(influx_query "SELECT max(deadlocks) FROM pg_blocking WHERE node = 'pub' AND time > now() - 5m" |
	jq -r '.results[0].series[0].values[0][1] // 0')
note "pub deadlocks: $dl"
[ "$dl" -ge 1 ] || fail "no deadlock counted on pub (pg_blocking.deadlocks = $dl)"

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
