#!/bin/bash
# 94_probe_locks.sh: the probe's lock counts (pg_locks points) against the
# server's own pg_locks (issue 18).  The probe counts from every process's
# PROCLOCK lists and fast-path slots instead of copying the lock table
# (probe_locks in probe/labsup_probe.c); sessions hold locks of every kind
# it reads: advisory locks and a SHARE table lock (main table), ROW SHARE
# and ROW EXCLUSIVE (fast path), the sessions' virtualxid locks (fast
# path), a transactionid lock, a waiter (ungranted ACCESS EXCLUSIVE) and a
# prepared transaction's locks (a PGPROC of its own, pid 0).  For each
# (locktype, mode, granted) the probe's latest point must equal what
# pg_locks counts at the same time, on some tick within a minute (other
# backends' short-lived locks come and go; a miscount never matches).
. "$(dirname "$0")/../lib.sh"
. "$ROOT/tests/tools/probe.sh"
probe_needs

lab_setup probelocks <<EOC
[hum]
clients = 0

[sampler]
source = probe
interval_ms = 10
locks_interval_ms = 10
EOC
node_conf pub "settings = max_prepared_transactions = 2" || fail "cannot edit the config"
trap 'rc=$?; lab_teardown $rc; rm -rf /dev/shm/labsup.$(id -u).$LAB_NAME.probe; exit $rc' EXIT
NODES="pub sub1 sub2"

lab start || fail "labsup start failed"
wait_for 120 probe_sampling 10 || fail "the samplers do not report the probe sampling"

psql_node "$PUB_PORT" "CREATE TABLE lk_share (i int); CREATE TABLE lk_rows (i int);
    INSERT INTO lk_rows VALUES (1); CREATE TABLE lk_prep (i int)" >/dev/null || fail "cannot make the tables"
note "a prepared transaction holding ROW EXCLUSIVE on lk_prep and its transactionid"
psql_node "$PUB_PORT" "BEGIN; INSERT INTO lk_prep VALUES (1); PREPARE TRANSACTION 'lk_prep'" >/dev/null ||
	fail "cannot prepare a transaction"
note "session A: advisory x5, SHARE on lk_share, ROW SHARE and ROW EXCLUSIVE on lk_rows; B waits"
PGPASSFILE="$LAB_DIR/state/pgpass" psql -X -q -h 127.0.0.1 -p "$PUB_PORT" -U labsup -d labsup >/dev/null 2>&1 <<'EOS' &
BEGIN;
SELECT pg_advisory_xact_lock(k) FROM generate_series(1, 5) k;
LOCK TABLE lk_share IN SHARE MODE;
SELECT * FROM lk_rows FOR SHARE;
INSERT INTO lk_rows VALUES (2);
SELECT pg_sleep(120);
EOS
A=$!
sleep 1
PGPASSFILE="$LAB_DIR/state/pgpass" psql -X -q -h 127.0.0.1 -p "$PUB_PORT" -U labsup -d labsup \
    -c "BEGIN" -c "LOCK TABLE lk_share IN ACCESS EXCLUSIVE MODE" >/dev/null 2>&1 &
B=$!
trap 'rc=$?; kill $A $B 2>/dev/null; lab_teardown $rc; rm -rf /dev/shm/labsup.$(id -u).$LAB_NAME.probe; exit $rc' EXIT
waiting() { [ "$(psql_node "$PUB_PORT" "SELECT count(*) FROM pg_locks WHERE NOT granted")" -ge 1 ]; }
wait_for 30 waiting || fail "session B does not wait"

LOCK_KINDS="advisory,ExclusiveLock,t relation,ShareLock,t relation,RowShareLock,t
relation,RowExclusiveLock,t virtualxid,ExclusiveLock,t transactionid,ExclusiveLock,t
relation,AccessExclusiveLock,f"
# the probe's latest counts and pg_locks', a line each
counts() {
	local g t m gr
	for g in $LOCK_KINDS; do
		IFS=, read -r t m gr <<<"$g"
		want=$(psql_node "$PUB_PORT" "SELECT count(*) FROM pg_locks WHERE locktype = '$t' AND mode = '$m' AND granted = '$gr' AND pid IS DISTINCT FROM pg_backend_pid()")
		got=$(influx_query "SELECT last(count) FROM pg_locks WHERE node = 'pub' AND locktype = '$t' AND mode = '$m' AND granted = '$([ "$gr" = t ] && echo true || echo false)' AND time > now() - 5s" |
		    jq -r '.results[0].series[0].values[0][1] // 0')
		echo "$t $m $gr pg_locks=$want probe=$got"
	done
}
all_match() {
	counts >"$LAB_DIR/counts"
	! awk '{ split($4, a, "="); split($5, b, "="); if (a[2] != b[2]) bad = 1 } END { exit !bad }' "$LAB_DIR/counts"
}
if ! wait_for 60 all_match; then
	cat "$LAB_DIR/counts"
	fail "the probe's lock counts never matched pg_locks' (above, the last try)"
fi
cat "$LAB_DIR/counts"
# the fixture holds what it says: each group counted at least once
awk '{ split($4, a, "="); if (a[2] < 1) { print "no " $1 " " $2 " " $3 " lock held"; bad = 1 } } END { exit bad }' "$LAB_DIR/counts" ||
	fail "the sessions did not hold every kind of lock"
[ "$(psql_node "$PUB_PORT" "SELECT count(*) FROM pg_locks WHERE pid IS NULL AND locktype = 'relation'")" -ge 1 ] ||
	fail "the prepared transaction holds no lock"
note "the probe's snapshots: $(sampler_detail pub)"
psql_node "$PUB_PORT" "ROLLBACK PREPARED 'lk_prep'" >/dev/null
note "ok"
