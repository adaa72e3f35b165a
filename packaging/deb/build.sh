#!/bin/sh
# build.sh: make labsup_<version>_<arch>.deb from a staged install, with
# dpkg-deb only (no network, no debhelper).  `make deb` stages it:
#   make BUILD=build-deb PREFIX=/usr DESTDIR=$PWD/build-deb/root install
# Usage: packaging/deb/build.sh ROOT BINARY OUTDIR
#   ROOT     the staged tree (gets DEBIAN/ and gzipped man pages)
#   BINARY   the labsup in it, as built (its libraries are checked
#            against Depends, so a new library cannot be forgotten)
#   OUTDIR   where the .deb goes
# The version is LABSUP_VERSION in lib/labsup.h, the architecture
# dpkg --print-architecture's.  Depends: the runtime packages of
# scripts/deps.sh's build packages, PostgreSQL 15 and InfluxDB;
# Recommends: docker.io (backend = docker; auto falls back to local).
set -eu
[ $# = 3 ] || { echo "usage: $0 ROOT BINARY OUTDIR" >&2; exit 2; }
root=$1 bin=$2 out=$3
here=$(cd "$(dirname "$0")/../.." && pwd)
die() { echo "deb: $*" >&2; exit 1; }

command -v dpkg-deb >/dev/null 2>&1 || die "dpkg-deb is missing (apt-get install dpkg)"
[ -x "$root/usr/bin/labsup" ] || die "$root/usr/bin/labsup is missing (make install PREFIX=/usr DESTDIR=$root)"
version=$(sed -n 's/^#define LABSUP_VERSION "\(.*\)"$/\1/p' "$here/lib/labsup.h")
[ -n "$version" ] || die "no LABSUP_VERSION in lib/labsup.h"
arch=$(dpkg --print-architecture)

# libraries: libc6 and what the Makefile's pkg-config names link to
LIBS="libc6, libpq5, libcurl4, libbsd0, libinih1, libjansson4, zlib1g"
glibc=$(objdump -T "$bin" | grep -o 'GLIBC_[0-9.]*' | sed 's/GLIBC_//' | sort -Vu | tail -n 1)
[ -n "$glibc" ] || die "no GLIBC symbol versions in $bin"
DEPENDS="libc6 (>= $glibc), ${LIBS#libc6, }, postgresql-15, influxdb"
RECOMMENDS="docker.io"

# Every library the binary needs must come from a package in Depends
# (dpkg -S on this machine, which built it against the same packages).
for so in $(readelf -d "$bin" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
	path=$(ldd "$bin" | awk -v so="$so" '$1 == so { print $3 }')
	[ -n "$path" ] || die "ldd does not resolve $so"
	pkg=$(dpkg -S "$(readlink -f "$path")" 2>/dev/null | head -n 1 | cut -d: -f1) ||
		true
	[ -n "$pkg" ] || pkg=$(dpkg -S "$path" 2>/dev/null | head -n 1 | cut -d: -f1) || true
	[ -n "$pkg" ] || die "no package owns $path ($so)"
	case ", $LIBS, " in
	*", $pkg, "*) ;;
	*) die "$so comes from $pkg, which is not in Depends ($LIBS)" ;;
	esac
done

# Debian ships binaries stripped and man pages gzipped
strip --strip-unneeded --remove-section=.comment "$root/usr/bin/labsup"
for m in "$root"/usr/share/man/man*/*; do
	[ -f "$m" ] || continue
	case "$m" in *.gz) continue ;; esac
	gzip -9nf "$m"
done

mkdir -p "$root/DEBIAN"
size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
cat >"$root/DEBIAN/control" <<EOC
Package: labsup
Version: $version
Architecture: $arch
Maintainer: labsup developers <labsup@localhost>
Installed-Size: $size
Depends: $DEPENDS
Recommends: $RECOMMENDS
Section: database
Priority: optional
Description: PostgreSQL logical-replication lab supervisor
 One publisher and two subscribers on one machine, a steady background
 load, lock and wait sampling on every node at up to 100 Hz, replication
 lag and service stats, written to InfluxDB through a shared-memory ring
 and shown on Grafana dashboards (installed in /usr/share/labsup/grafana).
 labsup start starts the lab, labsup stop stops it.
EOC
(cd "$root" && find usr -type f ! -path 'DEBIAN/*' -print0 | sort -z |
	xargs -0 md5sum) >"$root/DEBIAN/md5sums"
chmod 0644 "$root/DEBIAN/control" "$root/DEBIAN/md5sums"

deb="$out/labsup_${version}_${arch}.deb"
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
echo "deb: $deb"
dpkg-deb --info "$deb" | sed -n 's/^ \(Depends\|Recommends\|Version\|Architecture\):/  \1:/p'
