#!/bin/bash
# run-integration.sh: run the integration tests (tests/integration/*.sh)
# against real servers.  Each test exits 0 (passed), 77 (skipped: says why,
# loudly) or anything else (failed).
# Usage: run-integration.sh [--sanitize | --faults] [PATTERN]
#   --sanitize  only tests with a "# tags: ... sanitize" line (quick ones the
#               sanitizer build also runs)
#   --faults    only tests with a "# tags: ... faults" line
# Closing line: "N passed, N failed, N skipped".
set -u
cd "$(dirname "$0")/.."
: "${LABSUP:=$PWD/build/labsup}"
export LABSUP
tag=""
case "${1:-}" in
--sanitize) tag=sanitize; shift ;;
--faults) tag=faults; shift ;;
esac
pattern="${1:-}"
pass=0 fail=0 skip=0
failed=()
logdir=$(mktemp -d /tmp/labsup-itest.XXXXXX)
for t in tests/integration/*.sh; do
	name=$(basename "$t" .sh)
	if [ -n "$pattern" ] && [[ "$name" != *$pattern* ]]; then
		continue
	fi
	if [ -n "$tag" ] && ! grep -q "^# tags:.*\b$tag\b" "$t"; then
		continue
	fi
	start=$(date +%s)
	printf '%-40s ' "$name"
	timeout --kill-after=30 "${TEST_TIMEOUT:-900}" bash "$t" >"$logdir/$name.log" 2>&1
	rc=$?
	secs=$(( $(date +%s) - start ))
	case $rc in
	0) pass=$((pass + 1)); echo "ok (${secs}s)" ;;
	77) skip=$((skip + 1)); echo "SKIPPED (${secs}s): $(grep -m1 '^SKIP' "$logdir/$name.log" | cut -c6-)" ;;
	*) fail=$((fail + 1)); failed+=("$name"); echo "FAILED rc=$rc (${secs}s)"
	   echo "---- $name output (last 60 lines) ----"
	   tail -n 60 "$logdir/$name.log"
	   echo "---- end $name ----" ;;
	esac
done
echo "logs: $logdir"
[ ${#failed[@]} -gt 0 ] && echo "failed: ${failed[*]}"
echo "integration: $pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
