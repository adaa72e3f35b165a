#!/bin/bash
# tags: sanitize
# 17_env.sh: `labsup env` tells an application how to connect: after
# `eval "$(labsup env NODE --shell)"` a plain psql reaches that node with
# the lab's passfile; --json says the same for scripts; the password is
# never printed.
. "$(dirname "$0")/../lib.sh"

[ -x /usr/lib/postgresql/15/bin/postgres ] || skip "PostgreSQL 15 is not installed"
command -v influxd >/dev/null || skip "influxd is not installed"
command -v jq >/dev/null || skip "jq is not installed"
lab_setup env </dev/null

lab start >/dev/null || fail "labsup start failed"
for n in pub sub1; do
	out=$(lab env "$n" --shell) || fail "env $n --shell failed"
	got=$( (eval "$out" && psql -X -q -A -t -c "SELECT inet_server_port()") 2>&1) ||
		fail "psql with the environment of 'env $n --shell' failed: $got"
	want=$([ "$n" = pub ] && echo "$PUB_PORT" || echo "$SUB1_PORT")
	[ "$got" = "$want" ] || fail "env $n led psql to port $got, not $want"
done
lab env sub2 --json >"$LAB_DIR/env.json" || fail "env --json failed"
jq -e --arg p "$SUB2_PORT" --arg f "$LAB_DIR/state/pgpass" \
	'.node == "sub2" and .role == "subscriber" and (.port | tostring) == $p and .passfile == $f and .user == "labsup" and .backend == "local"' \
	"$LAB_DIR/env.json" >/dev/null || fail "env --json says: $(cat "$LAB_DIR/env.json")"
pw=$(cat "$LAB_DIR/state/password")
for f in "" "--shell" "--json"; do
	# shellcheck disable=SC2086
	lab env pub $f | grep -qF "$pw" && fail "env $f printed the password"
done
lab env nosuch >/dev/null 2>&1; [ $? = 2 ] || fail "env of an unknown node did not exit 2"
lab stop >/dev/null || fail "stop failed"
note "ok"
