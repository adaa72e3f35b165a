# probe.sh: helpers the probe tests (tests/integration/9x_probe*.sh) share,
# on top of tests/lib.sh.  NODES names the lab's nodes.

# probe_needs: skip unless the servers, InfluxDB, jq and the probe's
# library (SO, beside labsup) are here
probe_needs() {
	command -v initdb >/dev/null || skip "PostgreSQL 15 server binaries not installed"
	command -v influxd >/dev/null || skip "influxd not installed"
	command -v jq >/dev/null || skip "jq not installed"
	SO="$(dirname "$LABSUP")/labsup_probe.so"
	[ -f "$SO" ] || skip "no $SO (make builds it with postgresql-server-dev-15)"
}

# sampler_detail NODE: the sampler's status line
sampler_detail() {
	status_json | jq -r ".workers[] | select(.name == \"sampler $1\") | .detail"
}
# probe_sampling MS: every node's sampler says its probe samples every MS
probe_sampling() {
	local n
	for n in $NODES; do
		sampler_detail "$n" | grep -q "^probe: every $1 ms" || return 1
	done
}
# node_records NODE SINCE_NS: records of every kind the probe writes from
# NODE after SINCE_NS
node_records() {
	local m
	for m in pg_activity pg_blocking pg_locks; do
		[ "$(influx_value "SELECT count(*) FROM $m WHERE node = '$1'
		    AND time > $2")" -gt 0 ] || return 1
	done
}
# all_records SINCE_NS: node_records for every node
all_records() {
	local n
	for n in $NODES; do node_records "$n" "$1" || return 1; done
}
