#!/bin/bash
# 69_own_schema.sh: examples/shop on a real lab -- your own schema (a SQL
# file) and data (a directory of CSV files) instead of pgbench's: loaded
# on the publisher and replicated, a row filter on your table, your hum
# script on your tables, and `labsup check` agreeing row for row.
. "$(dirname "$0")/../lib.sh"
command -v initdb >/dev/null || skip "PostgreSQL 15 server binaries not installed"
command -v influxd >/dev/null || skip "influxd not installed"
command -v jq >/dev/null || skip "jq not installed"

EX="$ROOT/examples/shop"
lab_setup ownschema <<EOF
[hum]
clients = 2
rate = 20
workload = script
script = $EX/hum.sql

[sampler]
enabled = no
EOF
# lab_setup's [replication] section gets the schema and the data
python3 - "$LAB_CONF" "$EX" <<'PY'
import sys
p, ex = sys.argv[1:3]
s = open(p).read()
s = s.replace("[replication]\n", "[replication]\nschema = %s/schema.sql\n"
    "data = %s/data\n" % (ex, ex), 1)
open(p, "w").write(s)
PY
node_conf sub1 "row_filter = customers: region = 'eu'" || fail "cannot edit the config"

note "config check: the example's files are fine; a bad schema file is file:line"
"$LABSUP" config check -c "$LAB_CONF" >/dev/null 2>&1 ||
	fail "config check: $("$LABSUP" config check -c "$LAB_CONF" 2>&1 | tail -1)"
printf 'CREATE TABLE ok (id int PRIMARY KEY);\n\nCREATE TABLE "Mixed" (id int);\n' >"$LAB_DIR/bad.sql"
sed "s|^schema = .*|schema = $LAB_DIR/bad.sql|" "$LAB_CONF" >"$LAB_DIR/bad.conf"
out=$("$LABSUP" config check -c "$LAB_DIR/bad.conf" 2>&1) && fail "config check accepted bad.sql"
case "$out" in *'bad.sql:3: table "Mixed": labsup takes plain names'*) ;; *) fail "config check said: $out" ;; esac
sed 's/^workload = script$/workload = tpcb/' "$LAB_CONF" >"$LAB_DIR/bad2.conf"
out=$("$LABSUP" config check -c "$LAB_DIR/bad2.conf" 2>&1) && fail "config check accepted tpcb on your schema"
case "$out" in *"workload = tpcb runs on the pgbench tables"*) ;; *) fail "config check said: $out" ;; esac

lab start --timeout 240 >/dev/null || fail "labsup start failed"
q() { psql_node "$1" "$2"; }
note "the CSV rows are on the publisher and on both subscribers (sub1: the eu customers only)"
[ "$(q "$PUB_PORT" "SELECT count(*) FROM customers")" = 8 ] || fail "pub has $(q "$PUB_PORT" "SELECT count(*) FROM customers") customers"
[ "$(q "$PUB_PORT" "SELECT title FROM products WHERE id = 1")" = "Keyboard, mechanical" ] || fail "a quoted CSV field was not loaded as it is"
synced() { [ "$(q "$SUB2_PORT" "SELECT count(*) FROM customers")" = 8 ] &&
	[ "$(q "$SUB1_PORT" "SELECT count(*) FROM customers")" = 3 ]; }
wait_for 120 synced || fail "subscribers have $(q "$SUB2_PORT" "SELECT count(*) FROM customers") and $(q "$SUB1_PORT" "SELECT count(*) FROM customers") customers (want 8 and 3)"
[ "$(q "$SUB1_PORT" "SELECT count(*) FROM customers WHERE region <> 'eu'")" = 0 ] || fail "sub1 has non-eu customers"
[ "$(q "$PUB_PORT" "SELECT count(*) FROM pg_tables WHERE tablename IN ('accounts', 'branches')")" = 0 ] || fail "the pgbench tables were made too"

note "the shop's hum script adds orders, replicated"
more() { [ "$(q "$PUB_PORT" "SELECT count(*) FROM orders")" -ge 60 ]; }
wait_for 300 more || fail "only $(q "$PUB_PORT" "SELECT count(*) FROM orders") orders on the publisher"
errs=$(influx_value "SELECT sum(err_serialization) + sum(err_deadlock) + sum(err_other) FROM hum")
[ "$errs" = 0 ] || fail "the shop's hum had $errs errors"

note "labsup check compares the shop's tables, with sub1's row filter"
lab check >"$LAB_DIR/check" 2>&1 || fail "labsup check failed: $(tail -5 "$LAB_DIR/check")"
grep -q '^customers' "$LAB_DIR/check" && grep -q '^orders' "$LAB_DIR/check" ||
	fail "check did not compare the shop's tables: $(cat "$LAB_DIR/check")"
n=$(q "$PUB_PORT" "SELECT count(*) FROM orders")
lab stop >/dev/null || fail "stop failed"
echo "own schema: 3 tables from schema.sql, CSV data replicated (sub1 filtered to 3 of 8 customers), $n orders by the shop's hum, check passes"
