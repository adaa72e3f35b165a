#!/bin/bash
# 67_hum_pgbench_script.sh: pgbench's own built-in tpcb-like script, as
# `pgbench --show-script` prints it, runs as the hum unchanged (\set with
# random() and :scale, BEGIN ... END, the pgbench_* names) on a real lab:
# the publisher gets its history rows, the hum counts no errors, and
# `labsup check` passes.  A second group's \sleep shows in its latency.
# A script the hum cannot run is refused by config check as file:line.
. "$(dirname "$0")/../lib.sh"
command -v initdb >/dev/null || skip "PostgreSQL 15 server binaries not installed"
command -v pgbench >/dev/null || skip "pgbench not installed"
command -v influxd >/dev/null || skip "influxd not installed"
command -v jq >/dev/null || skip "jq not installed"

lab_setup humscript </dev/null
pgbench --show-script=tpcb-like >"$LAB_DIR/tpcb.sql" 2>&1 || fail "pgbench --show-script failed"
grep -q '^\\set aid random(1, 100000 \* :scale)$' "$LAB_DIR/tpcb.sql" ||
	fail "pgbench printed an unexpected script: $(cat "$LAB_DIR/tpcb.sql")"
cat >"$LAB_DIR/sleepy.sql" <<'EOF'
-- a read, a pause of 20 to 30 ms, another read
\set ms random(20, 30)
\set aid random_zipfian(1, 100000 * :scale, 1.2)
SELECT abalance FROM pgbench_accounts WHERE aid = :aid;
\sleep :ms ms
SELECT :ms::int + :client_id;
EOF
cat >>"$LAB_CONF" <<EOF

[hum]
clients = 2
rate = 40
workload = script
script = $LAB_DIR/tpcb.sql

[hum sleepy]
clients = 1
rate = 5
workload = script
script = $LAB_DIR/sleepy.sql
node = sub1

[sampler]
enabled = no
EOF

note "a script the hum cannot run is refused with file:line"
printf 'SELECT 1;\n\\set x 1\n\\setshell y echo 2\n' >"$LAB_DIR/bad.sql"
sed "s|$LAB_DIR/sleepy.sql|$LAB_DIR/bad.sql|" "$LAB_CONF" >"$LAB_DIR/bad.conf"
out=$("$LABSUP" config check -c "$LAB_DIR/bad.conf" 2>&1) && fail "config check accepted bad.sql"
case "$out" in
*"$LAB_DIR/bad.sql:3: \\setshell is not supported by the hum"*) ;;
*) fail "config check said: $out" ;;
esac
out=$("$LABSUP" start -c "$LAB_DIR/bad.conf" 2>&1) && fail "start accepted bad.sql"
case "$out" in *"bad.sql:3:"*) ;; *) fail "start said: $out" ;; esac
"$LABSUP" config check -c "$LAB_CONF" >/dev/null 2>&1 ||
	fail "config check refused pgbench's script: $("$LABSUP" config check -c "$LAB_CONF" 2>&1 | tail -1)"

lab start --timeout 240 >/dev/null || fail "labsup start failed"

note "pgbench's tpcb-like runs: history rows on the publisher, no errors"
rows() { psql_node "$PUB_PORT" "SELECT count(*) FROM history"; }
# the hum's own count agrees with the server's: every tpcb-like
# transaction inserts one history row
tx() { influx_value "SELECT sum(tx) FROM hum WHERE \"group\" = 'default'"; }
errs() { influx_value "SELECT sum(err_serialization) + sum(err_deadlock) + sum(err_other) FROM hum WHERE \"group\" = 'default'"; }
enough() { [ "$(tx)" -ge 400 ]; }
wait_for 300 enough || fail "the hum counted only $(tx) transactions"
n=$(tx) e=$(errs) h=$(rows)
note "hum: $n transactions, $e errors; the publisher: $h history rows"
[ "$e" = 0 ] || fail "the tpcb-like script had $e errors"
[ "$n" -ge 400 ] || fail "the hum counted only $n transactions"
[ "$h" -ge "$n" ] || fail "$n transactions but only $h history rows"

note "\\sleep is inside the transaction: sleepy's latency is at least 20 ms"
sl() { influx_value "SELECT min(latency_p50_ms) FROM hum WHERE \"group\" = 'sleepy' AND tx > 0"; }
cnt() { influx_value "SELECT sum(tx) FROM hum WHERE \"group\" = 'sleepy'"; }
sleepy_ran() { [ "$(cnt)" -ge 20 ]; }
wait_for 300 sleepy_ran || fail "sleepy ran only $(cnt) transactions"
lo=$(sl) se=$(influx_value "SELECT sum(err_other) FROM hum WHERE \"group\" = 'sleepy'")
note "sleepy: $(cnt) transactions, lowest p50 $lo ms, $se errors"
awk -v l="$lo" 'BEGIN { exit !(l >= 20) }' || fail "sleepy's lowest p50 is $lo ms: the 20..30 ms \\sleep was not inside"
[ "$se" = 0 ] || fail "sleepy had $se errors"

note "labsup check: the subscribers hold what the script wrote"
lab check >"$LAB_DIR/check" 2>&1 || fail "labsup check failed: $(tail -5 "$LAB_DIR/check")"

lab stop >/dev/null || fail "stop failed"
echo "pgbench's tpcb-like as the hum: $n tx, $h history rows, 0 errors; \\sleep 20-30 ms: p50 >= $lo ms"
