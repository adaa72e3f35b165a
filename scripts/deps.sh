#!/bin/sh
# deps.sh: install the Debian packages labsup needs, if any are missing.
# Idempotent.  As root it runs apt-get; otherwise it prints the exact line
# to run and fails.  `make start` and `make test` call it first.
set -eu

PKGS="build-essential pkg-config libpq-dev libcurl4-openssl-dev libbsd-dev
libcriterion-dev libinih-dev libjansson-dev zlib1g-dev postgresql-15
postgresql-contrib influxdb influxdb-client curl procps iproute2 tmux jq python3
mandoc"
# labsup report (issue 19): its test opens the page in headless chromium;
# `make bench BENCH=report` compares uPlot with Debian's Chart.js
PKGS="$PKGS chromium libjs-chart.js"
# the in-server probe (probe/) builds against the server headers; the
# probe and capture benchmarks measure pg_wait_sampling beside labsup
# (issues 16, 18)
PKGS="$PKGS postgresql-server-dev-15 postgresql-15-pg-wait-sampling"
# Docker is optional for the lab (backend=auto falls back to local) but the
# docker test suite uses it; LABSUP_NO_DOCKER=1 skips installing it.
if [ "${LABSUP_NO_DOCKER:-0}" != 1 ]; then
	PKGS="$PKGS docker.io"
fi

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "labsup: missing packages:$missing" >&2
	echo "labsup: run: sudo apt-get install -y$missing" >&2
	exit 1
fi
echo "labsup: installing$missing"
export DEBIAN_FRONTEND=noninteractive
# an old or empty package list cannot find them: refresh once
if ! apt-get install -y -q --no-install-recommends $missing >/dev/null 2>&1; then
	apt-get update -q >/dev/null
	apt-get install -y -q --no-install-recommends $missing >/dev/null
fi
# Debian's packages try to start their services; labsup runs its own.
echo "labsup: installed$missing"
