#!/bin/bash
# run-integration.sh: run the integration tests (tests/integration/*.sh)
# against real servers.  Each test exits 0 (passed), 77 (skipped: says why,
# loudly) or anything else (failed).
# Usage: run-integration.sh [-j N] [--sanitize | --faults] [PATTERN ...]
#   -j N        run up to N tests at a time (default $INTEGRATION_JOBS, else
#               2).  Every test lab has its own name, state directory and
#               ports (tests/lib.sh), so tests do not see each other; a test
#               with a "# tags: ... serial" line (one that builds Docker
#               images or installs packages) runs alone, after the others.
#   --sanitize  only tests with a "# tags: ... sanitize" line (quick ones the
#               sanitizer build also runs)
#   --faults    only tests with a "# tags: ... faults" line
# PATTERN: run the tests whose name contains any of them (all without one).
# A test's output is printed when it fails.
# Closing line: "N passed, N failed, N skipped".
set -u
cd "$(dirname "$0")/.."
: "${LABSUP:=$PWD/build/labsup}"
export LABSUP
jobs=${INTEGRATION_JOBS:-2}
tag=""
while [ $# -gt 0 ]; do
	case "$1" in
	-j) jobs=$2; shift 2 ;;
	-j*) jobs=${1#-j}; shift ;;
	--sanitize) tag=sanitize; shift ;;
	--faults) tag=faults; shift ;;
	*) break ;;
	esac
done
case "$jobs" in
'' | *[!0-9]* | 0) echo "run-integration.sh: -j takes a number of tests, 1 or more" >&2; exit 2 ;;
esac
patterns=("$@")
pass=0 fail=0 skip=0
failed=()
logdir=$(mktemp -d /tmp/labsup-itest.XXXXXX)

parallel=() serial=()
for t in tests/integration/*.sh; do
	name=$(basename "$t" .sh)
	if [ ${#patterns[@]} -gt 0 ]; then
		hit=0
		for p in "${patterns[@]}"; do
			[[ "$name" == *$p* ]] && hit=1
		done
		[ $hit = 1 ] || continue
	fi
	if [ -n "$tag" ] && ! grep -q "^# tags:.*\b$tag\b" "$t"; then
		continue
	fi
	if grep -q '^# tags:.*\bserial\b' "$t"; then
		serial+=("$name")
	else
		parallel+=("$name")
	fi
done

# run NAME: the test, its output in $logdir/NAME.log, its exit code and
# seconds in $logdir/NAME.rc
run() {
	local name=$1 start rc
	start=$(date +%s)
	# a background job starts with SIGINT and SIGQUIT ignored, and what it
	# starts would inherit that: give the test the default dispositions
	timeout --kill-after=30 "${TEST_TIMEOUT:-900}" \
	    env --default-signal=INT,QUIT \
	    bash "tests/integration/$name.sh" >"$logdir/$name.log" 2>&1
	rc=$?
	echo "$rc $(( $(date +%s) - start ))" >"$logdir/$name.rc"
}

# report NAME: one line, and the output of a failed test
report() {
	local name=$1 rc secs
	read -r rc secs <"$logdir/$name.rc"
	printf '%-40s ' "$name"
	case $rc in
	0) pass=$((pass + 1)); echo "ok (${secs}s)" ;;
	77) skip=$((skip + 1)); echo "SKIPPED (${secs}s): $(grep -m1 '^SKIP' "$logdir/$name.log" | cut -c6-)" ;;
	*) fail=$((fail + 1)); failed+=("$name"); echo "FAILED rc=$rc (${secs}s)"
	   echo "---- $name output (last 60 lines) ----"
	   tail -n 60 "$logdir/$name.log"
	   echo "---- end $name ----" ;;
	esac
}

# Up to $jobs at a time; each is reported when it ends.
declare -A running=()
reap() {
	local pid
	for pid in "${!running[@]}"; do
		if ! kill -0 "$pid" 2>/dev/null; then
			wait "$pid"
			report "${running[$pid]}"
			unset "running[$pid]"
		fi
	done
}
for name in "${parallel[@]}"; do
	while [ ${#running[@]} -ge "$jobs" ]; do
		wait -n 2>/dev/null
		reap
	done
	run "$name" &
	running[$!]=$name
done
while [ ${#running[@]} -gt 0 ]; do
	wait -n 2>/dev/null
	reap
done
for name in "${serial[@]}"; do
	run "$name"
	report "$name"
done

echo "logs: $logdir"
[ ${#failed[@]} -gt 0 ] && echo "failed: ${failed[*]}"
echo "integration: $pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
