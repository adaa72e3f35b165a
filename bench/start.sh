#!/bin/bash
# start.sh: time from `labsup start` to a lab with every service ready and
# every subscription in state r (labsup start returns only then), at
# scale 10, against the same setup scripted with initdb/pg_ctl/psql in the
# same run (initdb in parallel too, server-side data generation: a strong
# baseline).  Prints:
#   bench: start_to_ready = N s (baseline scripted = N s, ratio R)
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$ROOT/tests/lib.sh"
SCALE=${BENCH_SCALE:-10}
PGBIN=/usr/lib/postgresql/15/bin
[ -x "$PGBIN/postgres" ] || { echo "bench: start_to_ready SKIPPED (no PostgreSQL 15)" >&2; exit 0; }

now() { date +%s.%N; }

# ---- labsup ----
LAB_SCALE=$SCALE lab_setup bench-start </dev/null
t0=$(now)
"$LABSUP" start -c "$LAB_CONF" >/dev/null || fail "labsup start failed (see $LAB_DIR/state/labsup.log)"
t1=$(now)
"$LABSUP" check -c "$LAB_CONF" >/dev/null || fail "the benchmarked lab does not pass labsup check"
"$LABSUP" stop -c "$LAB_CONF" --purge >/dev/null
labsup_s=$(echo "$t1 - $t0" | bc -l)

# ---- the scripted baseline ----
B=$(mktemp -d /tmp/labsup-bench-base.XXXXXX)
chmod 0711 "$B"
as_pg() {
	if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
PW=$(head -c 18 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')
printf '*:*:*:labsup:%s\n' "$PW" >"$B/pgpass"; chmod 600 "$B/pgpass"
cp "$B/pgpass" "$B/pgpass.srv"
[ "$(id -u)" = 0 ] && chown postgres "$B/pgpass.srv"
free_port p0; free_port p1; free_port p2; free_port iport; free_port bport
ports=("$p0" "$p1" "$p2")
base_cleanup() {
	for i in 0 1 2; do as_pg "$PGBIN/pg_ctl" -D "$B/n$i" -m immediate stop >/dev/null 2>&1; done
	[ -n "${ipid:-}" ] && kill "$ipid" 2>/dev/null
	rm -rf "$B"
}
trap 'base_cleanup; lab_cleanup' EXIT
q() { PGPASSFILE=$B/pgpass psql -XAtq -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$1" -U labsup -d "${3:-labsup}" -c "$2"; }

t0=$(now)
node_pids=()
for i in 0 1 2; do
	(
		mkdir -p "$B/n$i"; [ "$(id -u)" = 0 ] && chown postgres "$B/n$i"; chmod 700 "$B/n$i"
		as_pg "$PGBIN/initdb" -D "$B/n$i" -U labsup --auth=trust --no-sync -E UTF8 --locale=C >/dev/null
		cat >>"$B/n$i/postgresql.conf" <<EOC
listen_addresses = '127.0.0.1'
port = ${ports[$i]}
unix_socket_directories = '$B/n$i'
wal_level = logical
max_wal_senders = 20
max_replication_slots = 20
max_worker_processes = 24
max_logical_replication_workers = 12
EOC
		printf 'local all all trust\nhost all all 127.0.0.1/32 scram-sha-256\n' >"$B/n$i/pg_hba.conf"
		as_pg "$PGBIN/pg_ctl" -D "$B/n$i" -l "$B/n$i/server.log" -w start >/dev/null
		as_pg psql -XAtq -h "$B/n$i" -p "${ports[$i]}" -U labsup -d postgres \
			-c "ALTER ROLE labsup PASSWORD '$PW'" -c "CREATE DATABASE labsup"
	) &
	node_pids+=($!)
done
mkdir -p "$B/influx"
cat >"$B/influx/influxd.conf" <<EOC
reporting-disabled = true
bind-address = "127.0.0.1:$bport"
[meta]
  dir = "$B/influx/meta"
[data]
  dir = "$B/influx/data"
  wal-dir = "$B/influx/wal"
[http]
  bind-address = "127.0.0.1:$iport"
  log-enabled = false
EOC
influxd run -config "$B/influx/influxd.conf" >"$B/influx/log" 2>&1 &
ipid=$!
wait_for 60 curl -sf "http://127.0.0.1:$iport/ping" || fail "baseline influxd did not start"
curl -sf -XPOST "http://127.0.0.1:$iport/query" --data-urlencode "q=CREATE DATABASE labsup" >/dev/null
for p in "${node_pids[@]}"; do wait "$p" || fail "baseline node setup failed"; done
SCHEMA="CREATE TABLE branches (bid int PRIMARY KEY, bbalance int NOT NULL DEFAULT 0, filler char(88));
CREATE TABLE tellers (tid int PRIMARY KEY, bid int NOT NULL, tbalance int NOT NULL DEFAULT 0, filler char(84));
CREATE TABLE accounts (aid int PRIMARY KEY, bid int NOT NULL, abalance int NOT NULL DEFAULT 0, filler char(84));
CREATE TABLE history (hid bigserial PRIMARY KEY, tid int, bid int, aid int, delta int, mtime timestamptz, filler char(22));
CREATE TABLE heartbeat (id int PRIMARY KEY, ts timestamptz NOT NULL, seq bigint NOT NULL);"
q "${ports[0]}" "$SCHEMA
INSERT INTO branches (bid, bbalance) SELECT g, 0 FROM generate_series(1, $SCALE) g;
INSERT INTO tellers (tid, bid, tbalance) SELECT g, (g - 1) / 10 + 1, 0 FROM generate_series(1, 10 * $SCALE) g;
INSERT INTO accounts (aid, bid, abalance, filler) SELECT g, (g - 1) / 100000 + 1, 0, '' FROM generate_series(1, 100000 * $SCALE) g;
INSERT INTO heartbeat VALUES (1, now(), 0);
CREATE PUBLICATION labsup_pub FOR TABLE branches, tellers, accounts, history, heartbeat;" || fail "baseline load failed"
for i in 1 2; do
	q "${ports[$i]}" "$SCHEMA" || fail "baseline schema on node $i failed"
	q "${ports[$i]}" "CREATE SUBSCRIPTION sub_n$i CONNECTION 'host=127.0.0.1 port=${ports[0]} dbname=labsup user=labsup passfile=$B/pgpass.srv' PUBLICATION labsup_pub" ||
		fail "baseline subscription on node $i failed"
done
for i in 1 2; do
	wait_for 300 bash -c "[ \"\$(PGPASSFILE=$B/pgpass psql -XAtq -h 127.0.0.1 -p ${ports[$i]} -U labsup -d labsup -c \"SELECT count(*) FILTER (WHERE srsubstate <> 'r') || '/' || count(*) FROM pg_subscription_rel\")\" = 0/5 ]" ||
		fail "baseline subscription $i did not sync"
done
t1=$(now)
base_s=$(echo "$t1 - $t0" | bc -l)
printf 'bench: start_to_ready = %.2f s (baseline scripted = %.2f s, ratio %.2f)\n' \
	"$labsup_s" "$base_s" "$(echo "$labsup_s / $base_s" | bc -l)"
