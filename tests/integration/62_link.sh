#!/bin/bash
# 62_link.sh: every subscriber reaches the publisher through its link.
# Pass-through replicates (and a subscription made straight to the
# publisher is moved onto its link without losing a row); 200 ms of latency
# on sub2 makes its apply lag larger than sub1's; a 10 s partition cuts
# sub2's walsender and refuses it, and once it heals `labsup check` passes;
# a reload that changes sub2's link leaves both walsenders (and sub1's link)
# as they were; the link's figures reach the labsup measurement.
. "$(dirname "$0")/../lib.sh"

[ -x /usr/lib/postgresql/15/bin/postgres ] || skip "PostgreSQL 15 is not installed"
command -v influxd >/dev/null || skip "influxd is not installed"
command -v jq >/dev/null || skip "jq is not installed"
lab_setup link <<EOF2
[hum]
clients = 1
rate = 20
EOF2

linkport() { cut -d' ' -f2 "$LAB_DIR/state/links/$1.addr"; }
conninfo() { psql_node "$1" "SELECT subconninfo FROM pg_subscription WHERE subname = '$2'"; }
through_link() { conninfo "$1" "sub_$2" | grep -q "port='$(linkport "$2")'"; }
linkpid() { status_json | jq -r ".workers[] | select(.name == \"link $1\") | .pid"; }
# lag NODE: mean apply lag (ms) over the last 10 s, from the replication
# measurement the samplers write
lag() { influx_value "SELECT mean(apply_lag_ms) FROM \"replication\" WHERE node = '$1' AND time > now() - 10s"; }

lab start >/dev/null || fail "labsup start failed"
lab check --timeout 240 >"$LAB_DIR/check" 2>&1 || fail "check fails through pass-through links: $(cat "$LAB_DIR/check")"
for n in sub1 sub2; do
	[ -f "$LAB_DIR/state/links/$n.addr" ] || fail "link $n recorded no address"
done
through_link "$SUB1_PORT" sub1 || fail "sub1's subscription does not go through its link: $(conninfo "$SUB1_PORT" sub_sub1)"
through_link "$SUB2_PORT" sub2 || fail "sub2's subscription does not go through its link"
grep -q "127.0.0.1" "$LAB_DIR/state/links/sub1.addr" || fail "link sub1 does not listen on the bind address: $(cat "$LAB_DIR/state/links/sub1.addr")"
note "pass-through: replicated, both subscriptions through their links"

# a lab made before links: its subscription went straight to the publisher
psql_node "$SUB1_PORT" "ALTER SUBSCRIPTION sub_sub1 CONNECTION 'host=127.0.0.1 port=$PUB_PORT dbname=labsup user=labsup application_name=sub_sub1 passfile=$LAB_DIR/state/pg/.pgpass'" ||
	fail "cannot point sub1 straight at the publisher"
wait_for 60 through_link "$SUB1_PORT" sub1 || fail "the replication worker did not move sub1 onto its link"
lab check --timeout 240 >"$LAB_DIR/check" 2>&1 || fail "check fails after the move onto the link: $(cat "$LAB_DIR/check")"
note "a direct subscription moved onto its link, no row lost"

lab link sub2 latency 200 >"$LAB_DIR/out" 2>&1 || fail "link sub2 latency 200: $(cat "$LAB_DIR/out")"
grep -q "latency 200ms" "$LAB_DIR/out" || fail "link said: $(cat "$LAB_DIR/out")"
lab link status >"$LAB_DIR/ls" 2>&1 || fail "link status failed"
grep -qE '^sub2 .* cli +latency 200ms' "$LAB_DIR/ls" || fail "link status: $(cat "$LAB_DIR/ls")"
grep -qE '^sub1 .* conf +pass-through' "$LAB_DIR/ls" || fail "link status: $(cat "$LAB_DIR/ls")"
sleep 12	# ten seconds of samples under the new latency
l1=$(lag sub1); l2=$(lag sub2)
note "apply lag: sub1 $l1 ms, sub2 $l2 ms (200 ms link)"
awk -v a="$l1" -v b="$l2" 'BEGIN { exit !(b > a) }' || fail "sub2's apply lag $l2 ms is not above sub1's $l1 ms"

# the link's own figures in the labsup measurement
down=$(influx_value "SELECT sum(link_bytes_down) FROM labsup WHERE worker = 'link sub2'")
[ "${down%.*}" -gt 0 ] 2>/dev/null || fail "no link_bytes_down for link sub2 in InfluxDB ($down)"
delay=$(influx_value "SELECT max(link_delay_ms) FROM labsup WHERE worker = 'link sub2' AND time > now() - 10s")
awk -v d="$delay" 'BEGIN { exit !(d >= 200) }' || fail "link sub2 reports a delay of $delay ms under a 200 ms latency"

old=$(walsender sub2)
lab link sub2 partition --for 10 >"$LAB_DIR/out" 2>&1 || fail "link partition: $(cat "$LAB_DIR/out")"
wait_for 30 no_walsender sub2 || fail "sub2's walsender survived the partition"
has_walsender sub1 || fail "sub1 lost its walsender in sub2's partition"
wait_for 30 has_walsender sub2 || fail "sub2 did not reconnect after the partition"
[ "$(walsender sub2)" != "$old" ] || fail "sub2's walsender was never cut"
lab check --timeout 240 >"$LAB_DIR/check" 2>&1 || fail "check fails after the partition healed: $(cat "$LAB_DIR/check")"
sleep 2	# the link reports once a second
parts=$(influx_value "SELECT last(link_partitions) FROM labsup WHERE worker = 'link sub2'")
refused=$(influx_value "SELECT last(link_refused) FROM labsup WHERE worker = 'link sub2'")
[ "$parts" -ge 1 ] 2>/dev/null || fail "link sub2 reports $parts partitions"
[ "$refused" -ge 1 ] 2>/dev/null || fail "link sub2 reports $refused connections refused or cut"
note "partition 10 s healed: check passes (partitions $parts, refused $refused)"

# a reload that changes sub2's link only: nothing reconnects
lab link sub2 clear >/dev/null || fail "link clear failed"
w1=$(walsender sub1); w2=$(walsender sub2); p1=$(linkpid sub1); p2=$(linkpid sub2)
cat >>"$LAB_CONF" <<EOF2

[link sub2]
latency_ms = 30
jitter_ms = 5
EOF2
lab reload >"$LAB_DIR/out" 2>&1 || fail "reload failed: $(cat "$LAB_DIR/out")"
in_force() { lab link status | grep -qE '^sub2 .* conf +latency 30ms jitter 5ms'; }
wait_for 30 in_force || fail "the reload's link settings are not in force: $(lab link status)"
sleep 3
[ "$(walsender sub1)" = "$w1" ] || fail "sub1's walsender changed on a reload of sub2's link"
[ "$(walsender sub2)" = "$w2" ] || fail "sub2's walsender changed: the new settings did not apply in place"
[ "$(linkpid sub1)" = "$p1" ] && [ "$(linkpid sub2)" = "$p2" ] || fail "a link restarted on reload"
lab check --timeout 240 >/dev/null 2>&1 || fail "check fails after the reload"
note "reload: sub2's link changed in place, walsenders $w1 and $w2 kept"

lab link sub9 latency 5 >/dev/null 2>&1 && fail "link accepted a node that is not a subscriber"
lab link sub2 latency soon >/dev/null 2>&1; [ $? = 2 ] || fail "a bad link word is not a usage error"
lab stop >/dev/null || fail "stop failed"
note "ok"
