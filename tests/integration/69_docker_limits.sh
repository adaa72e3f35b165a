#!/bin/bash
# 69_docker_limits.sh: on the docker backend a node's settings reach its
# server (after the lab's own) and its memory and cpus limits its
# container (HostConfig.Memory, NanoCpus, as docker run -m / --cpus);
# the other nodes have none.
. "$(dirname "$0")/../lib.sh"
command -v jq >/dev/null || skip "jq is not installed"
if ! out=$("$ROOT/scripts/dockerd-up.sh" 2>&1); then
	skip "no Docker engine can run here: $out"
fi
command -v docker >/dev/null || skip "the docker CLI (used by this test only) is missing"
command -v psql >/dev/null || skip "psql is not installed"

"$LABSUP" image build >/dev/null || fail "labsup image build failed"
LAB_BACKEND=docker lab_setup dockerlimits <<EOF
[hum]
clients = 0

[sampler]
enabled = no
EOF
node_conf sub1 "settings = work_mem=8MB; shared_buffers=64MB
memory = 512m
cpus = 1.5" || fail "cannot edit the config"
lab start --timeout 300 >/dev/null || fail "labsup start failed"
ctr() { echo "labsup-$LAB_NAME-$1"; }
hc() { docker inspect -f "{{.HostConfig.$2}}" "$(ctr "$1")"; }
note "sub1's container: 512m, 1.5 CPUs; pub's: no limits"
[ "$(hc sub1 Memory)" = 536870912 ] || fail "sub1 Memory is $(hc sub1 Memory)"
[ "$(hc sub1 NanoCpus)" = 1500000000 ] || fail "sub1 NanoCpus is $(hc sub1 NanoCpus)"
[ "$(hc pub Memory)" = 0 ] || fail "pub has a memory limit: $(hc pub Memory)"
show() { psql_node "$1" "SHOW $2"; }
[ "$(show "$SUB1_PORT" work_mem)" = 8MB ] || fail "sub1 work_mem is $(show "$SUB1_PORT" work_mem)"
[ "$(show "$SUB1_PORT" shared_buffers)" = 64MB ] || fail "sub1 shared_buffers is $(show "$SUB1_PORT" shared_buffers)"
[ "$(show "$PUB_PORT" work_mem)" = 4MB ] || fail "pub work_mem is $(show "$PUB_PORT" work_mem)"
lab stop >/dev/null || fail "stop failed"
echo "docker: sub1 in 512 MiB and 1.5 CPUs with work_mem 8MB, shared_buffers 64MB; pub unlimited"
