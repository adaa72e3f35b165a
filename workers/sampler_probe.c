/*
 * sampler_probe.c: the sampler worker when its node's server runs labsup's
 * in-server probe (probe/labsup_probe.c, [sampler] source = probe or
 * auto).  The probe samples; this process stays the node's
 * supervisor-facing one:
 *  - it creates the node's probe segment (shm/probe.h) for the server's
 *    user and tells the probe what to do through its control block
 *    (interval, lock snapshots, run), and stops it when it exits;
 *  - it relays the probe's records from the segment's lane into its own
 *    lane, for the writer, every SP_RELAY_NS: it wakes ten times a second
 *    whatever the sampling rate;
 *  - it keeps one idle connection to the server, asked once a second
 *    whether the server still runs the probe for this segment: a lost or
 *    restarted server is reported as the SQL sampler reports it;
 *  - it watches the probe's heartbeat and puts its figures into the slot
 *    (status, top);
 *  - it follows lock-wait episodes (workers/episodes.h) from the probe's
 *    REC_PROBE_WAIT records, tick by tick, as the SQL sampler does from
 *    its rows, so their lock_wait points are the same; it names the
 *    relations waited on through its connection (cached), which the
 *    probe, connected to no database, cannot.
 * With source = auto it hands back to the SQL sampler, saying why, when the
 * probe is not there (a server labsup did not start with it, an image
 * built without it, no library) or does not sample.  On the docker backend
 * the segment's directory is bind-mounted into the node's container, where
 * the server finds the segment under IMAGE_PROBE_DIR.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "worker.h"
#include "sampler.h"
#include "hum_pgc.h"
#include "episodes.h"
#include "../shm/probe.h"
#include "../lib/probe_so.h"
#include "../docker/image.h"
#include "../backend/local.h"

#define SP_SECOND_NS 1000000000LL
#define SP_RELAY_NS (SP_SECOND_NS / 10)
#define SP_START_NS (10 * SP_SECOND_NS)	/* for the probe to sample */
#define SP_SILENT_NS (3 * SP_SECOND_NS)	/* a heartbeat older is silent */
#define SP_BACKOFF_MAX_MS 2000
#define SP_NAMES 64			/* relation names cached */

/* A waiter's statements, as the first tick of its wait sent them. */
struct sp_text {
	int32_t pid, blocker;
	int64_t waitstart_ns;
	char query[REC_QUERY_TEXT], blocker_query[REC_QUERY_TEXT];
	bool seen;			/* in the tick being taken in */
};

struct sp_name {
	unsigned oid;
	char name[REC_TARGET];
};

struct sprobe {
	struct worker_ctx *ctx;
	const struct config *cfg;
	const struct node_cfg *node;
	char name[24];			/* "sampler pub" */
	char segname[SEG_NAME_MAX + 32];	/* the segment's path here */
	char srvseg[SEG_NAME_MAX + 32];	/* ... as the server sees it */
	struct probe_seg *p;
	PGconn *conn;
	bool lost;
	int64_t reconnects, errors;
	int64_t next_second;
	uint64_t sec_ticks, sec_tick_ns; /* the probe's, a second ago */
	char why[STATUS_TEXT];		/* why not the probe */
	unsigned dboid;			/* the lab database's oid */
	bool with_repl;			/* a subscriber with the schema */
	int64_t deadlocks;		/* pg_stat_database's, a second ago */
	struct ep_table ep;		/* lock-wait episodes */
	struct ep_wait waits[EP_MAX];	/* the waiters of the tick relayed */
	int nwaits, last_nwaits;
	int64_t waits_ts;		/* that tick's time */
	struct sp_text texts[EP_MAX];
	int ntexts;
	struct sp_name names[SP_NAMES];
	int nnames, next_name;
	uint64_t at;			/* the probe record being taken in */
	uint16_t seg_id;		/* probe_seg_id() of the segment */
};

static void
sp_sleep(int64_t ns)
{
	int64_t until = mono_ns() + ns;

	while (!worker_stop) {
		int64_t now = mono_ns(), t = until;

		if (now >= until)
			return;
		if (t > now + SP_RELAY_NS)
			t = now + SP_RELAY_NS;
		struct timespec ts = { t / SP_SECOND_NS, t % SP_SECOND_NS };
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
		if (worker_orphaned())
			worker_stop = 1;
	}
}

static void
sp_disconnect(struct sprobe *s)
{
	PQfinish(s->conn);
	s->conn = NULL;
	atomic_store(&s->p->ctl.skip_pid, 0);
}

static bool
sp_docker(const struct sprobe *s)
{
	return atomic_load(&s->ctx->seg->hdr->backend) == BACKEND_DOCKER ||
	    s->cfg->lab.backend == BACKEND_DOCKER;
}

/*
 * Whether the server runs the probe for our segment: 1 yes, 0 no (why
 * says so), -1 the connection failed (why), 2 the query failed on a
 * working connection (counted as an error; why).
 */
static int
sp_loaded(struct sprobe *s)
{
	PGresult *res = PQexec(s->conn, "SELECT current_setting('" PROBE_GUC
	    "', true), oid, to_regclass('heartbeat') IS NOT NULL, "
	    "pg_stat_get_db_deadlocks(oid) "
	    "FROM pg_database WHERE datname = current_database()");
	const char *v;
	int rc;

	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		pgc_error(s->conn, s->why, sizeof(s->why));
		PQclear(res);
		if (PQstatus(s->conn) == CONNECTION_BAD)
			return -1;
		/* it failed, the server did not go: an error, as SQL's */
		s->errors++;
		status_counter_set(s->ctx->slot, SC_ERRORS, s->errors);
		log_warnx("%s: %s: %s", s->name, s->node->name, s->why);
		return 2;
	}
	s->dboid = (unsigned)strtoul(PQgetvalue(res, 0, 1), NULL, 10);
	s->with_repl = s->node->role == NODE_SUBSCRIBER &&
	    PQgetvalue(res, 0, 2)[0] == 't';
	s->deadlocks = strtoll(PQgetvalue(res, 0, 3), NULL, 10);
	v = PQgetisnull(res, 0, 0) ? "" : PQgetvalue(res, 0, 0);
	rc = strcmp(v, s->srvseg) == 0;
	if (!rc && v[0] == '\0' && sp_docker(s))
		snprintf(s->why, sizeof(s->why), "%s's container runs without "
		    "the probe (its image has none: run `labsup image build`, "
		    "then restart labsup)", s->node->name);
	else if (!rc && v[0] == '\0')
		snprintf(s->why, sizeof(s->why), "%s was started without the "
		    "probe (restart it with labsup)", s->node->name);
	else if (!rc)
		snprintf(s->why, sizeof(s->why), "%s runs the probe for another "
		    "segment (%s: another lab's, or an older labsup's; restart "
		    "it with labsup)", s->node->name, v);
	PQclear(res);
	return rc;
}

/* Connect (with backoff) until it works or we must stop. */
static void
sp_connect(struct sprobe *s)
{
	char conninfo[1024], err[256];
	int backoff_ms = 100;

	while (!worker_stop) {
		if (lab_conninfo(s->cfg, s->node, "labsup-sampler", conninfo,
		    sizeof(conninfo)) == -1) {
			log_warnx("%s: connection string too long", s->name);
			worker_stop = 1;
			return;
		}
		s->conn = pgc_connect(conninfo, 5000, err, sizeof(err));
		if (s->conn != NULL)
			break;
		status_set(s->ctx->slot, s->lost ? WS_RUNNING : WS_STARTING,
		    "%s %s: %s", s->lost ? "probe:" : "waiting for",
		    s->node->name, err);
		sp_sleep((int64_t)backoff_ms * 1000000);
		backoff_ms *= 2;
		if (backoff_ms > SP_BACKOFF_MAX_MS)
			backoff_ms = SP_BACKOFF_MAX_MS;
	}
	if (worker_stop)
		return;
	atomic_store(&s->p->ctl.skip_pid, PQbackendPID(s->conn));
	if (s->lost) {
		s->reconnects++;
		status_counter_set(s->ctx->slot, SC_RECONNECTS, s->reconnects);
		worker_event(s->ctx, "node_back", "%s is reachable again",
		    s->node->name);
		log_info("%s: %s is back", s->name, s->node->name);
	}
	s->lost = false;
	status_counter_set(s->ctx->slot, SC_UNREACHABLE, 0);
}

/* r is made of the probe's records up to s->at (probe_relay_resume). */
static void
sp_mark(const struct sprobe *s, struct record *r)
{
	r->relayed = 1;
	r->origin = (uint32_t)s->at;
	r->origin_seg = s->seg_id;
}

static void
sp_emit_episode(void *arg, const struct record *r)
{
	struct sprobe *s = arg;
	struct record copy = *r;

	sp_mark(s, &copy);
	worker_emit(s->ctx, &copy);
}

/* End every open episode: what the node does now is unknown. */
static void
sp_flush_episodes(struct sprobe *s)
{
	ep_flush(&s->ep, sp_emit_episode, s);
	s->nwaits = s->last_nwaits = s->ntexts = 0;
	sampler_ep_status(s->ctx, &s->ep);
}

/*
 * A relation's name as the SQL sampler's regclass::text spells it, asked
 * once through our connection and cached.  A relation of another
 * database, or one not named (gone, no connection), is its oid.
 */
static void
sp_relname(struct sprobe *s, unsigned dbid, unsigned oid, char *dst)
{
	char num[16];
	const char *v[1] = { num };
	struct sp_name *n;
	PGresult *res;

	snprintf(num, sizeof(num), "%u", oid);
	snprintf(dst, REC_TARGET, "%s", num);
	if (dbid != 0 && dbid != s->dboid)
		return;
	for (int i = 0; i < s->nnames; i++)
		if (s->names[i].oid == oid) {
			strlcpy(dst, s->names[i].name, REC_TARGET);
			return;
		}
	if (s->conn == NULL)
		return;
	res = PQexecParams(s->conn, "SELECT $1::oid::regclass::text", 1,
	    NULL, v, NULL, NULL, 0);
	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1) {
		strlcpy(dst, PQgetvalue(res, 0, 0), REC_TARGET);
		n = s->nnames < SP_NAMES ? &s->names[s->nnames++] :
		    &s->names[s->next_name++ % SP_NAMES];
		n->oid = oid;
		strlcpy(n->name, dst, sizeof(n->name));
	} else {
		s->errors++;
	}
	PQclear(res);
}

/* What a waiter waits on, as the SQL sampler's detail names it. */
static void
sp_target(struct sprobe *s, const struct rec_probe_wait *pw, char *dst)
{
	const char *type = rec_locktype_name(pw->locktype);

	dst[0] = '\0';
	if (pw->relid != 0)
		sp_relname(s, pw->dbid, pw->relid, dst);
	else if (strcmp(type, "transactionid") == 0)
		snprintf(dst, REC_TARGET, "transaction %u", pw->xid);
	else if (strcmp(type, "virtualxid") == 0 && pw->vxid_backend >= 0)
		snprintf(dst, REC_TARGET, "virtualxid %d/%u", pw->vxid_backend,
		    pw->vxid_local);
}

static struct sp_text *
sp_text_of(struct sprobe *s, int32_t pid)
{
	for (int i = 0; i < s->ntexts; i++)
		if (s->texts[i].pid == pid)
			return &s->texts[i];
	return NULL;
}

/*
 * The waiters relayed make one tick of episodes: taken in when its
 * REC_BLOCKING comes (every tick has one), or when a waiter of a later
 * tick does (that one was dropped).  Statements kept only for those who
 * still wait.
 */
static void
sp_tick(struct sprobe *s, int64_t ts)
{
	ep_tick(&s->ep, ts, s->waits, s->nwaits, sp_emit_episode, s);
	if (s->nwaits > 0 || s->last_nwaits > 0)
		sampler_ep_status(s->ctx, &s->ep);
	for (int i = 0; i < s->ntexts; i++) {
		if (!s->texts[i].seen)
			s->texts[i--] = s->texts[--s->ntexts];
		else
			s->texts[i].seen = false;
	}
	s->last_nwaits = s->nwaits;
	s->nwaits = 0;
}

/* A REC_PROBE_WAIT: one more waiter of the tick. */
static void
sp_wait(struct sprobe *s, const struct record *r)
{
	const struct rec_probe_wait *pw = &r->u.probe_wait;
	struct ep_wait *w;
	struct sp_text *t;

	if (s->nwaits > 0 && r->ts != s->waits_ts)
		sp_tick(s, s->waits_ts);
	s->waits_ts = r->ts;
	if (s->nwaits == EP_MAX || pw->pid <= 0) {
		s->ep.dropped++;
		return;
	}
	w = &s->waits[s->nwaits++];
	memset(w, 0, sizeof(*w));
	w->pid = pw->pid;
	w->blocker = pw->blocker;
	w->nblockers = pw->nblockers;
	w->blocker_idle_tx = pw->blocker_idle_tx <= 2 ? pw->blocker_idle_tx :
	    2;
	w->detail = true;
	w->locktype = pw->locktype;
	w->mode = pw->mode;
	w->held = pw->held;
	sp_target(s, pw, w->target);
	w->waitstart_ns = pw->waitstart_ns;
	w->query_id = pw->query_id;
	w->blocker_query_id = pw->blocker_query_id;
	t = sp_text_of(s, pw->pid);
	if (t != NULL && (pw->texts > 0 || t->blocker != pw->blocker ||
	    t->waitstart_ns != pw->waitstart_ns)) {
		/* another wait, or the texts follow: forget the old ones */
		t->query[0] = t->blocker_query[0] = '\0';
	} else if (t == NULL && s->ntexts < EP_MAX) {
		t = &s->texts[s->ntexts++];
		t->query[0] = t->blocker_query[0] = '\0';
	}
	if (t == NULL)
		return;
	t->pid = pw->pid;
	t->blocker = pw->blocker;
	t->waitstart_ns = pw->waitstart_ns;
	t->seen = true;
	strlcpy(w->query, t->query, sizeof(w->query));
	strlcpy(w->blocker_query, t->blocker_query, sizeof(w->blocker_query));
}

/* A REC_PROBE_WAIT_TEXT: a statement of the waiter just relayed. */
static void
sp_wait_text(struct sprobe *s, struct record *r)
{
	struct rec_probe_wait_text *x = &r->u.probe_wait_text;
	struct ep_wait *w = s->nwaits > 0 ? &s->waits[s->nwaits - 1] : NULL;
	struct sp_text *t;

	if (w == NULL || w->pid != x->pid || r->ts != s->waits_ts ||
	    x->side > REC_SIDE_BLOCKER)
		return;
	x->text[sizeof(x->text) - 1] = '\0';
	strlcpy(x->side == REC_SIDE_WAITER ? w->query : w->blocker_query,
	    x->text, REC_QUERY_TEXT);
	if ((t = sp_text_of(s, x->pid)) != NULL)
		strlcpy(x->side == REC_SIDE_WAITER ? t->query :
		    t->blocker_query, x->text, REC_QUERY_TEXT);
}

static void
sp_node_lost(struct sprobe *s, const char *why)
{
	log_warnx("%s: lost %s: %s (reconnecting)", s->name, s->node->name,
	    why);
	sp_disconnect(s);
	sp_flush_episodes(s);
	s->lost = true;
	status_counter_set(s->ctx->slot, SC_UNREACHABLE, 1);
	status_set(s->ctx->slot, WS_RUNNING, "probe: %s unreachable",
	    s->node->name);
	worker_event(s->ctx, "node_lost", "%s unreachable: %s", s->node->name,
	    why);
}

/*
 * Move what the probe wrote into our lane.  Only the kinds it may write
 * pass, named after our node, their strings ended: the segment is the
 * server user's to write.  Each record we make says which probe record it
 * came from (probe_relay_resume); what we read is freed after the batch.
 */
static void
sp_relay(struct sprobe *s)
{
	struct lane *in = probe_lane(s->p);
	const struct record *r;
	struct record c;

	for (;;) {
		uint64_t pos = lane_read_pos(in);

		if ((r = lane_read(in)) == NULL)
			break;
		s->at = pos;
		memcpy(&c, r, sizeof(c));
		c.ts = c.ts != 0 ? c.ts : now_ns();
		sp_mark(s, &c);
		switch (c.kind) {
		case REC_LOCKS:
			c.u.locks.locktype[sizeof(c.u.locks.locktype) - 1] = 0;
			c.u.locks.mode[sizeof(c.u.locks.mode) - 1] = 0;
			break;
		case REC_ACTIVITY:
			c.u.activity.state[sizeof(c.u.activity.state) - 1] = 0;
			c.u.activity.wait_event_type[
			    sizeof(c.u.activity.wait_event_type) - 1] = 0;
			c.u.activity.wait_event[
			    sizeof(c.u.activity.wait_event) - 1] = 0;
			break;
		case REC_PROBE_WAIT:	/* episodes: ours, never points */
			sp_wait(s, &c);
			continue;
		case REC_PROBE_WAIT_TEXT:
			sp_wait_text(s, &c);
			continue;
		case REC_PROBE_TICK:	/* the tick's waiters are all in */
			sp_tick(s, c.ts);
			continue;
		case REC_BLOCKING:
			/* the probe reads no statistics: ours, once a second */
			if (c.u.blocking.deadlocks == REC_ABSENT)
				c.u.blocking.deadlocks = s->deadlocks;
			break;
		default:
			s->errors++;
			continue;
		}
		/* node is the first field of all three */
		strlcpy(c.u.locks.node, s->node->name, REC_NAME);
		worker_emit(s->ctx, &c);
	}
	lane_commit(in, lane_read_pos(in));
}

static void
sp_running(struct sprobe *s)
{
	int64_t iv = s->cfg->sampler.interval_ms;
	int64_t w = PROBE_SUMMARY_TICKS(iv * 1000000);
	char win[64] = "";

	if (w > 1)	/* PROBE_SUMMARY_NS */
		snprintf(win, sizeof(win), ", activity and blocking points "
		    "every %" PRId64 " ms", w * iv);
	status_set(s->ctx->slot, WS_RUNNING, "probe: every %" PRId64 " ms, "
	    "locks every %d ms and on lock waits%s", iv,
	    s->cfg->sampler.locks_interval_ms, win);
}

/*
 * Once a second: the probe's figures into the slot and a labsup record.
 * Returns whether the probe's heartbeat is recent.
 */
static bool
sp_second(struct sprobe *s)
{
	struct probe_state *st = &s->p->st;
	struct slot *slot = s->ctx->slot;
	uint64_t ticks = atomic_load(&st->ticks);
	uint64_t tick_ns = atomic_load(&st->tick_ns);
	int64_t cost = 0, hb = atomic_load(&st->heartbeat_ns);
	struct record r;

	if (ticks > s->sec_ticks)
		cost = (int64_t)((tick_ns - s->sec_tick_ns) /
		    (ticks - s->sec_ticks) / 1000);
	s->sec_ticks = ticks;
	s->sec_tick_ns = tick_ns;
	status_counter_set(slot, SC_TICKS, (int64_t)ticks);
	status_counter_set(slot, SC_DEADLINE_MISSES,
	    (int64_t)atomic_load(&st->misses));
	status_counter_set(slot, SC_LAST_TICK, atomic_load(&st->last_tick_ns));
	status_counter_set(slot, SC_WAITING, atomic_load(&st->waiting));
	status_counter_set(slot, SC_PAIRS, atomic_load(&st->pairs));
	status_counter_set(slot, SC_GRANTED, atomic_load(&st->granted));
	status_counter_set(slot, SC_ACTIVE, atomic_load(&st->active));
	status_counter_set(slot, SC_IDLE_IN_TX, atomic_load(&st->idle_tx));
	status_counter_set(slot, SC_TICK_COST_US, cost);
	status_counter_set(slot, SC_ERRORS, s->errors);
	status_counter_set(slot, SC_PROBE_DROPS,
	    (int64_t)lane_dropped(probe_lane(s->p)));
	status_counter_set(slot, SC_LOCK_SNAPS,
	    (int64_t)atomic_load(&st->lock_snaps));
	worker_labsup_init(s->ctx, &r);
	/* what the probe's lane refused is lost too */
	r.u.labsup.ring_drops += (int64_t)lane_dropped(probe_lane(s->p));
	r.u.labsup.deadline_misses = (int64_t)atomic_load(&st->misses);
	r.u.labsup.errors = s->errors;
	r.u.labsup.value = cost;	/* the probe's mean tick, us */
	worker_emit(s->ctx, &r);
	status_heartbeat(slot);
	return hb != 0 && mono_ns() - hb < SP_SILENT_NS &&
	    atomic_load(&st->sampling) != 0;
}

/*
 * A subscriber's subscriptions, once a second: the SQL sampler's 'R' rows
 * (the probe has no query to run).  0, or -1 when the connection failed.
 */
static int
sp_repl(struct sprobe *s)
{
	char sql[2048];
	PGresult *res;
	int64_t ts = now_ns();

	sampler_sql_repl(sql, sizeof(sql), s->dboid);
	res = PQexec(s->conn, sql);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		pgc_error(s->conn, s->why, sizeof(s->why));
		PQclear(res);
		if (PQstatus(s->conn) == CONNECTION_BAD)
			return -1;
		s->errors++;
		return 0;
	}
	for (int i = 0; i < PQntuples(res); i++)
		sampler_emit_repl(s->ctx, s->node->name, res, i, ts);
	PQclear(res);
	return 0;
}

/* A reason to give up on the probe: auto falls back, probe waits. */
static int
sp_unavailable(struct sprobe *s)
{
	if (s->cfg->sampler.source == SAMPLER_AUTO)
		return SAMPLER_PROBE_FALLBACK;
	status_set(s->ctx->slot, WS_RUNNING, "probe: %s", s->why);
	return 0;
}

/*
 * The probe's run: until we must stop (0), or until auto gives up on it
 * (SAMPLER_PROBE_FALLBACK).
 */
static int
sp_run(struct sprobe *s)
{
	int64_t since = 0, next_relay = 0;
	bool sampling = false, said = false;
	int rc;

	s->next_second = mono_ns() + SP_SECOND_NS;
	while (!worker_stop) {
		if (s->conn == NULL) {
			sp_connect(s);
			if (worker_stop)
				break;
			if ((rc = sp_loaded(s)) == -1 || rc == 2) {
				if (rc == -1)
					sp_node_lost(s, s->why);
				else
					sp_disconnect(s);
				sp_sleep(SP_SECOND_NS);
				continue;
			}
			if (rc == 0) {
				if (sp_unavailable(s) != 0)
					return SAMPLER_PROBE_FALLBACK;
				sp_disconnect(s);
				sp_sleep(SP_SECOND_NS);
				continue;
			}
			since = mono_ns();
			status_set(s->ctx->slot, WS_STARTING, "probe: waiting "
			    "for the probe in %s to sample", s->node->name);
		}
		sp_sleep(next_relay - mono_ns());
		next_relay = mono_ns() + SP_RELAY_NS;
		sp_relay(s);
		if (mono_ns() < s->next_second)
			continue;
		s->next_second += SP_SECOND_NS;
		if (s->next_second <= mono_ns())
			s->next_second = mono_ns() + SP_SECOND_NS;
		if ((rc = sp_loaded(s)) == -1) {
			sp_node_lost(s, s->why);
			sampling = false;
			continue;
		}
		if (rc == 2)		/* counted; the probe samples on */
			rc = 1;
		if (rc == 0) {	/* restarted by someone else, without it */
			sp_disconnect(s);
			if (sp_unavailable(s) != 0)
				return SAMPLER_PROBE_FALLBACK;
			continue;
		}
		if (s->with_repl && sp_repl(s) == -1) {
			sp_node_lost(s, s->why);
			sampling = false;
			continue;
		}
		if (sp_second(s)) {
			if (!sampling)
				sp_running(s);
			sampling = true;
			said = false;
			since = mono_ns();
			continue;
		}
		sampling = false;
		if (mono_ns() - since < SP_START_NS)
			continue;
		snprintf(s->why, sizeof(s->why), "the probe in %s does not "
		    "sample (see its server log)", s->node->name);
		if (s->cfg->sampler.source == SAMPLER_AUTO)
			return SAMPLER_PROBE_FALLBACK;
		if (!said)
			log_warnx("%s: %s", s->name, s->why);
		said = true;
		status_set(s->ctx->slot, WS_RUNNING, "probe: %s", s->why);
	}
	return 0;
}

int
sampler_probe_main(struct worker_ctx *ctx, const struct node_cfg *node,
    char *why, size_t whylen)
{
	static struct sprobe s;
	const struct config *cfg = ctx->cfg;
	struct local_ids ids;
	char so[CFG_PATH];
	bool reused;
	int rc;

	memset(&s, 0, sizeof(s));
	s.ctx = ctx;
	s.cfg = cfg;
	s.node = node;
	snprintf(s.name, sizeof(s.name), "sampler %s", node->name);
	ep_init(&s.ep, node->name, (int64_t)cfg->sampler.interval_ms *
	    1000000);
	status_counter_set(ctx->slot, SC_SOURCE, SAMPLER_PROBE);
	/* backend = auto: which one runs the lab decides the segment's path */
	while (!worker_stop && cfg->lab.backend == BACKEND_AUTO &&
	    atomic_load(&ctx->seg->hdr->backend) == 0) {
		status_set(ctx->slot, WS_STARTING, "waiting for the container "
		    "worker");
		status_heartbeat(ctx->slot);
		worker_sleep_ms(100);
	}
	if (worker_stop)
		return 0;
	probe_seg_path(s.segname, sizeof(s.segname), cfg->lab.name,
	    node->name);
	if (sp_docker(&s)) {
		/* the image's server user; the library is in the image */
		ids.uid = IMAGE_PG_UID;
		ids.gid = IMAGE_PG_GID;
		snprintf(s.srvseg, sizeof(s.srvseg), IMAGE_PROBE_DIR "/%s",
		    node->name);
		s.why[0] = '\0';
	} else if (probe_so_find(so, sizeof(so), s.why, sizeof(s.why)) == 0 &&
	    probe_so_usable(so, s.why, sizeof(s.why)) == 0 &&
	    local_server_ids(cfg, &ids, s.why, sizeof(s.why)) == 0) {
		snprintf(s.srvseg, sizeof(s.srvseg), "%s", s.segname);
		s.why[0] = '\0';
	}
	if (s.why[0] == '\0')
		(void)probe_seg_mkdir(cfg->lab.name, s.why, sizeof(s.why));
	if (s.why[0] != '\0') {
		if (cfg->sampler.source == SAMPLER_AUTO)
			goto fallback;
		log_warnx("%s: source = probe: %s", s.name, s.why);
		status_set(ctx->slot, WS_FAILED, "probe: %s", s.why);
		return EXIT_NORESPAWN;
	}
	s.p = probe_seg_attach(s.segname, ids.uid, ids.gid, &reused, s.why,
	    sizeof(s.why));
	if (s.p == NULL) {
		log_warnx("%s: %s", s.name, s.why);
		if (cfg->sampler.source == SAMPLER_AUTO)
			goto fallback;
		status_set(ctx->slot, WS_FAILED, "probe: %s", s.why);
		return 1;
	}
	/* a previous sampler's unrelayed records are read again */
	lane_rewind(probe_lane(s.p));
	s.seg_id = probe_seg_id(s.segname);
	if (reused) {
		uint64_t n = probe_relay_resume(probe_lane(s.p), ctx->lane,
		    s.seg_id);

		if (n > 0)
			log_info("%s: going on after the last probe record my "
			    "predecessor relayed (%" PRIu64 " it had not "
			    "freed)", s.name, n);
	}
	strlcpy(s.p->ctl.node, node->name, sizeof(s.p->ctl.node));
	atomic_store(&s.p->ctl.interval_ns,
	    (int64_t)cfg->sampler.interval_ms * 1000000);
	atomic_store(&s.p->ctl.locks_every, cfg->sampler.locks_interval_ms /
	    cfg->sampler.interval_ms);
	atomic_store(&s.p->ctl.run, 1);
	log_info("%s: %s probe segment %s", s.name, reused ? "reusing" :
	    "created", s.segname);
	rc = sp_run(&s);
	atomic_store(&s.p->ctl.run, 0);
	sp_relay(&s);		/* what the last ticks wrote */
	sp_flush_episodes(&s);
	if (s.conn != NULL)
		sp_disconnect(&s);
	probe_seg_detach(s.p);
	/*
	 * Stopped, restarted (a reload) or falling back: nothing is left in
	 * its lane.  The probe says in the server log that it stopped
	 * writing, and maps the next sampler's segment within a second.  A
	 * sampler killed leaves the segment to the next one, which relays
	 * what is in it.  The directory stays while containers may have it
	 * mounted (docker_teardown removes it); a local lab's last sampler
	 * removes it.
	 */
	unlink(s.segname);
	if (!sp_docker(&s)) {
		char dir[SEG_NAME_MAX + 32];

		probe_seg_dir(dir, sizeof(dir), cfg->lab.name);
		(void)rmdir(dir);	/* fails while another node uses it */
	}
	if (rc != SAMPLER_PROBE_FALLBACK)
		return rc;
fallback:
	log_warnx("%s: sampling over SQL: %s", s.name, s.why);
	status_counter_set(ctx->slot, SC_SOURCE, SAMPLER_SQL);
	snprintf(why, whylen, "%s", s.why);
	return SAMPLER_PROBE_FALLBACK;
}
