#!/bin/bash
# tags: sanitize
# 05_bad_config.sh: every broken file in tests/configs/bad is refused with
# the `file:line: reason` of tests/configs/bad/expected.tsv -- by `config
# check`, by `start` (nothing started, no segment) and by a reload of a
# running lab, which keeps its config, its generation and its workers.
# Every mismatch is listed before the test fails.
. "$(dirname "$0")/../lib.sh"
BAD="$ROOT/tests/configs/bad"
lab_setup badcfg <<EOF2
[hum]
clients = 1
rate = 20
EOF2

problems=()
problem() { problems+=("$*"); echo "MISMATCH: $*" >&2; }

# expect_refusal WHAT FILE LINE ERE ERRFILE: ERRFILE holds FILE:LINE: reason
# (WHAT names the step and the corpus file in a mismatch)
expect_refusal() {
	local what=$1 file=$2 line=$3 ere=$4 errf=$5 got
	got=$(grep -m1 -F "$file:" "$errf")
	if [ -z "$got" ]; then
		problem "$what: no \"$file:LINE:\" in: $(head -c 300 "$errf")"
		return
	fi
	got=${got#*"$file:"}
	if ! printf '%s' "$got" | grep -Eq "^($line): $ere"; then
		problem "$what: want \"$line: $ere\", got \"$got\""
	fi
}

n=0
note "config check and start refuse every file"
while IFS=$'\t' read -r f line ere; do
	case "$f" in '#'* | '') continue ;; esac
	[ -f "$BAD/$f" ] || fail "expected.tsv names $f, which does not exist"
	n=$((n + 1))
	"$LABSUP" config check -c "$BAD/$f" >/dev/null 2>"$LAB_DIR/err"
	rc=$?
	if [ $rc -eq 0 ]; then
		problem "config check ACCEPTED $f (expected line $line: $ere)"
		continue # never `start` a file that check accepts: it may run
	fi
	[ $rc -eq 1 ] || problem "config check $f exited $rc, expected 1"
	[ "$(wc -l <"$LAB_DIR/err")" -eq 1 ] || problem "config check $f: not one line: $(cat "$LAB_DIR/err")"
	expect_refusal "config check $f" "$BAD/$f" "$line" "$ere" "$LAB_DIR/err"

	timeout 60 "$LABSUP" start -c "$BAD/$f" --timeout 5 >"$LAB_DIR/out" 2>"$LAB_DIR/err"
	rc=$?
	[ $rc -eq 1 ] || problem "start $f exited $rc, expected 1"
	expect_refusal "start $f" "$BAD/$f" "$line" "$ere" "$LAB_DIR/err"
done <"$BAD/expected.tsv"
[ "$n" -ge 40 ] || fail "only $n bad configs in expected.tsv"
# every file in the corpus has an expectation
for f in "$BAD"/*.conf; do
	grep -q "^$(basename "$f")	" "$BAD/expected.tsv" || fail "$(basename "$f") has no line in expected.tsv"
done

note "start a lab, then reload each broken file into it"
"$LABSUP" start -c "$LAB_CONF" --timeout 240 >/dev/null || fail "start failed"
cp "$LAB_CONF" "$LAB_DIR/good.conf"
GOOD="$LAB_DIR/good.conf"
st() { "$LABSUP" status -c "$GOOD" --json; }
gen0=$(st | jq .config_generation)
pids0=$(st | jq -c '[.workers[] | {name, pid}] | sort_by(.name)')
fails0=$(st | jq .reload_failures)
k=0
while IFS=$'\t' read -r f line ere; do
	case "$f" in '#'* | '') continue ;; esac
	cp "$BAD/$f" "$LAB_CONF"
	"$LABSUP" reload -c "$GOOD" >"$LAB_DIR/out" 2>"$LAB_DIR/err"
	rc=$?
	if [ $rc -eq 0 ]; then
		problem "reload APPLIED $f: $(cat "$LAB_DIR/out")"
		cp "$GOOD" "$LAB_CONF"
		"$LABSUP" reload -c "$GOOD" >/dev/null 2>&1
		continue
	fi
	k=$((k + 1))
	[ $rc -eq 1 ] || problem "reload $f exited $rc, expected 1"
	grep -q "refused" "$LAB_DIR/err" || problem "reload $f: no \"refused\": $(cat "$LAB_DIR/err")"
	expect_refusal "reload $f" "$LAB_CONF" "$line" "$ere" "$LAB_DIR/err"
	grep -qE "$LAB_CONF:($line):" "$LAB_DIR/state/labsup.log" || problem "reload $f: the log has no $LAB_CONF:$line:"
done <"$BAD/expected.tsv"
cp "$GOOD" "$LAB_CONF"

note "the lab kept its config through $k refused reloads"
st >"$LAB_DIR/s.json" || fail "the lab stopped running during the bad reloads"
[ "$(jq .config_generation "$LAB_DIR/s.json")" = "$gen0" ] || problem "config generation moved from $gen0 to $(jq .config_generation "$LAB_DIR/s.json")"
[ "$(jq .reload_failures "$LAB_DIR/s.json")" = $((fails0 + k)) ] || problem "reload_failures $(jq .reload_failures "$LAB_DIR/s.json"), expected $((fails0 + k))"
[ "$(jq -c '[.workers[] | {name, pid}] | sort_by(.name)' "$LAB_DIR/s.json")" = "$pids0" ] || problem "workers changed: was $pids0, now $(jq -c '[.workers[] | {name, pid}]' "$LAB_DIR/s.json")"
jq -e 'all(.workers[]; .state == "running")' "$LAB_DIR/s.json" >/dev/null || problem "a worker is not running after the bad reloads"
jq -e '[.services[] | select(.state == "ready")] | length == 4' "$LAB_DIR/s.json" >/dev/null || problem "a service is not ready after the bad reloads"
"$LABSUP" status -c "$GOOD" | grep -q "reloads refused: $((fails0 + k)), last: $LAB_CONF:" || problem "status does not show the last refused reload"

note "a valid reload still works afterwards"
printf '[writer]\nflush_ms = 150\n' >>"$LAB_CONF"
cp "$LAB_CONF" "$GOOD"
"$LABSUP" reload -c "$GOOD" >/dev/null || problem "a valid reload after the storm of bad ones failed"

if [ ${#problems[@]} -gt 0 ]; then
	printf '  %s\n' "${problems[@]}" >&2
	fail "${#problems[@]} bad-config expectations not met (see MISMATCH lines)"
fi
echo "bad config: $n files refused at config check, start and reload"
