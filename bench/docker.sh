#!/bin/bash
# docker.sh: seconds from `labsup start` to "lab ready" (every service up,
# every subscription ready) for a fresh lab on the docker backend, with
# the local backend measured the same way in the same run as the baseline.
# Both start from nothing (initdb included); images are built beforehand
# and not counted.  Prints:
#   bench: docker_start_to_ready = N s (baseline local_start_to_ready = N s, ratio R)
. "$(dirname "$0")/../tests/lib.sh"
trap - EXIT

if ! out=$("$ROOT/scripts/dockerd-up.sh" 2>&1); then
	echo "bench: docker_start_to_ready skipped: $out" >&2
	exit 0
fi
"$LABSUP" image build >/dev/null || { echo "bench: labsup image build failed" >&2; exit 1; }

# start_to_ready BACKEND: one fresh lab, its start time on stdout.
start_to_ready() (
	LAB_BACKEND=$1 lab_setup "bench-$1" </dev/null
	t0=$(date +%s.%N)
	lab start -q >/dev/null 2>&1 || { echo "bench: $1 lab did not start" >&2; exit 1; }
	t1=$(date +%s.%N)
	echo "$t0 $t1" | awk '{ printf "%.2f\n", $2 - $1 }'
)

local_s=$(start_to_ready local) || exit 1
docker_s=$(start_to_ready docker) || exit 1
echo "$docker_s $local_s" | awk '{ printf "bench: docker_start_to_ready = %.2f s (baseline local_start_to_ready = %.2f s, ratio %.2f)\n", $1, $2, $1 / $2 }'
