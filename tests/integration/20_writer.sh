#!/bin/bash
# tags: sanitize
# 20_writer.sh: the writer against a real influxd (scripts/influxd-run.sh),
# driven by build/bench/writer_harness (no lab needed):
#   - the database is missing at first: the writer creates it
#   - every record kind arrives with its measurement, tags, fields, types
#   - a known count of sequence-numbered samples arrives complete
#   - influxd stopped, samples keep coming, influxd back: every sample
#     arrives exactly once and the spool is gone afterwards
#   - the writer SIGKILLed mid-stream (twice): after restarts nothing is missing
#   - a full spool (spool_max_mb = 1) drops the oldest and counts them
#   - a batch InfluxDB refuses (400, field type conflict) is set aside in
#     the reject file, counted, and writing goes on
# No timed assertions: everything polls with generous deadlines.
source "$(dirname "$0")/../lib.sh"

H="${WRITER_HARNESS:-$ROOT/build/bench/writer_harness}"
[ -x /usr/bin/influxd ] || skip "influxd (InfluxDB 1.x) is not installed"
[ -x "$H" ] || fail "$H is missing: build it with make $H (make test does)"
command -v jq >/dev/null || skip "jq is not installed"

WDIR=$(mktemp -d /tmp/labsup-writer.XXXXXX)
free_port INFLUX_PORT
SEG="/labsup-wtest.$$"
SEG2="/labsup-wtest2.$$"
RUNNERS=()

cleanup() {
	local rc=$? p
	for p in "${RUNNERS[@]}"; do kill -TERM "$p" 2>/dev/null; done
	for p in "${RUNNERS[@]}"; do wait "$p" 2>/dev/null; done
	"$ROOT/scripts/influxd-run.sh" "$WDIR/influx" "$INFLUX_PORT" stop
	"$H" destroy "$SEG" 2>/dev/null
	"$H" destroy "$SEG2" 2>/dev/null
	if [ $rc -ne 0 ]; then
		for f in "$WDIR"/*.log; do
			echo "---- $f (last 20 lines) ----"; tail -n 20 "$f"
		done
	fi
	[ -n "${KEEP_LAB:-}" ] || rm -rf "$WDIR"
	exit $rc
}
trap cleanup EXIT

influx() { "$ROOT/scripts/influxd-run.sh" "$WDIR/influx" "$INFLUX_PORT" "$1" ||
	fail "influxd $1 failed on port $INFLUX_PORT"; }

q() {
	curl -sS -G "http://127.0.0.1:$INFLUX_PORT/query" \
		--data-urlencode "db=${QDB:-wtest}" --data-urlencode "q=$1"
}

# counter SEG NAME: a writer counter or harness figure
counter() { "$H" counters "$1" | sed -n "s/^$2=//p"; }

# stream_stats STREAM: "count sum" of n, "0 0" when nothing is there
stream_stats() {
	q "SELECT count(n), sum(n) FROM labsup_test WHERE stream='$1'" |
		jq -r '.results[0].series[0].values[0] // [0,0,0] | "\(.[1]) \(.[2])"'
}

# complete STREAM N: every n in 0..N-1 exactly once (count and sum)
complete() {
	[ "$(stream_stats "$1")" = "$2 $(( $2 * ($2 - 1) / 2 ))" ]
}

write_conf() { # FILE STATE_DIR DATABASE [extra writer lines]
	mkdir -p "$2"
	cat >"$1" <<EOC
[lab]
name = wtest$$
state_dir = $2

[influxdb]
port = $INFLUX_PORT
database = $3

[writer]
timeout_ms = 3000
${4:-}
EOC
}

start_writer() { # SEG CONF NAME
	"$H" run "$1" "$2" "$WDIR/$3.pid" >"$WDIR/$3.log" 2>&1 &
	RUNNERS+=($!)
}

note "influxd on 127.0.0.1:$INFLUX_PORT, no database yet"
influx start
STATE="$WDIR/state"
write_conf "$WDIR/w.conf" "$STATE" wtest
"$H" create "$SEG" 4 4096 || fail "cannot create segment $SEG"
start_writer "$SEG" "$WDIR/w.conf" writer

note "every record kind"
"$H" fill-all "$SEG" || fail "fill-all"
"$H" fill "$SEG" count 20000 || fail "fill count"
wait_for 60 complete count 20000 ||
	fail "count stream incomplete: $(stream_stats count) (want 20000 and its sum)"
grep -q 'creating it' "$WDIR/writer.log" ||
	fail "the writer did not say it created the missing database"

# row MEAS WHERE: the first point as {column: value}
row() {
	q "SELECT * FROM \"$1\" $2" | jq -c '.results[0].series[0] as $s |
		[$s.columns, $s.values[0]] | transpose | map({(.[0]): .[1]}) | add'
}
# check MEAS WHERE 'TAGS' 'FIELD:TYPE ...' 'jq condition on the row'
check() {
	local m=$1 where=$2 tags=$3 fields=$4 cond=$5 got r
	got=$(q "SHOW TAG KEYS FROM \"$m\"" | jq -r '[.results[0].series[0].values[][0]] | join(" ")')
	[ "$got" = "$tags" ] || fail "$m: tag keys \"$got\", want \"$tags\""
	got=$(q "SHOW FIELD KEYS FROM \"$m\"" |
		jq -r '[.results[0].series[0].values[] | "\(.[0]):\(.[1])"] | sort | join(" ")')
	want=$(tr ' ' '\n' <<<"$fields" | sort | paste -sd' ')
	[ "$got" = "$want" ] || fail "$m: fields \"$got\", want \"$want\""
	r=$(row "$m" "$where")
	jq -e "$cond" <<<"$r" >/dev/null || fail "$m: point $r does not satisfy $cond"
}
check pg_locks "" "granted locktype mode node" "count:integer seq:integer" \
	'.granted == "true" and .locktype == "relation" and .mode == "AccessShareLock" and .node == "pub" and .count == 3'
check pg_activity "" "node state wait_event wait_event_type" "count:integer seq:integer" \
	'.node == "pub" and .state == "idle in transaction" and .wait_event == "ClientRead" and .wait_event_type == "Client" and .count == 2'
check pg_blocking "" "node" \
	"waiting:integer pairs:integer longest_wait_ms:float deadlocks:integer seq:integer" \
	'.node == "pub" and .waiting == 1 and .pairs == 2 and .longest_wait_ms == 12.5 and .deadlocks == 4'
check replication "" "node state subscription" "lag_bytes:integer apply_lag_ms:float seq:integer" \
	'.node == "sub1" and .subscription == "sub_sub1" and .state == "streaming" and .lag_bytes == 1234 and .apply_lag_ms == 5.5'
check hum "" "client node" \
	"tx:integer err_serialization:integer err_deadlock:integer err_other:integer latency_p50_ms:float latency_p99_ms:float latency_max_ms:float schedule_lag_ms:float reconnects:integer seq:integer" \
	'.client == "0" and .node == "pub" and .tx == 10 and .err_serialization == 1 and .err_deadlock == 2 and .err_other == 3 and .latency_p50_ms == 0.5 and .latency_p99_ms == 1.5 and .latency_max_ms == 2.5 and .schedule_lag_ms == 0.25 and .reconnects == 1'
check service "" "service" \
	"cpu_pct:float mem_bytes:integer net_rx_bytes:integer net_tx_bytes:integer up:integer seq:integer" \
	'.service == "pub" and .cpu_pct == 12.5 and .mem_bytes == 1048576 and .net_rx_bytes == 100 and .net_tx_bytes == 200 and .up == 1'
check labsup "WHERE worker='hum 0'" "worker" \
	"ring_drops:integer spool_bytes:integer deadline_misses:integer restarts:integer points_written:integer errors:integer value:integer seq:integer" \
	'.worker == "hum 0" and .ring_drops == 1 and .spool_bytes == 2 and .deadline_misses == 3 and .restarts == 4 and .points_written == 5 and .errors == 6 and .value == 7'
check events "" "kind" "text:string seq:integer" \
	'.kind == "chaos" and .text == "rate x2 \"burst\", a=b\\c"'
check labsup_test "WHERE stream='we,ird= na\\\\me'" "stream" "n:integer seq:integer" \
	'.stream == "we,ird= na\\me" and .n == 42 and (.seq | type) == "number"'
# the writer's own figures and the other lanes' drops, once a second
harness_value() { row labsup "WHERE worker='harness' AND points_written > 0 ORDER BY time DESC" | jq '.points_written // 0'; }
wait_for 30 eval '[ "$(harness_value)" -ge 20009 ]' ||
	fail "no labsup point for worker=harness carrying its lane's figures"
r=$(row labsup "WHERE worker='writer' ORDER BY time DESC")
jq -e '.points_written > 0 and .ring_drops == 0 and .spool_bytes == 0 and .deadline_misses == null' <<<"$r" >/dev/null ||
	fail "labsup worker=writer point is wrong: $r"

note "influxd down for a while: samples go to the spool"
influx stop
"$H" fill "$SEG" outage 20000 || fail "fill outage"
wait_for 60 eval '[ "$(counter "$SEG" harness_committed)" -ge 40009 ] &&
	[ "$(counter "$SEG" influx_up)" = 0 ] && [ "$(counter "$SEG" spooled)" -ge 20000 ]' ||
	fail "the writer did not spool while influxd was down: $("$H" counters "$SEG" | tr '\n' ' ')"
[ -d "$STATE/writer-spool" ] || fail "no spool directory while influxd is down"
"$H" counters "$SEG" | grep -q '^detail=influxdb down, spooling' ||
	fail "status does not say it is spooling: $("$H" counters "$SEG" | grep detail)"

note "influxd back: the spool is replayed while new samples flow"
influx start
"$H" fill "$SEG" after 10000 || fail "fill after"
wait_for 90 eval 'complete outage 20000 && complete after 10000 &&
	[ "$(counter "$SEG" spool_bytes)" = 0 ] && [ ! -e "$STATE/writer-spool" ]' ||
	fail "after the outage: outage $(stream_stats outage), after $(stream_stats after), $("$H" counters "$SEG" | tr '\n' ' ')"
[ "$(counter "$SEG" replayed)" -ge 20000 ] || fail "replayed counter $(counter "$SEG" replayed) < 20000"

note "writer SIGKILLed mid-stream, twice"
"$H" fill "$SEG" kill 60000 >"$WDIR/fill-kill.log" 2>&1 &
FILL=$!
for target in 15000 35000; do
	wait_for 60 eval '[ "$(counter "$SEG" harness_committed)" -ge $((50009 + target)) ]' ||
		fail "the stream did not reach $target"
	kill -KILL "$(cat "$WDIR/writer.pid")"
	note "killed the writer at about $target"
	sleep 0.5
done
wait "$FILL" || fail "fill kill"
wait_for 90 complete kill 60000 ||
	fail "after SIGKILLs: kill stream $(stream_stats kill), want 60000 and its sum"
grep -q 'restarting' "$WDIR/writer.log" || fail "the harness never restarted the writer"

note "a full spool drops the oldest and counts them"
write_conf "$WDIR/w2.conf" "$WDIR/state2" wtest2 "spool_max_mb = 1"
"$H" create "$SEG2" 4 8192 || fail "cannot create segment $SEG2"
# for the reject test below: pg_locks count is a string in this database
QDB=wtest2 q 'CREATE DATABASE wtest2' >/dev/null
curl -sS "http://127.0.0.1:$INFLUX_PORT/write?db=wtest2" \
	--data-binary 'pg_locks,node=x count="many"' || fail "cannot seed wtest2"
influx stop
start_writer "$SEG2" "$WDIR/w2.conf" writer2
"$H" fill "$SEG2" full 400000 || fail "fill full"
wait_for 90 eval '[ "$(counter "$SEG2" harness_committed)" = 400000 ]' ||
	fail "the writer did not drain the full stream: $("$H" counters "$SEG2" | tr '\n' ' ')"
# what the writer took from the lane may still be in its batch: it drops
# the spool's oldest when that batch goes to the spool
wait_for 60 eval '[ "$(counter "$SEG2" spool_dropped)" -gt 0 ]' ||
	fail "spool over its cap dropped nothing: $("$H" counters "$SEG2" | tr '\n' ' ')"
[ "$(counter "$SEG2" spool_bytes)" -le 1048576 ] ||
	fail "spool is $(counter "$SEG2" spool_bytes) bytes, over its 1 MB cap"
influx start
wait_for 90 eval '[ "$(counter "$SEG2" spool_bytes)" = 0 ]' ||
	fail "the full spool was not replayed: $("$H" counters "$SEG2" | tr '\n' ' ')"
spooled=$(counter "$SEG2" spooled) replayed=$(counter "$SEG2" replayed)
dropped=$(counter "$SEG2" spool_dropped)
[ "$spooled" -eq $(( replayed + dropped )) ] ||
	fail "spooled $spooled != replayed $replayed + dropped $dropped"
got=$(QDB=wtest2 stream_stats full | cut -d' ' -f1)
[ "$got" -gt 0 ] && [ "$got" -lt 400000 ] && [ $(( got + dropped )) -ge 400000 ] ||
	fail "full stream: $got arrived, $dropped dropped, of 400000"
note "full spool: $got arrived, $dropped dropped and counted"

note "a batch InfluxDB refuses is set aside and writing goes on"
"$H" fill-all "$SEG2" || fail "fill-all into $SEG2"
wait_for 60 eval '[ "$(counter "$SEG2" rejected)" -gt 0 ]' ||
	fail "no rejected points counted: $("$H" counters "$SEG2" | tr '\n' ' ')"
zcat "$WDIR/state2/writer-rejects.lp.gz" | grep -q '^pg_locks,granted=true' ||
	fail "the refused batch is not in writer-rejects.lp.gz"
grep -q 'HTTP 400: partial write: field type conflict' "$WDIR/writer2.log" ||
	fail "InfluxDB's reason was not logged"
"$H" fill "$SEG2" goes_on 1000 || fail "fill goes_on"
wait_for 60 eval 'QDB=wtest2 complete goes_on 1000' ||
	fail "writing did not go on after a reject: $(QDB=wtest2 stream_stats goes_on)"

note "SIGTERM: the writers flush and exit 0"
for p in "${RUNNERS[@]}"; do
	kill -TERM "$p"
	wait "$p"; rc=$?
	[ $rc -eq 0 ] || fail "writer harness $p exited $rc after SIGTERM"
done
RUNNERS=()
echo "PASS: writer"
