#!/bin/bash
# run.sh: run every benchmark (bench/*.sh), or those whose name contains
# $1.  Each prints "bench: NAME = VALUE UNIT (baseline ..., ratio R)".
# Benchmarks start their own servers on free ports and clean up after.
set -u
cd "$(dirname "$0")/.."
export BUILD="${BUILD:-build}" LABSUP="${LABSUP:-$PWD/build/labsup}"
filter="${1:-}"
rc=0
for b in bench/*.sh; do
	[ "$(basename "$b")" = run.sh ] && continue
	name=$(basename "$b" .sh)
	if [ -n "$filter" ] && [[ "$name" != *$filter* ]]; then
		continue
	fi
	echo "== $name" >&2
	if ! bash "$b"; then
		echo "bench: $name FAILED" >&2
		rc=1
	fi
done
exit $rc
