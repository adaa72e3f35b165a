#!/bin/bash
# tags: serial
# 68_node_settings.sh: [node NAME] settings on a real lab (local backend):
# config check refuses an unknown setting as file:line (checked against
# the server's own list, postgres --describe-config); the node runs with
# its settings, after the lab's own (shared_buffers overrides the
# backend's 128MB); a reload applies what a reload can (work_mem: the same
# server pid, the new value) and says what waits for a restart
# (shared_buffers: pg_settings.pending_restart); the other nodes keep the
# defaults.  Then, where a Docker engine runs, the same on the docker
# backend, with memory and cpus limits on the node's container.
. "$(dirname "$0")/../lib.sh"
command -v initdb >/dev/null || skip "PostgreSQL 15 server binaries not installed"
command -v influxd >/dev/null || skip "influxd not installed"
command -v jq >/dev/null || skip "jq not installed"

lab_setup nodesettings <<EOF
[hum]
clients = 1
rate = 10

[sampler]
enabled = no
EOF
# sub1 gets settings of its own
node_conf sub1 "settings = work_mem = 8MB; shared_buffers=32MB;  wal_receiver_timeout = 5s" ||
	fail "cannot edit the config"
line=$(grep -n '^settings = ' "$LAB_CONF" | cut -d: -f1)

note "config check: unknown (block_size is fixed: not listed), reserved and bad boolean settings are file:line errors"
check_bad() {	# SETTINGS WANT
	sed "s/^settings = .*/settings = $1/" "$LAB_CONF" >"$LAB_DIR/bad.conf"
	local out
	out=$("$LABSUP" config check -c "$LAB_DIR/bad.conf" 2>&1) && fail "config check accepted settings = $1"
	case "$out" in
	*"bad.conf:$line: [node sub1] settings: $2"*) ;;
	*) fail "settings = $1: config check said: $out" ;;
	esac
}
check_bad "work_mem=8MB; wrok_mem=1MB" 'unknown server setting "wrok_mem"'
check_bad "block_size=4096" 'unknown server setting "block_size"'
check_bad "fsync=maybe" "fsync = maybe: expected on or off"
check_bad "port=5555" "port is labsup's to set"
check_bad "work_mem" '"work_mem" is not name=value'
out=$("$LABSUP" config check -c "$LAB_CONF" 2>&1 >/dev/null) || fail "config check refused good settings: $out"
case "$out" in *"[node sub1] shared_buffers takes effect when the server starts"*) ;;
*) fail "config check did not say shared_buffers needs a start: $out" ;; esac

lab start --timeout 240 >/dev/null || fail "labsup start failed"
show() { psql_node "$1" "SHOW $2"; }
note "sub1 runs with its settings, pub and sub2 with the lab's"
[ "$(show "$SUB1_PORT" work_mem)" = 8MB ] || fail "sub1 work_mem is $(show "$SUB1_PORT" work_mem)"
[ "$(show "$SUB1_PORT" shared_buffers)" = 32MB ] || fail "sub1 shared_buffers is $(show "$SUB1_PORT" shared_buffers), not 32MB (after the backend's 128MB)"
[ "$(show "$SUB1_PORT" wal_receiver_timeout)" = 5s ] || fail "sub1 wal_receiver_timeout is $(show "$SUB1_PORT" wal_receiver_timeout)"
[ "$(show "$PUB_PORT" work_mem)" = 4MB ] || fail "pub work_mem is $(show "$PUB_PORT" work_mem), not the default"
[ "$(show "$SUB2_PORT" shared_buffers)" = 128MB ] || fail "sub2 shared_buffers is $(show "$SUB2_PORT" shared_buffers)"

note "a reload applies work_mem at once and says shared_buffers waits for a restart"
spid=$(psql_node "$SUB1_PORT" "SELECT pg_postmaster_start_time()")
sed -i 's/^settings = .*/settings = work_mem = 16MB; shared_buffers=48MB;  wal_receiver_timeout = 5s/' "$LAB_CONF"
lab reload >"$LAB_DIR/out" 2>&1 || fail "reload failed: $(cat "$LAB_DIR/out")"
wm16() { [ "$(show "$SUB1_PORT" work_mem)" = 16MB ]; }
wait_for 120 wm16 || fail "after the reload sub1 work_mem is $(show "$SUB1_PORT" work_mem), not 16MB"
[ "$(psql_node "$SUB1_PORT" "SELECT pg_postmaster_start_time()")" = "$spid" ] || fail "sub1 was restarted for a reloadable setting"
[ "$(show "$SUB1_PORT" shared_buffers)" = 32MB ] || fail "shared_buffers changed without a restart?"
[ "$(psql_node "$SUB1_PORT" "SELECT pending_restart FROM pg_settings WHERE name = 'shared_buffers'")" = t ] ||
	fail "the server does not mark shared_buffers pending_restart"
said() { grep -q 'sub1: settings need a restart of the node to take effect: shared_buffers' "$LAB_DIR/state/labsup.log"; }
wait_for 60 said || fail "the log does not say shared_buffers needs a restart: $(grep sub1 "$LAB_DIR/state/labsup.log" | tail -5)"
[ "$(show "$PUB_PORT" work_mem)" = 4MB ] || fail "pub's work_mem changed"

lab stop >/dev/null || fail "stop failed"
echo "node settings: sub1 work_mem 8MB -> 16MB by reload (same server), shared_buffers 32MB with 48MB pending a restart; errors as file:line"

# The docker backend: the node's settings reach its server and its memory
# and cpus limit its container (HostConfig.Memory, NanoCpus, as docker run
# -m / --cpus); the other nodes have none.  Only where an engine runs.
if ! out=$("$ROOT/scripts/dockerd-up.sh" 2>&1) || ! command -v docker >/dev/null; then
	echo "docker part not run: no Docker engine or docker CLI here: $out"
	exit 0
fi
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
lab start --timeout 300 >/dev/null || fail "labsup start (docker) failed"
ctr() { echo "labsup-$LAB_NAME-$1"; }
hc() { docker inspect -f "{{.HostConfig.$2}}" "$(ctr "$1")"; }
note "docker: sub1's container has 512m and 1.5 CPUs, pub's no limits"
[ "$(hc sub1 Memory)" = 536870912 ] || fail "sub1 Memory is $(hc sub1 Memory)"
[ "$(hc sub1 NanoCpus)" = 1500000000 ] || fail "sub1 NanoCpus is $(hc sub1 NanoCpus)"
[ "$(hc pub Memory)" = 0 ] || fail "pub has a memory limit: $(hc pub Memory)"
[ "$(show "$SUB1_PORT" work_mem)" = 8MB ] || fail "docker sub1 work_mem is $(show "$SUB1_PORT" work_mem)"
[ "$(show "$SUB1_PORT" shared_buffers)" = 64MB ] || fail "docker sub1 shared_buffers is $(show "$SUB1_PORT" shared_buffers)"
[ "$(show "$PUB_PORT" work_mem)" = 4MB ] || fail "docker pub work_mem is $(show "$PUB_PORT" work_mem)"
lab stop >/dev/null || fail "stop (docker) failed"
echo "docker: sub1 in 512 MiB and 1.5 CPUs with work_mem 8MB, shared_buffers 64MB; pub unlimited"
