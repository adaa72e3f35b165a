#!/bin/bash
# tags: serial
# 09_deb.sh: the Debian package installs on a fresh Debian 12 and its
# labsup runs a lab there.  `make deb`, then in a fresh container of
# scripts/container-test.sh's image (labsup-test-bookworm: minbase
# bookworm, root without CAP_SYS_PTRACE or CAP_SYS_ADMIN, no source tree):
# `apt-get install --no-install-recommends ./labsup_*.deb` pulls the
# Depends from Debian's archive (so they are enough), then as root
# `labsup start` (local backend, scale 1; the servers run as postgres),
# `labsup status`, `labsup psql`, `labsup stop --purge`, and `dpkg -r`
# removes every file.
# About 30 s here (apt fetches ~46 packages, PostgreSQL and InfluxDB among
# them); LABSUP_DEB_TEST=0 skips it, `make deb-test` runs only it.  Skipped,
# saying why, when no Docker engine or image can run, or apt cannot reach
# Debian's archive.
. "$(dirname "$0")/../lib.sh"

: "${CT_IMAGE:=labsup-test-bookworm}"
[ "${LABSUP_DEB_TEST:-1}" != 0 ] || skip "LABSUP_DEB_TEST=0"
if ! out=$("$ROOT/scripts/dockerd-up.sh" 2>&1); then
	skip "no Docker engine can run here: $out"
fi
command -v docker >/dev/null || skip "the docker CLI (used by this test only) is missing"
docker image inspect "$CT_IMAGE" >/dev/null 2>&1 ||
	skip "no image $CT_IMAGE: build it once with scripts/container-test.sh (as root)"

WORK=$(mktemp -d /tmp/labsup-deb.XXXXXX)
NAME=labsup-it09-deb-$$
trap 'rc=$?; docker rm -f "$NAME" >/dev/null 2>&1; rm -rf "$WORK"; exit $rc' EXIT

note "make deb"
make -C "$ROOT" -s deb >"$WORK/deb.log" 2>&1 || { cat "$WORK/deb.log"; fail "make deb failed"; }
version=$(sed -n 's/^#define LABSUP_VERSION "\(.*\)"$/\1/p' "$ROOT/lib/labsup.h")
deb=$ROOT/build-deb/labsup_${version}_$(dpkg --print-architecture).deb
[ -f "$deb" ] || fail "make deb made no $deb"
cp "$deb" "$WORK/"
dpkg-deb -f "$deb" Depends | grep -q 'postgresql-15' || fail "Depends lacks postgresql-15: $(dpkg-deb -f "$deb" Depends)"

# free ports, in case the run falls back to the host's network
free_port PUB; free_port SUB1; free_port SUB2; free_port INFLUX; free_port GRAFANA
cat >"$WORK/lab.conf" <<EOC
[lab]
name = deb
backend = local

[node pub]
role = publisher
port = $PUB

[node sub1]
role = subscriber
port = $SUB1

[node sub2]
role = subscriber
port = $SUB2

[influxdb]
port = $INFLUX

[grafana]
port = $GRAFANA

[replication]
scale = 1
EOC

# In the box: exit 100 when apt cannot reach the archive (try the host's
# network), 101 when the box has capabilities it must not have.
inner='
set -u
c=$(awk "/^CapEff/ {print \$2}" /proc/self/status)
if (( (0x$c >> 19) & 1 || (0x$c >> 21) & 1 )); then
	echo "the box has CAP_SYS_PTRACE or CAP_SYS_ADMIN (CapEff $c)"; exit 101
fi
step() { echo "--- $(date +%T) $*"; }
step "in Debian $(cat /etc/debian_version) as $(id -un), CapEff $c"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/tmp/apt.log 2>&1 || { tail -n 5 /tmp/apt.log; exit 100; }
step "apt-get install --no-install-recommends ./$(basename /deb/*.deb)"
cd /deb
if ! apt-get install -y -q --no-install-recommends ./labsup_*.deb >/tmp/apt.log 2>&1; then
	tail -n 20 /tmp/apt.log
	grep -q "Could not resolve\|Failed to fetch\|Temporary failure" /tmp/apt.log && exit 100
	echo "FAIL: apt-get install of the package failed"; exit 1
fi
grep -c "^Unpacking" /tmp/apt.log | sed "s/^/packages unpacked: /"
cd /
set -e
step "labsup --version: $(labsup --version)"
labsup config check -c /deb/lab.conf 2>/dev/null | grep -qx "dir = /usr/share/labsup/grafana" ||
	{ echo "FAIL: config check: $(labsup config check -c /deb/lab.conf 2>&1 | grep ^dir)"; exit 1; }
for f in /usr/share/bash-completion/completions/labsup /usr/share/doc/labsup/labsup.conf.example \
	/usr/share/labsup/grafana/provisioning/datasources/labsup.yaml; do
	[ -f "$f" ] || { echo "FAIL: $f is not installed"; exit 1; }
done
step "labsup start"
labsup start -c /deb/lab.conf || { echo "FAIL: labsup start"; tail -n 40 /var/lib/labsup/deb/labsup.log; exit 1; }
step "labsup status"
labsup status -c /deb/lab.conf || { echo "FAIL: labsup status exited $?"; exit 1; }
owners=""	# of the lab servers (no procps in minbase: read /proc)
for p in /proc/[0-9]*; do
	[ "$(cat "$p/comm" 2>/dev/null)" = postgres ] &&
		tr "\0" " " <"$p/cmdline" 2>/dev/null | grep -q -- "-D /var/lib/labsup/deb/pg/" &&
		owners="$owners $(stat -c %U "$p")"
done
[ "$owners" = " postgres postgres postgres" ] ||
	{ echo "FAIL: the lab servers run as:$owners (want postgres x3)"; exit 1; }
n=$(labsup psql -c /deb/lab.conf sub1 -- -XAtqc "SELECT count(*) FROM accounts")
[ "$n" = 100000 ] || { echo "FAIL: sub1 has $n accounts, not 100000"; exit 1; }
step "labsup stop --purge"
labsup stop -c /deb/lab.conf --purge
for d in pg influxdb password; do
	[ ! -e "/var/lib/labsup/deb/$d" ] || { echo "FAIL: stop --purge left /var/lib/labsup/deb/$d"; exit 1; }
done
for p in /proc/[0-9]*; do
	case "$(cat "$p/comm" 2>/dev/null)" in postgres | influxd) ;; *) continue ;; esac
	if tr "\0" " " <"$p/cmdline" 2>/dev/null | grep -q -- "/var/lib/labsup/deb/"; then
		echo "FAIL: a lab server outlived stop: $(tr "\0" " " <"$p/cmdline")"; exit 1
	fi
done
if labsup status -c /deb/lab.conf >/dev/null 2>&1; then echo "FAIL: status after stop"; exit 1; fi
step "dpkg -r labsup"
dpkg -r labsup >/dev/null
for f in /usr/bin/labsup /usr/share/labsup /usr/share/doc/labsup /usr/share/bash-completion/completions/labsup; do
	[ ! -e "$f" ] || { echo "FAIL: dpkg -r left $f"; exit 1; }
done
step "ok"
'
run() {
	docker run --rm --name "$NAME" --cap-drop SYS_PTRACE --cap-drop SYS_ADMIN \
		${1:+--network "$1"} -v "$WORK:/deb:ro" "$CT_IMAGE" bash -c "$inner" >"$WORK/run.log" 2>&1
}
note "in a fresh $CT_IMAGE container"
start=$(date +%s)
run "${CT_NETWORK:-}"
rc=$?
if [ $rc = 100 ] && [ -z "${CT_NETWORK:-}" ]; then
	note "apt could not reach the archive over the default bridge; again with --network host"
	run host
	rc=$?
fi
cat "$WORK/run.log"
note "container run: $(( $(date +%s) - start )) s, exit $rc"
[ $rc = 100 ] && skip "apt-get in the container cannot reach Debian's archive"
[ $rc = 101 ] && fail "docker gave the container capabilities it must not have"
[ $rc = 125 ] && skip "docker run failed (the engine cannot run containers here)"
[ $rc = 0 ] || fail "the package does not work on a fresh Debian 12 (exit $rc)"
note "ok"
