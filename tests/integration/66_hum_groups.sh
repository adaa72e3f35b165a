#!/bin/bash
# 66_hum_groups.sh: two hum groups at once on a real lab -- tpcb on the
# publisher ([hum], the group "default") and read-only selects on a
# subscriber ([hum ro]) with a pulse profile.  The hum measurement carries
# each group's tag; every change of the pulse's phase is an event; the
# rate inside the pulses, counted from the group's own records between
# those events, is peak times the rate outside them; a reload that
# changes [hum ro] restarts only ro's workers.
# Every figure comes from the lab's records (InfluxDB), not from how long
# the test slept: a slow machine takes longer, it does not fail.
. "$(dirname "$0")/../lib.sh"
. "$ROOT/tests/tools/faults.sh"	# influx_csv, wpid
command -v initdb >/dev/null || skip "PostgreSQL 15 server binaries not installed"
command -v influxd >/dev/null || skip "influxd not installed"
command -v jq >/dev/null || skip "jq not installed"

RATE=40 PEAK=3
lab_setup humgroups <<EOC
[hum]
clients = 1
rate = 20

[hum ro]
clients = 2
rate = $RATE
workload = select
node = sub1
profile = pulse
period_s = 12
pulse_s = 4
peak = $PEAK

[sampler]
enabled = no
EOC

note "a group's bad key is refused with file:line"
sed 's/^node = sub1$/node = nowhere/' "$LAB_CONF" >"$LAB_DIR/bad.conf"
line=$(grep -n '^node = nowhere' "$LAB_DIR/bad.conf" | cut -d: -f1)
out=$("$LABSUP" config check -c "$LAB_DIR/bad.conf" 2>&1) && fail "config check accepted node = nowhere"
case "$out" in
*"bad.conf:$line: [hum ro] node = nowhere: no such node"*) ;;
*) fail "config check said: $out" ;;
esac

lab start --timeout 240 >/dev/null || fail "labsup start failed"

note "the hum measurement has each group's tag, node and clients"
series() {
	influx_query 'SHOW SERIES FROM hum' | jq -r '.results[0].series[0].values[][0]' | sort
}
have_series() {
	local s; s=$(series)
	grep -qx 'hum,client=1,group=default,node=pub' <<<"$s" &&
	grep -qx 'hum,client=1,group=ro,node=sub1' <<<"$s" &&
	grep -qx 'hum,client=2,group=ro,node=sub1' <<<"$s"
}
wait_for 300 have_series || fail "hum series: $(series | tr '\n' ' ')"
status_json | jq -r '.workers[].name' | grep -qx 'hum ro.2' ||
	fail "no worker hum ro.2: $(status_json | jq -r '.workers[].name' | tr '\n' ' ')"

note "each phase change of the pulse is an event"
# events: "time,text" of the profile events of group ro, in time order
events() {
	influx_csv "SELECT \"text\" FROM events WHERE kind = 'profile' AND \"text\" =~ /^hum ro /" |
		awk -F, 'NR > 1 && NF > 3 { print $3 "," $4 }'
}
# a full gap and the pulse after it: between, pulse, between, the first
# of them after an earlier pulse (the group's first phase began before
# its clients had connected)
window() {
	events | awk -F, '
		/between pulses/ { if (p != "") { print b "," p "," $1; exit }
			if (seen) b = $1; next }
		/ pulse:/ { if (b != "") p = $1; seen = 1 }'
}
full_window() {
	local w end
	w=$(window); [ -n "$w" ] || return 1
	end=$(cut -d, -f3 <<<"$w")
	[ "$(influx_value "SELECT count(tx) FROM hum WHERE \"group\" = 'ro' AND time > $(( end + 500000000 ))")" -ge 2 ]
}
wait_for 300 full_window || fail "no full pulse in the events: $(events | tr '\n' ' ')"
IFS=, read -r TB TP TE <<<"$(window)"
note "between pulses from $TB, pulse $TP..$TE (ns)"
# the pulse is 4 s of a 12 s period: the events are that far apart
awk -v a="$TP" -v b="$TE" 'BEGIN { d = (b - a) / 1e9; exit !(d > 3.5 && d < 4.5) }' ||
	fail "the pulse lasted $(( (TE - TP) / 1000000 )) ms, not 4 s"

note "tx/s of group ro inside the pulse vs before it"
# the records are 100 ms apart: keep 300 ms off the edges
rate_in() {	# FROM TO (ns): ro's tx/s from its records
	local n
	n=$(influx_value "SELECT sum(tx) FROM hum WHERE \"group\" = 'ro' AND time > $(( $1 + 300000000 )) AND time <= $(( $2 - 300000000 ))")
	awk -v n="$n" -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", n / ((b - a) / 1e9 - 0.6) }'
}
base=$(rate_in "$TB" "$TP")
peak=$(rate_in "$TP" "$TE")
dflt=$(influx_value "SELECT sum(tx) FROM hum WHERE \"group\" = 'default' AND time > $TB AND time <= $TE")
note "ro: $base tx/s between pulses (rate $RATE), $peak tx/s in the pulse (x$PEAK); default group: $dflt tx in the window"
# Poisson at 40 tx/s over ~7 s and 120 tx/s over ~3.4 s: a few percent;
# 15 % is noise plus the 100 ms record grid, not speed
awk -v b="$base" -v r="$RATE" 'BEGIN { exit !(b > r * 0.85 && b < r * 1.15) }' ||
	fail "between pulses ro ran $base tx/s, its rate is $RATE"
awk -v p="$peak" -v r="$RATE" -v k="$PEAK" 'BEGIN { exit !(p > r * k * 0.85 && p < r * k * 1.15) }' ||
	fail "in the pulse ro ran $peak tx/s, not $PEAK x $RATE"
[ "$dflt" -gt 0 ] || fail "the default group ran no transactions beside ro"
# the servers agree: ro's two clients are connected to sub1, default's one to pub
hums() { psql_node "$1" "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'labsup-hum'"; }
[ "$(hums "$SUB1_PORT")" = 2 ] || fail "sub1 has $(hums "$SUB1_PORT") hum connections, not ro's 2"
[ "$(hums "$PUB_PORT")" = 1 ] || fail "pub has $(hums "$PUB_PORT") hum connections, not default's 1"

note "a reload that changes [hum ro] restarts only ro's workers"
d1=$(wpid "hum 1") r1=$(wpid "hum ro.1") r2=$(wpid "hum ro.2") w=$(wpid writer)
sed -i "s/^rate = $RATE\$/rate = 60/" "$LAB_CONF"
lab reload >"$LAB_DIR/out" 2>&1 || fail "reload failed: $(cat "$LAB_DIR/out")"
restarted() { [ "$(wpid "hum ro.1")" != "$r1" ] && [ "$(wpid "hum ro.2")" != "$r2" ] &&
	[ "$(wpid "hum ro.1")" != 0 ] && [ "$(wpid "hum ro.2")" != 0 ]; }
wait_for 120 restarted || fail "hum ro.1/ro.2 were not restarted: $(wpid "hum ro.1") $(wpid "hum ro.2")"
[ "$(wpid "hum 1")" = "$d1" ] || fail "hum 1 was restarted by a change to [hum ro]"
[ "$(wpid writer)" = "$w" ] || fail "the writer was restarted by a change to [hum ro]"

lab stop >/dev/null || fail "stop failed"
echo "two hum groups: ro pulsed $base -> $peak tx/s (x$PEAK of $RATE), events at each phase; reload restarted only ro"
