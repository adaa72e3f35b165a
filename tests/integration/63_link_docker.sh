#!/bin/bash
# tags: serial
# 63_link_docker.sh: links on the docker backend.  The link runs on the
# host and listens on the lab network's gateway only (not on 127.0.0.1,
# not on 0.0.0.0), where the subscribers' containers reach it; the
# subscriptions go through it and replicate; a partition of sub2 cuts its
# walsender and, healed, `labsup check` passes.
. "$(dirname "$0")/../lib.sh"

command -v jq >/dev/null || skip "jq is not installed"
if ! out=$("$ROOT/scripts/dockerd-up.sh" 2>&1); then
	skip "no Docker engine can run here: $out"
fi
command -v docker >/dev/null || skip "the docker CLI (used by this test only) is missing"
"$LABSUP" image build >/dev/null || fail "labsup image build failed"

LAB_BACKEND=docker lab_setup linkdocker <<EOF2
[hum]
clients = 1
rate = 20
EOF2

lab start >/dev/null || fail "labsup start failed"
lab check --timeout 300 >"$LAB_DIR/check" 2>&1 || fail "check fails through the links: $(cat "$LAB_DIR/check")"
gw=$(docker network inspect "labsup-$LAB_NAME" | jq -r '.[0].IPAM.Config[0].Gateway')
read -r host port <"$LAB_DIR/state/links/sub1.addr" || fail "link sub1 recorded no address"
[ "$host" = "$gw" ] || fail "link sub1 listens on $host, not the lab network's gateway $gw"
# the local address column only: the peer column of a listener is *:*
local=$(ss -Htln "( sport = :$port )" | awk '{ print $4 }')
[ "$local" = "$gw:$port" ] || fail "link sub1 listens on \"$local\", not on $gw:$port alone"
psql_node "$SUB1_PORT" "SELECT subconninfo FROM pg_subscription" | grep -q "host='$gw' port='$port'" ||
	fail "sub1's subscription does not go through its link: $(psql_node "$SUB1_PORT" "SELECT subconninfo FROM pg_subscription")"
note "the link listens on the gateway $gw:$port; replication goes through it"

lab link sub2 partition --for 10 >/dev/null || fail "link partition failed"
wait_for 30 no_walsender sub2 || fail "sub2's walsender survived the partition"
wait_for 60 has_walsender sub2 || fail "sub2 did not reconnect after the partition"
lab check --timeout 300 >"$LAB_DIR/check" 2>&1 || fail "check fails after the partition healed: $(cat "$LAB_DIR/check")"
note "partition healed, check passes"
lab stop >/dev/null || fail "stop failed"
note "ok"
