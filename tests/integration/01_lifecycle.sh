#!/bin/bash
# tags: sanitize
# 01_lifecycle.sh: the supervisor with a real lab: start and a second start,
# status --json's interface, a killed worker restarted and counted, reloads
# (valid: only the affected workers restart; invalid: refused with
# file:line, nothing changes), kill -9 of the supervisor (no worker
# survives, servers do, the next start adopts them), and a clean stop.
. "$(dirname "$0")/../lib.sh"
lab_setup life <<EOF2
[hum]
clients = 2
rate = 50
EOF2

wpid() { status_json | jq -r ".workers[] | select(.name == \"$1\") | .pid"; }
field() { status_json | jq -r "$1"; }
postmaster_pid() { head -1 "$LAB_DIR/state/pg/$1/postmaster.pid"; }

note "start"
"$LABSUP" start -c "$LAB_CONF" --timeout 240 || fail "start failed"
status_json >"$LAB_DIR/s.json" || fail "status exit code $? while running"
jq -e '.running == true and .backend == "local"' "$LAB_DIR/s.json" >/dev/null || fail "running/backend"
jq -e '[.services[] | select(.state == "ready")] | length == 4' "$LAB_DIR/s.json" >/dev/null || fail "services not ready"
jq -e '[.services[].role] | sort == ["grafana","influxdb","publisher","subscriber","subscriber"]' "$LAB_DIR/s.json" >/dev/null || fail "service roles"
jq -e '.services[] | select(.name == "pub") | .port == '"$PUB_PORT" "$LAB_DIR/s.json" >/dev/null || fail "pub port"
jq -e '[.workers[].kind] | sort == ["container","hum","hum","link","link","logs","replication","sampler","sampler","sampler","writer"]' "$LAB_DIR/s.json" >/dev/null || fail "worker kinds"
jq -e 'all(.workers[]; .state == "running" and .pid > 0 and .restarts == 0)' "$LAB_DIR/s.json" >/dev/null || fail "workers not running"
jq -e '.influxdb.url == "http://127.0.0.1:'"$INFLUX_PORT"'" and .influxdb.database == "labsup"' "$LAB_DIR/s.json" >/dev/null || fail "influxdb"
jq -e '.ring | has("produced") and has("committed") and has("dropped")' "$LAB_DIR/s.json" >/dev/null || fail "ring keys"
jq -e '.writer | has("points_written") and has("batches") and has("spooled") and has("errors")' "$LAB_DIR/s.json" >/dev/null || fail "writer keys"
[ "$(stat -c %a "/dev/shm/labsup.$(id -u).$LAB_NAME")" = 600 ] || fail "segment is not 0600"
[ "$(stat -c %a "$LAB_DIR/state/labsup.pid")" = 600 ] || fail "pidfile is not 0600"
sup=$(field .pid)

note "a second start says it runs already"
"$LABSUP" start -c "$LAB_CONF" >"$LAB_DIR/out" 2>&1 || fail "second start exit code"
grep -q "already running" "$LAB_DIR/out" || fail "second start: $(cat "$LAB_DIR/out")"
[ "$(field .pid)" = "$sup" ] || fail "a second supervisor took over"

note "a killed worker comes back, counted"
s=$(wpid "sampler sub1")
kill -9 "$s"
wait_for 30 bash -c "[ \"\$($LABSUP status -c $LAB_CONF --json | jq -r '.workers[] | select(.name == \"sampler sub1\") | select(.state == \"running\") | .pid')\" != $s ]" || fail "sampler not restarted"
[ "$(status_json | jq -r '.workers[] | select(.name == "sampler sub1") | .restarts')" = 1 ] || fail "restart not counted"

note "a valid reload restarts only the samplers"
declare -A before
for w in writer container replication "hum 1" "hum 2" "sampler pub"; do before[$w]=$(wpid "$w"); done
printf '[sampler]\ninterval_ms = 50\nlocks_interval_ms = 100\n' >>"$LAB_CONF"
"$LABSUP" reload -c "$LAB_CONF" | grep -q "generation 1" || fail "reload not applied"
wait_for 30 bash -c "p=\$($LABSUP status -c $LAB_CONF --json | jq -r '.workers[] | select(.name == \"sampler pub\") | select(.state == \"running\") | .pid'); [ -n \"\$p\" ] && [ \"\$p\" != ${before[sampler pub]} ]" || fail "sampler pub kept its pid"
for w in writer container replication "hum 1" "hum 2"; do
	[ "$(wpid "$w")" = "${before[$w]}" ] || fail "$w restarted on a sampler-only reload"
done

note "an invalid reload is refused with file:line and changes nothing"
cp "$LAB_CONF" "$LAB_DIR/good.conf"
printf '[hum]\nclients = 9\nfrobs = 1\n' >>"$LAB_CONF"
"$LABSUP" reload -c "$LAB_CONF" 2>"$LAB_DIR/err" && fail "bad reload accepted"
grep -q "labsup.conf:[0-9]*: \[hum\] appears twice" "$LAB_DIR/err" || fail "no file:line: $(cat "$LAB_DIR/err")"
[ "$(field .config_generation)" = 1 ] || fail "generation moved"
[ "$(field .reload_failures)" = 1 ] || fail "failure not counted"
[ "$(status_json | jq '[.workers[] | select(.kind == "hum")] | length')" = 2 ] || fail "bad config applied"
cp "$LAB_DIR/good.conf" "$LAB_CONF"

note "kill -HUP works like reload"
printf '[writer]\nflush_ms = 100\n' >>"$LAB_CONF"
kill -HUP "$sup"
wait_for 20 bash -c "[ \"\$($LABSUP status -c $LAB_CONF --json | jq .config_generation)\" = 2 ]" || fail "HUP not applied"

note "kill -9 of the supervisor: workers die, servers stay, the next start adopts"
pids=$(status_json | jq -r '.workers[].pid')
pm=$(postmaster_pid pub)
produced=$(field .ring.produced)
kill -9 "$sup"
for p in $pids; do
	wait_for 20 gone "$p" || fail "worker $p outlived the supervisor"
done
kill -0 "$pm" || fail "the publisher died with the supervisor"
[ -e "/dev/shm/labsup.$(id -u).$LAB_NAME" ] || fail "segment vanished"
"$LABSUP" status -c "$LAB_CONF" >/dev/null; [ $? = 3 ] || fail "status of a dead supervisor is not 3"
"$LABSUP" start -c "$LAB_CONF" --timeout 120 >"$LAB_DIR/out" 2>&1 || fail "restart after kill -9: $(cat "$LAB_DIR/out")"
grep -q "adopting" "$LAB_DIR/out" || fail "stale segment not adopted"
[ "$(postmaster_pid pub)" = "$pm" ] || fail "publisher was restarted instead of adopted"
[ "$(field .ring.produced)" -ge "$produced" ] || fail "ring counters went back"

note "stop leaves nothing behind"
pms="$(postmaster_pid pub) $(postmaster_pid sub1) $(postmaster_pid sub2)"
sup=$(field .pid)
"$LABSUP" stop -c "$LAB_CONF" || fail "stop failed"
wait_for 20 gone "$sup" || fail "supervisor still there"
for p in $pms; do wait_for 20 gone "$p" || fail "postgres $p still there"; done
[ ! -e "/dev/shm/labsup.$(id -u).$LAB_NAME" ] || fail "segment left behind"
[ ! -e "$LAB_DIR/state/labsup.pid" ] || fail "pidfile left behind"
[ -d "$LAB_DIR/state/pg/pub" ] || fail "stop without --purge deleted data"
"$LABSUP" status -c "$LAB_CONF" >/dev/null; [ $? = 3 ] || fail "status after stop is not 3"
echo "lifecycle ok"
