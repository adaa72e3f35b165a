/*
 * test_pglog.c: issue 16.  The jsonlog parser and classifier on lines as
 * PostgreSQL 15 writes them; the pg_log records a long line becomes and
 * their exact line protocol (and the subscription-health kinds'); the
 * directory follower across rotation, partial lines, over-long lines and
 * a resumed offset.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../workers/lineproto.h"
#include "../../workers/pglog.h"

#define TS "\"timestamp\":\"2026-12-01 11:24:37.123 UTC\""

static const char deadlock[] = "{" TS ",\"user\":\"labsup\","
    "\"dbname\":\"labsup\",\"pid\":4242,\"remote_host\":\"127.0.0.1\","
    "\"error_severity\":\"ERROR\",\"state_code\":\"40P01\","
    "\"message\":\"deadlock detected\",\"detail\":\"Process 4242 waits for "
    "ShareLock on transaction 77; blocked by process 4243.\","
    "\"backend_type\":\"client backend\",\"query_id\":0}";
static const char apply[] = "{" TS ",\"pid\":99,\"error_severity\":\"ERROR\","
    "\"state_code\":\"23505\",\"message\":\"duplicate key value violates "
    "unique constraint \\\"branches_pkey\\\"\","
    "\"backend_type\":\"logical replication worker\"}";
static const char lockwait[] = "{" TS ",\"pid\":5,\"error_severity\":\"LOG\","
    "\"state_code\":\"00000\",\"message\":\"process 5 still waiting for "
    "ShareLock on transaction 9 after 1000.123 ms\","
    "\"backend_type\":\"client backend\"}";
static const char checkpoint[] = "{" TS ",\"pid\":6,\"error_severity\":"
    "\"LOG\",\"state_code\":\"00000\",\"message\":\"checkpoint starting: "
    "time\",\"backend_type\":\"checkpointer\"}";
static const char routine[] = "{" TS ",\"pid\":7,\"error_severity\":\"LOG\","
    "\"state_code\":\"00000\",\"message\":\"connection authorized: "
    "user=labsup\",\"backend_type\":\"client backend\"}";
static const char exited[] = "{" TS ",\"pid\":1,\"error_severity\":\"LOG\","
    "\"state_code\":\"00000\",\"message\":\"background worker \\\"logical "
    "replication worker\\\" (PID 99) exited with exit code 1\","
    "\"backend_type\":\"postmaster\"}";

static struct pglog_line L;

static const struct pglog_line *
parse(const char *s)
{
	cr_assert_eq(pglog_parse(s, strlen(s), &L), 0, "did not parse: %s", s);
	return &L;
}

Test(pglog, parses_fields)
{
	const struct pglog_line *l = parse(deadlock);

	/* 2026-12-01 11:24:37 UTC */
	cr_assert_eq(l->ts_ns, 1796124277123000000LL);
	cr_assert_eq(l->severity, PGLOG_ERROR);
	cr_assert_str_eq(l->sqlstate, "40P01");
	cr_assert_str_eq(l->backend_type, "client backend");
	cr_assert_eq(l->pid, 4242);
	cr_assert_str_eq(l->text, "deadlock detected DETAIL: Process 4242 "
	    "waits for ShareLock on transaction 77; blocked by process 4243.");
}

Test(pglog, refuses_what_is_not_jsonlog)
{
	struct pglog_line l;
	const char *bad[] = { "", "2026-12-01 11:24:37.123 UTC [5] LOG:  x",
		"[1,2]", "{\"message\":\"no time\"}",
		"{\"timestamp\":\"2026-12-01 11:24:37.123 CET\","
		"\"error_severity\":\"LOG\"}",	/* not UTC */
		"{" TS ",\"error_severity\":\"SHOUT\"}", "{" TS ",\"error_sev" };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(pglog_parse(bad[i], strlen(bad[i]), &l), -1,
		    "parsed: %s", bad[i]);
}

Test(pglog, classifies)
{
	cr_assert_eq(pglog_classify(parse(deadlock)), PGLOG_EVENT);
	cr_assert_eq(pglog_classify(parse(apply)), PGLOG_EVENT);
	cr_assert_eq(pglog_classify(parse(lockwait)), PGLOG_KEEP);
	cr_assert_eq(pglog_classify(parse(checkpoint)), PGLOG_KEEP);
	cr_assert_eq(pglog_classify(parse(routine)), PGLOG_DROP);
	cr_assert_eq(pglog_classify(parse(exited)), PGLOG_EVENT);

	/* a client's ordinary error is kept, not an event */
	char s[512];
	snprintf(s, sizeof(s), "{" TS ",\"error_severity\":\"ERROR\","
	    "\"state_code\":\"40001\",\"message\":\"could not serialize\","
	    "\"backend_type\":\"client backend\"}");
	cr_assert_eq(pglog_classify(parse(s)), PGLOG_KEEP);
	snprintf(s, sizeof(s), "{" TS ",\"error_severity\":\"WARNING\","
	    "\"message\":\"w\"}");
	cr_assert_eq(pglog_classify(parse(s)), PGLOG_KEEP);
	snprintf(s, sizeof(s), "{" TS ",\"error_severity\":\"FATAL\","
	    "\"message\":\"terminating connection\"}");
	cr_assert_eq(pglog_classify(parse(s)), PGLOG_EVENT);
	snprintf(s, sizeof(s), "{" TS ",\"error_severity\":\"DEBUG2\","
	    "\"message\":\"deadlock detected\"}");
	cr_assert_eq(pglog_classify(parse(s)), PGLOG_DROP);
	snprintf(s, sizeof(s), "{" TS ",\"error_severity\":\"NOTICE\","
	    "\"message\":\"relation exists, skipping\"}");
	cr_assert_eq(pglog_classify(parse(s)), PGLOG_DROP);
}

static char out[8192];

static const char *
lines(const struct record *r, int n)
{
	struct lp_buf b = { 0 };

	for (int i = 0; i < n; i++)
		cr_assert_eq(lp_format(&b, &r[i]), 0);
	cr_assert_lt(b.len, sizeof(out));
	memcpy(out, b.data, b.len);
	out[b.len] = '\0';
	lp_free(&b);
	return out;
}

Test(pglog, line_parts_share_series_and_time)
{
	struct record r[PGLOG_PARTS];
	const struct pglog_line *l = parse(lockwait);
	int n = pglog_records(l, "pub", pglog_point_ts(l->ts_ns, 1234, 0), 7, 1234,
	    r);

	cr_assert_eq(n, 2);
	r[0].seq = 3;
	r[1].seq = 4;
	cr_assert_eq(r[1].u.pg_log.file_hash, 7);
	cr_assert_eq(r[1].u.pg_log.off, 1234);
	cr_assert_str_eq(lines(r, 2), "pg_log,backend_type=client\\ backend,"
	    "node=pub,severity=LOG,sqlstate=00000 pid=5i,message=\"process 5 "
	    "still waiting for ShareLock on transaction 9 a\",seq=3i "
	    "1796124277123012340\n"
	    "pg_log,backend_type=client\\ backend,node=pub,severity=LOG,"
	    "sqlstate=00000 pid=5i,message_2=\"fter 1000.123 ms\",seq_2=4i "
	    "1796124277123012340\n");
}

Test(pglog, long_line_is_parts_of_one_point)
{
	struct record r[PGLOG_PARTS];
	struct pglog_line l;

	memset(&l, 0, sizeof(l));
	l.severity = PGLOG_ERROR;
	strcpy(l.sqlstate, "23505");
	strcpy(l.backend_type, "logical replication worker");
	l.pid = 9;
	/* 54 ASCII bytes, then a 3-byte character across the 56 boundary */
	memset(l.text, 'a', 54);
	strcpy(l.text + 54, "\xe2\x82\xac" "bc");
	int n = pglog_records(&l, "sub1", 5, 0, 0, r);
	cr_assert_eq(n, 2);
	for (int i = 0; i < n; i++) {
		cr_assert_eq(r[i].ts, 5, "every part has the line's time");
		cr_assert_eq(r[i].u.pg_log.part, i);
		cr_assert_eq(r[i].u.pg_log.last, i == n - 1, "only the final "
		    "part is the last: a restarted worker sends the rest of "
		    "a line it sees cut");
		r[i].seq = (uint64_t)i;
	}
	char want[1024];
	snprintf(want, sizeof(want), "pg_log,backend_type=logical\\ "
	    "replication\\ worker,node=sub1,severity=ERROR,sqlstate=23505 "
	    "pid=9i,message=\"%.54s\",seq=0i 5\n"
	    "pg_log,backend_type=logical\\ replication\\ worker,node=sub1,"
	    "severity=ERROR,sqlstate=23505 pid=9i,message_2=\"\xe2\x82\xac"
	    "bc\",seq_2=1i 5\n", l.text);
	cr_assert_str_eq(lines(r, n), want);

	/* past PGLOG_PARTS parts the rest is cut */
	memset(l.text, 'x', sizeof(l.text) - 1);
	l.text[sizeof(l.text) - 1] = '\0';
	cr_assert_eq(pglog_records(&l, "sub1", 5, 0, 0, r), PGLOG_PARTS);
	cr_assert_eq(r[PGLOG_PARTS - 1].u.pg_log.part, PGLOG_PARTS - 1);
	cr_assert(strstr(lines(r, PGLOG_PARTS), "message_5=\"") != NULL);
	cr_assert(strstr(out, "seq_5=") != NULL);
}

Test(pglog, unknown_backend_type_and_event_text)
{
	char s[256], text[88];
	struct record r[PGLOG_PARTS];

	snprintf(s, sizeof(s), "{" TS ",\"error_severity\":\"FATAL\","
	    "\"state_code\":\"57P01\",\"message\":\"terminating\","
	    "\"backend_type\":\"pg_wait_sampling collector\"}");
	pglog_records(parse(s), "sub2", 1, 0, 0, r);
	cr_assert_str_eq(pglog_btype(r[0].u.pg_log.btype), "other");
	pglog_event_text(parse(deadlock), "pub", text, sizeof(text));
	cr_assert_str_eq(text, "pub ERROR 40P01: deadlock detected DETAIL: "
	    "Process 4242 waits for ShareLock on transact");
	pglog_event_text(parse(checkpoint), "pub", text, sizeof(text));
	cr_assert_str_eq(text, "pub LOG: checkpoint starting: time");
}

Test(pglog, point_time_is_stable_and_ordered)
{
	int64_t t = 1796124277123000000LL;

	cr_assert_eq(pglog_point_ts(t, 500, 0), pglog_point_ts(t, 500, 0));
	cr_assert_lt(pglog_point_ts(t, 500, 0), pglog_point_ts(t, 501, 1));
	cr_assert_lt(pglog_point_ts(t, 99999, CFG_MAX_NODES - 1),
	    t + 1000000);
	/* sub1 and sub2 log alike: one ms, one offset, still two points in
	 * events (no node tag there) */
	for (int i = 0; i < CFG_MAX_NODES; i++)
		for (int j = i + 1; j < CFG_MAX_NODES; j++)
			cr_assert_neq(pglog_point_ts(t, 18934, i),
			    pglog_point_ts(t, 18934, j), "nodes %d and %d", i, j);
}

Test(pglog, subscription_health_lines)
{
	struct record r[4];

	memset(r, 0, sizeof(r));
	r[0].kind = REC_SUB_STATS;
	strcpy(r[0].u.sub_stats.node, "sub1");
	strcpy(r[0].u.sub_stats.subscription, "sub_sub1");
	r[0].u.sub_stats.apply_errors = 2;
	r[0].u.sub_stats.received_lsn = 123456;
	r[0].u.sub_stats.reported_lsn = REC_ABSENT;
	r[0].u.sub_stats.send_age_ms = 1.5;
	r[0].u.sub_stats.receipt_age_ms = NAN;
	r[0].u.sub_stats.enabled = 0;
	r[0].u.sub_stats.apply_pid = 0;
	r[1].kind = REC_SUB_REL;
	strcpy(r[1].u.sub_rel.node, "sub1");
	strcpy(r[1].u.sub_rel.subscription, "sub_sub1");
	strcpy(r[1].u.sub_rel.table, "accounts");
	strcpy(r[1].u.sub_rel.state, "r");
	r[1].u.sub_rel.lsn = REC_ABSENT;
	r[2].kind = REC_SUB_SLOT;
	strcpy(r[2].u.sub_slot.node, "pub");
	strcpy(r[2].u.sub_slot.subscription, "sub_sub1");
	strcpy(r[2].u.sub_slot.wal_status, "reserved");
	r[2].u.sub_slot.safe_wal_size = REC_ABSENT;
	r[2].u.sub_slot.retained_bytes = 4096;
	r[3].kind = REC_SUB_WORKER;
	strcpy(r[3].u.sub_worker.node, "pub");
	strcpy(r[3].u.sub_worker.subscription, "sub_sub1");
	strcpy(r[3].u.sub_worker.role, "sender");
	strcpy(r[3].u.sub_worker.wait_event_type, "Activity");
	strcpy(r[3].u.sub_worker.wait_event, "WalSenderMain");
	r[3].u.sub_worker.pid = 77;
	r[3].u.sub_worker.waiting = 1;
	cr_assert_str_eq(lines(r, 4),
	    "sub_stats,node=sub1,subscription=sub_sub1 apply_errors=2i,"
	    "sync_errors=0i,received_lsn=123456i,send_age_ms=1.5,"
	    "tables_not_ready=0i,enabled=0i,apply_pid=0i,seq=0i\n"
	    "sub_rel,node=sub1,subscription=sub_sub1,table=accounts "
	    "state=\"r\",seq=0i\n"
	    "sub_slot,node=pub,subscription=sub_sub1,wal_status=reserved "
	    "retained_bytes=4096i,active=0i,seq=0i\n"
	    "sub_worker,node=pub,role=sender,subscription=sub_sub1,"
	    "wait_event=WalSenderMain,wait_event_type=Activity pid=77i,"
	    "waiting=1i,seq=0i\n");
}

/* ---- the follower ---------------------------------------------------- */

static char dir[64];
static char got[16][64];
static int ngot, refuse_after = -1;

static int
collect(void *arg, const char *line, size_t n, const char *file, int64_t off)
{
	(void)arg;
	(void)off;
	if (ngot == refuse_after)
		return 1;
	cr_assert_lt(ngot, 16);
	snprintf(got[ngot++], sizeof(got[0]), "%s:%.*s", file, (int)n, line);
	return 0;
}

static void
put(const char *file, const char *text)
{
	char path[128];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0600);
	cr_assert_neq(fd, -1);
	cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

static void
mkdir_tmp(void)
{
	strcpy(dir, "/tmp/test_pglog.XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	ngot = 0;
	refuse_after = -1;
}

static void
rm_tmp(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_assert_eq(system(cmd), 0);
}

Test(pglog, follows_across_rotation, .init = mkdir_tmp, .fini = rm_tmp)
{
	struct pglog_follow *f = malloc(sizeof(*f));

	pglog_follow_init(f, dir, NULL, 0);
	cr_assert_eq(pglog_follow_read(f, collect, NULL), 0, "empty dir");
	put("postgresql-20261201-100000.json", "a1\na2\npart");
	put("postgresql-20261201-100000.log", "not ours\n");
	cr_assert_eq(pglog_follow_read(f, collect, NULL), 2);
	cr_assert_eq(f->off, 6, "a partial line is not consumed");
	put("postgresql-20261201-100000.json", "ial\n");
	/* a new file: the old one is read to its end first */
	put("postgresql-20261201-100100.json", "b1\n");
	cr_assert_eq(pglog_follow_read(f, collect, NULL), 2);
	cr_assert_str_eq(got[2], "postgresql-20261201-100000.json:partial");
	cr_assert_str_eq(got[3], "postgresql-20261201-100100.json:b1");
	cr_assert_str_eq(f->file, "postgresql-20261201-100100.json");
	cr_assert_eq(f->off, 3);
	pglog_follow_close(f);

	/* a new follower from the saved place reads only what is new */
	put("postgresql-20261201-100100.json", "b2\n");
	pglog_follow_init(f, dir, "postgresql-20261201-100100.json", 3);
	ngot = 0;
	cr_assert_eq(pglog_follow_read(f, collect, NULL), 1);
	cr_assert_str_eq(got[0], "postgresql-20261201-100100.json:b2");

	/* a refused line is handed out again next time */
	put("postgresql-20261201-100100.json", "b3\nb4\n");
	ngot = 0;
	refuse_after = 1;
	cr_assert_eq(pglog_follow_read(f, collect, NULL), 1);
	refuse_after = -1;
	cr_assert_eq(pglog_follow_read(f, collect, NULL), 1);
	cr_assert_str_eq(got[1], "postgresql-20261201-100100.json:b4");
	pglog_follow_close(f);
	free(f);
}

/*
 * The logs worker moves a follower to where its predecessor's last line
 * is: it stays in its directory.  (Re-initialising it with its own dir
 * left it with none, and that node's log was never read again.)
 */
Test(pglog, seek_keeps_the_directory, .init = mkdir_tmp, .fini = rm_tmp)
{
	struct pglog_follow *f = malloc(sizeof(*f));

	put("p-1.json", "s1\ns2\ns3\n");
	put("p-2.json", "t1\n");
	pglog_follow_init(f, dir, "p-1.json", 0);
	cr_assert_eq(pglog_follow_read(f, collect, NULL), 4);
	pglog_follow_seek(f, "p-1.json", 3);
	cr_assert_str_eq(f->dir, dir);
	cr_assert_eq(f->fd, -1, "the open file is closed");
	ngot = 0;
	cr_assert_eq(pglog_follow_read(f, collect, NULL), 3);
	cr_assert_str_eq(got[0], "p-1.json:s2");
	cr_assert_str_eq(got[2], "p-2.json:t1");
	/* its own file name as the argument */
	pglog_follow_seek(f, f->file, 0);
	cr_assert_str_eq(f->file, "p-2.json");
	ngot = 0;
	cr_assert_eq(pglog_follow_read(f, collect, NULL), 1);
	cr_assert_str_eq(got[0], "p-2.json:t1");
	pglog_follow_close(f);
	free(f);
}

Test(pglog, skips_over_long_lines, .init = mkdir_tmp, .fini = rm_tmp)
{
	struct pglog_follow *f = malloc(sizeof(*f));
	size_t big = PGLOG_BUF * 2 + 10;
	char *huge = malloc(big + 1);

	memset(huge, 'z', big);
	huge[big] = '\0';
	put("p-1.json", "x1\n");
	put("p-1.json", huge);
	put("p-1.json", "\nx2\n");
	pglog_follow_init(f, dir, NULL, 0);
	cr_assert_eq(pglog_follow_read(f, collect, NULL), 2);
	cr_assert_str_eq(got[1], "p-1.json:x2");
	cr_assert_eq(f->off, (int64_t)(3 + big + 1 + 3));
	pglog_follow_close(f);
	free(f);
	free(huge);
}

Test(pglog, file_hash_finds_the_file, .init = mkdir_tmp, .fini = rm_tmp)
{
	char name[64];

	put("p-1.json", "");
	put("p-2.json", "");
	put("p-2.log", "");
	cr_assert_eq(pglog_file_of_hash(dir, pglog_file_hash("p-2.json"), name,
	    sizeof(name)), 0);
	cr_assert_str_eq(name, "p-2.json");
	cr_assert_eq(pglog_file_of_hash(dir, pglog_file_hash("p-2.log"), name,
	    sizeof(name)), -1, "only *.json");
	cr_assert_neq(pglog_file_hash("p-1.json"), pglog_file_hash("p-2.json"));
}

Test(pglog, deleted_file_moves_on, .init = mkdir_tmp, .fini = rm_tmp)
{
	struct pglog_follow *f = malloc(sizeof(*f));

	put("p-2.json", "y1\n");
	pglog_follow_init(f, dir, "p-1.json", 100);	/* saved, then deleted */
	cr_assert_eq(pglog_follow_read(f, collect, NULL), 1);
	cr_assert_str_eq(got[0], "p-2.json:y1");
	pglog_follow_close(f);
	free(f);
	rm_tmp();
	pglog_follow_init(f = malloc(sizeof(*f)), dir, NULL, 0);
	cr_assert_eq(pglog_follow_read(f, collect, NULL), -1, "no directory");
	free(f);
	cr_assert_eq(mkdir(dir, 0700), 0);
}

Test(pglog, apply_error_keeps_its_context)
{
	char s[512];
	const struct pglog_line *l;

	snprintf(s, sizeof(s), "{" TS ",\"error_severity\":\"ERROR\","
	    "\"state_code\":\"23505\",\"message\":\"duplicate key\","
	    "\"detail\":\"Key (bid)=(1) already exists.\",\"context\":"
	    "\"processing remote data during INSERT\","
	    "\"backend_type\":\"logical replication worker\"}");
	l = parse(s);
	cr_assert_str_eq(l->text, "duplicate key DETAIL: Key (bid)=(1) already "
	    "exists. CONTEXT: processing remote data during INSERT");
	/* a client's context (a PL/pgSQL line) is left out */
	snprintf(s, sizeof(s), "{" TS ",\"error_severity\":\"WARNING\","
	    "\"message\":\"m\",\"context\":\"PL/pgSQL function\","
	    "\"backend_type\":\"client backend\"}");
	cr_assert_str_eq(parse(s)->text, "m");
}

/*
 * A restarted logs worker goes on after the newest line of a node in its
 * lane when that is past its saved offset, and sends only the parts of a
 * line its predecessor did not (killed between two parts).
 */
Test(pglog, resume_after_the_last_line_sent, .init = mkdir_tmp,
    .fini = rm_tmp)
{
	struct rec_pg_log r;
	char file[64];
	int64_t off = -1;
	int skip = -1;

	put("p-1.json", "");
	put("p-2.json", "");
	memset(&r, 0, sizeof(r));
	r.file_hash = pglog_file_hash("p-2.json");
	r.off = 300;
	r.last = 1;
	/* sent after the save: skip that line, whole */
	cr_assert_eq(pglog_resume(dir, &r, "p-2.json", 200, file, sizeof(file),
	    &off, &skip), 1);
	cr_assert_str_eq(file, "p-2.json");
	cr_assert_eq(off, 300);
	cr_assert_eq(skip, 0);
	/* ... the save was at its start: still sent, still skipped */
	cr_assert_eq(pglog_resume(dir, &r, "p-2.json", 300, file, sizeof(file),
	    &off, &skip), 1);
	/* the save is past it, or in a newer file: the saved place */
	cr_assert_eq(pglog_resume(dir, &r, "p-2.json", 301, file, sizeof(file),
	    &off, &skip), 0);
	cr_assert_eq(pglog_resume(dir, &r, "p-3.json", 0, file, sizeof(file),
	    &off, &skip), 0);
	/* no save at all, or one in an older file: after the line */
	cr_assert_eq(pglog_resume(dir, &r, "", 0, file, sizeof(file), &off,
	    &skip), 1);
	cr_assert_eq(pglog_resume(dir, &r, "p-1.json", 900, file, sizeof(file),
	    &off, &skip), 1);
	/* killed after part 1 (of 0, 1, 2 ...): parts 0 and 1 went */
	r.last = 0;
	r.part = 1;
	cr_assert_eq(pglog_resume(dir, &r, "p-2.json", 0, file, sizeof(file),
	    &off, &skip), 1);
	cr_assert_eq(skip, 2);
	cr_assert_eq(pglog_unsent(skip, false, 4), 2);
	cr_assert_eq(pglog_unsent(skip, true, 5), 3, "the event went first");
	cr_assert_eq(pglog_unsent(9, false, 4), 4, "never past the end");
	/* its file is gone (purged): the saved place */
	r.file_hash = pglog_file_hash("p-0.json");
	cr_assert_eq(pglog_resume(dir, &r, "", 0, file, sizeof(file), &off,
	    &skip), 0);
}
