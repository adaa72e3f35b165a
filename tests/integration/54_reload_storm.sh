#!/bin/bash
# tags: faults
# 54_reload_storm.sh: 20 SIGHUPs in a row under hum and 100 Hz sampling,
# the file rewritten before each: mostly valid variants (hum clients and
# rate, sampler intervals, writer flush), some invalid.  The supervisor
# survives, the last file (valid) is what runs in the end, no worker is
# left behind or missing, and every sample committed to a lane is in
# InfluxDB (per-lane seq accounting).
. "$(dirname "$0")/../lib.sh"
. "$ROOT/tests/tools/faults.sh"
lab_setup storm <<EOF2
[hum]
clients = 2
rate = 40

[sampler]
interval_ms = 10
locks_interval_ms = 10
EOF2
command -v jq >/dev/null || skip "jq is not installed"
lanes_tool
sed '/^\[hum\]/,$d' "$LAB_CONF" >"$LAB_DIR/base.conf"

# variant CLIENTS RATE INTERVAL LOCKS FLUSH [EXTRA]: the base plus these
variant() {
	cat "$LAB_DIR/base.conf"
	printf '[hum]\nclients = %s\nrate = %s\n\n[sampler]\ninterval_ms = %s\nlocks_interval_ms = %s\n\n[writer]\nflush_ms = %s\n%s' \
		"$1" "$2" "$3" "$4" "$5" "${6:-}"
}
put() { variant "$@" >"$LAB_DIR/next.conf" && mv "$LAB_DIR/next.conf" "$LAB_CONF"; }

"$LABSUP" start -c "$LAB_CONF" --timeout 240 >/dev/null || fail "start failed"
sup=$(status_json | jq -r .pid)
gen0=$(status_json | jq -r .config_generation)
lanes >/dev/null

note "20 HUPs in a row, some with invalid files"
for i in $(seq 1 20); do
	case $((i % 5)) in
	0) put 2 40 10 10 200 "frobs = 1
" ;;	# unknown key: refused
	1) put 3 60 10 20 100 ;;
	2) put 2 30 20 20 200 ;;
	3) put 3 45 10 10 150 "[node pub]
role = subscriber
" ;;	# the publisher section twice over with another role: refused
	4) put 2 lots 10 10 200 ;; # not a number: refused
	esac
	[ $i = 20 ] && put 3 33 20 40 150 # the last one is valid
	kill -HUP "$sup" || fail "HUP #$i: the supervisor is gone"
	lanes >/dev/null
	sleep 0.$((RANDOM % 4))
done
note "the last file is in force"
want_gen() { [ "$(status_json | jq -r .config_generation)" -gt "$gen0" ]; }
wait_for 60 want_gen || fail "no reload was applied"
final_ok() {
	status_json >"$LAB_DIR/s.json" || return 1
	jq -e '[.workers[] | select(.kind == "hum")] | length == 3' "$LAB_DIR/s.json" >/dev/null &&
		jq -e 'all(.workers[]; .state == "running")' "$LAB_DIR/s.json" >/dev/null &&
		jq -e 'all(.workers[] | select(.kind == "sampler"); .detail | test("^(probe: )?every 20 ms, locks every 40 ms"))' "$LAB_DIR/s.json" >/dev/null &&
		jq -e 'all(.workers[] | select(.kind == "hum"); .counters[6] == 1100)' "$LAB_DIR/s.json" >/dev/null
}
wait_for 120 final_ok || fail "the final config is not in force: $(jq -c '[.workers[] | {name, state, detail, rate: .counters[6]}]' "$LAB_DIR/s.json")"
[ "$(status_json | jq -r .pid)" = "$sup" ] || fail "the supervisor changed"
gen=$(status_json | jq -r .config_generation)
sleep 3
[ "$(status_json | jq -r .config_generation)" = "$gen" ] || fail "reloads still going on after the storm"
jq -e '[.workers[].kind] | sort == ["container","hum","hum","hum","link","link","logs","replication","sampler","sampler","sampler","writer"]' "$LAB_DIR/s.json" >/dev/null ||
	fail "wrong worker set after the storm: $(jq -c '[.workers[].name]' "$LAB_DIR/s.json")"
echo "generation $gen0 -> $gen, $(status_json | jq .reload_failures) refused"
account storm
echo "reload storm: 20 HUPs, final config in force, nothing lost"
