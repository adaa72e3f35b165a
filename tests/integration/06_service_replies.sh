#!/bin/bash
# tags: faults
# 06_service_replies.sh: InfluxDB answering badly.  The writer (driven by
# build/bench/writer_harness, no lab needed) posts to tests/tools/badhttp,
# which in turn hangs (accepts, never answers), answers garbage, a
# truncated body, HTTP 500, resets the connection, or dribbles a byte every
# 2 s.  The writer must time out, retry and spool -- never crash, never
# hang for good -- and once a real InfluxDB takes the port every sample
# arrives exactly once from the spool.
. "$(dirname "$0")/../lib.sh"
H="${WRITER_HARNESS:-$ROOT/build/bench/writer_harness}"
[ -x /usr/bin/influxd ] || skip "influxd (InfluxDB 1.x) is not installed"
command -v jq >/dev/null || skip "jq is not installed"
if [ ! -x "$H" ]; then
	make -s -C "$ROOT" build/bench/writer_harness >/dev/null 2>&1 ||
		fail "$H is missing and does not build (make build/bench/writer_harness)"
fi

WDIR=$(mktemp -d /tmp/labsup-replies.XXXXXX)
free_port PORT
SEG="/labsup-replies.$$"
RUNNER="" BAD=""
cleanup() {
	local rc=$?
	[ -n "$BAD" ] && kill "$BAD" 2>/dev/null
	if [ -n "$RUNNER" ]; then kill -TERM "$RUNNER" 2>/dev/null; wait "$RUNNER" 2>/dev/null; fi
	"$ROOT/scripts/influxd-run.sh" "$WDIR/influx" "$PORT" stop >/dev/null 2>&1
	"$H" destroy "$SEG" 2>/dev/null
	[ $rc -ne 0 ] && { echo "---- writer log (last 30 lines) ----"; tail -n 30 "$WDIR/writer.log"; }
	[ -n "${KEEP_LAB:-}" ] || rm -rf "$WDIR"
	exit $rc
}
trap cleanup EXIT

${CC:-cc} -std=c11 -D_GNU_SOURCE -O1 -o "$WDIR/badhttp" "$ROOT/tests/tools/badhttp.c" ||
	fail "cannot build tests/tools/badhttp.c"
counter() { "$H" counters "$SEG" | sed -n "s/^$1=//p"; }
bad_server() { # MODE: (re)start badhttp on PORT
	[ -n "$BAD" ] && { kill "$BAD"; wait "$BAD" 2>/dev/null; }
	"$WDIR/badhttp" "$PORT" "$1" 2>>"$WDIR/badhttp.log" &
	BAD=$!
	wait_for 10 bash -c "(exec 3<>/dev/tcp/127.0.0.1/$PORT)" || fail "badhttp $1 does not listen on $PORT"
}
writer_pid() { cat "$WDIR/writer.pid" 2>/dev/null; }

mkdir -p "$WDIR/state"
cat >"$WDIR/w.conf" <<EOC
[lab]
name = replies$$
state_dir = $WDIR/state

[influxdb]
port = $PORT
database = replies

[writer]
timeout_ms = 1500
flush_ms = 100
EOC
"$H" create "$SEG" 4 4096 || fail "cannot create segment $SEG"
bad_server hang
"$H" run "$SEG" "$WDIR/w.conf" "$WDIR/writer.pid" >"$WDIR/writer.log" 2>&1 &
RUNNER=$!
wait_for 20 test -s "$WDIR/writer.pid" || fail "the writer did not start"
wpid0=$(writer_pid)
"$H" fill "$SEG" warmup 10 || fail "fill"
wait_for 60 bash -c "[ \$($H counters $SEG | sed -n 's/^errors=//p') -gt 0 ] || [ \$($H counters $SEG | sed -n 's/^retries=//p') -gt 0 ]" ||
	fail "a hanging InfluxDB: no error or retry counted"

N=0
for mode in hang garbage truncated error500 reset slow; do
	note "InfluxDB that does: $mode"
	bad_server "$mode"
	spooled0=$(counter spooled)
	"$H" fill "$SEG" "s_$mode" 3000 || fail "fill $mode"
	N=$((N + 3000))
	# timeouts are 1.5 s: the writer gives up on each post and spools
	wait_for 120 bash -c "[ \$($H counters $SEG | sed -n 's/^spooled=//p') -ge $((spooled0 + 3000)) ]" ||
		fail "$mode: the writer did not spool the 3000 points: $("$H" counters "$SEG" | tr '\n' ' ')"
	# once spooling, the writer probes InfluxDB now and then: wait for a
	# post (or probe) to meet this mode, and a little longer
	wait_for 120 grep -q "badhttp $mode: connection" "$WDIR/badhttp.log" ||
		fail "$mode: the writer never tried InfluxDB again"
	sleep 3
	[ "$(counter influx_up)" = 0 ] || fail "$mode: the writer thinks InfluxDB is up"
	[ "$(counter points)" = 0 ] || fail "$mode: points counted as written to a server that never took them"
	kill -0 "$RUNNER" 2>/dev/null || fail "$mode: the writer harness is gone"
	[ "$(writer_pid)" = "$wpid0" ] || fail "$mode: the writer crashed and was restarted: $(grep 'killed by signal' "$WDIR/writer.log")"
	grep -q "killed by signal" "$WDIR/writer.log" && fail "$mode: the writer crashed: $(grep 'killed by signal' "$WDIR/writer.log")"
done

note "a real InfluxDB on the port: the spool is replayed, every sample once"
kill "$BAD"; wait "$BAD" 2>/dev/null; BAD=""
"$ROOT/scripts/influxd-run.sh" "$WDIR/influx" "$PORT" start >/dev/null || fail "influxd did not start on $PORT"
complete() { # STREAM N: n = 0..N-1 each exactly once
	local got
	got=$(curl -sS -G "http://127.0.0.1:$PORT/query" --data-urlencode "db=replies" \
		--data-urlencode "q=SELECT count(n), sum(n) FROM labsup_test WHERE stream='$1'" |
		jq -r '.results[0].series[0].values[0] // [0,0,0] | "\(.[1]) \(.[2])"')
	[ "$got" = "$2 $(( $2 * ($2 - 1) / 2 ))" ]
}
wait_for 180 complete warmup 10 || fail "stream warmup incomplete after the replay"
for mode in hang garbage truncated error500 reset slow; do
	wait_for 180 complete "s_$mode" 3000 || fail "stream s_$mode incomplete after the replay"
done
wait_for 60 bash -c "[ \$($H counters $SEG | sed -n 's/^spool_bytes=//p') = 0 ]" || fail "spool not emptied"
[ "$(counter spool_dropped)" = 0 ] || fail "the spool dropped points"
[ "$(writer_pid)" = "$wpid0" ] || fail "the writer was restarted during the test"
echo "service replies: $N points through six kinds of broken InfluxDB, all delivered"
