#!/bin/bash
# tags: faults
# 58_stop_bounded.sh: stopping cannot hang.  A server that ignores every
# shutdown request (here: SIGSTOPped, so neither the fast nor the immediate
# shutdown can run) is escalated to SIGKILL, `labsup stop` returns, and no
# server of the lab is left.  (Before: the fast and the immediate shutdown
# were tried and the server was left behind, stopped, holding its port.)
. "$(dirname "$0")/../lib.sh"

[ -x /usr/lib/postgresql/15/bin/postgres ] || skip "PostgreSQL 15 is not installed"
command -v influxd >/dev/null || skip "influxd is not installed"
lab_setup stopbounded </dev/null

lab start >/dev/null || fail "labsup start failed"
pm=$(head -1 "$LAB_DIR/state/pg/sub2/postmaster.pid")
kill -0 "$pm" || fail "sub2 does not run"
note "SIGSTOP sub2's postmaster, then labsup stop"
kill -STOP "$pm" || fail "cannot SIGSTOP $pm"
lab stop --timeout 300 >"$LAB_DIR/out" 2>&1 || fail "stop failed: $(cat "$LAB_DIR/out")"
wait_for 30 gone "$pm" || { kill -CONT "$pm"; fail "sub2's postmaster $pm survived labsup stop"; }
pgrep -f -- "-D $LAB_DIR/state/pg/" >/dev/null && fail "servers of the lab survive stop: $(pgrep -af -- "-D $LAB_DIR/state/pg/")"
grep -q "sub2: stopped pid $pm" "$LAB_DIR/state/labsup.log" || fail "the log does not say sub2 was stopped"
note "ok"
