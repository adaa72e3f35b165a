#!/bin/bash
# influxd-run.sh DIR PORT {start|stop}: a throwaway InfluxDB 1.x for tests
# and benchmarks.  Everything lives under DIR (config, meta, data, wal, log,
# pid); HTTP listens on 127.0.0.1:PORT, the RPC port is a free port chosen
# at the first start and kept in DIR/influxd.conf, so a stop/start cycle
# comes back on the same ports with the same data.  start returns once
# /ping answers; stop stops only the influxd whose pid is in DIR/influxd.pid.
set -u
usage() { echo "usage: influxd-run.sh DIR PORT {start|stop}" >&2; exit 2; }
[ $# -eq 3 ] || usage
dir=$1 port=$2 cmd=$3
: "${INFLUXD:=/usr/bin/influxd}"
conf="$dir/influxd.conf" pidfile="$dir/influxd.pid" log="$dir/influxd.log"

# Below the kernel's ephemeral range (32768+), unused by any socket: an
# outgoing connection cannot take it before influxd binds it.
free_port() {
	local p
	while :; do
		p=$(( 20000 + RANDOM % 12700 ))
		[ "$p" = "$port" ] && continue
		if [ -z "$(ss -Htan "( sport = :$p )" 2>/dev/null)" ] &&
			! (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null; then
			echo "$p"
			return
		fi
	done
}

running() {
	[ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null
}

ping_ok() {
	[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 \
		"http://127.0.0.1:$port/ping")" = 204 ]
}

start() {
	if [ ! -x "$INFLUXD" ]; then
		echo "influxd-run.sh: $INFLUXD not found (apt-get install influxdb)" >&2
		exit 1
	fi
	mkdir -p "$dir/meta" "$dir/data" "$dir/wal" || exit 1
	dir=$(cd "$dir" && pwd)
	conf="$dir/influxd.conf" pidfile="$dir/influxd.pid" log="$dir/influxd.log"
	if running; then
		echo "influxd-run.sh: influxd already runs for $dir (pid $(cat "$pidfile"))" >&2
		exit 1
	fi
	if [ ! -f "$conf" ]; then
		cat >"$conf" <<EOC
reporting-disabled = true
bind-address = "127.0.0.1:$(free_port)"

[meta]
  dir = "$dir/meta"
  logging-enabled = false

[data]
  dir = "$dir/data"
  wal-dir = "$dir/wal"
  query-log-enabled = false
  trace-logging-enabled = false

[http]
  enabled = true
  bind-address = "127.0.0.1:$port"
  auth-enabled = false
  log-enabled = false

[monitor]
  store-enabled = false

[continuous_queries]
  enabled = false
EOC
	fi
	for attempt in 1 2 3; do
		# setsid: the caller's terminal signals are not the server's business
		setsid "$INFLUXD" -config "$conf" >>"$log" 2>&1 </dev/null &
		echo $! >"$pidfile"
		for _ in $(seq 1 150); do
			if ping_ok; then exit 0; fi
			if ! running; then break; fi
			sleep 0.2
		done
		# someone took the rpc port in between: pick another, again
		running || ! tail -n 3 "$log" | grep -q "bind: address already in use" ||
			[ "$attempt" = 3 ] || {
			sed -i "s/^bind-address = \"127.0.0.1:[0-9]*\"/bind-address = \"127.0.0.1:$(free_port)\"/" "$conf"
			continue
		}
		break
	done
	echo "influxd-run.sh: influxd did not answer on 127.0.0.1:$port (see $log)" >&2
	tail -n 5 "$log" >&2
	exit 1
}

stop() {
	local pid
	running || { rm -f "$pidfile"; exit 0; }
	pid=$(cat "$pidfile")
	kill -TERM "$pid" 2>/dev/null
	for _ in $(seq 1 100); do
		kill -0 "$pid" 2>/dev/null || { rm -f "$pidfile"; exit 0; }
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null
	rm -f "$pidfile"
}

case $cmd in
start) start ;;
stop) stop ;;
*) usage ;;
esac
