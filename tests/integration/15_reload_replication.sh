#!/bin/bash
# 15_reload_replication.sh: replication follows the file on reload.  With
# the hum writing, sub1 gets a row filter (its subscription moves to its
# own publication and accounts is synced again with only the rows the
# filter admits), then another filter that admits rows the first did not,
# then a table list that drops history, then no filter at all (back on the
# shared publication, every row).  After each reload `labsup check` passes
# and sub1 holds exactly what the config says.  (Before: a filter was never
# changed, a table never removed, a subscription never moved.)
. "$(dirname "$0")/../lib.sh"

[ -x /usr/lib/postgresql/15/bin/postgres ] || skip "PostgreSQL 15 is not installed"
command -v influxd >/dev/null || skip "influxd is not installed"
lab_setup reloadrepl <<EOF2
[hum]
clients = 1
rate = 20
EOF2

# set_sub1 KEYS...: [node sub1] gets exactly these extra lines
set_sub1() {
	python3 - "$LAB_CONF" "$@" <<'PY'
import sys
path, extra = sys.argv[1], sys.argv[2:]
out, skip = [], False
for line in open(path).read().splitlines():
    if line.startswith('['):
        skip = False
    if skip and (line.startswith('tables') or line.startswith('row_filter')):
        continue
    out.append(line)
    if line == '[node sub1]':
        skip = True
        out += extra
open(path, 'w').write('\n'.join(out) + '\n')
PY
}
count() { psql_node "$1" "SELECT count(*) FROM $2"; }
repl() { status_json | jq -r ".workers[] | select(.kind == \"replication\") | \"\(.pid) \(.state)\""; }
# repl_moved OLDPID: the replication worker runs under a new pid, ready
repl_moved() {
	local r
	r=$(repl)
	[ "${r% *}" != "$1" ] && [ "${r#* }" = running ]
}
# reload_and_check WHAT: reload; once the replication worker restarted with
# the new config and says every subscription is ready, `labsup check`
reload_and_check() {
	local old
	old=$(repl | cut -d' ' -f1)
	lab reload >"$LAB_DIR/out" 2>&1 || fail "$1: reload failed: $(cat "$LAB_DIR/out")"
	wait_for 240 repl_moved "$old" ||
		fail "$1: the replication worker did not come back ready: $(repl)"
	lab check --timeout 240 >"$LAB_DIR/check" 2>&1 || fail "$1: check fails: $(cat "$LAB_DIR/check")"
	note "$1: check passes"
}

lab start >/dev/null || fail "labsup start failed"
lab check >/dev/null 2>&1 || fail "check fails before any reload: $(lab check 2>&1)"
total=$(count "$PUB_PORT" accounts)
[ "$total" = 100000 ] || fail "the publisher holds $total accounts"

set_sub1 'row_filter = accounts: aid % 2 = 0'
reload_and_check "a filter added"
[ "$(count "$SUB1_PORT" accounts)" = 50000 ] || fail "sub1 holds $(count "$SUB1_PORT" accounts) accounts, not the 50000 even ones"
[ "$(count "$SUB1_PORT" "accounts WHERE aid % 2 = 1")" = 0 ] || fail "odd accounts stayed on sub1"
[ "$(psql_node "$SUB1_PORT" "SELECT array_to_string(subpublications, ',') FROM pg_subscription")" = pub_sub1 ] ||
	fail "sub1 is not on its own publication"
[ "$(count "$SUB2_PORT" accounts)" = 100000 ] || fail "sub2 lost accounts"

set_sub1 'row_filter = accounts: aid % 3 = 0'
reload_and_check "the filter changed"
[ "$(count "$SUB1_PORT" accounts)" = 33333 ] || fail "sub1 holds $(count "$SUB1_PORT" accounts) accounts, not the 33333 multiples of 3"

set_sub1 'tables = accounts, branches, tellers' 'row_filter = accounts: aid % 3 = 0'
reload_and_check "history removed"
[ "$(count "$SUB1_PORT" history)" = 0 ] || fail "sub1 still holds $(count "$SUB1_PORT" history) history rows"

set_sub1
reload_and_check "the filter removed"
[ "$(count "$SUB1_PORT" accounts)" = 100000 ] || fail "sub1 holds $(count "$SUB1_PORT" accounts) accounts after the filter went"
[ "$(psql_node "$SUB1_PORT" "SELECT array_to_string(subpublications, ',') FROM pg_subscription")" = labsup_pub ] ||
	fail "sub1 did not go back to the shared publication"
[ "$(psql_node "$PUB_PORT" "SELECT count(*) FROM pg_publication WHERE pubname = 'pub_sub1'")" = 0 ] ||
	fail "pub_sub1 was left behind"
lab stop >/dev/null || fail "stop failed"
note "ok"
