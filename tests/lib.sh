# lib.sh: helpers for integration tests.  Source it, then call lab_setup.
# Each test lab gets its own name, temporary state directory and free ports
# so tests never collide with each other or with a lab a user runs.
set -u
TESTS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$TESTS_DIR/.." && pwd)
: "${LABSUP:=$ROOT/build/labsup}"
export PATH="/usr/lib/postgresql/15/bin:$PATH"

fail() { echo "FAIL: $*" >&2; exit 1; }
skip() { echo "SKIP: $*"; echo "SKIP: $*" >&2; exit 77; }
note() { echo "--- $*"; }

# free_port VAR: sets VAR to a port no socket uses and not handed out before
# in this test.  Below the kernel's ephemeral range (32768+), so outgoing
# connections cannot take it between now and when the lab binds it.  It
# assigns instead of printing: `$(free_port)` would run in a subshell and
# forget what it handed out, so two services could get the same port.
_used_ports=" "
free_port() {
	local p
	while :; do
		p=$(( 20000 + RANDOM % 12700 ))
		case "$_used_ports" in *" $p "*) continue ;; esac
		if [ -z "$(ss -Htan "( sport = :$p )" 2>/dev/null)" ] &&
			! (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null; then
			_used_ports="$_used_ports$p "
			printf -v "$1" '%s' "$p"
			return
		fi
	done
}

# gone PID: the process does not exist, or is a zombie nobody reaped yet
# (in a container, pid 1 may never reap what is reparented to it).
gone() {
	[ ! -e "/proc/$1" ] || grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null
}

# wait_for SECONDS CMD...: retry CMD every 0.2 s until it succeeds.
wait_for() {
	local secs=$1; shift
	local end=$(( $(date +%s) + secs ))
	while ! "$@" >/dev/null 2>&1; do
		[ "$(date +%s)" -ge "$end" ] && return 1
		sleep 0.2
	done
}

# lab_setup NAME [extra INI text on stdin is appended]: writes $LAB_CONF.
lab_setup() {
	lab_teardown 0	# a lab set up before in this script
	LAB_NAME="t-$1-$$"
	LAB_DIR=$(mktemp -d "/tmp/labsup-$1.XXXXXX")
	chmod 0711 "$LAB_DIR"
	free_port PUB_PORT; free_port SUB1_PORT; free_port SUB2_PORT
	free_port INFLUX_PORT; free_port GRAFANA_PORT
	LAB_CONF="$LAB_DIR/labsup.conf"
	cat >"$LAB_CONF" <<EOC
[lab]
name = $LAB_NAME
backend = ${LAB_BACKEND:-local}
state_dir = $LAB_DIR/state

[node pub]
role = publisher
port = $PUB_PORT

[node sub1]
role = subscriber
port = $SUB1_PORT

[node sub2]
role = subscriber
port = $SUB2_PORT

[influxdb]
port = $INFLUX_PORT

[grafana]
port = $GRAFANA_PORT

[replication]
scale = ${LAB_SCALE:-1}
EOC
	if [ ! -t 0 ]; then cat >>"$LAB_CONF"; fi
	export LAB_NAME LAB_DIR LAB_CONF PUB_PORT SUB1_PORT SUB2_PORT INFLUX_PORT GRAFANA_PORT
	trap lab_cleanup EXIT
}

labsup() { "$LABSUP" "$@"; }
lab() { "$LABSUP" "$1" -c "$LAB_CONF" "${@:2}"; }

# lab_teardown RC: stop and delete the current lab (its log shown when RC
# is not 0).  lab_setup calls it for the lab before, the EXIT trap for the
# last one.
lab_teardown() {
	local rc=$1
	if [ -n "${LAB_CONF:-}" ] && [ -f "$LAB_CONF" ]; then
		timeout 60 "$LABSUP" stop -c "$LAB_CONF" --purge >/dev/null 2>&1
		if [ $rc -ne 0 ] && [ -f "$LAB_DIR/state/labsup.log" ]; then
			echo "---- labsup.log (last 40 lines) ----"
			tail -n 40 "$LAB_DIR/state/labsup.log"
		fi
		# a server that outlived the stop gets an immediate shutdown
		# (SIGQUIT), which still removes its shared memory: a kill -9
		# would leave it in /dev/shm for good, its data directory gone
		local pf p
		for pf in "$LAB_DIR"/state/pg/*/postmaster.pid; do
			p=$(head -n 1 "$pf" 2>/dev/null)
			[ -n "$p" ] && kill -QUIT "$p" 2>/dev/null || continue
			wait_for 5 gone "$p"
		done
		# nothing of this lab may survive it
		pkill -9 -f "$LAB_DIR/" 2>/dev/null
		rm -f "/dev/shm/labsup.$(id -u).$LAB_NAME"
		rm -rf "/dev/shm/labsup.$(id -u).$LAB_NAME.probe"	# issue 18
		[ -n "${KEEP_LAB:-}" ] || rm -rf "$LAB_DIR"
	fi
}

lab_cleanup() {
	local rc=$?
	lab_teardown "$rc"
	exit $rc
}

# psql_node PORT SQL: run SQL on a lab node with the lab's credentials.
psql_node() {
	PGPASSFILE="$LAB_DIR/state/pgpass" psql -X -q -A -t -v ON_ERROR_STOP=1 \
		-h 127.0.0.1 -p "$1" -U labsup -d labsup -c "$2"
}

# influx_query QUERY: InfluxQL against the lab's InfluxDB, JSON out.
influx_query() {
	curl -sS -G "http://127.0.0.1:$INFLUX_PORT/query" \
		--data-urlencode "db=${INFLUX_DB:-labsup}" --data-urlencode "q=$1"
}

# influx_value QUERY: the first value of an InfluxQL answer (0 when empty).
influx_value() {
	influx_query "$1" | jq -r '.results[0].series[0].values[0][1] // 0'
}

# status_json: `labsup status --json` of the test lab.
status_json() { "$LABSUP" status -c "$LAB_CONF" --json; }

# walsender NODE: the publisher's walsender pid for NODE's subscription
# ("" when it has none); has_walsender / no_walsender NODE for wait_for.
walsender() { psql_node "$PUB_PORT" "SELECT pid FROM pg_stat_replication WHERE application_name = 'sub_$1'"; }
has_walsender() { [ -n "$(walsender "$1")" ]; }
no_walsender() { [ -z "$(walsender "$1")" ]; }

# node_conf NODE LINES: add LINES (key = value, one a line) to [node NODE]
# of $LAB_CONF, right after its header (issue 15).
node_conf() {
	python3 - "$LAB_CONF" "$1" "$2" <<'PY'
import sys
p, node, lines = sys.argv[1:4]
s = open(p).read()
head = "[node %s]\n" % node
if head not in s:
    sys.exit("no [node %s] in %s" % (node, p))
open(p, "w").write(s.replace(head, head + lines.rstrip("\n") + "\n", 1))
PY
}
