/*
 * lineproto.c: records to InfluxDB line protocol.  Hot path of the writer
 * (target well under 1 us a point), so numbers are formatted by hand and
 * each line is written into room reserved once, without bounds checks
 * per byte: LP_LINE_MAX covers the worst case of a 128-byte record.
 */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lineproto.h"

int
lp_reserve(struct lp_buf *b, size_t more)
{
	size_t cap;
	char *p;

	if (b->cap - b->len >= more)
		return 0;
	cap = b->cap ? b->cap : 65536;
	while (cap - b->len < more)
		cap *= 2;
	p = realloc(b->data, cap);
	if (p == NULL) {
		errno = ENOMEM;
		return -1;
	}
	b->data = p;
	b->cap = cap;
	return 0;
}

void
lp_free(struct lp_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

static bool
lp_special(unsigned char c, int ctx)
{
	switch (ctx) {
	case LP_MEASUREMENT:
		return c == ',' || c == ' ';
	case LP_NAME:
		return c == ',' || c == '=' || c == ' ';
	default:
		return c == '"' || c == '\\';
	}
}

/* Line protocol has no escape for control characters: make them spaces. */
static unsigned char
lp_map(unsigned char c)
{
	return (c < 0x20 || c == 0x7f) ? ' ' : c;
}

size_t
lp_escape(char *dst, const char *src, size_t n, int ctx)
{
	char *p = dst;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = lp_map((unsigned char)src[i]);

		if (c == '\\' && ctx != LP_STRING) {
			/*
			 * 1.x reads "\x" as x escaped whenever x is special,
			 * and a trailing backslash would escape the separator
			 * after the name; neither can be written, so use '/'.
			 */
			if (i + 1 == n ||
			    lp_special(lp_map((unsigned char)src[i + 1]), ctx))
				c = '/';
			*p++ = (char)c;
			continue;
		}
		if (lp_special(c, ctx))
			*p++ = '\\';
		*p++ = (char)c;
	}
	return (size_t)(p - dst);
}

/* Writes the decimal digits of v at p; returns the end. */
static char *
lp_itoa(char *p, int64_t v)
{
	char tmp[24];
	char *t = tmp + sizeof(tmp);
	uint64_t u;

	if (v < 0) {
		*p++ = '-';
		u = (uint64_t)0 - (uint64_t)v;
	} else
		u = (uint64_t)v;
	do {
		*--t = (char)('0' + u % 10);
		u /= 10;
	} while (u != 0);
	memcpy(p, t, (size_t)(tmp + sizeof(tmp) - t));
	return p + (tmp + sizeof(tmp) - t);
}

/* One line being written: p moves forward, sep is ' ' before field one. */
struct lp_line {
	char *p;
	char sep;
};

static void
lp_lit(struct lp_line *w, const char *s, size_t n)
{
	memcpy(w->p, s, n);
	w->p += n;
}

#define LP_LIT(w, s) lp_lit((w), (s), sizeof(s) - 1)

/* ",key=value" for a non-empty value; key is a literal needing no escape. */
static void
lp_tag(struct lp_line *w, const char *key, const char *val, size_t size)
{
	size_t n = strnlen(val, size);

	if (n == 0)
		return;
	*w->p++ = ',';
	lp_lit(w, key, strlen(key));
	*w->p++ = '=';
	w->p += lp_escape(w->p, val, n, LP_NAME);
}

#define LP_TAG(w, key, arr) lp_tag((w), (key), (arr), sizeof(arr))

static void
lp_fkey(struct lp_line *w, const char *key)
{
	*w->p++ = w->sep;
	w->sep = ',';
	lp_lit(w, key, strlen(key));
	*w->p++ = '=';
}

static void
lp_int(struct lp_line *w, const char *key, int64_t v)
{
	if (v == LP_ABSENT)
		return;
	lp_fkey(w, key);
	w->p = lp_itoa(w->p, v);
	*w->p++ = 'i';
}

static void
lp_float(struct lp_line *w, const char *key, double d)
{
	if (!isfinite(d))
		return;
	lp_fkey(w, key);
	/* whole numbers are common (counts, 0.0): skip printf for them */
	if (d > -1e15 && d < 1e15 && d == (double)(int64_t)d) {
		w->p = lp_itoa(w->p, (int64_t)d);
		return;
	}
	w->p += snprintf(w->p, 32, "%.15g", d);
}

static void
lp_string(struct lp_line *w, const char *key, const char *s, size_t size)
{
	lp_fkey(w, key);
	*w->p++ = '"';
	w->p += lp_escape(w->p, s, strnlen(s, size), LP_STRING);
	*w->p++ = '"';
}

/* lock_wait: a string field only when there is something to say */
static void
lp_nonempty(struct lp_line *w, const char *key, const char *s, size_t size)
{
	if (s[0] != '\0')
		lp_string(w, key, s, size);
}

/*
 * lock_wait: both record kinds of an episode have the same tags, so that
 * InfluxDB merges them into one point (see shm/record.h).
 */
static void
lp_lock_wait_tags(struct lp_line *w, const char *node, int32_t pid,
    uint8_t ended)
{
	char num[16];

	lp_tag(w, "node", node, REC_NAME);
	*lp_itoa(num, pid) = '\0';
	lp_tag(w, "pid", num, sizeof(num));
	lp_tag(w, "state", ended ? "ended" : "waiting", 8);
}

static void
lp_lock_wait_fields(struct lp_line *w, const struct record *r)
{
	const struct rec_lock_wait *l = &r->u.lock_wait;
	const struct rec_lock_wait_text *t = &r->u.lock_wait_text;

	if (r->kind == REC_LOCK_WAIT_TEXT) {
		lp_string(w, t->side == REC_SIDE_BLOCKER ? "blocker_query" :
		    "query", t->text, sizeof(t->text));
		return;
	}
	if (l->blocker != 0)
		lp_int(w, "blocker", l->blocker);
	lp_int(w, "blockers", l->blockers);
	lp_float(w, "duration_ms", l->duration_ms);
	lp_nonempty(w, "target", l->target, sizeof(l->target));
	lp_nonempty(w, "locktype", rec_locktype_name(l->locktype), 16);
	lp_nonempty(w, "mode", rec_lockmode_name(l->mode), 32);
	lp_nonempty(w, "held", rec_lockmode_name(l->held), 32);
	if (l->query_id != 0)
		lp_int(w, "query_id", l->query_id);
	if (l->blocker_query_id != 0)
		lp_int(w, "blocker_query_id", l->blocker_query_id);
	if (l->blocker_idle_tx < 2)
		lp_int(w, "blocker_idle_in_tx", l->blocker_idle_tx);
}

static void
lp_fields(struct lp_line *w, const struct record *r)
{
	switch (r->kind) {
	case REC_LOCKS:
		lp_int(w, "count", r->u.locks.count);
		break;
	case REC_ACTIVITY:
		lp_int(w, "count", r->u.activity.count);
		break;
	case REC_BLOCKING:
		lp_int(w, "waiting", r->u.blocking.waiting);
		lp_int(w, "pairs", r->u.blocking.pairs);
		lp_float(w, "longest_wait_ms", r->u.blocking.longest_wait_ms);
		lp_int(w, "deadlocks", r->u.blocking.deadlocks);
		break;
	case REC_REPLICATION:
		lp_int(w, "lag_bytes", r->u.replication.lag_bytes);
		lp_float(w, "apply_lag_ms", r->u.replication.apply_lag_ms);
		break;
	case REC_HUM:
		lp_int(w, "tx", r->u.hum.tx);
		lp_int(w, "err_serialization", r->u.hum.err_serialization);
		lp_int(w, "err_deadlock", r->u.hum.err_deadlock);
		lp_int(w, "err_other", r->u.hum.err_other);
		lp_float(w, "latency_p50_ms", r->u.hum.latency_p50_ms);
		lp_float(w, "latency_p99_ms", r->u.hum.latency_p99_ms);
		lp_float(w, "latency_max_ms", r->u.hum.latency_max_ms);
		lp_float(w, "schedule_lag_ms", r->u.hum.schedule_lag_ms);
		lp_int(w, "reconnects", r->u.hum.reconnects);
		break;
	case REC_SERVICE:
		lp_float(w, "cpu_pct", r->u.service.cpu_pct);
		lp_int(w, "mem_bytes", r->u.service.mem_bytes);
		lp_int(w, "net_rx_bytes", r->u.service.net_rx_bytes);
		lp_int(w, "net_tx_bytes", r->u.service.net_tx_bytes);
		lp_int(w, "up", r->u.service.up);
		break;
	case REC_LABSUP:
		lp_int(w, "ring_drops", r->u.labsup.ring_drops);
		lp_int(w, "spool_bytes", r->u.labsup.spool_bytes);
		lp_int(w, "deadline_misses", r->u.labsup.deadline_misses);
		lp_int(w, "restarts", r->u.labsup.restarts);
		lp_int(w, "points_written", r->u.labsup.points_written);
		lp_int(w, "errors", r->u.labsup.errors);
		lp_int(w, "value", r->u.labsup.value);
		break;
	case REC_EVENT:
		lp_string(w, "text", r->u.event.text, sizeof(r->u.event.text));
		break;
	case REC_TEST:
		lp_int(w, "n", r->u.test.n);
		break;
	/* issue 16: subscription health and server logs */
	case REC_SUB_STATS:
		lp_int(w, "apply_errors", r->u.sub_stats.apply_errors);
		lp_int(w, "sync_errors", r->u.sub_stats.sync_errors);
		lp_int(w, "received_lsn", r->u.sub_stats.received_lsn);
		lp_int(w, "reported_lsn", r->u.sub_stats.reported_lsn);
		lp_float(w, "send_age_ms", r->u.sub_stats.send_age_ms);
		lp_float(w, "receipt_age_ms", r->u.sub_stats.receipt_age_ms);
		lp_int(w, "tables_not_ready", r->u.sub_stats.tables_not_ready);
		lp_int(w, "enabled", r->u.sub_stats.enabled);
		lp_int(w, "apply_pid", r->u.sub_stats.apply_pid);
		break;
	case REC_SUB_REL:
		lp_string(w, "state", r->u.sub_rel.state,
		    sizeof(r->u.sub_rel.state));
		lp_int(w, "lsn", r->u.sub_rel.lsn);
		break;
	case REC_SUB_SLOT:
		lp_int(w, "safe_wal_size", r->u.sub_slot.safe_wal_size);
		lp_int(w, "retained_bytes", r->u.sub_slot.retained_bytes);
		lp_int(w, "active", r->u.sub_slot.active);
		break;
	case REC_SUB_WORKER:
		lp_int(w, "pid", r->u.sub_worker.pid);
		lp_int(w, "waiting", r->u.sub_worker.waiting);
		break;
	case REC_PG_LOG: {
		static const char *const keys[PGLOG_PARTS] = { "message",
			"message_2", "message_3", "message_4", "message_5" };
		int part = r->u.pg_log.part < PGLOG_PARTS ?
		    r->u.pg_log.part : PGLOG_PARTS - 1;

		lp_int(w, "pid", r->u.pg_log.pid);
		lp_string(w, keys[part], r->u.pg_log.text,
		    sizeof(r->u.pg_log.text));
		break;
	}
	case REC_LOCK_WAIT:
	case REC_LOCK_WAIT_TEXT:
		lp_lock_wait_fields(w, r);
		break;
	case REC_LINK:
		lp_int(w, "link_bytes_down", r->u.link.bytes_down);
		lp_int(w, "link_bytes_up", r->u.link.bytes_up);
		lp_int(w, "link_connections", r->u.link.connections);
		lp_int(w, "link_accepted", r->u.link.accepted);
		lp_int(w, "link_refused", r->u.link.refused);
		lp_int(w, "link_partitions", r->u.link.partitions);
		lp_float(w, "link_delay_ms", r->u.link.delay_us / 1000.0);
		lp_int(w, "link_state", r->u.link.state);
		lp_int(w, "link_queued_bytes", r->u.link.queued);
		break;
	}
}

/* Tags in key order, which is the order InfluxDB keeps them in. */
static void
lp_tags(struct lp_line *w, const struct record *r)
{
	switch (r->kind) {
	case REC_LOCKS:
		lp_tag(w, "granted", r->u.locks.granted ? "true" : "false", 6);
		LP_TAG(w, "locktype", r->u.locks.locktype);
		LP_TAG(w, "mode", r->u.locks.mode);
		LP_TAG(w, "node", r->u.locks.node);
		break;
	case REC_ACTIVITY:
		LP_TAG(w, "node", r->u.activity.node);
		LP_TAG(w, "state", r->u.activity.state);
		LP_TAG(w, "wait_event", r->u.activity.wait_event);
		LP_TAG(w, "wait_event_type", r->u.activity.wait_event_type);
		break;
	case REC_BLOCKING:
		LP_TAG(w, "node", r->u.blocking.node);
		break;
	case REC_REPLICATION:
		LP_TAG(w, "node", r->u.replication.node);
		LP_TAG(w, "state", r->u.replication.state);
		LP_TAG(w, "subscription", r->u.replication.subscription);
		break;
	case REC_HUM:
		LP_TAG(w, "client", r->u.hum.client);
		LP_TAG(w, "group", r->u.hum.group);	/* issue 15 */
		LP_TAG(w, "node", r->u.hum.node);
		break;
	case REC_SERVICE:
		LP_TAG(w, "service", r->u.service.service);
		break;
	case REC_LABSUP:
		LP_TAG(w, "worker", r->u.labsup.worker);
		break;
	case REC_EVENT:
		LP_TAG(w, "kind", r->u.event.kind);
		break;
	case REC_TEST:
		LP_TAG(w, "stream", r->u.test.stream);
		break;
	/* issue 16 */
	case REC_SUB_STATS:
		LP_TAG(w, "node", r->u.sub_stats.node);
		LP_TAG(w, "subscription", r->u.sub_stats.subscription);
		break;
	case REC_SUB_REL:
		LP_TAG(w, "node", r->u.sub_rel.node);
		LP_TAG(w, "subscription", r->u.sub_rel.subscription);
		LP_TAG(w, "table", r->u.sub_rel.table);
		break;
	case REC_SUB_SLOT:
		LP_TAG(w, "node", r->u.sub_slot.node);
		LP_TAG(w, "sender_state", r->u.sub_slot.sender_state);
		LP_TAG(w, "subscription", r->u.sub_slot.subscription);
		LP_TAG(w, "wal_status", r->u.sub_slot.wal_status);
		break;
	case REC_SUB_WORKER:
		LP_TAG(w, "node", r->u.sub_worker.node);
		LP_TAG(w, "role", r->u.sub_worker.role);
		LP_TAG(w, "subscription", r->u.sub_worker.subscription);
		LP_TAG(w, "wait_event", r->u.sub_worker.wait_event);
		LP_TAG(w, "wait_event_type", r->u.sub_worker.wait_event_type);
		break;
	case REC_PG_LOG: {
		const char *bt = pglog_btype(r->u.pg_log.btype);

		lp_tag(w, "backend_type", bt, strlen(bt));
		LP_TAG(w, "node", r->u.pg_log.node);
		bt = pglog_severity(r->u.pg_log.severity);
		lp_tag(w, "severity", bt, strlen(bt));
		LP_TAG(w, "sqlstate", r->u.pg_log.sqlstate);
		break;
	}
	case REC_LINK:
		LP_TAG(w, "node", r->u.link.node);
		LP_TAG(w, "worker", r->u.link.worker);
		break;
	case REC_LOCK_WAIT:
		lp_lock_wait_tags(w, r->u.lock_wait.node, r->u.lock_wait.pid,
		    r->u.lock_wait.ended);
		break;
	case REC_LOCK_WAIT_TEXT:
		lp_lock_wait_tags(w, r->u.lock_wait_text.node,
		    r->u.lock_wait_text.pid, r->u.lock_wait_text.ended);
		break;
	}
}

/*
 * issue 16: the records InfluxDB merges into one point (the parts of a
 * pg_log line, a lock_wait episode and its statements) need a seq field
 * each, or the last would hide the others' lane positions.
 */
static const char *
lp_seq_key(const struct record *r)
{
	static const char *const keys[PGLOG_PARTS] = { "seq", "seq_2",
		"seq_3", "seq_4", "seq_5" };

	/* a lock_wait point is an episode and its statements: a seq each */
	if (r->kind == REC_LOCK_WAIT_TEXT)
		return r->u.lock_wait_text.side == REC_SIDE_BLOCKER ?
		    "seq_blocker_query" : "seq_query";
	if (r->kind != REC_PG_LOG)
		return "seq";
	return keys[r->u.pg_log.part < PGLOG_PARTS ? r->u.pg_log.part :
	    PGLOG_PARTS - 1];
}

int
lp_format(struct lp_buf *b, const struct record *r)
{
	const char *m = rec_measurement(r->kind);
	struct lp_line w;

	if (m == NULL)
		return 1;
	if (lp_reserve(b, LP_LINE_MAX) == -1)
		return -1;
	w.p = b->data + b->len;
	w.sep = ' ';
	/* measurement names are fixed identifiers: nothing to escape */
	lp_lit(&w, m, strlen(m));
	lp_tags(&w, r);
	lp_fields(&w, r);
	lp_int(&w, lp_seq_key(r), (int64_t)r->seq);
	if (r->ts > 0) {
		*w.p++ = ' ';
		w.p = lp_itoa(w.p, r->ts);
	}
	*w.p++ = '\n';
	b->len = (size_t)(w.p - b->data);
	return 0;
}
