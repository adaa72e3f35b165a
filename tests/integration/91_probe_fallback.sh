#!/bin/bash
# 91_probe_fallback.sh: [sampler] source = auto on servers that cannot run
# the probe (issue 18) samples over SQL and says why in labsup status;
# source = probe there does not fall back, it says what is missing.  The
# servers were started with source = sql, so they have no probe loaded
# (shared_preload_libraries is read at server start), as a server labsup
# did not start would not.
. "$(dirname "$0")/../lib.sh"
command -v initdb >/dev/null || skip "PostgreSQL 15 server binaries not installed"
command -v influxd >/dev/null || skip "influxd not installed"
command -v jq >/dev/null || skip "jq not installed"

lab_setup probefb <<EOC
[hum]
clients = 1
rate = 20

[sampler]
source = sql
interval_ms = 10
EOC
trap 'rc=$?; lab_teardown $rc; rm -rf /dev/shm/labsup.$(id -u).$LAB_NAME.probe; exit $rc' EXIT

NODES="pub sub1 sub2"
. "$ROOT/tests/tools/probe.sh"
details_match() {	# details_match REGEX: every sampler's detail matches
	local n
	for n in $NODES; do
		sampler_detail "$n" | grep -Eq "$1" || return 1
	done
}

note "start with source = sql: no node loads the probe"
lab start >/dev/null || fail "labsup start failed"
for n in pub sub1 sub2; do
	! grep -q shared_preload_libraries "$LAB_DIR/state/pg/$n/labsup.conf" ||
		fail "$n loads the probe with source = sql"
done
wait_for 60 details_match '^every 10 ms' || fail "the samplers do not sample over SQL"

note "reload with source = auto: the servers run without the probe -> SQL, saying why"
sed -i 's/^source = sql/source = auto/' "$LAB_CONF"
lab reload >/dev/null || fail "labsup reload failed"
wait_for 60 details_match '^sql \(not the probe: .* was started without the probe' || {
	status_json | jq -r '.workers[] | select(.kind == "sampler") | .detail'
	fail "status does not say why the samplers fell back to SQL"
}
note "status: $(sampler_detail pub)"
T0=$(date +%s%N)
wait_for 60 eval '[ "$(influx_value "SELECT count(*) FROM pg_activity WHERE node = '"'sub2'"' AND time > '"$T0"'")" -gt 0 ]' ||
	fail "no records from the SQL fallback"
# counters[16]: SC_SOURCE (enum sampler_counter, workers/worker.h); 2 = SAMPLER_SQL
status_json | jq -e '[.workers[] | select(.kind == "sampler") | .counters[16]] | all(. == 2)' >/dev/null ||
	fail "the samplers do not report source sql in their counters"

note "reload with source = probe: no fallback, status says what is missing"
sed -i 's/^source = auto/source = probe/' "$LAB_CONF"
lab reload >/dev/null || fail "labsup reload failed"
wait_for 60 details_match '^probe: .* was started without the probe' || {
	status_json | jq -r '.workers[] | select(.kind == "sampler") | .detail'
	fail "status does not say why the probe cannot sample"
}
note "status: $(sampler_detail pub)"
echo "PASS"
