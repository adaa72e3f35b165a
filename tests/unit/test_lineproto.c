/*
 * test_lineproto.c: the one escaping function on every special character
 * in every place, and the exact line each record kind becomes (tags in key
 * order, empty tags left out, `i` on integers, seq, ns timestamps).
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../../workers/lineproto.h"

static char out[4096];

static const char *
esc(const char *s, int ctx)
{
	size_t n = lp_escape(out, s, strlen(s), ctx);

	out[n] = '\0';
	return out;
}

Test(lineproto, measurement_escapes_comma_and_space_only)
{
	cr_assert_str_eq(esc("a,b c=d\"e", LP_MEASUREMENT), "a\\,b\\ c=d\"e");
}

Test(lineproto, names_escape_comma_equals_space)
{
	cr_assert_str_eq(esc("a,b", LP_NAME), "a\\,b");
	cr_assert_str_eq(esc("a=b", LP_NAME), "a\\=b");
	cr_assert_str_eq(esc("a b", LP_NAME), "a\\ b");
	cr_assert_str_eq(esc("a\"b", LP_NAME), "a\"b");
	cr_assert_str_eq(esc("ok_name-1.2", LP_NAME), "ok_name-1.2");
}

Test(lineproto, string_fields_escape_quote_and_backslash)
{
	cr_assert_str_eq(esc("say \"hi\"", LP_STRING), "say \\\"hi\\\"");
	cr_assert_str_eq(esc("c:\\tmp\\", LP_STRING), "c:\\\\tmp\\\\");
	cr_assert_str_eq(esc("a,b=c d", LP_STRING), "a,b=c d");
}

Test(lineproto, control_characters_become_spaces)
{
	cr_assert_str_eq(esc("a\nb\rc\td", LP_STRING), "a b c d");
	cr_assert_str_eq(esc("a\nb", LP_NAME), "a\\ b");
	cr_assert_str_eq(esc("a\x7f" "b", LP_MEASUREMENT), "a\\ b");
}

Test(lineproto, backslash_in_names)
{
	/* kept where 1.x reads it literally */
	cr_assert_str_eq(esc("a\\b", LP_NAME), "a\\b");
	cr_assert_str_eq(esc("a\\\\b", LP_NAME), "a\\\\b");
	/* where it would escape the next separator, it cannot be kept */
	cr_assert_str_eq(esc("a\\", LP_NAME), "a/");
	cr_assert_str_eq(esc("a\\,b", LP_NAME), "a/\\,b");
	cr_assert_str_eq(esc("a\\ b", LP_MEASUREMENT), "a/\\ b");
	cr_assert_str_eq(esc("a\\=b", LP_MEASUREMENT), "a\\=b");
	cr_assert_str_eq(esc("a\\\n", LP_NAME), "a/\\ ");
}

Test(lineproto, utf8_passes_through)
{
	cr_assert_str_eq(esc("sp\xc3\xa4t", LP_NAME), "sp\xc3\xa4t");
}

Test(lineproto, worst_case_fits_twice_the_input)
{
	char in[64];

	memset(in, ',', sizeof(in));
	cr_assert_eq(lp_escape(out, in, sizeof(in), LP_NAME), 2 * sizeof(in));
	memset(in, '"', sizeof(in));
	cr_assert_eq(lp_escape(out, in, sizeof(in), LP_STRING),
	    2 * sizeof(in));
}

static const char *
line(const struct record *r)
{
	static struct lp_buf b;

	b.len = 0;
	cr_assert_eq(lp_format(&b, r), 0);
	cr_assert(b.len < sizeof(out));
	memcpy(out, b.data, b.len);
	out[b.len] = '\0';
	return out;
}

static struct record
rec(int kind)
{
	struct record r;

	memset(&r, 0, sizeof(r));
	r.kind = (uint8_t)kind;
	r.seq = 7;
	r.ts = 1700000000123456789LL;
	return r;
}

Test(lineproto, locks)
{
	struct record r = rec(REC_LOCKS);

	strcpy(r.u.locks.node, "pub");
	strcpy(r.u.locks.locktype, "relation");
	strcpy(r.u.locks.mode, "RowExclusiveLock");
	r.u.locks.granted = 1;
	r.u.locks.count = 3;
	cr_assert_str_eq(line(&r), "pg_locks,granted=true,locktype=relation,"
	    "mode=RowExclusiveLock,node=pub count=3i,seq=7i "
	    "1700000000123456789\n");
}

Test(lineproto, activity_leaves_out_empty_tags)
{
	struct record r = rec(REC_ACTIVITY);

	strcpy(r.u.activity.node, "sub1");
	strcpy(r.u.activity.wait_event_type, "Client");
	strcpy(r.u.activity.wait_event, "ClientRead");
	r.u.activity.count = -2;
	cr_assert_str_eq(line(&r), "pg_activity,node=sub1,"
	    "wait_event=ClientRead,wait_event_type=Client count=-2i,seq=7i "
	    "1700000000123456789\n");
}

Test(lineproto, blocking_floats_and_non_finite)
{
	struct record r = rec(REC_BLOCKING);

	strcpy(r.u.blocking.node, "pub");
	r.u.blocking.waiting = 2;
	r.u.blocking.pairs = 1;
	r.u.blocking.longest_wait_ms = 12.5;
	r.u.blocking.deadlocks = 0;
	cr_assert_str_eq(line(&r), "pg_blocking,node=pub waiting=2i,pairs=1i,"
	    "longest_wait_ms=12.5,deadlocks=0i,seq=7i 1700000000123456789\n");
	r.u.blocking.longest_wait_ms = NAN;
	cr_assert_str_eq(line(&r), "pg_blocking,node=pub waiting=2i,pairs=1i,"
	    "deadlocks=0i,seq=7i 1700000000123456789\n");
}

Test(lineproto, replication)
{
	struct record r = rec(REC_REPLICATION);

	strcpy(r.u.replication.node, "sub2");
	strcpy(r.u.replication.subscription, "sub_sub2");
	strcpy(r.u.replication.state, "streaming");
	r.u.replication.lag_bytes = 4096;
	r.u.replication.apply_lag_ms = 3;
	cr_assert_str_eq(line(&r), "replication,node=sub2,state=streaming,"
	    "subscription=sub_sub2 lag_bytes=4096i,apply_lag_ms=3,seq=7i "
	    "1700000000123456789\n");
}

Test(lineproto, hum)
{
	struct record r = rec(REC_HUM);

	strcpy(r.u.hum.node, "pub");
	strcpy(r.u.hum.client, "1");
	strcpy(r.u.hum.group, "default");
	r.u.hum.tx = 100;
	r.u.hum.err_serialization = 1;
	r.u.hum.err_deadlock = 2;
	r.u.hum.err_other = 3;
	r.u.hum.latency_p50_ms = 0.25;
	r.u.hum.latency_p99_ms = 1.75;
	r.u.hum.latency_max_ms = 1e20;
	r.u.hum.schedule_lag_ms = -0.5;
	r.u.hum.reconnects = 0;
	cr_assert_str_eq(line(&r), "hum,client=1,group=default,node=pub tx=100i,"
	    "err_serialization=1i,err_deadlock=2i,err_other=3i,"
	    "latency_p50_ms=0.25,latency_p99_ms=1.75,latency_max_ms=1e+20,"
	    "schedule_lag_ms=-0.5,reconnects=0i,seq=7i "
	    "1700000000123456789\n");
}

Test(lineproto, service)
{
	struct record r = rec(REC_SERVICE);

	strcpy(r.u.service.service, "influxdb");
	r.u.service.cpu_pct = 1.5;
	r.u.service.mem_bytes = 1 << 20;
	r.u.service.net_rx_bytes = 10;
	r.u.service.net_tx_bytes = 20;
	r.u.service.up = 1;
	cr_assert_str_eq(line(&r), "service,service=influxdb cpu_pct=1.5,"
	    "mem_bytes=1048576i,net_rx_bytes=10i,net_tx_bytes=20i,up=1i,"
	    "seq=7i 1700000000123456789\n");
}

Test(lineproto, labsup_absent_fields_left_out)
{
	struct record r = rec(REC_LABSUP);

	strcpy(r.u.labsup.worker, "sampler pub");
	r.u.labsup.ring_drops = 5;
	r.u.labsup.spool_bytes = LP_ABSENT;
	r.u.labsup.deadline_misses = LP_ABSENT;
	r.u.labsup.restarts = LP_ABSENT;
	r.u.labsup.points_written = 9;
	r.u.labsup.errors = LP_ABSENT;
	r.u.labsup.value = INT64_MAX;
	cr_assert_str_eq(line(&r), "labsup,worker=sampler\\ pub ring_drops=5i,"
	    "points_written=9i,value=9223372036854775807i,seq=7i "
	    "1700000000123456789\n");
}

Test(lineproto, event_text_is_an_escaped_string)
{
	struct record r = rec(REC_EVENT);

	strcpy(r.u.event.kind, "chaos");
	strcpy(r.u.event.text, "rate x2 \"burst\"\nC:\\");
	cr_assert_str_eq(line(&r), "events,kind=chaos "
	    "text=\"rate x2 \\\"burst\\\" C:\\\\\",seq=7i "
	    "1700000000123456789\n");
}

Test(lineproto, test_record_and_extremes)
{
	struct record r = rec(REC_TEST);

	strcpy(r.u.test.stream, "a,b=c d");
	r.u.test.n = INT64_MIN + 1;
	r.seq = UINT64_C(1) << 40;
	cr_assert_str_eq(line(&r), "labsup_test,stream=a\\,b\\=c\\ d "
	    "n=-9223372036854775807i,seq=1099511627776i "
	    "1700000000123456789\n");
	r.ts = 0;	/* InfluxDB's clock */
	r.u.test.stream[0] = '\0';
	r.u.test.n = 0;
	cr_assert_str_eq(line(&r), "labsup_test n=0i,seq=1099511627776i\n");
}

Test(lineproto, lock_wait_ended_with_codes_as_names)
{
	struct record r = rec(REC_LOCK_WAIT);
	struct rec_lock_wait *l = &r.u.lock_wait;

	strcpy(l->node, "pub");
	strcpy(l->target, "accounts");
	l->pid = 4242;
	l->blocker = 17;
	l->blockers = 2;
	l->duration_ms = 2012.5;
	l->query_id = -5;
	l->blocker_query_id = 99;
	l->ended = 1;
	l->locktype = (uint8_t)rec_locktype_code("transactionid");
	l->mode = (uint8_t)rec_lockmode_code("ShareLock");
	l->held = (uint8_t)rec_lockmode_code("ExclusiveLock");
	l->blocker_idle_tx = 1;
	cr_assert_str_eq(line(&r), "lock_wait,node=pub,pid=4242,state=ended "
	    "blocker=17i,blockers=2i,duration_ms=2012.5,target=\"accounts\","
	    "locktype=\"transactionid\",mode=\"ShareLock\","
	    "held=\"ExclusiveLock\",query_id=-5i,blocker_query_id=99i,"
	    "blocker_idle_in_tx=1i,seq=7i 1700000000123456789\n");
}

Test(lineproto, lock_wait_unknowns_left_out)
{
	struct record r = rec(REC_LOCK_WAIT);
	struct rec_lock_wait *l = &r.u.lock_wait;

	strcpy(l->node, "sub1");
	l->pid = 1;
	l->blockers = 1;
	l->duration_ms = 10;
	l->locktype = 200;	/* out of range: no name */
	l->blocker_idle_tx = 2;
	cr_assert_str_eq(line(&r), "lock_wait,node=sub1,pid=1,state=waiting "
	    "blockers=1i,duration_ms=10,seq=7i 1700000000123456789\n");
}

Test(lineproto, lock_wait_text_shares_the_episode_tags)
{
	struct record r = rec(REC_LOCK_WAIT_TEXT);
	struct rec_lock_wait_text *t = &r.u.lock_wait_text;

	strcpy(t->node, "pub");
	t->pid = 4242;
	t->ended = 1;
	t->side = REC_SIDE_BLOCKER;
	strcpy(t->text, "SELECT \"x\" FROM t\nFOR UPDATE");
	cr_assert_str_eq(line(&r), "lock_wait,node=pub,pid=4242,state=ended "
	    "blocker_query=\"SELECT \\\"x\\\" FROM t FOR UPDATE\","
	    "seq_blocker_query=7i "
	    "1700000000123456789\n");
	t->side = REC_SIDE_WAITER;
	t->ended = 0;
	memset(t->text, 'q', sizeof(t->text));	/* cut at its array */
	cr_assert_str_eq(line(&r), "lock_wait,node=pub,pid=4242,state=waiting "
	    "query=\"qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq"
	    "qqqqqqqqqqqqqqqqqqqqqqqq\",seq_query=7i 1700000000123456789\n");
}

Test(lineproto, lock_mode_codes_round_trip)
{
	cr_assert_eq(rec_lockmode_code("AccessShareLock"), 1);
	cr_assert_eq(rec_lockmode_code("AccessExclusiveLock"), 8);
	cr_assert_str_eq(rec_lockmode_name(rec_lockmode_code(
	    "ShareUpdateExclusiveLock")), "ShareUpdateExclusiveLock");
	cr_assert_eq(rec_lockmode_code("NoSuchLock"), 0);
	cr_assert_eq(rec_lockmode_code(NULL), 0);
	cr_assert_str_eq(rec_lockmode_name(0), "");
	cr_assert_str_eq(rec_lockmode_name(9), "");
	cr_assert_str_eq(rec_locktype_name(rec_locktype_code("advisory")),
	    "advisory");
	cr_assert_eq(rec_locktype_code(""), 0);
}

Test(lineproto, unterminated_tag_is_cut_at_its_array)
{
	struct record r = rec(REC_TEST);

	memset(r.u.test.stream, 'x', sizeof(r.u.test.stream));
	r.u.test.n = 1;
	cr_assert_str_eq(line(&r), "labsup_test,stream=xxxxxxxxxxxxxxxx "
	    "n=1i,seq=7i 1700000000123456789\n");
}

Test(lineproto, unknown_kind_appends_nothing)
{
	struct lp_buf b = { 0 };
	struct record r = rec(REC_NONE);

	cr_assert_eq(lp_format(&b, &r), 1);
	r.kind = REC_KIND_MAX;
	cr_assert_eq(lp_format(&b, &r), 1);
	cr_assert_eq(b.len, 0);
	lp_free(&b);
}

Test(lineproto, worst_case_record_fits_line_max)
{
	/* each kind filled with what its tags or strings escape most */
	static const struct { int kind; char fill; } worst[] = {
		{ REC_ACTIVITY, ',' }, { REC_EVENT, '"' },
		{ REC_LOCK_WAIT, ',' }, { REC_LOCK_WAIT_TEXT, '"' },
	};
	struct lp_buf b = { 0 };

	for (size_t i = 0; i < sizeof(worst) / sizeof(worst[0]); i++) {
		struct record r = rec(worst[i].kind);

		memset(r.u.raw, worst[i].fill, sizeof(r.u.raw));
		r.seq = UINT64_MAX >> 1;
		r.ts = INT64_MAX;
		b.len = 0;
		cr_assert_eq(lp_format(&b, &r), 0);
		cr_assert(b.len <= LP_LINE_MAX);
	}
	lp_free(&b);
}
