#!/bin/sh
# dockerd-up.sh: make sure a Docker engine answers, starting dockerd in the
# background when it is installed and nothing answers yet.  Idempotent and
# safe to run beside other labs: it never stops or restarts an engine that
# already runs, and only starts one when the socket does not answer.
# Exit 0 when an engine answers, 1 with a one-line reason otherwise.
# DOCKER_HOST (unix://...) is honoured; a tcp:// engine is only checked.
set -u

sock=/var/run/docker.sock
case "${DOCKER_HOST:-}" in
unix://*) sock=${DOCKER_HOST#unix://} ;;
tcp://*)
	if curl -sf --max-time 5 "http${DOCKER_TLS_VERIFY:+s}://${DOCKER_HOST#tcp://}/_ping" >/dev/null 2>&1; then
		exit 0
	fi
	echo "dockerd-up: the engine at $DOCKER_HOST does not answer" >&2
	exit 1 ;;
esac

answers() {
	curl -sf --max-time 5 --unix-socket "$sock" http://d/_ping >/dev/null 2>&1
}

answers && exit 0

if ! command -v dockerd >/dev/null 2>&1 && [ ! -x /usr/sbin/dockerd ]; then
	echo "dockerd-up: no engine at $sock and dockerd is not installed (apt-get install docker.io)" >&2
	exit 1
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "dockerd-up: no engine at $sock; start it as root (sudo systemctl start docker)" >&2
	exit 1
fi

# Another run may be starting it right now: one starter at a time.
lock=/run/labsup-dockerd-up.lock
exec 9>"$lock"
if command -v flock >/dev/null 2>&1; then
	flock -w 60 9 || { echo "dockerd-up: timed out waiting for $lock" >&2; exit 1; }
fi
answers && exit 0

# A dockerd that runs but does not answer yet (starting up): give it time
# rather than starting a second one that would fight over its pidfile.
if ! pgrep -x dockerd >/dev/null 2>&1; then
	if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
		systemctl start docker >/dev/null 2>&1
	fi
fi
if ! answers && ! pgrep -x dockerd >/dev/null 2>&1; then
	dbin=$(command -v dockerd || echo /usr/sbin/dockerd)
	log=/var/log/labsup-dockerd.log
	nohup setsid "$dbin" -H "unix://$sock" >"$log" 2>&1 </dev/null &
fi
i=0
while [ $i -lt 150 ]; do
	answers && exit 0
	sleep 0.2
	i=$((i + 1))
done
echo "dockerd-up: dockerd did not answer on $sock within 30 s (see /var/log/labsup-dockerd.log)" >&2
exit 1
