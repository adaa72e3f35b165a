#!/bin/bash
# tags: faults
# 57_reload_same_file.sh: a reload of the same settings in another shape --
# a comment line on top (every line number moves) and the sections in
# reverse order -- restarts nothing: every worker keeps its pid, and every
# seq of every lane reaches InfluxDB.  (Before the key-by-key comparison of
# a worker's config, this restarted every worker but the writer.)
. "$(dirname "$0")/../lib.sh"
. "$ROOT/tests/tools/faults.sh"
lab_setup reloadsame <<EOF2
[hum]
clients = 2
rate = 40

[sampler]
interval_ms = 20
locks_interval_ms = 40
EOF2
command -v jq >/dev/null || skip "jq is not installed"
lanes_tool

"$LABSUP" start -c "$LAB_CONF" --timeout 240 >/dev/null || fail "start failed"
status_json | jq -r '.workers[] | "\(.name)=\(.pid)"' | sort >"$LAB_DIR/pids.before"
[ "$(wc -l <"$LAB_DIR/pids.before")" -ge 8 ] || fail "too few workers: $(cat "$LAB_DIR/pids.before")"

note "the same file, reshaped: a comment first, sections reversed"
python3 - "$LAB_CONF" <<'PY'
import sys
text = open(sys.argv[1]).read()
sections, cur = [], []
for line in text.splitlines():
    if line.startswith('['):
        if cur:
            sections.append(cur)
        cur = [line]
    elif line.strip():
        cur.append(line)
if cur:
    sections.append(cur)
out = ['; reshaped by 57_reload_same_file: same settings, new line numbers']
for s in reversed(sections):
    out += [''] + s
open(sys.argv[1], 'w').write('\n'.join(out) + '\n')
PY
"$LABSUP" config check -c "$LAB_CONF" >/dev/null 2>&1 || fail "the reshaped file is invalid: $("$LABSUP" config check -c "$LAB_CONF" 2>&1 | tail -1)"
gen=$(status_json | jq .config_generation)
lab reload >"$LAB_DIR/out" 2>&1 || fail "reload failed: $(cat "$LAB_DIR/out")"
[ "$(status_json | jq .config_generation)" -gt "$gen" ] || fail "the reload was not applied"
# account waits until the writer stored all the lanes held after the
# reload (seconds): a worker the reload had told to restart is gone by then
account reload
status_json | jq -r '.workers[] | "\(.name)=\(.pid)"' | sort >"$LAB_DIR/pids.after"
diff "$LAB_DIR/pids.before" "$LAB_DIR/pids.after" >"$LAB_DIR/pids.diff" ||
	fail "the reload restarted workers (name=pid before/after): $(cat "$LAB_DIR/pids.diff")"
grep -q 'restarting with the new config' "$LAB_DIR/state/labsup.log" &&
	fail "the log says a worker restarted: $(grep 'restarting with the new config' "$LAB_DIR/state/labsup.log")"
lab stop >/dev/null || fail "stop failed"
echo "reload of the reshaped file: every worker kept its pid, nothing lost"
