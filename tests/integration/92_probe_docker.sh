#!/bin/bash
# tags: serial
# 92_probe_docker.sh: the in-server probe on the docker backend (issue 18).
# `labsup image build` puts the probe into the PostgreSQL image (a label
# says so); each node's container loads it through shared_preload_libraries
# and finds its segment in the lab's probe directory, bind-mounted from the
# host's tmpfs; the segments are 0600 and owned by the image's server user;
# with source = probe the records reach InfluxDB for every node and status
# says probe.  After the supervisor and the writer are killed, `labsup
# start` adopts the same containers and their probes re-attach to the new
# segments.  `labsup stop` removes the probe directory.  On an image
# without the probe's label, source = auto samples over SQL and says why.
. "$(dirname "$0")/../lib.sh"

command -v jq >/dev/null || skip "jq is not installed"
command -v influxd >/dev/null || skip "influxd not installed"
SO="$(dirname "$LABSUP")/labsup_probe.so"
[ -f "$SO" ] || skip "no $SO (make builds it with postgresql-server-dev-15)"
if ! out=$("$ROOT/scripts/dockerd-up.sh" 2>&1); then
	skip "no Docker engine can run here: $out"
fi
command -v docker >/dev/null || skip "the docker CLI (used by this test only) is missing"
# a labsup built with SANITIZE=1 puts no probe into images (docker/image.c)
if grep -qa __asan_init "$SO"; then
	skip "$SO is built with ASan: images get no probe from it"
fi

# An image of this run's own: other runs (40_docker) rebuild the default
# labsup/postgres:15 from their own tree meanwhile.
IMG="labsup/postgres:it92-$$"
LAB_BACKEND=docker lab_setup probedocker <<EOC
[docker]
image_postgres = $IMG

[hum]
clients = 2
rate = 50
workload = contention

[sampler]
source = probe
interval_ms = 10
locks_interval_ms = 100
EOC
DIR=/dev/shm/labsup.$(id -u).$LAB_NAME.probe
# lab_teardown, not lab_cleanup: that one exits, and the images would stay
it92_cleanup() {
	local rc=$?
	lab_teardown $rc
	docker rmi -f "$IMG" "$IMG-noprobe" >/dev/null 2>&1
	rm -rf "$DIR"
	exit $rc
}
trap it92_cleanup EXIT

note "labsup image build postgres: the image carries the probe"
lab image build postgres >"$LAB_DIR/build.log" 2>&1 || fail "labsup image build failed: $(cat "$LAB_DIR/build.log")"
grep -q 'gets no probe' "$LAB_DIR/build.log" && fail "the image got no probe: $(cat "$LAB_DIR/build.log")"
# the label is the probe's segment layout version (shm/probe.h)
ver=$(awk '$1 == "#define" && $2 == "PROBE_VERSION" { print $3 }' "$ROOT/shm/probe.h")
[ -n "$ver" ] || fail "no PROBE_VERSION in shm/probe.h"
label=$(docker image inspect -f '{{index .Config.Labels "labsup.probe"}}' "$IMG")
[ "$label" = "$ver" ] ||
	fail "$IMG's labsup.probe label is '$label', not the probe's version $ver"

NODES="pub sub1 sub2"
ctr() { echo "labsup-$LAB_NAME-$1"; }
. "$ROOT/tests/tools/probe.sh"
# the probe's lines: the container's stderr before the logging collector,
# then the jsonlog in the bind-mounted host directory (issue 16)
probe_log() {
	{ docker logs "$(ctr "$1")" 2>&1; cat "$LAB_DIR/state/pglog/$1/"*.json 2>/dev/null; } |
		grep 'labsup probe'
}

note "start a docker lab with source = probe"
lab start || fail "labsup start failed"
wait_for 180 probe_sampling 10 || { status_json | jq -r '.workers[] | select(.kind == "sampler") | .detail'; fail "the samplers do not report the probe sampling"; }
ids0=""
for n in $NODES; do
	note "sampler $n: $(sampler_detail "$n")"
	docker inspect "$(ctr "$n")" | jq -e '.[0].Args | index("shared_preload_libraries=/usr/lib/labsup/labsup_probe.so") != null' >/dev/null ||
		fail "$n's container does not load the probe from the image"
	docker inspect "$(ctr "$n")" | jq -e --arg d "$DIR" '.[0].Mounts | map(select(.Source == $d and .Destination == "/run/labsup-probe")) | length == 1' >/dev/null ||
		fail "$n's container does not mount $DIR at /run/labsup-probe"
	seg=$DIR/$n
	[ "$(stat -c %a "$seg")" = 600 ] || fail "$seg is not mode 0600"
	[ "$(stat -c %u "$seg")" = 999 ] || fail "$seg is not owned by the image's server user (999): $(stat -c %u "$seg")"
	ids0="$ids0 $(docker inspect -f '{{.Id}}' "$(ctr "$n")")"
done
[ "$(stat -c %a "$DIR")" = 711 ] || fail "$DIR is not mode 0711"
status_json | jq -e '[.workers[] | select(.kind == "sampler") | .counters[16]] | all(. == 1)' >/dev/null ||
	fail "the samplers do not report source probe in their counters"
T0=$(date +%s%N)
wait_for 120 all_records "$T0" || fail "not every node's probe records reached InfluxDB"
wait_for 120 eval '[ "$(influx_value "SELECT max(pairs) FROM pg_blocking WHERE node = '"'pub'"' AND time > '"$T0"'")" -gt 0 ]' ||
	fail "the probe in the pub container never saw a blocking pair under the contention hum"

note "kill the supervisor and the writer; labsup start adopts the containers"
SUP=$(cat "$LAB_DIR/state/labsup.pid" 2>/dev/null || status_json | jq -r '.supervisor.pid')
WRITER=$(status_json | jq -r '.workers[] | select(.name == "writer") | .pid')
kill -9 "$SUP"
wait_for 30 gone "$SUP" || fail "the supervisor did not die"
kill -9 "$WRITER" 2>/dev/null
wait_for 30 gone "$WRITER" || fail "the writer did not die"
# the orphaned samplers remove their segments: the probes say so
wait_for 30 bash -c "! ls $DIR/pub" || fail "the sampler of pub left its segment after the supervisor died"
lab start || fail "labsup start after the kill failed"
wait_for 180 probe_sampling 10 || { status_json | jq -r '.workers[] | select(.kind == "sampler") | .detail'; fail "the samplers do not report the probe sampling after the restart"; }
ids1=""
for n in $NODES; do ids1="$ids1 $(docker inspect -f '{{.Id}}' "$(ctr "$n")")"; done
[ "$ids0" = "$ids1" ] || fail "the containers were made again, not adopted: [$ids0] [$ids1]"
T1=$(date +%s%N)
wait_for 120 all_records "$T1" || fail "no probe records from every node after the restart"
for n in $NODES; do
	probe_log "$n" | sed "s/^/    $n: /" | tail -n 4
	[ "$(probe_log "$n" | grep -c 'attached to /run/labsup-probe/')" -ge 2 ] ||
		fail "the probe in $n did not re-attach to the new segment"
	{ docker logs "$(ctr "$n")" 2>&1; cat "$LAB_DIR/state/pglog/$n/"*.json 2>/dev/null; } |
		grep -E 'PANIC|terminated by signal|labsup probe.*(ERROR|FATAL)' &&
		fail "$n's server log shows a probe error, a crash or a PANIC"
done

note "stop removes the probe directory"
lab stop >/dev/null || fail "labsup stop failed"
[ ! -e "$DIR" ] || fail "$DIR survives labsup stop: $(ls -la "$DIR")"

note "source = auto on an image without the probe: SQL, and status says why"
# the same image with its probe label emptied, as an image built before
# the probe (or without it) has none
docker image inspect "$IMG" >/dev/null || fail "$IMG is gone"
cid=$(docker create "$IMG") || fail "cannot create a container from $IMG"
docker commit --change 'LABEL labsup.probe=' "$cid" "$IMG-noprobe" >/dev/null ||
	fail "cannot commit $IMG-noprobe"
docker rm -f "$cid" >/dev/null
sed -i -e "s|^image_postgres = .*|image_postgres = $IMG-noprobe|" -e 's/^source = probe/source = auto/' "$LAB_CONF"
lab start >/dev/null || fail "labsup start on the image without the probe failed"
fellback() {
	local n
	for n in $NODES; do
		sampler_detail "$n" | grep -q "^sql (not the probe: $n's container runs without the probe" || return 1
	done
}
wait_for 120 fellback || { status_json | jq -r '.workers[] | select(.kind == "sampler") | .detail'; fail "status does not say why the samplers sample over SQL"; }
note "status: $(sampler_detail pub)"
docker inspect "$(ctr pub)" | jq -e '.[0].Args | map(select(startswith("shared_preload_libraries"))) | length == 0' >/dev/null ||
	fail "the container of an image without the probe is told to load it"
T2=$(date +%s%N)
wait_for 60 eval '[ "$(influx_value "SELECT count(*) FROM pg_activity WHERE node = '"'sub1'"' AND time > '"$T2"'")" -gt 0 ]' ||
	fail "no records from the SQL fallback"
lab stop >/dev/null || fail "labsup stop failed"
echo "PASS"
