#!/bin/bash
# tags: sanitize
# 00_cli.sh: the command line without a running lab: usage errors exit 2
# with one line, status of a stopped lab exits 3, config check reports
# file:line, --help and --version work.
. "$(dirname "$0")/../lib.sh"
lab_setup cli </dev/null

expect_rc() { # expect_rc RC CMD...: run, check the exit code, keep stderr
	local want=$1; shift
	"$@" >"$LAB_DIR/out" 2>"$LAB_DIR/err"
	local rc=$?
	[ "$rc" -eq "$want" ] || fail "$* exited $rc, expected $want: $(cat "$LAB_DIR/err")"
}
one_line() {
	[ "$(wc -l <"$LAB_DIR/err")" -eq 1 ] || fail "expected one line on stderr, got: $(cat "$LAB_DIR/err")"
}

note "usage errors"
for args in "" "frobnicate" "start --bogus" "status extra" "stop --keep-running --purge" \
	"config" "config check --nope" "start --backend podman" "reload --x"; do
	# shellcheck disable=SC2086
	expect_rc 2 "$LABSUP" $args
	one_line
	grep -q "labsup --help" "$LAB_DIR/err" || fail "no usage hint for '$args'"
done

note "help and version"
expect_rc 0 "$LABSUP" --help
grep -q "labsup COMMAND" "$LAB_DIR/out" || fail "--help prints no usage"
expect_rc 0 "$LABSUP" --version
grep -q "^labsup [0-9]" "$LAB_DIR/out" || fail "--version"

note "status of a lab that does not run"
expect_rc 3 "$LABSUP" status -c "$LAB_CONF"
grep -q "not running" "$LAB_DIR/out" || fail "status says nothing"
expect_rc 3 "$LABSUP" status --json -c "$LAB_CONF"
grep -q '"running": false' "$LAB_DIR/out" || fail "status --json running"
expect_rc 3 "$LABSUP" reload -c "$LAB_CONF"

note "config check"
expect_rc 0 "$LABSUP" config check -c "$LAB_CONF"
grep -q "^\[node pub\]" "$LAB_DIR/out" || fail "effective config not printed"
printf '[lab]\nname = bad%s\n[hum]\nclients = lots\n' $$ >"$LAB_DIR/bad.conf"
expect_rc 1 "$LABSUP" config check -c "$LAB_DIR/bad.conf"
one_line
grep -q "bad.conf:4: clients" "$LAB_DIR/err" || fail "no file:line: $(cat "$LAB_DIR/err")"
expect_rc 1 "$LABSUP" start -c "$LAB_DIR/bad.conf"
grep -q "bad.conf:4:" "$LAB_DIR/err" || fail "start does not report file:line"
[ ! -e "/dev/shm/labsup.$(id -u).bad$$" ] || fail "a bad config left a segment"

note "a state directory writable by others is refused"
mkdir -p "$LAB_DIR/open" && chmod 0777 "$LAB_DIR/open"
printf '[lab]\nname = open%s\nstate_dir = %s/open\n' $$ "$LAB_DIR" >"$LAB_DIR/open.conf"
expect_rc 1 "$LABSUP" start -c "$LAB_DIR/open.conf"
grep -q "writable by others" "$LAB_DIR/err" || fail "world-writable state dir accepted"
echo "all CLI checks passed"
