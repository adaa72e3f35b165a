#!/bin/bash
# 14_local_row_filter.sh: a subscriber with `tables` and `row_filter` gets
# its own publication (pub_<node>) and holds exactly the filtered rows of
# the tables it takes; `labsup check` compares it against the same filter.
. "$(dirname "$0")/../lib.sh"

[ -x /usr/lib/postgresql/15/bin/postgres ] || skip "PostgreSQL 15 is not installed"
command -v influxd >/dev/null || skip "influxd is not installed"
lab_setup rowfilter </dev/null
# [node sub1] is the last key block before [node sub2]: add the keys there
sed -i '/^\[node sub1\]/a tables = accounts, history\nrow_filter = accounts: aid <= 50000' "$LAB_CONF"
"$LABSUP" config check -c "$LAB_CONF" >/dev/null || fail "config rejected: $("$LABSUP" config check -c "$LAB_CONF" 2>&1)"

lab start >/dev/null || fail "labsup start failed"
[ "$(psql_node "$PUB_PORT" "SELECT count(*) FROM pg_publication WHERE pubname = 'pub_sub1'")" = 1 ] ||
	fail "no publication pub_sub1"
[ "$(psql_node "$SUB1_PORT" "SELECT count(*) FROM accounts")" = 50000 ] || fail "sub1 does not hold the filtered accounts"
[ "$(psql_node "$SUB1_PORT" "SELECT count(*) FROM branches")" = 0 ] || fail "sub1 took branches"
[ "$(psql_node "$SUB2_PORT" "SELECT count(*) FROM accounts")" = 100000 ] || fail "sub2 lacks accounts"
out=$(lab check 2>&1) || fail "check fails on a filtered subscriber: $out"
echo "$out"
echo "$out" | grep -q "filtered" || fail "check does not show the filter"
lab stop >/dev/null || fail "labsup stop failed"
note "ok"
