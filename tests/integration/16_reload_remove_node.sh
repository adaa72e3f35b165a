#!/bin/bash
# 16_reload_remove_node.sh: a node removed by a reload stops.  Its workers
# go, its server is stopped (its data kept), its slot and publication on
# the publisher are dropped; `stop` leaves no server of the lab running and
# `stop --purge` deletes its data only once nothing runs on it.  (Before:
# the removed subscriber's server ran until the lab stopped, on the local
# backend `stop` never stopped it, and `stop --purge` deleted its data
# directory under the running server.)
. "$(dirname "$0")/../lib.sh"

[ -x /usr/lib/postgresql/15/bin/postgres ] || skip "PostgreSQL 15 is not installed"
command -v influxd >/dev/null || skip "influxd is not installed"
lab_setup removenode </dev/null
sed -i '/^\[node sub2\]/a row_filter = accounts: aid % 2 = 0' "$LAB_CONF"

pm_pid() { head -1 "$LAB_DIR/state/pg/$1/postmaster.pid" 2>/dev/null; }
lab start >/dev/null || fail "labsup start failed"
sub2=$(pm_pid sub2)
[ -n "$sub2" ] && kill -0 "$sub2" || fail "sub2 does not run"
[ "$(psql_node "$PUB_PORT" "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'sub_sub2'")" = 1 ] ||
	fail "no slot for sub2"

note "reload without [node sub2]"
python3 - "$LAB_CONF" <<'PY'
import sys, re
text = open(sys.argv[1]).read()
text = re.sub(r'\[node sub2\]\n(?:[^\[\n][^\n]*\n|\n)*', '', text)
open(sys.argv[1], 'w').write(text)
PY
grep -q 'node sub2' "$LAB_CONF" && fail "the test did not remove sub2 from the file"
lab reload >/dev/null || fail "reload failed"
wait_for 120 gone "$sub2" || fail "sub2's server (pid $sub2) still runs after the reload removed it"
[ -d "$LAB_DIR/state/pg/sub2" ] || fail "sub2's data was deleted by a plain reload"
status_json | jq -e '[.workers[] | select(.name == "sampler sub2")] | length == 0' >/dev/null ||
	fail "sub2's sampler is still there"
slot_gone() { [ "$(psql_node "$PUB_PORT" "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'sub_sub2'")" = 0 ]; }
wait_for 60 slot_gone || fail "the slot of the removed subscriber is still on the publisher"
[ "$(psql_node "$PUB_PORT" "SELECT count(*) FROM pg_publication WHERE pubname = 'pub_sub2'")" = 0 ] ||
	fail "pub_sub2 is left on the publisher"
lab check >/dev/null 2>&1 || fail "check fails after the removal: $(lab check 2>&1)"

note "sub2's server started again by hand, then stop --purge"
# a server that runs on a removed node's data: --purge stops it first
runas=$([ "$(id -u)" = 0 ] && echo "runuser -u postgres --" || echo "")
$runas /usr/lib/postgresql/15/bin/pg_ctl -D "$LAB_DIR/state/pg/sub2" -l "$LAB_DIR/state/pg/sub2/byhand.log" -w start >"$LAB_DIR/byhand.out" 2>&1 ||
	fail "cannot start sub2's server by hand: $(tail -3 "$LAB_DIR/byhand.out")"
byhand=$(pm_pid sub2)
kill -0 "$byhand" || fail "sub2 did not start by hand"
lab stop --purge >/dev/null 2>&1 || fail "stop --purge failed"
gone "$byhand" || fail "stop --purge left sub2's server (pid $byhand) running"
[ ! -e "$LAB_DIR/state/pg" ] || fail "stop --purge left data: $(ls "$LAB_DIR/state/pg")"
pgrep -f "$LAB_DIR/state/pg" >/dev/null && fail "servers of the lab survive stop --purge: $(pgrep -af "$LAB_DIR/state/pg")"
note "ok"
