#!/bin/bash
# 12_local_port_taken.sh: a port the config gives a node but another
# process holds is a clear failure naming the port and the service, and
# nothing else of the lab is left behind by stop.
. "$(dirname "$0")/../lib.sh"

[ -x /usr/lib/postgresql/15/bin/postgres ] || skip "PostgreSQL 15 is not installed"
command -v python3 >/dev/null || skip "python3 is needed to hold a port"
lab_setup porttaken </dev/null

# someone else's listener on sub2's port
python3 -c "import socket,time; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('127.0.0.1', $SUB2_PORT)); s.listen(); time.sleep(300)" &
holder=$!
trap 'kill $holder 2>/dev/null; lab_cleanup' EXIT
wait_for 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/$SUB2_PORT" || fail "could not hold port $SUB2_PORT"

out=$(timeout 120 "$LABSUP" start -c "$LAB_CONF" --timeout 60 2>&1)
rc=$?
echo "$out" | tail -5
[ $rc -ne 0 ] || fail "start succeeded although port $SUB2_PORT is taken"
echo "$out" | grep -q "port $SUB2_PORT for sub2 is already in use" ||
	fail "start did not name the port and the service"
kill -0 $holder || fail "labsup killed the process holding the port"
lab stop >/dev/null 2>&1
sleep 0.5
pgrep -f "$LAB_DIR/" >/dev/null && fail "processes survive stop: $(pgrep -af "$LAB_DIR/")"
note "ok"
