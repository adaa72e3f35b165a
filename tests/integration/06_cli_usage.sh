#!/bin/bash
# tags: sanitize
# 06_cli_usage.sh: more wrong command lines than 00_cli.sh tries (missing
# option values, out-of-range numbers, options with values they do not
# take, extra arguments to every command, unknown subcommands).  Each exits
# 2 with exactly one line on stderr that points at the usage, prints
# nothing on stdout, and starts nothing.  A config file that cannot be
# read is one line and exit 1, for every command that takes -c.
. "$(dirname "$0")/../lib.sh"
lab_setup cliusage </dev/null

run() { # ARGS...: run labsup, keep out, err and the exit code
	timeout 30 "$LABSUP" "$@" >"$LAB_DIR/out" 2>"$LAB_DIR/err" </dev/null
	echo $? >"$LAB_DIR/rc"
}

note "usage errors: exit 2, one line, a pointer to the usage"
while IFS= read -r args; do
	[ -z "$args" ] && continue
	# shellcheck disable=SC2086
	run $args -c "$LAB_CONF"
	rc=$(cat "$LAB_DIR/rc")
	[ "$rc" = 2 ] || fail "'labsup $args' exited $rc, expected 2: $(cat "$LAB_DIR/err")"
	[ "$(wc -l <"$LAB_DIR/err")" -eq 1 ] || fail "'labsup $args': not one line on stderr: $(cat "$LAB_DIR/err")"
	grep -q 'labsup --help\|^usage: labsup ' "$LAB_DIR/err" || fail "'labsup $args': no usage hint: $(cat "$LAB_DIR/err")"
	[ ! -s "$LAB_DIR/out" ] || fail "'labsup $args' printed on stdout: $(head -3 "$LAB_DIR/out")"
done <<'EOF'
START
-c
--bogus
start --timeout
start --timeout abc
start --timeout -5
start --timeout 0
start --timeout 99999999999999999999
start --backend
start --backend=
start --backend DOCKER
start -f -f extra
status --bogus
status --json extra
status --json=1
stop extra
stop --purge=yes
stop --keep-running --purge
stop --timeout
stop --timeout 5x
stop --timeout 0
stop --timeout -1
check --timeout 12abc
reload extra
reload --json
check extra
check --bogus
psql
psql -x
top --bogus
top extra
image
image frob
image build --bogus
config
config frob
config check extra
config keys extra
env pub extra
sub
sub frob
sub pause
sub resume
sub status sub1 extra
sub pause --bogus
env --bogus
env --shell --json
scenario
scenario frob
scenario list extra
scenario list --json
scenario show
scenario run
scenario run deadlock row-lock
scenario run deadlock --repeat 0
scenario run deadlock --repeat x
scenario run deadlock --seed -1
scenario run deadlock --seed
scenario run deadlock --bogus
EOF
# and the same with -c missing its FILE at the end
for c in start status stop reload check "config check"; do
	# shellcheck disable=SC2086
	timeout 30 "$LABSUP" $c -c >"$LAB_DIR/out" 2>"$LAB_DIR/err" </dev/null
	rc=$?
	[ $rc = 2 ] || fail "'labsup $c -c' exited $rc, expected 2"
	[ "$(wc -l <"$LAB_DIR/err")" -eq 1 ] || fail "'labsup $c -c': not one line: $(cat "$LAB_DIR/err")"
done

note "usage errors come before the config: a broken file does not turn them into exit 1"
printf '[lab]\nname = Bad Name\n' >"$LAB_DIR/broken.conf"
for args in "start --bogus" "config frob" "status --json=1" "stop --timeout 5x" "top extra" "env --bogus" "sub frob"; do
	# shellcheck disable=SC2086
	run $args -c "$LAB_DIR/broken.conf"
	[ "$(cat "$LAB_DIR/rc")" = 2 ] || fail "'labsup $args' with a broken file exited $(cat "$LAB_DIR/rc"), expected 2: $(cat "$LAB_DIR/err")"
done
run config keys -c "$LAB_DIR/broken.conf"
[ "$(cat "$LAB_DIR/rc")" = 0 ] || fail "config keys needs no valid file, exited $(cat "$LAB_DIR/rc")"
run config check "-c$LAB_CONF"
[ "$(cat "$LAB_DIR/rc")" = 0 ] || fail "-cFILE (no space) is not taken: $(cat "$LAB_DIR/err")"

note "sub pause on a lab that does not run: exit 1, and no pause left behind"
run sub pause sub1 -c "$LAB_CONF"
[ "$(cat "$LAB_DIR/rc")" = 1 ] || fail "sub pause on a stopped lab exited $(cat "$LAB_DIR/rc")"
[ ! -e "$LAB_DIR/state/sub-paused.sub1" ] || fail "a failed sub pause left its mark"

note "nothing was started by any of them"
[ ! -e "/dev/shm/labsup.$(id -u).$LAB_NAME" ] || fail "a usage error created the lab's segment"
[ ! -e "$LAB_DIR/state/labsup.pid" ] || fail "a usage error started the lab"

note "an unreadable config: exit 1, one line naming the file"
for c in start status stop reload check "config check" psql; do
	# shellcheck disable=SC2086
	run $c -c "$LAB_DIR/nonexistent.conf" $([ "$c" = psql ] && echo pub)
	rc=$(cat "$LAB_DIR/rc")
	[ "$rc" = 1 ] || fail "'labsup $c' with a missing file exited $rc, expected 1: $(cat "$LAB_DIR/err")"
	[ "$(wc -l <"$LAB_DIR/err")" -eq 1 ] || fail "'labsup $c' with a missing file: not one line: $(cat "$LAB_DIR/err")"
	grep -q "$LAB_DIR/nonexistent.conf" "$LAB_DIR/err" || fail "'labsup $c': the message does not name the file: $(cat "$LAB_DIR/err")"
done
run scenario run deadlock -c "$LAB_DIR/nonexistent.conf"
[ "$(cat "$LAB_DIR/rc")" = 1 ] && grep -q "$LAB_DIR/nonexistent.conf" "$LAB_DIR/err" ||
	fail "'labsup scenario run' with a missing file exited $(cat "$LAB_DIR/rc"): $(cat "$LAB_DIR/err")"
run config check -c "$LAB_DIR"
[ "$(cat "$LAB_DIR/rc")" = 1 ] || fail "a directory as config file exited $(cat "$LAB_DIR/rc")"
[ "$(wc -l <"$LAB_DIR/err")" -eq 1 ] || fail "a directory as config file: not one line: $(cat "$LAB_DIR/err")"
echo "CLI usage errors ok"
