#!/bin/bash
# tags: sanitize serial
# 40_docker.sh: a full lab on the docker backend, from the offline images:
# containers come up on the lab's network with ports on 127.0.0.1 only,
# replication works across containers, container stats reach InfluxDB, a
# killed container is noticed and repaired, a restarted container worker
# adopts instead of duplicating, and stop removes the lab's containers and
# network (volumes too with --purge) and nothing it did not create.
. "$(dirname "$0")/../lib.sh"

command -v jq >/dev/null || skip "jq is not installed"
if ! out=$("$ROOT/scripts/dockerd-up.sh" 2>&1); then
	skip "no Docker engine can run here: $out"
fi
command -v docker >/dev/null || skip "the docker CLI (used by this test only) is missing"

note "labsup image build"
"$LABSUP" image build || fail "labsup image build failed"

# sub1 bypasses its link (issue 15), so the direct path between containers,
# by container name, stays covered; sub2 goes through its link
# (63_link_docker checks that path)
LAB_BACKEND=docker lab_setup docker <<'EOF2'
[link sub1]
bypass = yes
EOF2
# Objects this lab must never touch: a container of another "lab", one with
# no label at all, both running.
OTHER="labsup-it40-other-$$"
PLAIN="it40-plain-$$"
cleanup_others() { docker rm -f "$OTHER" "$PLAIN" >/dev/null 2>&1; }
# keep the test's exit status for lab_cleanup, which reads $?
trap 'rc=$?; cleanup_others; (exit $rc); lab_cleanup' EXIT
docker run -d --name "$OTHER" --label labsup.lab=it40-other-$$ \
	--label labsup.service=pub labsup/influxdb:1.6 >/dev/null ||
	fail "cannot run the bystander container"
docker run -d --name "$PLAIN" labsup/influxdb:1.6 >/dev/null ||
	fail "cannot run the unlabelled bystander container"

lab_ctrs() { docker ps -aq --no-trunc --filter "label=labsup.lab=$LAB_NAME" | sort; }
ctr() { echo "labsup-$LAB_NAME-$1"; }

note "start --backend docker"
lab start || fail "labsup start failed"
status_json | jq -e '.services | map(select(.state == "ready" or .state == "unavailable")) | length == 5' >/dev/null ||
	fail "not every service is ready: $(status_json)"
status_json | jq -e '.backend == "docker"' >/dev/null || fail "backend is not docker: $(status_json | jq -c .backend)"
[ "$(lab_ctrs | wc -l)" = 4 ] || fail "expected 4 containers (grafana has no image here), got $(lab_ctrs | wc -l)"
for s in pub sub1 sub2 influxdb; do
	[ "$(docker inspect -f '{{.State.Running}}' "$(ctr "$s")")" = true ] || fail "$s is not running"
	ips=$(docker inspect -f '{{range $p, $b := .HostConfig.PortBindings}}{{range $b}}{{.HostIp}} {{end}}{{end}}' "$(ctr "$s")")
	[ "$ips" = "127.0.0.1 " ] || fail "$s publishes on '$ips', not 127.0.0.1 only"
	docker inspect -f '{{json .NetworkSettings.Networks}}' "$(ctr "$s")" | grep -q "\"labsup-$LAB_NAME\"" ||
		fail "$s is not on the lab network"
done
status_json | jq -e '.services[] | select(.name == "grafana") | .state == "unavailable"' >/dev/null ||
	fail "grafana should be unavailable (no image) with a reason"

note "the password is not in any container's config"
pw=$(cat "$LAB_DIR/state/password")
[ -n "$pw" ] || fail "no password file"
for s in pub sub1 sub2 influxdb; do
	docker inspect "$(ctr "$s")" | grep -qF "$pw" && fail "the password is visible in docker inspect of $s"
done
[ "$(stat -c %a "$LAB_DIR/state/pgpass")" = 600 ] || fail "pgpass is not 0600"

note "replication across containers"
psql_node "$PUB_PORT" "INSERT INTO history (tid, bid, aid, delta, mtime, filler) VALUES (1, 1, 1, 0, now(), 'it-40-marker')"
for port in "$SUB1_PORT" "$SUB2_PORT"; do
	wait_for 60 bash -c "[ \"\$(PGPASSFILE=$LAB_DIR/state/pgpass psql -XAtq -h 127.0.0.1 -p $port -U labsup -d labsup -c \"SELECT count(*) FROM history WHERE filler = 'it-40-marker'\")\" = 1 ]" ||
		fail "the marker row did not reach the subscriber on port $port"
done
psql_node "$SUB1_PORT" "SELECT subconninfo FROM pg_subscription" | grep -q "host='\?labsup-$LAB_NAME-pub" ||
	fail "sub1 does not reach the publisher by its container name"

note "container stats reach InfluxDB"
wait_for 60 bash -c "influx_q() { curl -sS -G 'http://127.0.0.1:$INFLUX_PORT/query' --data-urlencode db=labsup --data-urlencode \"q=\$1\"; }; influx_q \"SELECT last(mem_bytes) FROM service WHERE service = 'pub' AND up = 1\" | jq -e '.results[0].series[0].values[0][1] > 1000000' >/dev/null" ||
	fail "no service stats with memory for pub in InfluxDB"
wait_for 30 bash -c "curl -sS -G 'http://127.0.0.1:$INFLUX_PORT/query' --data-urlencode db=labsup --data-urlencode \"q=SELECT max(net_rx_bytes) FROM service WHERE service = 'sub1'\" | jq -e '.results[0].series[0].values[0][1] > 0' >/dev/null" ||
	fail "no network bytes for sub1 in InfluxDB"

note "a killed container is noticed and repaired"
restarts0=$(status_json | jq '.services[] | select(.name == "sub1") | .restarts')
docker kill "$(ctr sub1)" >/dev/null || fail "cannot kill sub1's container"
wait_for 60 bash -c "[ \"\$($LABSUP status -c $LAB_CONF --json | jq '.services[] | select(.name == \"sub1\") | .restarts')\" -gt $restarts0 ]" ||
	fail "the container worker did not notice sub1's container died"
wait_for 90 bash -c "$LABSUP status -c $LAB_CONF --json | jq -e '.services[] | select(.name == \"sub1\") | .state == \"ready\"'" ||
	fail "sub1 did not come back: $(status_json | jq -c '.services[] | select(.name == "sub1")')"
[ "$(docker inspect -f '{{.State.Running}}' "$(ctr sub1)")" = true ] || fail "sub1's container is not running again"
psql_node "$PUB_PORT" "INSERT INTO history (tid, bid, aid, delta, mtime, filler) VALUES (1, 1, 1, 0, now(), 'it-40-after-kill')"
wait_for 90 bash -c "[ \"\$(PGPASSFILE=$LAB_DIR/state/pgpass psql -XAtq -h 127.0.0.1 -p $SUB1_PORT -U labsup -d labsup -c \"SELECT count(*) FROM history WHERE filler = 'it-40-after-kill'\")\" = 1 ]" ||
	fail "replication to sub1 did not resume after the repair"

note "a restarted container worker adopts, never duplicates"
before=$(lab_ctrs)
cpid=$(status_json | jq '.workers[] | select(.kind == "container") | .pid')
[ "$cpid" -gt 0 ] || fail "no container worker pid"
kill -9 "$cpid"
wait_for 60 bash -c "p=\$($LABSUP status -c $LAB_CONF --json | jq '.workers[] | select(.kind == \"container\") | select(.state == \"running\") | .pid'); [ -n \"\$p\" ] && [ \"\$p\" != $cpid ]" ||
	fail "the container worker did not come back"
sleep 2
after=$(lab_ctrs)
[ "$before" = "$after" ] || fail "containers changed after a worker restart: before [$before] after [$after]"
status_json | jq -e '.services | map(select(.state == "ready")) | length == 4' >/dev/null ||
	fail "services not ready after adoption: $(status_json | jq -c .services)"

note "stop removes the lab's containers and network, keeps volumes"
lab stop || fail "labsup stop failed"
[ -z "$(lab_ctrs)" ] || fail "containers of the lab survive stop: $(lab_ctrs)"
docker network inspect "labsup-$LAB_NAME" >/dev/null 2>&1 && fail "the lab network survives stop"
[ "$(docker volume ls -q --filter "label=labsup.lab=$LAB_NAME" | wc -l)" = 4 ] ||
	fail "stop without --purge should keep the 4 data volumes: $(docker volume ls -q --filter "label=labsup.lab=$LAB_NAME")"
[ "$(docker inspect -f '{{.State.Running}}' "$OTHER")" = true ] || fail "stop touched another lab's container"
[ "$(docker inspect -f '{{.State.Running}}' "$PLAIN")" = true ] || fail "stop touched an unlabelled container"

note "start again adopts the volumes: data survives"
lab start || fail "second start failed: $(status_json | jq -c .)"
[ "$(psql_node "$SUB2_PORT" "SELECT count(*) FROM history WHERE filler = 'it-40-marker'")" = 1 ] ||
	fail "sub2 lost its data across stop/start"

note "stop --purge removes the volumes too"
lab stop --purge || fail "labsup stop --purge failed"
[ -z "$(lab_ctrs)" ] || fail "containers survive stop --purge"
[ -z "$(docker volume ls -q --filter "label=labsup.lab=$LAB_NAME")" ] || fail "volumes survive stop --purge"
[ "$(docker inspect -f '{{.State.Running}}' "$OTHER")" = true ] || fail "stop --purge touched another lab's container"
note "ok"
