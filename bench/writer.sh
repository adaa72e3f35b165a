#!/bin/bash
# writer.sh: the writer against a real local influxd (scripts/influxd-run.sh),
# through build/bench/writer_harness.
#   writer_points: the writer draining a lane pre-filled with N labsup_test
#     points (default batch 5000, keep-alive, gzip), vs curl posting the
#     same points, already formatted, in the same batch size, one curl per
#     batch, in the same run (rounds interleaved; best of each).
#   writer_cpu_per_point: the writer process's whole CPU (format, gzip,
#     HTTP) per point; writer_format_cpu: lp_format() alone.  Target < 1 us.
#   e2e_latency_p99: sample timestamp to readable by a query, at the
#     default flush settings (100 samples/s for 10 s).  Target < 1000 ms.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$ROOT/tests/lib.sh"
BUILD=${BUILD:-build}
case $BUILD in /*) H=$BUILD/bench/writer_harness ;; *) H=$ROOT/$BUILD/bench/writer_harness ;; esac
[ -x "$H" ] || { echo "bench/writer.sh: build $H first (make bench)" >&2; exit 1; }
[ -x /usr/bin/influxd ] || { echo "bench: writer skipped: influxd is not installed" >&2; exit 0; }
N=${WRITER_POINTS:-200000}
BATCH=5000
ROUNDS=${WRITER_ROUNDS:-3}

DIR=$(mktemp -d /tmp/labsup-bench-writer.XXXXXX)
free_port PORT
cleanup() {
	"$ROOT/scripts/influxd-run.sh" "$DIR/influx" "$PORT" stop
	rm -rf "$DIR"
}
trap cleanup EXIT
"$ROOT/scripts/influxd-run.sh" "$DIR/influx" "$PORT" start || exit 1
URL="http://127.0.0.1:$PORT"
curl -sS -o /dev/null -XPOST "$URL/query" --data-urlencode 'q=CREATE DATABASE wbench' || exit 1
mkdir -p "$DIR/state"
cat >"$DIR/w.conf" <<EOC
[lab]
name = wbench$$
state_dir = $DIR/state

[influxdb]
port = $PORT
database = wbench
EOC

# field VALUE-NAME LINE: the value of name=value in a harness line
field() { sed -n "s/.*\b$1=\([^ ]*\).*/\1/p" <<<"$2"; }

best_w=0 best_c=0 wcpu="" fcpu=""
for r in $(seq 1 "$ROUNDS"); do
	out=$("$H" bench "$DIR/w.conf" "$N" "w$r" 2>"$DIR/writer.log") ||
		{ echo "bench/writer.sh: writer round $r failed: $out" >&2; cat "$DIR/writer.log" >&2; exit 1; }
	kps=$(field kpoints_per_s "$out")
	wcpu=$(field cpu_us_per_point "$out")
	awk -v a="$kps" -v b="$best_w" 'BEGIN { exit !(a > b) }' && best_w=$kps

	rm -rf "$DIR/batches"; mkdir "$DIR/batches"
	out=$("$H" format "$N" "$BATCH" "$DIR/batches" "c$r") || exit 1
	fcpu=$(field format_ns_per_point "$out")
	t0=$(date +%s.%N)
	for f in "$DIR"/batches/batch.*; do
		code=$(curl -s -o /dev/null -w '%{http_code}' --data-binary "@$f" \
			"$URL/write?db=wbench&precision=ns")
		[ "$code" = 204 ] || { echo "bench/writer.sh: curl got HTTP $code" >&2; exit 1; }
	done
	t1=$(date +%s.%N)
	kps=$(awk -v n="$N" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", n / (b - a) / 1000 }')
	awk -v a="$kps" -v b="$best_c" 'BEGIN { exit !(a > b) }' && best_c=$kps
done
awk -v w="$best_w" -v c="$best_c" 'BEGIN { printf "bench: writer_points = %.1f kpoints/s (baseline curl_bulk = %.1f kpoints/s, ratio %.2f)\n", w, c, w / c }'
echo "bench: writer_cpu_per_point = $wcpu us"
awk -v f="$fcpu" 'BEGIN { printf "bench: writer_format_cpu = %.3f us\n", f / 1000 }'

out=$("$H" latency "$DIR/w.conf" 10 100 2>"$DIR/latency.log") ||
	{ echo "bench/writer.sh: latency run failed: $out" >&2; cat "$DIR/latency.log" >&2; exit 1; }
echo "bench: e2e_latency_p99 = $(field p99_ms "$out") ms (p50 $(field p50_ms "$out") ms, max $(field max_ms "$out") ms)"
