#!/bin/sh
# ring.sh: lane throughput vs a pipe (see bench/ring.c).
exec "${BUILD:-build}/bench/ring" "$@"
