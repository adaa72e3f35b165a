/*
 * subhealth.c: subscription health (subhealth.h).  One simple-query string
 * a side, several SELECTs after a SET statement_timeout, in the implicit
 * transaction a multi-statement string runs in: a statement that times
 * out aborts the rest and rolls the SET back with it, so the replication
 * worker's own statements never run under our timeout.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "subhealth.h"

#define SH_RESULTS 8

#define SH_SET "SET statement_timeout = %d; "
#define SH_RESET "; RESET statement_timeout"

/* The lab database's subscriptions: one row each. */
#define SH_SUB_STATS "SELECT s.subname::text, s.subenabled::int, " \
    "coalesce(st.apply_error_count, 0), coalesce(st.sync_error_count, 0), " \
    "(w.received_lsn - '0/0'::pg_lsn)::int8, " \
    "(w.latest_end_lsn - '0/0'::pg_lsn)::int8, " \
    "(extract(epoch FROM clock_timestamp() - w.last_msg_send_time) " \
    "* 1000)::float8, " \
    "(extract(epoch FROM clock_timestamp() - w.last_msg_receipt_time) " \
    "* 1000)::float8, " \
    "(SELECT count(*) FROM pg_subscription_rel r WHERE r.srsubid = s.oid " \
    "AND r.srsubstate <> 'r'), coalesce(w.pid, 0) " \
    "FROM pg_subscription s " \
    "LEFT JOIN pg_stat_subscription_stats st ON st.subid = s.oid " \
    "LEFT JOIN pg_stat_subscription w ON w.subid = s.oid AND w.relid IS NULL " \
    "WHERE s.subdbid = (SELECT oid FROM pg_database " \
    "WHERE datname = current_database())"
/* Every table of each, and its sync state. */
#define SH_SUB_REL "SELECT s.subname::text, c.relname::text, " \
    "r.srsubstate::text, (r.srsublsn - '0/0'::pg_lsn)::int8 " \
    "FROM pg_subscription_rel r JOIN pg_subscription s ON s.oid = r.srsubid " \
    "JOIN pg_class c ON c.oid = r.srrelid"
/* What its apply and table-sync workers wait on. */
#define SH_SUB_WORKERS "SELECT s.subname::text, CASE WHEN w.relid IS NULL " \
    "THEN 'apply' ELSE 'sync' END, w.pid, a.wait_event_type, a.wait_event " \
    "FROM pg_stat_subscription w JOIN pg_subscription s ON s.oid = w.subid " \
    "JOIN pg_stat_activity a ON a.pid = w.pid"
/* Publisher: the logical slots, their walsender and what it waits on. */
#define SH_PUB_SLOTS "SELECT sl.slot_name::text, sl.wal_status, " \
    "sl.safe_wal_size, (pg_current_wal_lsn() - sl.restart_lsn)::int8, " \
    "sl.active::int, r.state, sl.active_pid, a.wait_event_type, " \
    "a.wait_event FROM pg_replication_slots sl " \
    "LEFT JOIN pg_stat_replication r ON r.pid = sl.active_pid " \
    "LEFT JOIN pg_stat_activity a ON a.pid = sl.active_pid " \
    "WHERE sl.slot_type = 'logical'"

/*
 * Run the SET, the selects of sql (separated by "; "), the RESET; fills
 * res[0 .. nsel-1] with the selects' results.  0, or -1 (res cleared).
 */
static int
sh_run(PGconn *c, const char *sql, int nsel, PGresult **res)
{
	char buf[4096];
	PGresult *r;
	int got = 0, bad = 0;

	snprintf(buf, sizeof(buf), SH_SET "%s" SH_RESET, SUBHEALTH_TIMEOUT_MS,
	    sql);
	if (!PQsendQuery(c, buf))
		return -1;
	while ((r = PQgetResult(c)) != NULL) {
		int st = PQresultStatus(r);
		if (st == PGRES_TUPLES_OK && got < nsel) {
			res[got++] = r;
			continue;
		}
		if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
			bad = 1;
		PQclear(r);
	}
	if (bad || got != nsel) {
		for (int i = 0; i < got; i++)
			PQclear(res[i]);
		return -1;
	}
	return 0;
}

static int64_t
sh_int(const PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col) ? REC_ABSENT :
	    strtoll(PQgetvalue(r, row, col), NULL, 10);
}

static double
sh_float(const PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col) ? NAN :
	    strtod(PQgetvalue(r, row, col), NULL);
}

static void
sh_text(const PGresult *r, int row, int col, char *buf, size_t len)
{
	snprintf(buf, len, "%s", PQgetisnull(r, row, col) ? "" :
	    PQgetvalue(r, row, col));
}

/* A sub_worker record: role's wait events (cols from col on). */
static void
sh_worker(struct worker_ctx *ctx, const char *node, const char *sub,
    const char *role, const PGresult *r, int row, int pidcol)
{
	struct record rec;
	struct rec_sub_worker *w = &rec.u.sub_worker;

	memset(&rec, 0, sizeof(rec));
	rec.kind = REC_SUB_WORKER;
	snprintf(w->node, sizeof(w->node), "%s", node);
	snprintf(w->subscription, sizeof(w->subscription), "%s", sub);
	snprintf(w->role, sizeof(w->role), "%s", role);
	w->pid = (int32_t)strtol(PQgetvalue(r, row, pidcol), NULL, 10);
	sh_text(r, row, pidcol + 1, w->wait_event_type,
	    sizeof(w->wait_event_type));
	sh_text(r, row, pidcol + 2, w->wait_event, sizeof(w->wait_event));
	w->waiting = w->wait_event_type[0] != '\0';
	worker_emit(ctx, &rec);
}

/* REC_ABSENT (NULL) as -1, for a status slot */
static int64_t
sh_known(int64_t v)
{
	return v == REC_ABSENT ? -1 : v;
}

int
subhealth_subscriber(struct worker_ctx *ctx, PGconn *c, const char *node,
    const char *subname, struct slot_sub *out)
{
	PGresult *res[3];
	struct record rec;

	if (sh_run(c, SH_SUB_STATS "; " SH_SUB_REL "; " SH_SUB_WORKERS, 3,
	    res) == -1)
		return -1;
	for (int i = 0; i < PQntuples(res[0]); i++) {
		struct rec_sub_stats *s = &rec.u.sub_stats;

		memset(&rec, 0, sizeof(rec));
		rec.kind = REC_SUB_STATS;
		snprintf(s->node, sizeof(s->node), "%s", node);
		sh_text(res[0], i, 0, s->subscription, sizeof(s->subscription));
		s->enabled = (int32_t)sh_int(res[0], i, 1);
		s->apply_errors = sh_int(res[0], i, 2);
		s->sync_errors = sh_int(res[0], i, 3);
		s->received_lsn = sh_int(res[0], i, 4);
		s->reported_lsn = sh_int(res[0], i, 5);
		s->send_age_ms = sh_float(res[0], i, 6);
		s->receipt_age_ms = sh_float(res[0], i, 7);
		s->tables_not_ready = (int32_t)sh_int(res[0], i, 8);
		s->apply_pid = (int32_t)sh_int(res[0], i, 9);
		worker_emit(ctx, &rec);
		if (out != NULL && !strcmp(s->subscription, subname)) {
			out->seen = 1;
			out->enabled = s->enabled == 1;
			out->apply_running = s->apply_pid > 0;
			out->apply_errors = sh_known(s->apply_errors);
			out->sync_errors = sh_known(s->sync_errors);
			out->received_lsn = sh_known(s->received_lsn);
			out->reported_lsn = sh_known(s->reported_lsn);
			out->tables_not_ready = s->tables_not_ready;
		}
	}
	for (int i = 0; i < PQntuples(res[1]); i++) {
		struct rec_sub_rel *t = &rec.u.sub_rel;

		memset(&rec, 0, sizeof(rec));
		rec.kind = REC_SUB_REL;
		snprintf(t->node, sizeof(t->node), "%s", node);
		sh_text(res[1], i, 0, t->subscription, sizeof(t->subscription));
		sh_text(res[1], i, 1, t->table, sizeof(t->table));
		sh_text(res[1], i, 2, t->state, sizeof(t->state));
		t->lsn = sh_int(res[1], i, 3);
		worker_emit(ctx, &rec);
	}
	for (int i = 0; i < PQntuples(res[2]); i++)
		sh_worker(ctx, node, PQgetvalue(res[2], i, 0),
		    PQgetvalue(res[2], i, 1), res[2], i, 2);
	for (int i = 0; i < 3; i++)
		PQclear(res[i]);
	return 0;
}

int
subhealth_publisher(struct worker_ctx *ctx, PGconn *c, const char *node,
    const char *const *subs, int n, struct slot_sub *out)
{
	PGresult *r;
	struct record rec;

	if (sh_run(c, SH_PUB_SLOTS, 1, &r) == -1)
		return -1;
	for (int i = 0; i < PQntuples(r); i++) {
		struct rec_sub_slot *s = &rec.u.sub_slot;
		const char *slot = PQgetvalue(r, i, 0);
		int j;

		/* table-sync slots come and go: only the subscriptions' own */
		for (j = 0; j < n && strcmp(subs[j], slot); j++)
			;
		if (j == n)
			continue;
		memset(&rec, 0, sizeof(rec));
		rec.kind = REC_SUB_SLOT;
		snprintf(s->node, sizeof(s->node), "%s", node);
		snprintf(s->subscription, sizeof(s->subscription), "%s", slot);
		sh_text(r, i, 1, s->wal_status, sizeof(s->wal_status));
		s->safe_wal_size = sh_int(r, i, 2);
		s->retained_bytes = sh_int(r, i, 3);
		s->active = sh_int(r, i, 4);
		sh_text(r, i, 5, s->sender_state, sizeof(s->sender_state));
		worker_emit(ctx, &rec);
		if (out != NULL) {
			snprintf(out[j].wal_status, sizeof(out[j].wal_status),
			    "%s", s->wal_status);
			out[j].retained_bytes = sh_known(s->retained_bytes);
		}
		if (!PQgetisnull(r, i, 6))
			sh_worker(ctx, node, slot, "sender", r, i, 6);
	}
	PQclear(r);
	return 0;
}
