#!/bin/bash
# tags: serial
# 09_install.sh: `make install` makes a labsup that needs no source tree.
# A copy of the tree (git ls-files, untracked files too) is built and
# installed (DESTDIR, then PREFIX=<temp dir>), the copy is deleted, and the
# installed binary must still run: --version, `config check` and `config keys` name the grafana
# directory under the prefix, the bash completion completes commands,
# options and node names (honouring -c FILE), and a local lab starts and
# stops.  `make uninstall` removes exactly what install put there.
. "$(dirname "$0")/../lib.sh"

[ -x /usr/lib/postgresql/15/bin/postgres ] || skip "PostgreSQL 15 is not installed"
command -v influxd >/dev/null || skip "influxd is not installed"
command -v jq >/dev/null || skip "jq is not installed"
command -v git >/dev/null || skip "git is not installed"
git -C "$ROOT" rev-parse --git-dir >/dev/null 2>&1 || skip "$ROOT is not a git checkout"

WORK=$(mktemp -d /tmp/labsup-install.XXXXXX)
chmod 0711 "$WORK"
SRC=$WORK/src
PREFIX=$WORK/prefix
trap 'rc=$?; rm -rf "$WORK"; (exit $rc); lab_cleanup' EXIT
listing() { (cd "$1" && find . ! -type d | sort); }
version=$(sed -n 's/^#define LABSUP_VERSION "\(.*\)"$/\1/p' "$ROOT/lib/labsup.h")

note "copy the tracked tree and build it"
mkdir -p "$SRC"
# tracked and untracked files as they are here, not what git ignores: the
# tree the other tests build
files() { git -C "$ROOT" ls-files --cached --others --exclude-standard "$@"; }
(cd "$ROOT" && files -z | while IFS= read -r -d '' f; do
	[ -e "$f" ] && printf '%s\0' "$f"
done | tar --null -T - -cf -) | tar -C "$SRC" -xf - || fail "cannot copy the tree"
make -C "$SRC" -j"$(nproc)" -s all >"$WORK/build.log" 2>&1 ||
	{ tail -n 20 "$WORK/build.log"; fail "the copy does not build"; }

note "make install DESTDIR=... PREFIX=/usr/local"
make -C "$SRC" -s install DESTDIR="$WORK/dest" PREFIX=/usr/local >"$WORK/install.log" 2>&1 ||
	{ cat "$WORK/install.log"; fail "make install DESTDIR= failed"; }
for f in bin/labsup share/labsup/grafana/provisioning/datasources/labsup.yaml \
	share/labsup/grafana/provisioning/dashboards/labsup.yaml \
	share/labsup/grafana/dashboards/locks.json share/doc/labsup/labsup.conf.example \
	share/bash-completion/completions/labsup; do
	[ -f "$WORK/dest/usr/local/$f" ] || fail "DESTDIR install lacks /usr/local/$f"
done
[ -x "$WORK/dest/usr/local/bin/labsup" ] || fail "the installed binary is not executable"
[ "$(listing "$WORK/dest" | grep -vc '^\./usr/local/')" = 0 ] ||
	fail "DESTDIR install wrote outside DESTDIR/usr/local: $(listing "$WORK/dest" | grep -v '^\./usr/local/')"
make -C "$SRC" -s uninstall DESTDIR="$WORK/dest" PREFIX=/usr/local >/dev/null 2>&1 ||
	fail "make uninstall DESTDIR= failed"
[ -z "$(listing "$WORK/dest")" ] || fail "uninstall left in DESTDIR: $(listing "$WORK/dest")"

note "make install PREFIX=$PREFIX (beside files of others, which stay)"
mkdir -p "$PREFIX/bin" "$PREFIX/share/man/man1" "$PREFIX/share/doc/other"
echo other >"$PREFIX/bin/other"
echo other >"$PREFIX/share/man/man1/other.1"
echo other >"$PREFIX/share/doc/other/README"
before=$(listing "$PREFIX")
make -C "$SRC" -s install PREFIX="$PREFIX" >"$WORK/install.log" 2>&1 ||
	{ cat "$WORK/install.log"; fail "make install PREFIX= failed"; }
installed=$(comm -13 <(echo "$before") <(listing "$PREFIX"))
want="./bin/labsup
./share/bash-completion/completions/labsup
./share/doc/labsup/labsup.conf.example
./share/doc/labsup/uplot.LICENSE"
for f in $(files grafana/provisioning grafana/dashboards | sort -u); do
	want="$want
./share/labsup/$f"
done
for f in $(files scenarios); do
	want="$want
./share/labsup/$f"
done
[ -f "$SRC/docs/labsup-scenario.5" ] && want="$want
./share/man/man5/labsup-scenario.5"
[ -f "$SRC/docs/labsup.1" ] && want="$want
./share/man/man1/labsup.1"
[ -f "$SRC/docs/labsup.conf.5" ] && want="$want
./share/man/man5/labsup.conf.5"
# the in-server probe, where the server headers let make build it (issue 18)
[ -f "$SRC/build/labsup_probe.so" ] && want="$want
./lib/labsup/labsup_probe.so"
want=$(sort <<<"$want")
[ "$installed" = "$want" ] ||
	fail "make install installed (< got, > wanted): $(diff <(echo "$installed") <(echo "$want"))"

note "delete the source copy; the installed labsup runs without it"
rm -rf "$SRC"
LABSUP=$PREFIX/bin/labsup
[ "$("$LABSUP" --version)" = "labsup $version" ] || fail "--version says $("$LABSUP" --version)"
"$LABSUP" scenario list | grep -q "^row-lock " ||
	fail "the installed labsup does not find its scenarios: $("$LABSUP" scenario list 2>&1)"
gdir=$PREFIX/share/labsup/grafana
"$LABSUP" config check 2>/dev/null | grep -qxF "dir = $gdir" ||
	fail "config check does not show dir = $gdir: $("$LABSUP" config check 2>&1 | grep '^dir')"
"$LABSUP" config keys | awk -F'\t' -v d="$gdir" '$1 == "grafana" && $2 == "dir" && $4 == d { ok = 1 } END { exit !ok }' ||
	fail "config keys does not show $gdir as the default: $("$LABSUP" config keys | grep -P '^grafana\tdir')"
printf '[grafana]\ndir = /srv/own/grafana\n' >"$WORK/own.conf"
"$LABSUP" config check -c "$WORK/own.conf" 2>/dev/null | grep -qxF "dir = /srv/own/grafana" ||
	fail "[grafana] dir in the file does not override the default"

note "bash completion (the installed file, in bash -c)"
printf '[lab]\nname = comp\n\n[node alpha]\nrole = publisher\nport = 20001\n\n[node beta]\nrole = subscriber\nport = 20002\n' \
	>"$WORK/comp.conf"
# complete WORDS...: COMPREPLY, sorted, one line, of completing the last word
complete_words() {
	PATH="$PREFIX/bin:$PATH" bash -c '
		. "$1"; shift
		complete -p labsup | grep -qx "complete -F _labsup labsup" || { echo "NOT REGISTERED: $(complete -p labsup)"; exit 1; }
		COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMPREPLY=()
		_labsup || exit 1
		printf "%s\n" "${COMPREPLY[@]}" | sort | tr "\n" " " | sed "s/ $//"
	' bash "$PREFIX/share/bash-completion/completions/labsup" "$@"
}
expect() {
	local want=$1; shift
	local got
	got=$(complete_words "$@") || fail "completion of '$*' failed: $got"
	[ "$got" = "$want" ] || fail "completing '$*' gave '$got', not '$want'"
}
cmds=$("$LABSUP" --help | sed -n 's/^  \([a-z][a-z]*\).*/\1/p' | sort | tr '\n' ' ' | sed 's/ $//')
[ "$(wc -w <<<"$cmds")" -ge 10 ] || fail "labsup --help lists only: $cmds"
expect "$cmds" labsup ""
expect "start status stop" labsup st
expect "--help --version" labsup --
expect "--backend --config --foreground --timeout" labsup start --
expect "auto docker local" labsup start --backend ""
expect "local" labsup start --backend = l
expect "--backend=docker" labsup start --backend=d
expect "--config --keep-running --purge --timeout" labsup stop --
expect "--purge" labsup stop --p
expect "--config --json --shell" labsup env --
expect "check keys" labsup config ""
expect "build" labsup image ""
expect "influxdb postgres" labsup image build ""
expect "pub sub1 sub2" labsup psql ""
expect "alpha beta" labsup psql -c "$WORK/comp.conf" ""
expect "alpha" labsup env --config "$WORK/comp.conf" a
expect "alpha beta" labsup env --config="$WORK/comp.conf" ""
expect "alpha beta" labsup env --config = "$WORK/comp.conf" ""
expect "beta" labsup env --json -c "$WORK/comp.conf" b
expect "" labsup psql -c "$WORK/comp.conf" alpha ""
expect "$WORK/comp.conf" labsup status -c "$WORK/comp.c"
expect "list run show" labsup scenario ""
expect "--config --json --keep-going --repeat --report --seed" labsup scenario run row-lock --
expect "random-faults row-lock" labsup scenario run r
expect "alpha beta status" labsup link -c "$WORK/comp.conf" ""
expect "--for clear direction heal jitter latency partition rate stall" labsup link beta ""
expect "both down up" labsup link beta direction ""
expect "" labsup link beta latency ""
got=$(LABSUP_CONFIG=$WORK/comp.conf complete_words labsup psql "")
[ "$got" = "alpha beta" ] || fail "completion ignores \$LABSUP_CONFIG: '$got'"

note "a local lab from the installed binary"
lab_setup install </dev/null
trap 'rc=$?; rm -rf "$WORK"; (exit $rc); lab_cleanup' EXIT	# lab_setup set its own
lab start >"$WORK/start.log" 2>&1 || { cat "$WORK/start.log"; fail "labsup start failed"; }
status_json | jq -e '.running and (.services | map(select(.state == "ready" or .state == "unavailable")) | length == 5)' >/dev/null ||
	fail "the lab is not ready: $(status_json)"
for pid in $(status_json | jq -r '.workers[] | select(.pid > 0) | .pid'); do
	exe=$(readlink "/proc/$pid/exe" 2>/dev/null) || continue
	[ "$exe" = "$LABSUP" ] || fail "worker $pid runs $exe, not $LABSUP"
done
[ "$(lab psql pub -- -XAtqc "SELECT count(*) FROM accounts")" = 100000 ] || fail "no lab data on pub"
lab stop --purge >/dev/null || fail "labsup stop --purge failed"

note "make uninstall (from the source tree) leaves only what was there before"
make -C "$ROOT" -s uninstall PREFIX="$PREFIX" >/dev/null 2>&1 || fail "make uninstall failed"
after=$(listing "$PREFIX")
[ "$after" = "$before" ] || fail "after uninstall (< before, > after): $(diff <(echo "$before") <(echo "$after"))"
for d in share/labsup share/doc/labsup; do
	[ ! -e "$PREFIX/$d" ] || fail "uninstall left $d"
done
[ -d "$PREFIX/share/man/man1" ] || fail "uninstall removed a directory it shares with others"
note "ok"
