#!/bin/bash
# hum.sh: hum at rate 0 with C clients against pgbench -M prepared -c C
# running the same TPC-B-like transaction on the same lab tables,
# interleaved, on a real lab (scale 10, no hum or samplers of its own).
# Prints: bench: hum_tps = N tx/s (baseline pgbench = N tx/s, ratio R)
. "$(dirname "$0")/harness-lab.bash" benchhum
SECS=${HUM_SECS:-8}
ROUNDS=${HUM_ROUNDS:-3}
# the harness's own config: the same lab, with the hum to measure
hconf="$LAB_DIR/harness.conf"
sed '/^\[hum\]/,$d' "$LAB_CONF" >"$hconf"
printf '[hum]\nclients = %d\nrate = 0\nworkload = tpcb\n' "$C" >>"$hconf"

script="$LAB_DIR/tpcb.sql"
cat >"$script" <<'EOS'
\set aid random(1, 100000 * :scale)
\set bid random(1, 1 * :scale)
\set tid random(1, 10 * :scale)
\set delta random(-5000, 5000)
BEGIN;
UPDATE accounts SET abalance = abalance + :delta WHERE aid = :aid;
SELECT abalance FROM accounts WHERE aid = :aid;
UPDATE tellers SET tbalance = tbalance + :delta WHERE tid = :tid;
UPDATE branches SET bbalance = bbalance + :delta WHERE bid = :bid;
INSERT INTO history (tid, bid, aid, delta, mtime) VALUES (:tid, :bid, :aid, :delta, CURRENT_TIMESTAMP);
END;
EOS
scale=$(psql_node "$PUB_PORT" "SELECT count(*) FROM branches")

hum_round() {
	"$HARNESS" -c "$hconf" -k hum -n "$C" -q -t "$SECS" |
	    awk -v s="$SECS" '/^status/ { for (i = 1; i <= NF; i++)
		if ($i ~ /^c0=/) { sub("c0=", "", $i); t += $i } }
		END { printf "%.0f\n", t / s }'
}
# pgbench connects the way the hum does (lab_conninfo): through the
# server's unix socket on the local backend
pgbench_round() {
	PGPASSFILE="$LAB_DIR/state/pgpass" pgbench -h "$LAB_DIR/state/pg/pub" -p "$PUB_PORT" \
	    -U labsup -n -M prepared -c "$C" -T "$SECS" -D scale="$scale" \
	    -f "$script" labsup 2>/dev/null |
	    awk '/^tps/ { printf "%.0f\n", $3 }'
}
hum_sum=0 pg_sum=0
for r in $(seq 1 "$ROUNDS"); do
	h=$(hum_round); p=$(pgbench_round)
	echo "  round $r: hum $h tx/s, pgbench $p tx/s" >&2
	hum_sum=$(( hum_sum + h )); pg_sum=$(( pg_sum + ${p:-0} ))
done
[ "$pg_sum" -gt 0 ] || fail "pgbench did not run"
awk -v h="$hum_sum" -v p="$pg_sum" -v n="$ROUNDS" -v c="$C" 'BEGIN {
	printf "bench: hum_tps = %.0f tx/s (baseline pgbench = %.0f tx/s, ratio %.2f) [%d clients]\n",
	    h / n, p / n, h / p, c }'
