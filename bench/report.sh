#!/bin/bash
# report.sh: why the report draws with uPlot: 100,000 points (4 series of
# 25,000, a random walk) drawn in headless Chromium by the uPlot that the
# report embeds (third_party/uplot) and by Debian's libjs-chart.js, each
# set up for speed as its documentation advises (Chart.js: no animation,
# parsing off, normalized, no points, a linear x axis).  Timed in the page
# from before the chart is made to its own "drawn" callback (uPlot's draw
# hook, Chart.js's afterRender), over ROUNDS fresh pages each; the median.
# Prints: bench: report_draw_100k = N ms uPlot (baseline chart.js = N ms,
# ratio R)
set -u
cd "$(dirname "$0")/.."
ROUNDS=${REPORT_ROUNDS:-5}
CHARTJS=/usr/share/javascript/chart.js/chart.min.js
command -v chromium >/dev/null || { echo "bench: report SKIPPED: chromium not installed" >&2; exit 0; }
[ -f "$CHARTJS" ] || { echo "bench: report SKIPPED: libjs-chart.js not installed" >&2; exit 0; }
dir=$(mktemp -d /tmp/labsup-bench-report.XXXXXX)
trap 'rm -rf "$dir"' EXIT

# The data: the same in both pages, made in the page (not timed).
data_js='
var N = 25000, S = 4, xs = new Float64Array(N), ys = [], seed = 42;
function rnd() { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 2147483648; }
for (var i = 0; i < N; i++) xs[i] = 1764590000 + i * 0.01;
for (var s = 0; s < S; s++) {
	var y = new Float64Array(N), v = 0;
	for (var i = 0; i < N; i++) { v += rnd() - 0.5; y[i] = v; }
	ys.push(y);
}
function done(t0) {
	document.body.setAttribute("data-ms", (performance.now() - t0).toFixed(1));
}'

{
	echo '<!DOCTYPE html><html><head><meta charset="utf-8"><style>'
	cat third_party/uplot/uPlot.min.css
	echo '</style></head><body><div id="c"></div><script>'
	cat third_party/uplot/uPlot.iife.min.js
	echo "</script><script>$data_js"
	cat <<'EOF'
var t0 = performance.now(), series = [{}];
for (var s = 0; s < S; s++) series.push({ stroke: "#36c", points: { show: false } });
new uPlot({ width: 1200, height: 400, series: series, scales: { x: { time: false } },
    hooks: { draw: [function () { done(t0); }] } },
    [xs].concat(ys), document.getElementById("c"));
</script></body></html>
EOF
} >"$dir/uplot.html"

{
	echo '<!DOCTYPE html><html><head><meta charset="utf-8"></head><body>'
	echo '<div style="width:1200px;height:400px"><canvas id="c"></canvas></div><script>'
	cat "$CHARTJS"
	echo "</script><script>$data_js"
	cat <<'EOF'
var t0 = performance.now(), sets = [];
for (var s = 0; s < S; s++) {
	var pts = new Array(N);
	for (var i = 0; i < N; i++) pts[i] = { x: xs[i], y: ys[s][i] };
	sets.push({ data: pts, borderColor: "#36c", borderWidth: 1, pointRadius: 0, spanGaps: true });
}
t0 = performance.now();	/* the {x, y} objects Chart.js needs are not its drawing */
new Chart(document.getElementById("c"), {
	type: "line", data: { datasets: sets },
	options: { animation: false, parsing: false, normalized: true, responsive: false,
	    maintainAspectRatio: false, events: [], plugins: { legend: { display: false },
	    tooltip: { enabled: false } }, scales: { x: { type: "linear" } } },
	plugins: [{ id: "timer", afterRender: function () {
		if (!document.body.hasAttribute("data-ms")) done(t0);
	} }]
});
</script></body></html>
EOF
} >"$dir/chartjs.html"

# draw FILE: the page's own time for one fresh load, in ms
draw() {
	HOME=$dir timeout 120 chromium --headless --no-sandbox --disable-gpu \
	    --no-first-run --user-data-dir="$dir/profile" --window-size=1300,600 \
	    --virtual-time-budget=30000 --dump-dom "file://$1" 2>/dev/null |
		sed -n 's/.*data-ms="\([0-9.]*\)".*/\1/p' | head -1
}
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

u=() c=()
for r in $(seq 1 "$ROUNDS"); do	# interleaved: a busy moment hits both
	u+=("$(draw "$dir/uplot.html")")
	c+=("$(draw "$dir/chartjs.html")")
done
for v in "${u[@]}" "${c[@]}"; do
	[ -n "$v" ] || { echo "bench: report FAILED: a page did not report its time" >&2; exit 1; }
done
echo "report: uPlot ${u[*]} ms, Chart.js ${c[*]} ms (100,000 points, $ROUNDS rounds)" >&2
mu=$(printf '%s\n' "${u[@]}" | median)
mc=$(printf '%s\n' "${c[@]}" | median)
cpu=$(awk '{ print $1 }' /proc/loadavg)
echo "bench: report_draw_100k = $mu ms uPlot (baseline chart.js $(dpkg-query -W -f='${Version}' libjs-chart.js 2>/dev/null | cut -d+ -f1) = $mc ms, ratio $(awk -v a="$mc" -v b="$mu" 'BEGIN { printf "%.1f", a / b }')) [load average $cpu on $(nproc) cores]"
