# harness-lab.bash: sourced by the benchmarks that drive hum and sampler
# workers through build/bench/sampler_harness against a real lab: finds the
# harness and starts a scale-10 lab (name given as $1) with no hum and no
# samplers of its own, so the benchmark controls all the load.  Not *.sh:
# bench/run.sh runs those as benchmarks.
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
. "$ROOT/tests/lib.sh"
BUILD=${BUILD:-build}
HARNESS=${HARNESS:-$ROOT/$BUILD/bench/sampler_harness}	# override to compare two builds
[ -x "$HARNESS" ] || { echo "bench: build $HARNESS first (make bench)" >&2; exit 1; }
C=${HUM_CLIENTS:-4}
cpu_us() {	# cpu_us PID...: CPU time they used so far, us
	local p t=0
	for p in "$@"; do
		t=$(( t + $(awk '{ printf "%d", $1 / 1000 }' "/proc/$p/schedstat" 2>/dev/null || echo 0) ))
	done
	echo "$t"
}

LAB_SCALE=${LAB_SCALE:-10} lab_setup "$1" <<EOC
[hum]
clients = 0

[sampler]
enabled = false
EOC
lab start >/dev/null || fail "labsup start failed"
