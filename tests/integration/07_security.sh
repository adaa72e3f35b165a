#!/bin/bash
# tags: sanitize
# 07_security.sh: what labsup keeps private.  The segment, pidfile, log,
# password and passfiles are 0600; a state directory others may write (or
# that is not ours) is refused; every server of the lab listens on
# 127.0.0.1 only and labsup itself listens nowhere but a subscriber's
# link, on 127.0.0.1; the generated password
# and an InfluxDB 2.x token (token_file) never show up in any process's
# argv or environment, in any log, in `status` (text or JSON) or in error
# messages.
. "$(dirname "$0")/../lib.sh"
lab_setup sec <<EOF2
[hum]
clients = 1
rate = 20
EOF2
S="$LAB_DIR/state"
mode() { stat -c %a "$1"; }

note "a state directory others may write, or that is not ours, is refused"
for m in 0702 0722 0777; do
	mkdir -p "$LAB_DIR/open$m" && chmod "$m" "$LAB_DIR/open$m"
	printf '[lab]\nname = open%s\nstate_dir = %s/open%s\n' "$$" "$LAB_DIR" "$m" >"$LAB_DIR/open.conf"
	"$LABSUP" start -c "$LAB_DIR/open.conf" --timeout 5 >/dev/null 2>"$LAB_DIR/err" && fail "state dir mode $m accepted"
	grep -q "writable by others" "$LAB_DIR/err" || fail "state dir mode $m: $(cat "$LAB_DIR/err")"
done
if id nobody >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
	mkdir -p "$LAB_DIR/theirs" && chmod 0711 "$LAB_DIR/theirs" && chown nobody "$LAB_DIR/theirs"
	printf '[lab]\nname = theirs%s\nstate_dir = %s/theirs\n' "$$" "$LAB_DIR" >"$LAB_DIR/theirs.conf"
	"$LABSUP" start -c "$LAB_DIR/theirs.conf" --timeout 5 >/dev/null 2>"$LAB_DIR/err" && fail "a state dir owned by nobody accepted"
	grep -q "owned by you" "$LAB_DIR/err" || fail "foreign state dir: $(cat "$LAB_DIR/err")"
fi

note "start"
"$LABSUP" start -c "$LAB_CONF" --timeout 240 >"$LAB_DIR/start.out" 2>&1 || fail "start failed: $(tail -5 "$LAB_DIR/start.out")"
PWF="$S/password"
[ -s "$PWF" ] || fail "no generated password in $PWF"

note "files holding state or secrets are 0600, the state dir is not writable by others"
[ "$(mode "/dev/shm/labsup.$(id -u).$LAB_NAME")" = 600 ] || fail "segment mode $(mode "/dev/shm/labsup.$(id -u).$LAB_NAME")"
for f in labsup.pid labsup.log password pgpass; do
	[ -f "$S/$f" ] || fail "$S/$f missing"
	[ "$(mode "$S/$f")" = 600 ] || fail "$f is mode $(mode "$S/$f"), expected 600"
done
# the server user's copy of the passfile (local backend)
find "$S" -name .pgpass -o -name pgpass | while read -r f; do
	[ "$(mode "$f")" = 600 ] || { echo "passfile $f is $(mode "$f")"; exit 1; }
done || fail "a passfile is not 0600"
[ $(( 0$(mode "$S") & 022 )) -eq 0 ] || fail "state dir mode $(mode "$S") is group/other writable"

note "every server listens on 127.0.0.1 only; labsup only in its links, there"
# the servers' pids, for leak_check below
pids=$(status_json | jq -r '.pid, .workers[].pid')
srv=$(cat "$S/influxdb/influxd.pid" 2>/dev/null)
for n in pub sub1 sub2; do srv="$srv $(head -1 "$S/pg/$n/postmaster.pid")"; done
[ "$(echo $srv | wc -w)" -ge 4 ] || fail "could not find the server pids ($srv)"
# By the lab's own ports, not by process: `ss -p` shows only the sockets of
# processes we may trace, and root without CAP_SYS_PTRACE (a container)
# may not trace the servers, which run as the run_as user.  Every port the
# lab gave a server has a listening socket, and each socket on it (TCP or
# UDP, any address family) is on the loopback address: a wildcard listener
# (0.0.0.0, [::], *) on that port fails.  influxd's rpc port is the one the
# lab wrote into its config.
rpc=$(sed -n 's/^bind-address = "[^"]*:\([0-9][0-9]*\)"$/\1/p' "$S/influxdb/influxd.conf" 2>/dev/null)
[ -n "$rpc" ] || fail "no rpc bind-address in $S/influxdb/influxd.conf"
ss -Hltnu >"$LAB_DIR/ss" || fail "ss -Hltnu failed"
nsock=0
for np in pub:$PUB_PORT sub1:$SUB1_PORT sub2:$SUB2_PORT influxdb:$INFLUX_PORT \
	influxdb-rpc:$rpc grafana:$GRAFANA_PORT; do
	n=${np%%:*} port=${np#*:} k=0
	while read -r line; do
		k=$((k + 1))
		addr=$(echo "$line" | awk '{print $5}')
		case "$addr" in
		127.0.0.1:* | "[::1]:"*) ;;
		*) fail "$n (port $port) listens on $addr: $line" ;;
		esac
	done < <(awk -v p="$port" '{ n = split($5, a, ":"); if (a[n] == p) print }' "$LAB_DIR/ss")
	# grafana is optional (not installed, it does not run)
	[ $k -gt 0 ] || [ "$n" = grafana ] || fail "nothing listens on $n's port $port: $(cat "$LAB_DIR/ss")"
	nsock=$((nsock + k))
done
[ $nsock -ge 5 ] || fail "found only $nsock listening sockets on the lab's ports"
# labsup's own processes are ours: ss -p sees their sockets, provided we
# may read their fds (checked, so this cannot pass for want of seeing them)
ss -Hltnup >"$LAB_DIR/ssp" || fail "ss -Hltnup failed"
for p in $pids; do
	[ "$p" -gt 0 ] 2>/dev/null && ! gone "$p" || continue
	ls "/proc/$p/fd" >/dev/null 2>&1 || gone "$p" ||
		fail "cannot read /proc/$p/fd of labsup process $p, so ss -p cannot tell whether it listens"
	grep -q "pid=$p," "$LAB_DIR/ssp" || continue
	# a subscriber's link (issue 15) listens where its links/NODE.addr
	# says, on the loopback address, and nowhere else
	w=$(status_json | jq -r --argjson p "$p" '.workers[] | select(.pid == $p) | .name')
	case "$w" in
	"link "*)
		n=${w#link } addr=$(cat "$S/links/$n.addr" 2>/dev/null)
		[ "${addr%% *}" = 127.0.0.1 ] || fail "link $n listens on '$addr', not 127.0.0.1"
		grep "pid=$p," "$LAB_DIR/ssp" | awk '{print $5}' | while read -r a; do
			[ "$a" = "127.0.0.1:${addr##* }" ] || fail "link $n listens on $a, not its $addr"
		done || exit 1
		;;
	*) fail "labsup process $p ($w) listens: $(grep "pid=$p," "$LAB_DIR/ssp")" ;;
	esac
done

# environ_of PID: the environment of PID.  Root without CAP_SYS_PTRACE may
# not read another user's (the servers run as run_as): read it as its owner.
environ_of() {
	cat "/proc/$1/environ" 2>/dev/null && return 0
	[ "$(id -u)" = 0 ] || return 1
	local u g
	u=$(stat -c %u "/proc/$1" 2>/dev/null) && g=$(stat -c %g "/proc/$1" 2>/dev/null) || return 1
	setpriv --reuid="$u" --regid="$g" --clear-groups cat "/proc/$1/environ" 2>/dev/null
}

# leak_check WHAT SECRETFILE: the secret in SECRETFILE appears nowhere it
# must not.  grep -f keeps the secret out of grep's own argv.
leak_check() {
	local what=$1 sf=$2 f p lab_pids
	note "$what: not in argv or environment of any process"
	for f in /proc/[0-9]*/cmdline; do
		if grep -qaFf "$sf" "$f" 2>/dev/null; then
			fail "$what is in the argv of pid $(basename "$(dirname "$f")"): $(tr '\0' ' ' <"$f" | cut -c1-80)..."
		fi
	done
	lab_pids="$(status_json | jq -r '.pid, .workers[].pid') $srv"
	for p in $lab_pids $(for q in $srv; do pgrep -P "$q"; done); do
		if ! environ_of "$p" >/dev/null; then
			gone "$p" || fail "cannot read the environment of lab pid $p"
		elif environ_of "$p" | grep -qaFf "$sf"; then
			fail "$what is in the environment of lab pid $p"
		fi
	done
	note "$what: not in any log, status or error message"
	find "$S" -name '*.log' -o -name 'log' -type d | while read -r f; do
		grep -rlaFf "$sf" "$f" && exit 1
	done && fail "$what appears in a log file (listed above)"
	"$LABSUP" status -c "$LAB_CONF" >"$LAB_DIR/st.txt" 2>&1
	status_json >"$LAB_DIR/st.json" 2>&1
	"$LABSUP" config check -c "$LAB_CONF" >"$LAB_DIR/cc.txt" 2>&1
	"$LABSUP" psql -c "$LAB_CONF" nosuchnode >"$LAB_DIR/e1.txt" 2>&1
	"$LABSUP" check -c "$LAB_CONF" >"$LAB_DIR/e2.txt" 2>&1
	"$LABSUP" psql -c "$LAB_CONF" pub -c 'select * from nosuchtable' >"$LAB_DIR/e3.txt" 2>&1
	for f in st.txt st.json cc.txt e1.txt e2.txt e3.txt reload.err; do
		[ -f "$LAB_DIR/$f" ] || continue
		grep -qaFf "$sf" "$LAB_DIR/$f" && fail "$what appears in $f: $(cat "$LAB_DIR/$f" | head -5)"
	done
	return 0
}

note "a bad reload's error message"
cp "$LAB_CONF" "$LAB_DIR/good.conf"
printf '[influxdb]\nversion = 7\n' >>"$LAB_CONF"
"$LABSUP" reload -c "$LAB_DIR/good.conf" >/dev/null 2>"$LAB_DIR/reload.err" && fail "bad reload applied"
cp "$LAB_DIR/good.conf" "$LAB_CONF"
leak_check "the generated password" "$PWF"

note "an InfluxDB 2.x token from token_file"
head -c 48 /dev/urandom | base64 | tr -d '/+=\n' >"$LAB_DIR/token"
chmod 0600 "$LAB_DIR/token"
[ "$(wc -c <"$LAB_DIR/token")" -ge 40 ] || fail "token generation"
wr0=$(status_json | jq '.workers[] | select(.kind == "writer") | .pid')
sed -i "/^\[influxdb\]/a version = 2\norg = labsuporg\nbucket = labsup\ntoken_file = $LAB_DIR/token" "$LAB_CONF"
"$LABSUP" reload -c "$LAB_CONF" >/dev/null || fail "reload to InfluxDB 2.x settings refused"
wait_for 60 bash -c "p=\$($LABSUP status -c $LAB_CONF --json | jq '.workers[] | select(.kind == \"writer\") | .pid'); [ \"\$p\" != $wr0 ] && [ \"\$p\" != 0 ]" || fail "writer not restarted for the 2.x settings"
# this InfluxDB speaks 1.x: writes with the token fail and get logged
# (errors, retries, spool) -- exactly where a token could leak
# (writer counters, enum writer_counter: 6 retries, 7 errors, 8 rejected)
wait_for 60 bash -c "[ \$($LABSUP status -c $LAB_CONF --json | jq '.workers[] | select(.kind == \"writer\") | .counters[6] + .counters[7] + .counters[8]') -gt 0 ]" || fail "the writer never tried to post with the token"
sleep 2
leak_check "the InfluxDB token" "$LAB_DIR/token"
cp "$LAB_DIR/good.conf" "$LAB_CONF"
"$LABSUP" reload -c "$LAB_CONF" >/dev/null || fail "reload back to 1.x refused"

note "spool files, when there are any, are 0600 in a 0700 directory"
if [ -d "$S/writer-spool" ]; then
	[ "$(mode "$S/writer-spool")" = 700 ] || fail "spool dir mode $(mode "$S/writer-spool")"
	for f in "$S"/writer-spool/*; do
		[ -e "$f" ] || continue
		[ "$(mode "$f")" = 600 ] || fail "spool file $f mode $(mode "$f")"
	done
fi
for f in "$S"/*; do
	[ -f "$f" ] || continue
	case "$(basename "$f")" in backend) continue ;; esac # "local": no secret
	[ $(( 0$(mode "$f") & 077 )) -eq 0 ] || fail "$f is mode $(mode "$f"): others may read it"
done
echo "security ok"
