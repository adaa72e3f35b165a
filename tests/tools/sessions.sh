# sessions.sh: psql sessions on pub that a test drives (lock waits), on
# top of tests/lib.sh.  Session NAME runs as application_name
# "$SESSION_APP-NAME" (SESSION_APP: the test's, e.g. it80), its output in
# $LAB_DIR/NAME.out.
SESSION_APP=${SESSION_APP:-it}

# pg NAME: psql on pub as a user would run it, the script on stdin
pg() {
	PGAPPNAME="$SESSION_APP-$1" "$LABSUP" psql -c "$LAB_CONF" pub -X -q -A -t \
	    -v ON_ERROR_STOP=1 >"$LAB_DIR/$1.out" 2>&1
}
# session NAME CONDITION: pub shows session NAME in that condition
session() {
	[ "$(psql_node "$PUB_PORT" "SELECT count(*) FROM pg_stat_activity
	    WHERE application_name = '$SESSION_APP-$1' AND $2")" = 1 ]
}
pid_of() {
	psql_node "$PUB_PORT" "SELECT pid FROM pg_stat_activity WHERE application_name = '$SESSION_APP-$1'"
}
waiting() { session "$1" "wait_event_type = 'Lock'"; }
# lock N: the statement that takes row N of accounts
lock() { echo "SELECT aid FROM accounts WHERE aid = $1 FOR UPDATE;"; }
