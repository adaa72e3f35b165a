#!/bin/bash
# tags: sanitize
# 10_local_lab.sh: a real lab on the local backend: start, replication end
# to end, `labsup check` (and that it catches a diverged subscriber), psql,
# a second start refused, stop leaving no process and no segment.
. "$(dirname "$0")/../lib.sh"

[ -x /usr/lib/postgresql/15/bin/postgres ] || skip "PostgreSQL 15 is not installed"
command -v influxd >/dev/null || skip "influxd is not installed"
lab_setup local </dev/null

note "start"
lab start || fail "labsup start failed"
status_json | jq -e '.services | map(select(.state == "ready" or .state == "unavailable")) | length == 5' >/dev/null ||
	fail "not every service is ready: $(status_json)"
status_json | jq -e '.workers[] | select(.kind == "replication") | .state == "running"' >/dev/null ||
	fail "replication worker not running"
for f in password pgpass pg/.pgpass; do
	[ "$(stat -c %a "$LAB_DIR/state/$f")" = 600 ] || fail "$f is not mode 0600"
done
! grep -q "$(cat "$LAB_DIR/state/password")" "$LAB_DIR/state/labsup.log" || fail "the password is in the log"

note "a second start says it is already running"
out=$(lab start 2>&1)
echo "$out" | grep -qi "already running" || fail "second start: $out"
[ "$(pgrep -fc -- "-D $LAB_DIR/state/pg/pub\$")" = 1 ] || fail "a second postmaster for pub"

note "replication end to end"
psql_node "$PUB_PORT" "INSERT INTO history (tid, bid, aid, delta, mtime, filler) VALUES (1, 1, 1, 0, now(), 'it-10-marker')"
for port in "$SUB1_PORT" "$SUB2_PORT"; do
	wait_for 60 bash -c "[ \"\$(PGPASSFILE=$LAB_DIR/state/pgpass psql -XAtq -h 127.0.0.1 -p $port -U labsup -d labsup -c \"SELECT count(*) FROM history WHERE filler = 'it-10-marker'\")\" = 1 ]" ||
		fail "the marker row did not reach the subscriber on port $port"
done
[ "$(psql_node "$SUB1_PORT" "SELECT count(*) FROM accounts")" = 100000 ] || fail "sub1 lacks the initial data"
! psql_node "$SUB1_PORT" "SELECT subconninfo FROM pg_subscription" | grep -q password ||
	fail "pg_subscription holds a password"

note "labsup psql"
[ "$(lab psql pub -- -XAtqc "SELECT current_user")" = labsup ] || fail "labsup psql did not connect as labsup"

note "check passes"
lab check || fail "labsup check failed on a healthy lab"

note "check catches a diverged subscriber"
psql_node "$SUB2_PORT" "DELETE FROM accounts WHERE aid = 99999"
out=$(lab check 2>&1) && fail "check passed with a diverged subscriber: $out"
echo "$out" | grep -q "sub2.accounts" || fail "check did not name sub2.accounts: $out"
echo "$out" | grep -q "sub1.accounts" && fail "check blamed sub1: $out"

note "service records reach InfluxDB"
wait_for 60 bash -c "curl -sS -G 'http://127.0.0.1:$INFLUX_PORT/query' --data-urlencode db=labsup --data-urlencode 'q=SELECT count(up) FROM service' | grep -q '\"count\"'" ||
	fail "no service measurement in InfluxDB"

note "stop"
lab stop || fail "labsup stop failed"
sleep 0.5
pgrep -f "$LAB_DIR/" >/dev/null && fail "processes survive stop: $(pgrep -af "$LAB_DIR/")"
[ -e "/dev/shm/labsup.$(id -u).$LAB_NAME" ] && fail "the shm segment survives stop"
[ -f "$LAB_DIR/state/pg/pub/PG_VERSION" ] || fail "stop without --purge deleted the data"
note "ok"
