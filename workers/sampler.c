/*
 * sampler.c: the sampler worker, one process per node.  On an absolute
 * schedule (clock_nanosleep, TIMER_ABSTIME) it takes one snapshot per tick
 * in ONE round trip: a single prepared statement (raw lock and backend
 * rows, and on subscribers one row per subscription) that it groups into
 * records itself.  It writes only its own slot and lane; it never counts
 * its own backend.
 *
 * It disturbs the workload it watches as little as it can, since on a small
 * machine under the hum its wake-ups cost the workload more than its CPU:
 * a woken process preempts the one running, often a hum backend holding
 * row locks that the others then queue behind.  So:
 *  - ticks are pipelined: at tick k the sampler reads tick k-1's reply
 *    (long since in the socket buffer) and sends tick k's query, then
 *    sleeps; it wakes once per tick instead of twice.  Records keep the
 *    time their snapshot was asked for and reach the ring one interval
 *    later.  The cost it reports is the server's time to take the
 *    snapshot, which the server stamps on the first row.
 *  - it runs as SCHED_BATCH: woken, it waits for the next scheduling point
 *    instead of preempting.  Under the hum its ticks stay as punctual
 *    (interval error p99 1.4-1.7 ms at 10 ms, either way).
 * Measured with perf at 100 Hz: context switches per tick went from 2.0 to
 * 1.05 for the sampler and from 1.9 to 1.2 for its server backend; what
 * that is worth in hum throughput is within this machine's noise.
 */
#include <errno.h>
#include <inttypes.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "worker.h"
#include "sampler.h"
#include "hum_pgc.h"
#include "episodes.h"

#define SAMPLER_SECOND_NS 1000000000LL
#define SAMPLER_SLICE_NS 100000000LL	/* wake for worker_stop */
#define SAMPLER_QUERY_TIMEOUT_NS (5 * SAMPLER_SECOND_NS)
#define SAMPLER_BACKOFF_MAX_MS 2000	/* a restarted node is seen soon */

/*
 * One tick is one statement, hence one round trip.  Its main part is a
 * single function scan: ROWS FROM zips pg_lock_status() (the function
 * behind pg_locks) with pg_stat_get_activity(NULL) (behind pg_stat_activity)
 * and the database's deadlock count, so row i carries the i-th lock and
 * the i-th backend (NULLs once one side runs out).  The sampler groups the
 * rows itself.  At 100 Hz the server's time goes mostly to executor
 * set-up on cold caches: grouping in SQL (a hash aggregate for the locks,
 * grouping sets for activity and blocking) cost its backend 250 us of CPU
 * per tick under the hum, this plan 185 us (pgbench at 100 Hz with each,
 * side by side).  pg_blocking_pids() takes the lock manager's partition
 * locks, so it runs only for backends waiting on a lock; their wait is
 * measured from query_start, as pg_locks.waitstart would need the lock scan
 * that may run only every locks_interval_ms.
 *
 * Every row is (k, a, b, c, lpid, state, wtype, wevent, apid, blockers,
 * wait_ms, deadlocks, us, detail):
 *   'S'  a snapshot row: lock (a locktype, b mode, c granted, lpid) and
 *        backend (state .. wait_ms).  The first row also has the deadlock
 *        count and the server's time to take the snapshot in us: from the
 *        start of the implicit transaction (the Bind message, so executor
 *        set-up counts) to the clock_timestamp() evaluated after the two
 *        scans (ROWS FROM evaluates its functions in order).  A separate
 *        last row timing the whole statement cost a tenth more.
 *   'R'  a subscription (subscribers): a name, b state, wait_ms: apply lag
 * blockers is pg_blocking_pids() as text.  detail, for lock waiters only
 * and only in the tick_wait statements, is what a lock-wait episode needs
 * beyond the blocker (workers/episodes.h, ep_parse_detail): one lock scan
 * and one backend lookup per waiter.  Those run only on ticks after one
 * that saw a waiter, so a lab where nobody waits pays nothing for them:
 * a wait that one tick alone sees has its blocker but no detail.
 * The column names pg_lock_status() returns are those of PostgreSQL 14 and
 * later; sampler_prepare() refuses older servers.
 */
#define SAMPLER_COLS 14
#define SAMPLER_ACTIVITY_COLS "datid, apid, usesysid, application_name, " \
    "state, query, wait_event_type, wait_event, xact_start, query_start"

static const char sampler_sql_snapshot[] =
    "SELECT 'S'::text, %s, state, wait_event_type, wait_event, apid, "
    "CASE WHEN wait_event_type = 'Lock' "
    "THEN pg_blocking_pids(apid)::text END, "
    "CASE WHEN wait_event_type = 'Lock' THEN extract(epoch FROM "
    "clock_timestamp() - query_start) * 1000 END::float8, "
    "pg_stat_get_db_deadlocks, (extract(epoch FROM clock_timestamp - "
    "transaction_timestamp()) * 1000000)::int8, %s FROM ROWS FROM (%s"
    "pg_stat_get_activity(NULL), pg_stat_get_db_deadlocks(%u), "
    "clock_timestamp()) AS x(%s" SAMPLER_ACTIVITY_COLS ")";

/*
 * A waiter's detail (see above): its ungranted lock, what it is on (the
 * relation, or for a row lock's transaction wait, the relation of the
 * tuple lock the waiter holds meanwhile), the strongest mode its first
 * blocker holds on the same object, waitstart, and both statements.  A
 * waiter whose blocker went between the two scans has none (NULL bpid:
 * pg_stat_get_activity(NULL) would return every backend).
 */
#define SAMPLER_MODES "ARRAY['AccessShareLock', 'RowShareLock', " \
    "'RowExclusiveLock', 'ShareUpdateExclusiveLock', 'ShareLock', " \
    "'ShareRowExclusiveLock', 'ExclusiveLock', 'AccessExclusiveLock']"
#define SAMPLER_SAME(c) " AND h." c " IS NOT DISTINCT FROM w." c
static const char sampler_sql_detail[] =
    "CASE WHEN wait_event_type = 'Lock' THEN (WITH b AS (SELECT "
    "(pg_blocking_pids(x.apid))[1] AS bpid), l AS MATERIALIZED (SELECT k.* "
    "FROM pg_lock_status() k, b WHERE k.pid = x.apid OR k.pid = b.bpid) "
    "SELECT concat_ws(E'\\x1f', w.locktype, w.mode, "
    "coalesce(w.relation::regclass::text, (SELECT t.relation::regclass::text "
    "FROM l t WHERE t.pid = x.apid AND t.granted AND t.locktype = 'tuple' "
    "LIMIT 1), 'transaction ' || w.transactionid, "
    "'virtualxid ' || w.virtualxid, ''), "
    "coalesce((SELECT h.mode FROM l h, b WHERE h.pid = b.bpid AND h.granted "
    "AND h.locktype = w.locktype" SAMPLER_SAME("database")
    SAMPLER_SAME("relation") SAMPLER_SAME("page") SAMPLER_SAME("tuple")
    SAMPLER_SAME("virtualxid") SAMPLER_SAME("transactionid")
    SAMPLER_SAME("classid") SAMPLER_SAME("objid") SAMPLER_SAME("objsubid")
    " ORDER BY array_position(" SAMPLER_MODES ", h.mode) DESC LIMIT 1), ''), "
    "coalesce((extract(epoch FROM w.waitstart) * 1000000)::int8::text, ''), "
    "coalesce(x.query_id::text, ''), coalesce((SELECT concat_ws(E'\\x1f', "
    "coalesce(a.state, ''), coalesce(a.query_id::text, ''), "
    "translate(left(a.query, 79), E'\\x1f', ' ')) "
    "FROM b, pg_stat_get_activity(b.bpid) a WHERE b.bpid IS NOT NULL AND "
    "a.pid = b.bpid), E'\\x1f\\x1f'), "
    "translate(left(coalesce(x.query, ''), 79), E'\\x1f', ' ')) "
    "FROM l w WHERE w.pid = x.apid AND NOT w.granted LIMIT 1) END";
static const char sampler_sql_no_detail[] = "NULL::text";

static const char sampler_sql_lock_cols[] =
    "locktype, mode, granted, lpid";
static const char sampler_sql_no_lock_cols[] =
    "NULL::text, NULL::text, NULL::bool, NULL::int4";
static const char sampler_sql_lock_fn[] = "pg_lock_status(), ";
static const char sampler_sql_lock_names[] =
    "locktype, database, relation, page, tuple, virtualxid, transactionid, "
    "classid, objid, objsubid, virtualtransaction, lpid, mode, granted, "
    "fastpath, waitstart, ";

/*
 * Subscribers: state of each subscription of this database (%u: its oid),
 * apply lag from the heartbeat.
 */
static const char sampler_sql_replication[] =
    "SELECT 'R'::text, s.subname::text, CASE "
    "WHEN NOT s.subenabled THEN 'disabled' "
    "WHEN st.pid IS NULL THEN 'down' "
    "WHEN EXISTS (SELECT 1 FROM pg_subscription_rel r "
    "WHERE r.srsubid = s.oid AND r.srsubstate <> 'r') THEN 'syncing' "
    "ELSE 'streaming' END, NULL::bool, NULL::int4, NULL::text, NULL::text, "
    "NULL::text, NULL::int4, NULL::text, "
    "(SELECT extract(epoch FROM clock_timestamp() - h.ts) * 1000 "
    "FROM heartbeat h WHERE h.id = 1)::float8, NULL::int8, NULL::int8, "
    "NULL::text "
    "FROM pg_subscription s LEFT JOIN LATERAL (SELECT w.pid "
    "FROM pg_stat_get_subscription(s.oid) w WHERE w.relid IS NULL) st "
    "ON true WHERE s.subdbid = %u";

/* Groups of one tick; more are possible only in theory (see below). */
#define SAMPLER_LOCK_GROUPS 256
#define SAMPLER_ACT_GROUPS 256

struct lock_group {
	const char *locktype, *mode;
	bool granted;
	int64_t count;
};

struct act_group {
	const char *state, *wtype, *wevent;
	int64_t count;
};

enum sampler_stmt {
	SS_TICK = 0,	/* activity + blocking (+ replication) */
	SS_TICK_LOCKS,	/* the same + pg_locks */
	SS_TICK_WAIT,	/* each + lock waiters' detail */
	SS_TICK_LOCKS_WAIT,
	SS_NSTMT
};

static const char *const sampler_stmt_names[SS_NSTMT] = {
	"tick", "tick_locks", "tick_wait", "tick_locks_wait",
};

struct sampler {
	struct worker_ctx *ctx;
	const struct config *cfg;
	const struct node_cfg *node;
	char name[24];		/* "sampler pub" */
	bool subscriber;
	bool with_repl;		/* the heartbeat table exists here */
	unsigned dboid;		/* the lab database's oid, for its stats */
	char self[16];		/* our backend's pid, as the rows spell it */
	PGconn *conn;
	int64_t interval_ns, locks_every; /* locks every n-th tick */
	int64_t start;		/* mono ns: tick k is due at start + k * iv */
	int64_t k;
	int64_t next_second;
	int64_t next_repl_check;
	int64_t ticks, misses, errors, reconnects;
	int64_t cost_sum_us, cost_n;	/* this second's server times */
	bool lost;		/* reachable once, now gone */
	bool warned_groups;	/* said once that a tick overflowed */
	bool pending;		/* a tick's query is out, its reply unread */
	bool pending_locks;	/* ... and it scans pg_locks */
	int64_t pending_t0;	/* mono ns it was sent */
	int64_t pending_ts;	/* realtime ns: its records' timestamp */
	bool wait_detail;	/* the last tick saw a waiter: ask for detail */
	struct ep_table ep;	/* lock-wait episodes */
	struct ep_wait waits[EP_MAX];	/* the waiters of the tick read */
	char not_probe[STATUS_TEXT]; /* source = auto: why not the probe */
};

void
sampler_sql(char *buf, size_t len, bool locks, bool repl, unsigned dboid,
    bool wait_detail)
{
	char snap[sizeof(sampler_sql_snapshot) + sizeof(sampler_sql_lock_cols) +
	    sizeof(sampler_sql_no_lock_cols) + sizeof(sampler_sql_lock_fn) +
	    sizeof(sampler_sql_lock_names) + sizeof(sampler_sql_detail) + 16];
	char rep[sizeof(sampler_sql_replication) + 16];

	snprintf(snap, sizeof(snap), sampler_sql_snapshot,
	    locks ? sampler_sql_lock_cols : sampler_sql_no_lock_cols,
	    wait_detail ? sampler_sql_detail : sampler_sql_no_detail,
	    locks ? sampler_sql_lock_fn : "", dboid,
	    locks ? sampler_sql_lock_names : "");
	snprintf(rep, sizeof(rep), sampler_sql_replication, dboid);
	snprintf(buf, len, "%s%s%s", snap, repl ? " UNION ALL " : "",
	    repl ? rep : "");
}

static void
sampler_emit_episode(void *arg, const struct record *r)
{
	struct sampler *s = arg;
	struct record copy = *r;

	worker_emit(s->ctx, &copy);
}

/* For `top`: how many episodes are open, and the longest. */
void
sampler_ep_status(struct worker_ctx *ctx, const struct ep_table *ep)
{
	const struct episode *e = ep_longest(ep);

	status_counter_set(ctx->slot, SC_EP_OPEN, ep->n);
	status_counter_set(ctx->slot, SC_EP_PAIR, e == NULL ? 0 :
	    (int64_t)e->w.pid << 32 | (uint32_t)e->w.blocker);
	status_counter_set(ctx->slot, SC_EP_SINCE, e == NULL ? 0 :
	    ep_start(ep, e));
}

static void
sampler_episode_status(struct sampler *s)
{
	sampler_ep_status(s->ctx, &s->ep);
}

static void
sampler_disconnect(struct sampler *s)
{
	PQfinish(s->conn);
	s->conn = NULL;
	s->pending = false;
	/* what the node does now is unknown: its episodes end here */
	ep_flush(&s->ep, sampler_emit_episode, s);
	s->wait_detail = false;
	if (s->ctx != NULL)
		sampler_episode_status(s);
}

/*
 * Prepare the two tick statements.  On a subscriber without the heartbeat
 * table yet (the replication worker has not made the schema), prepare them
 * without replication and look again later.  Returns 0 or -1.
 */
static int
sampler_prepare(struct sampler *s, char *err, size_t errlen)
{
	static char sql[8192];
	PGresult *res;

	if (PQserverVersion(s->conn) < 140000) {
		snprintf(err, errlen, "%s runs PostgreSQL %d; the sampler needs "
		    "14 or later (set [lab] pg_bin to a newer one)",
		    s->node->name, PQserverVersion(s->conn) / 10000);
		return -1;
	}
	res = PQexec(s->conn, "SELECT oid, to_regclass('heartbeat') IS NOT "
	    "NULL FROM pg_database WHERE datname = current_database()");
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		pgc_error(s->conn, err, errlen);
		PQclear(res);
		return -1;
	}
	s->dboid = (unsigned)strtoul(PQgetvalue(res, 0, 0), NULL, 10);
	snprintf(s->self, sizeof(s->self), "%d", PQbackendPID(s->conn));
	s->with_repl = s->subscriber && PQgetvalue(res, 0, 1)[0] == 't';
	PQclear(res);
	if (s->subscriber)
		s->next_repl_check = mono_ns() + SAMPLER_SECOND_NS;
	for (int i = 0; i < SS_NSTMT; i++) {
		sampler_sql(sql, sizeof(sql), i == SS_TICK_LOCKS ||
		    i == SS_TICK_LOCKS_WAIT, s->with_repl, s->dboid,
		    i >= SS_TICK_WAIT);
		res = PQprepare(s->conn, sampler_stmt_names[i], sql, 0, NULL);
		if (PQresultStatus(res) != PGRES_COMMAND_OK) {
			snprintf(err, errlen, "cannot prepare the sample query "
			    "on %s: %s", s->node->name,
			    PQresultErrorMessage(res));
			err[strcspn(err, "\n")] = '\0';
			PQclear(res);
			return -1;
		}
		PQclear(res);
	}
	return 0;
}

static void
sampler_sleep_until(int64_t until)
{
	while (!worker_stop) {
		int64_t now = mono_ns(), t = until;

		if (now >= until)
			return;
		if (t > now + SAMPLER_SLICE_NS)
			t = now + SAMPLER_SLICE_NS;
		struct timespec ts = { t / SAMPLER_SECOND_NS,
		    t % SAMPLER_SECOND_NS };
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
		if (worker_orphaned())
			worker_stop = 1;
	}
}

static void
sampler_emit_labsup(struct sampler *s)
{
	struct record r;

	worker_labsup_init(s->ctx, &r);
	r.u.labsup.deadline_misses = s->misses;
	r.u.labsup.errors = s->errors;
	/* the server's mean time to take a snapshot this second, us */
	r.u.labsup.value = s->cost_n > 0 ? s->cost_sum_us / s->cost_n : 0;
	worker_emit(s->ctx, &r);
	status_counter_set(s->ctx->slot, SC_TICK_COST_US, r.u.labsup.value);
	s->cost_sum_us = s->cost_n = 0;
}

static void
sampler_second(struct sampler *s)
{
	int64_t now = mono_ns();

	if (now < s->next_second)
		return;
	sampler_emit_labsup(s);
	s->next_second += SAMPLER_SECOND_NS;
	if (s->next_second <= now)
		s->next_second = now + SAMPLER_SECOND_NS;
	status_heartbeat(s->ctx->slot);
}

static void
sampler_running(struct sampler *s)
{
	if (s->not_probe[0] != '\0') {	/* status says why not the probe */
		status_set(s->ctx->slot, WS_RUNNING, "sql (not the probe: %s)",
		    s->not_probe);
		return;
	}
	if (s->interval_ns == 0) {
		status_set(s->ctx->slot, WS_RUNNING, "back to back%s",
		    s->with_repl ? ", apply lag" : "");
		return;
	}
	status_set(s->ctx->slot, WS_RUNNING, "every %" PRId64 " ms, locks "
	    "every %" PRId64 " ms%s", s->interval_ns / 1000000,
	    s->interval_ns * s->locks_every / 1000000,
	    s->with_repl ? ", apply lag" : "");
}

/* Connect (with backoff) until it works or we must stop. */
static void
sampler_connect(struct sampler *s)
{
	char conninfo[1024], err[256];
	int backoff_ms = 100;

	while (!worker_stop) {
		/* again each try: the server's socket may have appeared */
		if (lab_conninfo(s->cfg, s->node, "labsup-sampler", conninfo,
		    sizeof(conninfo)) == -1) {
			log_warnx("%s: connection string too long", s->name);
			worker_stop = 1;
			return;
		}
		s->conn = pgc_connect(conninfo, 5000, err, sizeof(err));
		if (s->conn != NULL) {
			if (sampler_prepare(s, err, sizeof(err)) == 0)
				break;
			sampler_disconnect(s);
		}
		if (worker_stop)
			return;
		if (s->lost) {
			status_set(s->ctx->slot, WS_RUNNING,
			    "%s unreachable: %s", s->node->name, err);
		} else {
			status_set(s->ctx->slot, WS_STARTING,
			    "waiting for %s: %s", s->node->name, err);
		}
		sampler_second(s);
		sampler_sleep_until(mono_ns() + (int64_t)backoff_ms * 1000000);
		backoff_ms *= 2;
		if (backoff_ms > SAMPLER_BACKOFF_MAX_MS)
			backoff_ms = SAMPLER_BACKOFF_MAX_MS;
	}
	if (worker_stop)
		return;
	if (s->lost) {
		s->reconnects++;
		status_counter_set(s->ctx->slot, SC_RECONNECTS, s->reconnects);
		worker_event(s->ctx, "node_back", "%s is reachable again",
		    s->node->name);
		log_info("%s: %s is back", s->name, s->node->name);
	}
	s->lost = false;
	status_counter_set(s->ctx->slot, SC_UNREACHABLE, 0);
	sampler_running(s);
}

static void
sampler_node_lost(struct sampler *s, const char *why)
{
	log_warnx("%s: lost %s: %s (reconnecting)", s->name, s->node->name,
	    why);
	sampler_disconnect(s);
	s->lost = true;
	status_counter_set(s->ctx->slot, SC_UNREACHABLE, 1);
	status_set(s->ctx->slot, WS_RUNNING, "%s unreachable", s->node->name);
	worker_event(s->ctx, "node_lost", "%s unreachable: %s", s->node->name,
	    why);
}

static void
sampler_record(struct record *r, enum rec_kind kind, int64_t ts)
{
	memset(r, 0, sizeof(*r));
	r->kind = kind;
	r->ts = ts;
}

/* A column's text, or NULL for SQL NULL. */
static const char *
sampler_col(const PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col) ? NULL : PQgetvalue(res, row, col);
}

/*
 * The group of (a, b, c) in one tick's table, added if new.  Linear search:
 * a tick has a few dozen distinct groups.  NULL when the table is full,
 * which takes more distinct lock kinds (lock types x modes x granted, about
 * 180 exist) or backend states than a lab has; the row is then left out.
 */
static struct lock_group *
sampler_lock_group(struct lock_group *g, int *n, const char *locktype,
    const char *mode, bool granted)
{
	for (int i = 0; i < *n; i++)
		if (g[i].granted == granted && !strcmp(g[i].mode, mode) &&
		    !strcmp(g[i].locktype, locktype))
			return &g[i];
	if (*n == SAMPLER_LOCK_GROUPS)
		return NULL;
	g[*n] = (struct lock_group){ locktype, mode, granted, 0 };
	return &g[(*n)++];
}

static struct act_group *
sampler_act_group(struct act_group *g, int *n, const char *state,
    const char *wtype, const char *wevent)
{
	for (int i = 0; i < *n; i++)
		if (!strcmp(g[i].wevent, wevent) && !strcmp(g[i].wtype, wtype) &&
		    !strcmp(g[i].state, state))
			return &g[i];
	if (*n == SAMPLER_ACT_GROUPS)
		return NULL;
	g[*n] = (struct act_group){ state, wtype, wevent, 0 };
	return &g[(*n)++];
}

/* A lock waiter's row: its blockers, and its detail when asked for. */
static void
sampler_waiter(struct ep_wait *w, const PGresult *res, int row)
{
	memset(w, 0, sizeof(*w));
	w->pid = (int32_t)strtol(PQgetvalue(res, row, 8), NULL, 10);
	w->blocker_idle_tx = 2;
	ep_parse_blockers(w, sampler_col(res, row, 9));
	if (!PQgetisnull(res, row, 13))
		ep_parse_detail(w, PQgetvalue(res, row, 13));
}

/* An 'R' row: a subscription's state and apply lag. */
void
sampler_emit_repl(struct worker_ctx *ctx, const char *node,
    const PGresult *res, int i, int64_t ts)
{
	const char *a = sampler_col(res, i, 1);
	struct record r;

	sampler_record(&r, REC_REPLICATION, ts);
	strlcpy(r.u.replication.node, node, REC_NAME);
	strlcpy(r.u.replication.subscription, a ? a : "",
	    sizeof(r.u.replication.subscription));
	strlcpy(r.u.replication.state, PQgetvalue(res, i, 2),
	    sizeof(r.u.replication.state));
	/* left out: byte lag is the replication worker's */
	r.u.replication.lag_bytes = REC_ABSENT;
	r.u.replication.apply_lag_ms = strtod(PQgetvalue(res, i, 10), NULL);
	status_counter_set(ctx->slot, SC_APPLY_LAG_US,
	    (int64_t)(r.u.replication.apply_lag_ms * 1000));
	worker_emit(ctx, &r);
}

/* The subscriber part alone (sampler_probe.c runs it once a second). */
void
sampler_sql_repl(char *buf, size_t len, unsigned dboid)
{
	snprintf(buf, len, sampler_sql_replication, dboid);
}

/*
 * Turn the tick's rows into records: pg_locks grouped by (locktype, mode,
 * granted), backends by (state, wait event type, wait event), one blocking
 * record, one per subscription; never counting our own backend.  Updates
 * the figures for `top`.
 */
static void
sampler_emit_rows(struct sampler *s, PGresult *res, int64_t ts, bool locks)
{
	static struct lock_group lg[SAMPLER_LOCK_GROUPS];
	static struct act_group ag[SAMPLER_ACT_GROUPS];
	int nl = 0, na = 0, nw = 0, dropped = 0, n = PQntuples(res);
	int64_t granted = 0, active = 0, idle_tx = 0, waiting = 0, pairs = 0;
	int64_t deadlocks = 0;
	double longest = 0;
	struct record r;

	if (PQnfields(res) != SAMPLER_COLS) {
		s->errors++;
		status_counter_set(s->ctx->slot, SC_ERRORS, s->errors);
		log_warnx("%s: the sample on %s has %d columns, not %d",
		    s->name, s->node->name, PQnfields(res), SAMPLER_COLS);
		return;
	}
	for (int i = 0; i < n; i++) {
		const char *k = PQgetvalue(res, i, 0);
		const char *a = sampler_col(res, i, 1);
		const char *lpid = sampler_col(res, i, 4);
		const char *apid = sampler_col(res, i, 8);
		const char *v;

		if (k[0] == 'R') {
			sampler_emit_repl(s->ctx, s->node->name, res, i, ts);
			continue;
		}
		if ((v = sampler_col(res, i, 11)) != NULL)
			deadlocks = strtoll(v, NULL, 10);
		if ((v = sampler_col(res, i, 12)) != NULL) {
			s->cost_sum_us += strtoll(v, NULL, 10);
			s->cost_n++;
		}
		/* a lock; pid NULL is a prepared transaction's, counted */
		if (a != NULL && (lpid == NULL || strcmp(lpid, s->self) != 0)) {
			bool g = PQgetvalue(res, i, 3)[0] == 't';
			struct lock_group *lk = sampler_lock_group(lg, &nl, a,
			    PQgetvalue(res, i, 2), g);

			if (lk != NULL)
				lk->count++;
			else
				dropped++;
			if (g)
				granted++;
		}
		if (apid != NULL && strcmp(apid, s->self) != 0) {
			const char *st = PQgetvalue(res, i, 5);
			const char *wt = PQgetvalue(res, i, 6);
			struct act_group *ak = sampler_act_group(ag, &na, st,
			    wt, PQgetvalue(res, i, 7));

			if (ak != NULL)
				ak->count++;
			else
				dropped++;
			if (!strcmp(st, "active"))
				active++;
			else if (!strncmp(st, "idle in transaction", 19))
				idle_tx++;
			if (!strcmp(wt, "Lock")) {
				double w = strtod(PQgetvalue(res, i, 10), NULL);

				waiting++;
				if (nw < EP_MAX)
					sampler_waiter(&s->waits[nw++], res, i);
				else
					pairs++;	/* at least one */
				if (w > longest)
					longest = w;
			}
		}
	}
	for (int i = 0; i < nl; i++) {
		sampler_record(&r, REC_LOCKS, ts);
		strlcpy(r.u.locks.node, s->node->name, REC_NAME);
		strlcpy(r.u.locks.locktype, lg[i].locktype,
		    sizeof(r.u.locks.locktype));
		strlcpy(r.u.locks.mode, lg[i].mode, sizeof(r.u.locks.mode));
		r.u.locks.granted = lg[i].granted;
		r.u.locks.count = lg[i].count;
		worker_emit(s->ctx, &r);
	}
	for (int i = 0; i < na; i++) {
		sampler_record(&r, REC_ACTIVITY, ts);
		strlcpy(r.u.activity.node, s->node->name, REC_NAME);
		strlcpy(r.u.activity.state, ag[i].state,
		    sizeof(r.u.activity.state));
		strlcpy(r.u.activity.wait_event_type, ag[i].wtype,
		    sizeof(r.u.activity.wait_event_type));
		strlcpy(r.u.activity.wait_event, ag[i].wevent,
		    sizeof(r.u.activity.wait_event));
		r.u.activity.count = (int32_t)ag[i].count;
		worker_emit(s->ctx, &r);
	}
	for (int i = 0; i < nw; i++)
		pairs += s->waits[i].nblockers;
	ep_tick(&s->ep, ts, s->waits, nw, sampler_emit_episode, s);
	if (nw > 0 || s->wait_detail)
		sampler_episode_status(s);
	s->wait_detail = nw > 0;
	sampler_record(&r, REC_BLOCKING, ts);
	strlcpy(r.u.blocking.node, s->node->name, REC_NAME);
	r.u.blocking.waiting = waiting;
	r.u.blocking.pairs = pairs;
	r.u.blocking.deadlocks = deadlocks;
	r.u.blocking.longest_wait_ms = longest;
	worker_emit(s->ctx, &r);
	if (dropped > 0 && !s->warned_groups) {
		log_warnx("%s: more than %d distinct lock kinds or backend "
		    "states on %s; %d rows left out of this sample", s->name,
		    SAMPLER_LOCK_GROUPS, s->node->name, dropped);
		s->warned_groups = true;
	}
	status_counter_set(s->ctx->slot, SC_WAITING, waiting);
	status_counter_set(s->ctx->slot, SC_PAIRS, pairs);
	if (locks)
		status_counter_set(s->ctx->slot, SC_GRANTED, granted);
	status_counter_set(s->ctx->slot, SC_ACTIVE, active);
	status_counter_set(s->ctx->slot, SC_IDLE_IN_TX, idle_tx);
}

/*
 * Send this tick's statement; its reply is read at the next tick.  Returns
 * 0, or -1 when the node is gone (the caller reconnects).
 */
static int
sampler_send(struct sampler *s)
{
	/* the slot on the shared grid: every node scans pg_locks together */
	int64_t slot = s->interval_ns > 0 ? s->start / s->interval_ns + s->k :
	    s->k;
	bool locks = slot % s->locks_every == 0;
	int stmt = (locks ? SS_TICK_LOCKS : SS_TICK) +
	    (s->wait_detail ? SS_TICK_WAIT : 0);
	char why[200];

	s->pending_t0 = mono_ns();
	s->pending_ts = now_ns();
	if (!PQsendQueryPrepared(s->conn, sampler_stmt_names[stmt], 0,
	    NULL, NULL, NULL, 0)) {
		sampler_node_lost(s, pgc_error(s->conn, why, sizeof(why)));
		return -1;
	}
	s->pending = true;
	s->pending_locks = locks;
	return 0;
}

/*
 * Read the reply of the tick in flight into records, waiting for it if it
 * is not there yet; with `arrived_only` (stopping), only if it is there.
 * Returns 0, or -1 when the node is gone (the caller reconnects).
 */
static int
sampler_collect(struct sampler *s, bool arrived_only)
{
	char why[200];
	PGresult *res;
	int rc;

	s->pending = false;
	if (arrived_only) {
		if (!PQconsumeInput(s->conn) || PQisBusy(s->conn))
			return 0;
	} else {
		rc = pgc_wait(s->conn, s->pending_t0 +
		    SAMPLER_QUERY_TIMEOUT_NS, NULL, NULL);
		if (rc == PGC_STOPPED)
			return 0;
		if (rc != PGC_READY) {
			sampler_node_lost(s, rc == PGC_TIMEOUT ?
			    "no answer in 5 s" :
			    pgc_error(s->conn, why, sizeof(why)));
			return -1;
		}
	}
	while ((res = PQgetResult(s->conn)) != NULL) {
		if (PQresultStatus(res) == PGRES_TUPLES_OK) {
			sampler_emit_rows(s, res, s->pending_ts,
			    s->pending_locks);
		} else {
			s->errors++;
			status_counter_set(s->ctx->slot, SC_ERRORS, s->errors);
			snprintf(why, sizeof(why), "%s",
			    PQresultErrorMessage(res));
			why[strcspn(why, "\n")] = '\0';
			log_warnx("%s: sample on %s failed: %s", s->name,
			    s->node->name, why);
		}
		PQclear(res);
	}
	if (PQstatus(s->conn) == CONNECTION_BAD) {
		sampler_node_lost(s, pgc_error(s->conn, why, sizeof(why)));
		return -1;
	}
	s->ticks++;
	status_counter_set(s->ctx->slot, SC_TICKS, s->ticks);
	status_counter_set(s->ctx->slot, SC_LAST_TICK, s->pending_ts);
	return 0;
}

/*
 * Move to the next tick slot.  Slots whose time passed while we worked are
 * skipped and counted as deadline misses: the schedule stays anchored at
 * start, so it never drifts.
 */
static void
sampler_advance(struct sampler *s)
{
	int64_t now = mono_ns();
	int64_t due;

	s->k++;
	if (s->interval_ns == 0)	/* back to back: nothing is late */
		return;
	due = s->start + s->k * s->interval_ns;
	if (now >= due) {
		int64_t late = (now - due) / s->interval_ns + 1;
		s->misses += late;
		s->k += late;
		status_counter_set(s->ctx->slot, SC_DEADLINE_MISSES,
		    s->misses);
	}
}

/* After an outage: the next slot of the original grid, no misses. */
static void
sampler_resync(struct sampler *s)
{
	int64_t now = mono_ns();

	if (s->interval_ns > 0)
		s->k = (now - s->start) / s->interval_ns + 1;
}

int
sampler_main(struct worker_ctx *ctx)
{
	static struct sampler s;
	const struct config *cfg = ctx->cfg;
	char err[256];

	memset(&s, 0, sizeof(s));
	s.ctx = ctx;
	s.cfg = cfg;
	s.node = config_node(cfg, ctx->arg != NULL ? ctx->arg : "");
	if (s.node == NULL) {
		log_warnx("sampler: node \"%s\" is not in the config",
		    ctx->arg ? ctx->arg : "");
		status_set(ctx->slot, WS_FAILED, "node \"%s\" is not in the "
		    "config", ctx->arg ? ctx->arg : "");
		return EXIT_NORESPAWN;
	}
	snprintf(s.name, sizeof(s.name), "sampler %s", s.node->name);
	ep_init(&s.ep, s.node->name, (int64_t)cfg->sampler.interval_ms *
	    1000000);
	/* issue 18: the in-server probe, unless it is not there (auto) */
	if (cfg->sampler.source != SAMPLER_SQL) {
		int rc = sampler_probe_main(ctx, s.node, s.not_probe,
		    sizeof(s.not_probe));

		if (rc != SAMPLER_PROBE_FALLBACK || worker_stop)
			return rc == SAMPLER_PROBE_FALLBACK ? 0 : rc;
	}
	{
		struct sched_param sp = { .sched_priority = 0 };
		if (sched_setscheduler(0, SCHED_BATCH, &sp) == -1)
			log_warnx("%s: cannot run as SCHED_BATCH (%s); it "
			    "will preempt the workload more", s.name,
			    strerror(errno));
	}
	s.subscriber = s.node->role == NODE_SUBSCRIBER;
	/*
	 * interval_ms 0 (never from a config file, which allows 10 and up;
	 * the benchmark harness sets it) runs ticks back to back, every one
	 * with pg_locks: the round trip without the sleeps between.
	 */
	s.interval_ns = (int64_t)cfg->sampler.interval_ms * 1000000;
	/* pg_locks on every n-th tick, n >= 1, keeping one grid */
	s.locks_every = cfg->sampler.interval_ms > 0 ?
	    cfg->sampler.locks_interval_ms / cfg->sampler.interval_ms : 1;
	if (s.locks_every < 1)
		s.locks_every = 1;
	s.next_second = mono_ns() + SAMPLER_SECOND_NS;
	status_set(ctx->slot, WS_STARTING, "connecting to %s", s.node->name);
	sampler_connect(&s);
	/*
	 * The grid is the monotonic clock's multiples of the interval, the
	 * same in every sampler: all nodes are sampled at the same instants,
	 * so their figures compare side by side.
	 */
	s.start = mono_ns();
	if (s.interval_ns > 0)
		s.start += s.interval_ns - s.start % s.interval_ns;
	while (!worker_stop) {
		int64_t due = s.start + s.k * s.interval_ns;

		sampler_sleep_until(due);
		if (worker_stop)
			break;
		if (s.pending && sampler_collect(&s, false) == -1) {
			sampler_connect(&s);
			sampler_resync(&s);
			continue;
		}
		if (worker_stop)	/* it stopped waiting for the reply */
			break;
		if (s.subscriber && !s.with_repl &&
		    mono_ns() >= s.next_repl_check) {
			/* the schema may have arrived: prepare again */
			PQclear(PQexec(s.conn, "DEALLOCATE ALL"));
			if (sampler_prepare(&s, err, sizeof(err)) == -1) {
				sampler_node_lost(&s, err);
				sampler_connect(&s);
			} else if (s.with_repl) {
				sampler_running(&s);
			}
			sampler_resync(&s);
			continue;
		}
		if (sampler_send(&s) == -1) {
			sampler_connect(&s);
			sampler_resync(&s);
		} else {
			sampler_advance(&s);
		}
		sampler_second(&s);
	}
	if (s.pending && s.conn != NULL)	/* the last tick, if it is in */
		sampler_collect(&s, true);
	sampler_disconnect(&s);
	return 0;
}
