#!/bin/bash
# container-test.sh: run `make test` the way a new user would on a fresh
# Debian 12, in a container: a minbase bookworm root filesystem (made once
# with debootstrap, cached as a Docker image), root without CAP_SYS_PTRACE
# or CAP_SYS_ADMIN, not privileged, nothing installed but what
# `apt-get install git make` brings; `make test` installs the rest itself.
# The source is a clean clone of HEAD, so only committed work is tested.
#
# Usage: scripts/container-test.sh [--src DIR] [--rebuild] [MAKE ARGS...]
#   MAKE ARGS   default: test.  E.g. `unit`, `integration T=07_security`
#               (targets that do not install the packages themselves, as
#               test, test-sanitize, start and bench do, get `make deps` first)
#   --src DIR   mount DIR (a checkout) instead of a clean clone of HEAD
#   --rebuild   debootstrap again and re-import the image
# Environment:
#   CT_IMAGE    image name (labsup-test-bookworm)
#   CT_ROOTFS   where debootstrap puts the root filesystem (/tmp/bookworm-root)
#   CT_MIRROR   Debian mirror (http://deb.debian.org/debian)
#   CT_NETWORK  docker network for the run; unset: the default bridge, then
#               host if apt cannot reach the mirror over the bridge
# Exit: make's status in the container; 2 when the box cannot be built (the
# reason is printed).  The run's output and the integration test logs are
# kept under /tmp/labsup-ct.*/ (printed at the end).
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
: "${CT_IMAGE:=labsup-test-bookworm}"
: "${CT_ROOTFS:=/tmp/bookworm-root}"
: "${CT_MIRROR:=http://deb.debian.org/debian}"

die() { echo "container-test: cannot build the box: $*" >&2; exit 2; }
say() { echo "container-test: $*"; }

src="" rebuild=0
while [ $# -gt 0 ]; do
	case "$1" in
	--src) [ $# -ge 2 ] || die "--src needs a directory"; src=$2; shift 2 ;;
	--rebuild) rebuild=1; shift ;;
	-h | --help) sed -n '2,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) break ;;
	esac
done
[ $# -gt 0 ] || set -- test

# ---- the engine ----------------------------------------------------------
command -v docker >/dev/null 2>&1 || die "docker is not installed (apt-get install docker.io)"
if ! docker info >/dev/null 2>&1; then
	"$ROOT/scripts/dockerd-up.sh" || die "no Docker engine answers (see above)"
	docker info >/dev/null 2>&1 || die "the Docker engine does not answer 'docker info'"
fi

# ---- the image: debootstrap once, import once ------------------------------
rootfs_ok() {
	[ -f "$CT_ROOTFS/etc/debian_version" ] && [ ! -d "$CT_ROOTFS/debootstrap" ] &&
		grep -q '^12\.' "$CT_ROOTFS/etc/debian_version"
}
if [ $rebuild = 1 ] || ! docker image inspect "$CT_IMAGE" >/dev/null 2>&1; then
	if [ $rebuild = 1 ] || ! rootfs_ok; then
		[ "$(id -u)" = 0 ] || die "debootstrap needs root: run this as root (sudo $0)"
		if [ -e "$CT_ROOTFS" ]; then
			# only ever remove a tree debootstrap made (complete or not)
			[ -d "$CT_ROOTFS/debootstrap" ] || [ -f "$CT_ROOTFS/etc/debian_version" ] ||
				[ -z "$(ls -A "$CT_ROOTFS" 2>/dev/null)" ] ||
				die "$CT_ROOTFS exists and is not a debootstrap tree (set CT_ROOTFS)"
			rm -rf "$CT_ROOTFS" || die "cannot remove the old $CT_ROOTFS"
		fi
		if ! command -v debootstrap >/dev/null 2>&1; then
			say "installing debootstrap"
			DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap >/dev/null 2>&1 ||
				{ apt-get update -q >/dev/null 2>&1 &&
				  DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap >/dev/null; } ||
				die "cannot install debootstrap (apt-get install debootstrap)"
		fi
		say "debootstrap --variant=minbase bookworm $CT_ROOTFS $CT_MIRROR (a few minutes, once)"
		log=$(mktemp /tmp/labsup-ct-debootstrap.XXXXXX.log)
		if ! debootstrap --variant=minbase bookworm "$CT_ROOTFS" "$CT_MIRROR" >"$log" 2>&1; then
			tail -n 15 "$log" >&2
			die "debootstrap failed (full log: $log)"
		fi
		rm -f "$log"
		rootfs_ok || die "debootstrap left no bookworm root in $CT_ROOTFS"
	fi
	say "importing $CT_ROOTFS as image $CT_IMAGE"
	tar -C "$CT_ROOTFS" -c . | docker import - "$CT_IMAGE" >/dev/null ||
		die "docker import of $CT_ROOTFS failed"
fi

# ---- the source ------------------------------------------------------------
work=$(mktemp -d /tmp/labsup-ct.XXXXXX) || die "mktemp failed"
mkdir -p "$work/out"
if [ -n "$src" ]; then
	src=$(cd "$src" && pwd) || die "no directory $src"
	say "source: $src (as it is)"
else
	git -C "$ROOT" rev-parse --verify -q HEAD >/dev/null || die "$ROOT is not a git checkout with a commit"
	git clone -q --no-hardlinks "$ROOT" "$work/src" || die "git clone $ROOT failed"
	src=$work/src
	say "source: clean clone of $(git -C "$src" log -1 --format='%h %s' | cut -c1-72)"
	if [ -n "$(git -C "$ROOT" status --porcelain --untracked-files=no 2>/dev/null)" ]; then
		say "note: uncommitted changes in $ROOT are not tested"
	fi
fi

# ---- the run ---------------------------------------------------------------
# In the box: check it really lacks CAP_SYS_PTRACE (19) and CAP_SYS_ADMIN
# (21); install git and make as a new user would (exit 100 when apt cannot
# reach the mirror); run make; keep the integration logs.
inner='
c=$(awk "/^CapEff/ {print \$2}" /proc/self/status)
if (( (0x$c >> 19) & 1 || (0x$c >> 21) & 1 )); then
	echo "container-test: the box has CAP_SYS_PTRACE or CAP_SYS_ADMIN (CapEff $c)" >&2; exit 101
fi
echo "container-test: in $(cat /etc/debian_version) as $(id -un), CapEff $c, /dev/shm $(df -h --output=size /dev/shm | tail -1 | tr -d " ")"
export DEBIAN_FRONTEND=noninteractive
{ apt-get update -q && apt-get install -y -q git make; } >/ct-out/apt.log 2>&1 || { tail -n 5 /ct-out/apt.log; exit 100; }
case " $* " in
*" test "* | *" test-sanitize "* | *" start "* | *" bench "* | *" deps "*) ;;
*) make deps || exit $? ;;
esac
make "$@"
rc=$?
cp -r /tmp/labsup-itest.* /ct-out/ 2>/dev/null
exit $rc
'
name=labsup-ct-$$
trap 'docker rm -f "$name" >/dev/null 2>&1; exit 130' INT TERM
run() {
	docker run --rm --name "$name" --cap-drop SYS_PTRACE --cap-drop SYS_ADMIN \
		${1:+--network "$1"} -v "$src:/src" -v "$work/out:/ct-out" -w /src \
		"$CT_IMAGE" bash -c "$inner" bash "${@:2}" 2>&1 | tee "$work/out/make.log"
	return "${PIPESTATUS[0]}"
}
say "running: make $* (in $CT_IMAGE${CT_NETWORK:+, network $CT_NETWORK})"
start=$(date +%s)
run "${CT_NETWORK:-}" "$@"
rc=$?
if [ $rc = 100 ] && [ -z "${CT_NETWORK:-}" ]; then
	say "apt could not reach the mirror over the default bridge; again with --network host"
	run host "$@"
	rc=$?
fi
[ $rc = 100 ] && die "apt-get in the container cannot reach the mirror (see $work/out/apt.log)"
[ $rc = 101 ] && die "docker gave the container capabilities it must not have"
[ $rc = 125 ] && die "docker run failed (see above)"

# ---- the summary -----------------------------------------------------------
echo
say "summary of make $* in $CT_IMAGE ($(( $(date +%s) - start )) s):"
grep -aE 'Synthesis:|SKIPPED|FAILED rc=|^failed:|^integration: ' "$work/out/make.log" | sed 's/^/  /'
say "make exited $rc; output and test logs: $work/out"
[ "$src" = "$work/src" ] && [ $rc = 0 ] && rm -rf "$work/src"
exit $rc
