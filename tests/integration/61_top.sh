#!/bin/bash
# tags: sanitize
# 61_top.sh: `labsup top` in a real 80x24 pseudo-terminal (tmux) shows the
# lab that `labsup status --json` describes: every node with its sampler's
# pid, every hum client with its pid, the ring's counts, the writer and the
# worker count, a line per subscription (its slot's wal_status as the
# publisher says; an apply error provoked on sub1 counted) and the latest
# server ERROR (one provoked on sub2); it quits on q with exit 0 and gives
# the terminal back.
# Without a terminal it prints plain frames (-n COUNT); with the lab
# stopped it says so in one line and exits 3.
. "$(dirname "$0")/../lib.sh"
command -v initdb >/dev/null || skip "PostgreSQL 15 server binaries not installed"
command -v influxd >/dev/null || skip "influxd not installed"
command -v jq >/dev/null || skip "jq not installed"
command -v tmux >/dev/null || skip "tmux not installed"
# the sparklines are UTF-8: tmux must draw them, and ${#line} count columns
export LC_ALL=C.UTF-8

lab_setup top <<EOC
[hum]
clients = 2
rate = 50
EOC
TMUX_SOCK="labsup-top-$$"
tm() { tmux -L "$TMUX_SOCK" "$@"; }
# keep the test's exit status for lab_cleanup, which reports it
cleanup_top() { local rc=$?; tm kill-server >/dev/null 2>&1; (exit $rc); lab_cleanup; }
trap cleanup_top EXIT

note "start"
lab start >/dev/null || fail "labsup start failed"

note "plain output when stdout is not a terminal"
out=$(lab top -n 2) || fail "labsup top -n 2 exited $?"
[ "$(grep -c '^labsup top: lab ' <<<"$out")" -eq 2 ] || fail "top -n 2 did not print two frames: $out"
grep -q $'\033' <<<"$out" && fail "plain output has terminal escapes"

note "top in an 80x24 pseudo-terminal"
tm new-session -d -x 80 -y 24 \
	"'$LABSUP' top -c '$LAB_CONF'; echo \$? >'$LAB_DIR/top.rc'; stty -a >'$LAB_DIR/stty.after'; sleep 60" ||
	fail "cannot start tmux"
screen() { tm capture-pane -p -t 0; }
# two frames: the second has rates and a sparkline two points long
framed() { screen | grep -q '^points/s .*[▁▂▃▄▅▆▇█][▁▂▃▄▅▆▇█]'; }
wait_for 30 framed || fail "top drew no full frame in 30 s: $(screen)"
before=$(status_json)
shot=$(screen)
after=$(status_json)
echo "$shot"

note "every line fits 80 columns, the frame fits 24 rows"
while IFS= read -r line; do
	[ "${#line}" -le 80 ] || fail "a line wider than 80 columns: $line"
done <<<"$shot"
[ "$(wc -l <<<"$shot")" -le 24 ] || fail "more than 24 rows"

note "nodes and their samplers' pids match labsup status --json"
for node in $(jq -r '.services[] | select(.role == "publisher" or .role == "subscriber") | .name' <<<"$before"); do
	pid=$(jq -r --arg n "sampler $node" '.workers[] | select(.name == $n) | .pid' <<<"$before")
	row=$(grep "^$node " <<<"$shot") || fail "node $node missing from top"
	[ "$(awk '{print $NF}' <<<"$row")" = "$pid" ] || fail "top shows sampler pid for $node as '$row', status says $pid"
done

note "hum clients and their pids"
jq -r '.workers[] | select(.kind == "hum") | .name' <<<"$before" >"$LAB_DIR/hums"
[ -s "$LAB_DIR/hums" ] || fail "no hum worker in labsup status --json"
while IFS= read -r name; do
	pid=$(jq -r --arg n "$name" '.workers[] | select(.name == $n) | .pid' <<<"$before")
	row=$(grep "^$name " <<<"$shot") || fail "hum client $name missing from top"
	[ "$(awk '{print $NF}' <<<"$row")" = "$pid" ] || fail "top shows $name as '$row', status says pid $pid"
done <"$LAB_DIR/hums"

note "ring counts: not more than status says just after the screen"
produced=$(sed -n 's/^ring *\([0-9]*\) produced.*/\1/p' <<<"$shot")
[ -n "$produced" ] || fail "no ring line"
lo=$(jq '.ring.produced' <<<"$before"); hi=$(jq '.ring.produced' <<<"$after")
# the screen may be up to a second older than the first status
[ "$produced" -le "$hi" ] && [ "$produced" -gt 0 ] || fail "top says $produced produced; status said $lo then $hi"
note "ring produced: status $lo, top $produced, status $hi"

note "worker count and writer"
running=$(jq '[.workers[] | select(.state == "running")] | length' <<<"$after")
grep -q "^workers $running running" <<<"$shot" || fail "status has $running workers running; top: $(grep '^workers' <<<"$shot")"
grep -q '^writer .*InfluxDB up' <<<"$shot" || fail "top does not show the writer with InfluxDB up"

note "subscription health: a line per subscriber, as the servers say"
subs_seen() { lab top -n 1 >"$LAB_DIR/frame" && grep -q '^sub sub1 .*errors ' "$LAB_DIR/frame" && grep -q '^sub sub2 .*errors ' "$LAB_DIR/frame"; }
wait_for 30 subs_seen || fail "top has no subscription lines: $(cat "$LAB_DIR/frame")"
while IFS= read -r line; do
	[ "${#line}" -le 80 ] || fail "a line wider than 80 columns: $line"
done <"$LAB_DIR/frame"
for node in sub1 sub2; do
	row=$(grep "^sub $node .*errors " "$LAB_DIR/frame")
	port=SUB1_PORT; [ $node = sub2 ] && port=SUB2_PORT
	sub=$(psql_node "${!port}" "SELECT subname FROM pg_subscription")
	ws=$(psql_node "$PUB_PORT" "SELECT wal_status FROM pg_replication_slots WHERE slot_name = '$sub'")
	[ -n "$ws" ] || fail "pub has no slot $sub for $node"
	grep -q "; slot $ws, [0-9.]*[kMGT]\?B\? WAL" <<<"$row" || fail "$node: the slot is $ws on pub; top: $row"
	grep -q "errors 0 apply, 0 sync;" <<<"$row" || fail "$node has no apply error yet; top: $row"
done

note "an apply error on sub1 shows in its line"
psql_node "$SUB1_PORT" "INSERT INTO branches (bid, bbalance) VALUES (987654, 0)" || fail "insert on sub1"
psql_node "$PUB_PORT" "INSERT INTO branches (bid, bbalance) VALUES (987654, 0)" || fail "insert on pub"
apply_err() { lab top -n 1 | grep -q '^sub sub1 .*errors [1-9][0-9]* apply'; }
wait_for 90 apply_err || fail "top shows no apply error for sub1: $(lab top -n 1 | grep '^sub sub1 ')"
n=$(psql_node "$SUB1_PORT" "SELECT apply_error_count FROM pg_stat_subscription_stats")
note "sub1: $(lab top -n 1 | grep '^sub sub1 '); the server says $n"
psql_node "$SUB1_PORT" "DELETE FROM branches WHERE bid = 987654" || fail "delete on sub1"

note "server logs: an ERROR on sub2 is top's latest"
psql_node "$SUB2_PORT" "SELECT 1/0" >/dev/null 2>&1
last_err() { lab top -n 1 | grep -q '^  last   [0-9:]* sub2 ERROR 22012: division by zero$'; }
wait_for 30 last_err || fail "top does not show sub2's ERROR: $(lab top -n 1 | grep -A1 '^logs ')"
lab top -n 1 | grep -q '^logs  *[0-9]* WARNING, [1-9][0-9]* ERROR, ' || fail "top counts no ERROR: $(lab top -n 1 | grep '^logs ')"

note "q quits with 0 and the terminal is restored"
tm send-keys -t 0 q
wait_for 10 test -s "$LAB_DIR/top.rc" || fail "top did not quit on q"
[ "$(cat "$LAB_DIR/top.rc")" = 0 ] || fail "top exited $(cat "$LAB_DIR/top.rc") on q"
# stty runs after top.rc is written: its output may not be there yet
wait_for 10 test -s "$LAB_DIR/stty.after" || fail "stty -a after top wrote nothing"
grep -qE '(^| )icanon( |$)' "$LAB_DIR/stty.after" &&
	grep -qE '(^| )echo( |$)' "$LAB_DIR/stty.after" ||
	fail "top left the terminal in raw mode: $(cat "$LAB_DIR/stty.after")"

note "not running: one line, exit 3"
lab stop >/dev/null || fail "labsup stop failed"
out=$(lab top --once); rc=$?
[ "$rc" -eq 3 ] || fail "top on a stopped lab exited $rc"
[ "$(wc -l <<<"$out")" -eq 1 ] && grep -q "not running" <<<"$out" || fail "top on a stopped lab said: $out"
note "ok"
