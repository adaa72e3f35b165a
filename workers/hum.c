/*
 * hum.c: the hum worker, one process per client.  It keeps one connection
 * to the target node (the publisher unless [hum] node says otherwise) and
 * runs transactions on a Poisson schedule at its share of the lab's rate,
 * each transaction one pipelined round trip of prepared statements.  Every
 * 100 ms it puts a `hum` record in its lane; it touches only its own slot
 * and lane.  Its pure parts (hum.h) are hum_rng.c, hum_sched.c, hum_script.c.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "worker.h"
#include "hum.h"
#include "hum_pgc.h"

#define HUM_REPORT_NS 100000000LL	/* one record per 100 ms */
#define HUM_SECOND_NS 1000000000LL
#define HUM_MAX_LAG_NS (2 * HUM_SECOND_NS) /* then skip, do not catch up */
#define HUM_CHAOS_SLOT_NS (5 * HUM_SECOND_NS)
#define HUM_HOT_ROWS 4		/* contention: the hot accounts */
#define HUM_MAX_STEPS HUM_CMD_MAX
#define HUM_VAL 24

/* The fixed workloads' statements, prepared once per connection. */
enum hum_fixed {
	HF_UPD_ACC = 0,
	HF_SEL_ACC,
	HF_UPD_TEL,
	HF_UPD_BR,
	HF_INS_HIST,
	HF_SLEEP,
	HF_MAX
};

#define INT4OID 23
#define FLOAT8OID 701

static const struct {
	const char *sql;
	int nparams;
	unsigned int types[5];
} hum_fixed_sql[HF_MAX] = {
	[HF_UPD_ACC] = { "UPDATE accounts SET abalance = abalance + $1 "
	    "WHERE aid = $2", 2, { INT4OID, INT4OID } },
	[HF_SEL_ACC] = { "SELECT abalance FROM accounts WHERE aid = $1", 1,
	    { INT4OID } },
	[HF_UPD_TEL] = { "UPDATE tellers SET tbalance = tbalance + $1 "
	    "WHERE tid = $2", 2, { INT4OID, INT4OID } },
	[HF_UPD_BR] = { "UPDATE branches SET bbalance = bbalance + $1 "
	    "WHERE bid = $2", 2, { INT4OID, INT4OID } },
	[HF_INS_HIST] = { "INSERT INTO history (tid, bid, aid, delta, mtime) "
	    "VALUES ($1, $2, $3, $4, CURRENT_TIMESTAMP)", 4,
	    { INT4OID, INT4OID, INT4OID, INT4OID } },
	[HF_SLEEP] = { "SELECT pg_sleep($1)", 1, { FLOAT8OID } },
};

/* One statement of a transaction, with its parameter values as text. */
struct hum_step {
	int stmt;	/* HF_* or, for scripts, the script's index; -1 sleep */
	int64_t sleep_us;	/* stmt -1: a script's \sleep */
	int nparams;
	char val[HUM_PARAM_MAX][HUM_VAL];
};

/* What one 100 ms interval (and the life of the worker) counted. */
struct hum_stats {
	int64_t tx, err_ser, err_dl, err_other, reconnects, lag_n;
	double lag_sum_ms;
	struct hum_lat lat;
};

struct hum {
	struct worker_ctx *ctx;
	const struct config *cfg;
	const struct hum_cfg *grp;	/* its group: [hum] or [hum NAME] */
	const struct node_cfg *node;
	char client[4];
	char name[STATUS_NAME];	/* "hum 1", "hum ro.1" */
	int index;
	int workload;
	double rate;		/* this client's base rate, 0 = max */
	double factor;		/* chaos factor now */
	double pfactor;		/* profile factor now */
	struct hum_curve curve;
	int profile_phase;	/* -1 before the first */
	int64_t start_mono;	/* the ramp starts here */
	int64_t scale;
	PGconn *conn;
	struct hum_rng rng;
	struct hum_sched sched;
	struct hum_script script;
	struct hum_step steps[HUM_MAX_STEPS];
	int nsteps;
	int64_t next_tx;	/* mono ns, the schedule */
	int64_t next_report;
	int64_t next_second;
	int64_t cur_sched;	/* schedule time of the running tx */
	int64_t last_chaos_slot;
	struct hum_stats iv;	/* this interval */
	struct hum_value vars[HUM_VARS_MAX];	/* a script's variables */
	bool said_eval;		/* a \set failed: said once */
	int64_t tx_total, err_total, reconnect_total, skipped_total;
};

static const char *
hum_stmt_name(int i, char *buf, size_t len)
{
	snprintf(buf, len, "h%d", i);
	return buf;
}

static double
hum_rate_now(const struct hum *h)
{
	return h->rate * h->factor * h->pfactor;
}

static void
hum_emit_labsup(struct hum *h)
{
	struct record r;

	worker_labsup_init(h->ctx, &r);
	/* transactions dropped from the schedule because we fell behind */
	r.u.labsup.deadline_misses = h->skipped_total;
	r.u.labsup.errors = h->err_total;
	r.u.labsup.value = h->tx_total;
	worker_emit(h->ctx, &r);
}

/*
 * Chaos: every HUM_CHAOS_SLOT_NS of wall-clock time a new factor, drawn
 * log-uniformly in [chaos_min, chaos_max] from a hash of the lab name and
 * the slot number.  Every client computes the same factor without talking
 * to the others, so bursts and lulls are lab-wide; client 0 reports them.
 */
static double
hum_chaos_factor(const struct config *cfg, const struct hum_cfg *g,
    int64_t slot)
{
	uint64_t x = (uint64_t)slot * 0x9e3779b97f4a7c15ULL;
	double lo = g->chaos_min, hi = g->chaos_max, u;

	for (const char *p = cfg->lab.name; *p != '\0'; p++)
		x = (x ^ (unsigned char)*p) * 0x100000001b3ULL;
	/* each named group its own bursts; [hum] as before groups came */
	if (g != &cfg->hum)
		for (const char *p = g->name; *p != '\0'; p++)
			x = (x ^ (unsigned char)*p) * 0x100000001b3ULL;
	u = (double)(hum_splitmix(&x) >> 11) * 0x1.0p-53;
	if (lo <= 0)
		lo = 0.01;
	if (hi < lo)
		hi = lo;
	return exp(log(lo) + u * (log(hi) - log(lo)));
}

static void
hum_chaos(struct hum *h)
{
	int64_t slot;
	double f;

	if (!h->grp->chaos || h->rate <= 0)
		return;
	slot = now_ns() / HUM_CHAOS_SLOT_NS;
	if (slot == h->last_chaos_slot)
		return;
	h->last_chaos_slot = slot;
	f = hum_chaos_factor(h->cfg, h->grp, slot);
	if (f == h->factor)
		return;
	h->factor = f;
	status_counter_set(h->ctx->slot, HC_RATE_X100,
	    (int64_t)(hum_rate_now(h) * 100));
	/* clients count from 1: the first one speaks for all */
	if (h->index == 1)
		worker_event(h->ctx, "chaos", "hum %s rate x%.2f: %.1f tx/s on "
		    "%s", h->grp->name, f, hum_rate_now(h) * h->grp->clients,
		    h->node->name);
}

/*
 * The load profile (issue 15): its factor every 100 ms; client 1 of the
 * group reports each change of phase (a pulse begins or ends, a ramp
 * starts or tops out, a sine turns) as an event, an annotation.
 */
static void
hum_profile(struct hum *h)
{
	static const char *const what[][2] = {
		[HP_FLAT] = { "flat", "flat" },
		[HP_PULSE] = { "between pulses", "pulse" },
		[HP_RAMP] = { "ramp up", "ramp done" },
		[HP_SINE] = { "sine rising", "sine falling" },
	};
	double t;
	int phase;

	/* before the first connection nothing runs: no phase to report */
	if (h->curve.kind == HP_FLAT || h->rate <= 0 || h->next_tx == 0)
		return;
	/* pulse and sine keep the wall clock's time: a group agrees */
	t = h->curve.kind == HP_RAMP ? (mono_ns() - h->start_mono) / 1e9 :
	    now_ns() / 1e9;
	h->pfactor = hum_curve_factor(&h->curve, t, &phase);
	status_counter_set(h->ctx->slot, HC_RATE_X100,
	    (int64_t)(hum_rate_now(h) * 100));
	if (phase == h->profile_phase)
		return;
	h->profile_phase = phase;
	if (h->index == 1)
		worker_event(h->ctx, "profile", "hum %s %s: x%.2f, %.1f tx/s "
		    "on %s", h->grp->name, what[h->curve.kind][phase & 1],
		    h->pfactor, hum_rate_now(h) * h->grp->clients,
		    h->node->name);
}

/* Emit the 100 ms record (and the once-a-second one) when due. */
static int64_t
hum_report(void *arg)
{
	struct hum *h = arg;
	struct hum_stats *s = &h->iv;
	int64_t now = mono_ns();
	struct record r;
	double p50, p99;

	if (now < h->next_report)
		return h->next_report;
	memset(&r, 0, sizeof(r));
	r.kind = REC_HUM;
	snprintf(r.u.hum.node, sizeof(r.u.hum.node), "%s", h->node->name);
	snprintf(r.u.hum.client, sizeof(r.u.hum.client), "%s", h->client);
	snprintf(r.u.hum.group, sizeof(r.u.hum.group), "%s", h->grp->name);
	r.u.hum.tx = s->tx;
	r.u.hum.err_serialization = s->err_ser;
	r.u.hum.err_deadlock = s->err_dl;
	r.u.hum.err_other = s->err_other;
	/* p99 before p50: hum_percentile sorts, both read the sorted array */
	p99 = hum_percentile(s->lat.v, s->lat.n, 99);
	p50 = hum_percentile(s->lat.v, s->lat.n, 50);
	r.u.hum.latency_p50_ms = p50;
	r.u.hum.latency_p99_ms = p99;
	r.u.hum.latency_max_ms = s->lat.max;
	r.u.hum.schedule_lag_ms = s->lag_n > 0 ? s->lag_sum_ms / s->lag_n : 0;
	if (s->lag_n == 0 && h->rate > 0 && h->cur_sched != 0 &&
	    now > h->cur_sched)
		/* a transaction is stuck (lock wait): that is lag too */
		r.u.hum.schedule_lag_ms = (now - h->cur_sched) / 1e6;
	r.u.hum.reconnects = s->reconnects;
	worker_emit(h->ctx, &r);

	h->tx_total += s->tx;
	h->err_total += s->err_ser + s->err_dl + s->err_other;
	status_counter_set(h->ctx->slot, HC_TX, h->tx_total);
	status_counter_set(h->ctx->slot, HC_ERRORS, h->err_total);
	status_counter_set(h->ctx->slot, HC_RECONNECTS, h->reconnect_total);
	status_counter_set(h->ctx->slot, HC_TPS_X100,
	    s->tx * 100 * HUM_SECOND_NS / HUM_REPORT_NS);
	status_counter_set(h->ctx->slot, HC_P50_US, (int64_t)(p50 * 1000));
	status_counter_set(h->ctx->slot, HC_P99_US, (int64_t)(p99 * 1000));
	status_heartbeat(h->ctx->slot);

	hum_lat_reset(&s->lat);
	s->tx = s->err_ser = s->err_dl = s->err_other = 0;
	s->reconnects = s->lag_n = 0;
	s->lag_sum_ms = 0;
	/* absolute: the cadence does not drift with how long this took */
	h->next_report += HUM_REPORT_NS;
	if (h->next_report <= now)
		h->next_report = now + HUM_REPORT_NS;
	if (now >= h->next_second) {
		hum_emit_labsup(h);
		h->next_second += HUM_SECOND_NS;
		if (h->next_second <= now)
			h->next_second = now + HUM_SECOND_NS;
		if (worker_orphaned())
			worker_stop = 1;
	}
	hum_chaos(h);
	hum_profile(h);
	return h->next_report;
}

/* Sleep until mono ns `until`, reporting on time and waking for stop. */
static void
hum_sleep_until(struct hum *h, int64_t until)
{
	while (!worker_stop) {
		int64_t now = mono_ns(), t = until;

		hum_report(h);
		if (now >= until)
			return;
		if (h->next_report < t)
			t = h->next_report;
		if (now + HUM_REPORT_NS < t)
			t = now + HUM_REPORT_NS;
		struct timespec ts = { t / HUM_SECOND_NS, t % HUM_SECOND_NS };
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
	}
}

static void
hum_disconnect(struct hum *h)
{
	PQfinish(h->conn);
	h->conn = NULL;
}

/*
 * Read every result up to the pipeline's sync.  Returns 0 with the first
 * error's SQLSTATE in state ("" when none), or a PGC_* failure.
 */
static int
hum_drain(struct hum *h, char *state, size_t len)
{
	state[0] = '\0';
	for (;;) {
		int rc = pgc_wait(h->conn, 0, hum_report, h);
		PGresult *res;

		if (rc != PGC_READY)
			return rc;
		res = PQgetResult(h->conn);
		if (res == NULL) {
			if (PQstatus(h->conn) == CONNECTION_BAD)
				return PGC_BROKEN;
			continue;	/* end of one query's results */
		}
		switch (PQresultStatus(res)) {
		case PGRES_PIPELINE_SYNC:
			PQclear(res);
			return 0;
		case PGRES_FATAL_ERROR:
		case PGRES_NONFATAL_ERROR:
			if (state[0] == '\0') {
				snprintf(state, len, "%s", pgc_sqlstate(res));
				if (state[0] == '\0')
					snprintf(state, len, "XX000");
			}
			if (PQstatus(h->conn) == CONNECTION_BAD) {
				PQclear(res);
				return PGC_BROKEN;
			}
			break;
		default:
			break;
		}
		PQclear(res);
	}
}

/* Send a one-statement pipeline of plain SQL and drain it. */
static int
hum_simple(struct hum *h, const char *sql, char *state, size_t len)
{
	if (!PQsendQueryParams(h->conn, sql, 0, NULL, NULL, NULL, NULL, 0) ||
	    !PQpipelineSync(h->conn))
		return PGC_BROKEN;
	return hum_drain(h, state, len);
}

/*
 * Prepare the workload's statements and learn the scale, all in one round
 * trip.  Returns 0, 1 when the lab schema is not there yet, or -1.
 */
static int
hum_prepare(struct hum *h, char *err, size_t errlen)
{
	char name[16], state[8];
	PGresult *res;
	int n = h->workload == WL_SCRIPT ? h->script.nstmt : HF_MAX;
	int rc;

	if (!PQenterPipelineMode(h->conn)) {
		pgc_error(h->conn, err, errlen);
		return -1;
	}
	for (int i = 0; i < n; i++) {
		int ok;
		if (h->workload == WL_SCRIPT)
			ok = PQsendPrepare(h->conn, hum_stmt_name(i, name,
			    sizeof(name)), h->script.stmt[i].sql, 0, NULL);
		else
			ok = PQsendPrepare(h->conn, hum_stmt_name(i, name,
			    sizeof(name)), hum_fixed_sql[i].sql,
			    hum_fixed_sql[i].nparams, hum_fixed_sql[i].types);
		if (!ok) {
			pgc_error(h->conn, err, errlen);
			return -1;
		}
	}
	if (!PQpipelineSync(h->conn)) {
		pgc_error(h->conn, err, errlen);
		return -1;
	}
	rc = hum_drain(h, state, sizeof(state));
	if (rc != 0) {
		pgc_error(h->conn, err, errlen);
		return -1;
	}
	if (state[0] != '\0') {
		snprintf(err, errlen, "cannot prepare the %s statements on "
		    "%s: SQLSTATE %s", workload_name(h->workload),
		    h->node->name, state);
		/* 42P01 undefined_table: the replication worker is not done */
		return !strcmp(state, "42P01") ? 1 : -1;
	}
	/* your own schema (issue 15): no branches; :scale is the config's */
	if (strcmp(h->cfg->replication.schema, "pgbench") != 0) {
		h->scale = h->cfg->replication.scale;
		return 0;
	}
	/* the scale, as pgbench learns it: one branch per unit */
	if (!PQsendQueryParams(h->conn, "SELECT count(*) FROM branches", 0,
	    NULL, NULL, NULL, NULL, 0) || !PQpipelineSync(h->conn) ||
	    pgc_wait(h->conn, 0, hum_report, h) != PGC_READY) {
		pgc_error(h->conn, err, errlen);
		return -1;
	}
	h->scale = 0;
	while ((res = PQgetResult(h->conn)) != NULL) {
		if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res))
			h->scale = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
		PQclear(res);
	}
	if (hum_drain(h, state, sizeof(state)) != 0) {
		pgc_error(h->conn, err, errlen);
		return -1;
	}
	if (h->scale <= 0) {
		snprintf(err, errlen, "table branches on %s is empty",
		    h->node->name);
		return 1;
	}
	return 0;
}

/* Connect and prepare, with backoff, until it works or we must stop. */
static void
hum_connect(struct hum *h, bool again)
{
	char conninfo[1024], err[256];
	int backoff_ms = 100;
	bool said = false;

	while (!worker_stop) {
		int rc;

		/* again each try: the server's socket may have appeared */
		if (lab_conninfo(h->cfg, h->node, "labsup-hum", conninfo,
		    sizeof(conninfo)) == -1) {
			log_warnx("%s: connection string too long", h->name);
			worker_stop = 1;
			return;
		}
		h->conn = pgc_connect(conninfo, 5000, err, sizeof(err));
		if (h->conn != NULL) {
			rc = hum_prepare(h, err, sizeof(err));
			if (rc == 0)
				break;
			hum_disconnect(h);
		}
		if (worker_stop)
			return;
		status_set(h->ctx->slot, again ? WS_RUNNING : WS_STARTING,
		    "waiting for %s: %s", h->node->name, err);
		if (!said)
			log_warnx("%s: %s: %s (retrying)", h->name,
			    h->node->name, err);
		said = true;
		hum_sleep_until(h, mono_ns() + (int64_t)backoff_ms * 1000000);
		/* never spin on a node that is down: back off to 5 s */
		backoff_ms = backoff_ms * 2 > 5000 ? 5000 : backoff_ms * 2;
	}
	if (worker_stop)
		return;
	if (again) {
		h->iv.reconnects++;
		h->reconnect_total++;
	}
	if (said)
		log_info("%s: connected to %s", h->name, h->node->name);
	status_set(h->ctx->slot, WS_RUNNING, "%s on %s, %s",
	    workload_name(h->workload), h->node->name,
	    h->rate > 0 ? "Poisson schedule" : "as fast as possible");
	/* what was missed while away is not made up in a burst */
	h->next_tx = mono_ns();
}

static void
hum_step_set(struct hum_step *s, int stmt, int nparams, ...)
{
	va_list ap;

	s->stmt = stmt;
	s->nparams = nparams;
	va_start(ap, nparams);
	for (int i = 0; i < nparams; i++)
		snprintf(s->val[i], HUM_VAL, "%" PRId64, va_arg(ap, int64_t));
	va_end(ap);
}

/* Build the next transaction of the fixed workloads into h->steps. */
static void
hum_build_fixed(struct hum *h)
{
	struct hum_step *st = h->steps;
	struct hum_rng *r = &h->rng;
	int64_t naccounts = 100000 * h->scale;
	int64_t aid = hum_rng_range(r, 1, naccounts);
	int64_t bid = hum_rng_range(r, 1, h->scale);
	int64_t tid = hum_rng_range(r, 1, 10 * h->scale);
	int64_t delta = hum_rng_range(r, -5000, 5000);
	double u = hum_rng_double(r);
	int n = 0;

	switch (h->workload) {
	case WL_SELECT:
		hum_step_set(&st[n++], HF_SEL_ACC, 1, aid);
		break;
	case WL_CONTENTION:
		/* hot rows, skewed toward the first (u^2) */
		aid = 1 + (int64_t)(HUM_HOT_ROWS * pow(hum_rng_double(r), 2));
		if (u < 0.7) {
			/* short: one hot account, one hot teller */
			hum_step_set(&st[n++], HF_UPD_ACC, 2, delta, aid);
			hum_step_set(&st[n++], HF_UPD_TEL, 2, delta,
			    (int64_t)1 + (aid - 1) % (10 * h->scale));
		} else {
			/*
			 * long: the two hottest accounts with a pause in
			 * between, holding the first row lock; one in ten
			 * takes them in the other order: deadlocks
			 */
			int64_t a = 1, b = 2;
			char ms[HUM_VAL];
			if (u > 0.97) {
				a = 2;
				b = 1;
			}
			hum_step_set(&st[n++], HF_UPD_ACC, 2, delta, a);
			st[n].stmt = HF_SLEEP;
			st[n].nparams = 1;
			snprintf(ms, sizeof(ms), "%.3f",
			    0.02 + 0.06 * hum_rng_double(r));
			memcpy(st[n].val[0], ms, sizeof(ms));
			n++;
			hum_step_set(&st[n++], HF_UPD_ACC, 2, -delta, b);
		}
		break;
	default: /* WL_TPCB: pgbench's built-in "tpcb-like" */
		hum_step_set(&st[n++], HF_UPD_ACC, 2, delta, aid);
		hum_step_set(&st[n++], HF_SEL_ACC, 1, aid);
		hum_step_set(&st[n++], HF_UPD_TEL, 2, delta, tid);
		hum_step_set(&st[n++], HF_UPD_BR, 2, delta, bid);
		hum_step_set(&st[n++], HF_INS_HIST, 4, tid, bid, aid, delta);
		break;
	}
	h->nsteps = n;
}

/*
 * Scripts: the built-in variables drawn afresh, then the commands in
 * order: \set evaluates, a statement takes its parameters' values as they
 * are then, \sleep becomes a step of its own.  -1 when a \set fails
 * (division by zero, bad random bounds: counted as an error).
 */
static int
hum_build_script(struct hum *h)
{
	struct hum_value *v = h->vars;
	char err[160];
	int n = 0;

	for (int i = 0; i < HV_MAX; i++)
		v[i].type = HUM_INT;
	v[HV_AID].i = hum_rng_range(&h->rng, 1, 100000 * h->scale);
	v[HV_BID].i = hum_rng_range(&h->rng, 1, h->scale);
	v[HV_TID].i = hum_rng_range(&h->rng, 1, 10 * h->scale);
	v[HV_DELTA].i = hum_rng_range(&h->rng, -5000, 5000);
	v[HV_SCALE].i = h->scale;
	v[HV_CLIENT].i = h->index;
	v[HV_CLIENT_ID].i = h->index - 1;
	for (int c = 0; c < h->script.ncmd; c++) {
		const struct hum_cmd *cmd = &h->script.cmd[c];
		struct hum_step *st = &h->steps[n];

		switch (cmd->kind) {
		case HUM_SET:
			if (hum_expr_eval(&h->script, cmd->expr, v, &h->rng,
			    &v[cmd->var], err, sizeof(err)) == -1) {
				if (!h->said_eval)
					log_warnx("%s: %s line %d: %s (counted "
					    "as errors)", h->name,
					    h->grp->script, cmd->line, err);
				h->said_eval = true;
				return -1;
			}
			break;
		case HUM_SLEEP:
			st->stmt = -1;
			st->nparams = 0;
			st->sleep_us = cmd->sleep_us;
			if (cmd->var >= 0)
				st->sleep_us *= v[cmd->var].type == HUM_DOUBLE ?
				    (int64_t)v[cmd->var].d : v[cmd->var].i;
			n++;
			break;
		default: {
			const struct hum_stmt *s = &h->script.stmt[cmd->stmt];
			st->stmt = cmd->stmt;
			st->nparams = s->nparams;
			for (int j = 0; j < s->nparams; j++)
				hum_value_text(&v[s->var[j]], st->val[j],
				    HUM_VAL);
			n++;
		}
		}
	}
	h->nsteps = n;
	return 0;
}

static void
hum_count_error(struct hum *h, const char *state)
{
	if (!strcmp(state, "40001"))
		h->iv.err_ser++;
	else if (!strcmp(state, "40P01"))
		h->iv.err_dl++;
	else
		h->iv.err_other++;
}

/*
 * One transaction: every statement pipelined, one sync, so it is one round
 * trip and one implicit transaction (an error rolls all of it back).
 * Returns 0, or -1 when the connection is gone.
 */
static int
hum_run_tx(struct hum *h)
{
	const char *vals[HUM_PARAM_MAX];
	char name[16], state[8];
	int64_t t0;
	int rc = 0;

	if (h->workload == WL_SCRIPT) {
		if (hum_build_script(h) == -1) {
			h->iv.err_other++;
			return 0;
		}
	} else
		hum_build_fixed(h);
	t0 = mono_ns();
	state[0] = '\0';
	/* one pipeline per run of statements; a \sleep ends a run */
	for (int i = 0; i < h->nsteps && state[0] == '\0';) {
		int sent = 0;
		for (; i < h->nsteps && h->steps[i].stmt >= 0; i++, sent++) {
			for (int j = 0; j < h->steps[i].nparams; j++)
				vals[j] = h->steps[i].val[j];
			if (!PQsendQueryPrepared(h->conn, hum_stmt_name(
			    h->steps[i].stmt, name, sizeof(name)),
			    h->steps[i].nparams, vals, NULL, NULL, 0))
				return -1;
		}
		if (sent > 0) {
			if (!PQpipelineSync(h->conn))
				return -1;
			rc = hum_drain(h, state, sizeof(state));
			if (rc == PGC_STOPPED)
				return 0;
			if (rc != 0)
				return -1;
		}
		if (i < h->nsteps && state[0] == '\0') {
			hum_sleep_until(h, mono_ns() + h->steps[i].sleep_us *
			    1000);
			if (worker_stop)
				break;
			i++;
		}
	}
	if (PQtransactionStatus(h->conn) != PQTRANS_IDLE) {
		/* a script left a transaction open or failed inside BEGIN */
		char st2[8];
		if (hum_simple(h, "ROLLBACK", st2, sizeof(st2)) != 0)
			return -1;
		if (state[0] == '\0' && !worker_stop)
			snprintf(state, sizeof(state), "25000");
	}
	if (worker_stop && state[0] == '\0')
		return 0;
	if (state[0] != '\0') {
		hum_count_error(h, state);
		return 0;
	}
	h->iv.tx++;
	hum_lat_add(&h->iv.lat, (mono_ns() - t0) / 1e6, &h->rng);
	return 0;
}

int
hum_script_load(const char *path, struct hum_script *s, char *err,
    size_t errlen)
{
	char perr[200], *text;
	FILE *fp;
	long len;
	int rc;

	if (path[0] == '\0') {
		snprintf(err, errlen, "workload = script needs script = FILE");
		return -1;
	}
	if ((fp = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "%s: %s (fix the hum group's script)",
		    path, strerror(errno));
		return -1;
	}
	if (fseek(fp, 0, SEEK_END) == -1 || (len = ftell(fp)) < 0 ||
	    fseek(fp, 0, SEEK_SET) == -1 || len > 1 << 20 ||
	    (text = malloc((size_t)len + 1)) == NULL) {
		snprintf(err, errlen, "%s: cannot read (a file under 1 MB?)",
		    path);
		fclose(fp);
		return -1;
	}
	text[fread(text, 1, (size_t)len, fp)] = '\0';
	fclose(fp);
	rc = hum_script_parse(text, s, perr, sizeof(perr));
	free(text);
	/* perr starts with its line: "path:12: reason" */
	if (rc == -1)
		snprintf(err, errlen, "%s:%s", path, perr);
	return rc;
}

int
hum_scripts_check(const struct config *cfg, char *err, size_t errlen)
{
	static struct hum_script s;	/* 20 kB: not the stack */

	for (int i = 0; i < config_hum_ngroups(cfg); i++) {
		const struct hum_cfg *g = config_hum_group(cfg, i);
		if (g->workload != WL_SCRIPT || g->clients == 0)
			continue;
		if (hum_script_load(g->script, &s, err, errlen) == -1)
			return -1;
		hum_script_free(&s);
	}
	return 0;
}

static int
hum_setup(struct hum *h, struct worker_ctx *ctx, char *err, size_t errlen)
{
	const struct config *cfg = ctx->cfg;
	const struct hum_cfg *g;

	memset(h, 0, sizeof(*h));
	h->ctx = ctx;
	h->cfg = cfg;
	g = hum_group_of(cfg, ctx->arg != NULL ? ctx->arg : "", &h->index);
	if (g == NULL || h->index > g->clients) {
		snprintf(err, errlen, "hum: \"%s\" is no client of a hum group "
		    "in the config", ctx->arg != NULL ? ctx->arg : "");
		return -1;
	}
	h->grp = g;
	snprintf(h->client, sizeof(h->client), "%d", h->index);
	snprintf(h->name, sizeof(h->name), "hum %s", ctx->arg);
	h->node = g->node[0] != '\0' ? config_node(cfg, g->node) :
	    config_publisher(cfg);
	if (h->node == NULL) {
		snprintf(err, errlen, "hum: node \"%s\" is not in the config "
		    "(fix the node of [hum%s%s])", g->node, g == &cfg->hum ?
		    "" : " ", g == &cfg->hum ? "" : g->name);
		return -1;
	}
	h->workload = g->workload;
	if (h->workload == WL_SCRIPT && hum_script_load(g->script, &h->script,
	    err, errlen) == -1)
		return -1;
	h->rate = g->clients > 0 ? g->rate / g->clients : 0;
	h->factor = 1;
	h->pfactor = 1;
	h->curve = (struct hum_curve){ g->profile, g->period_s,
	    g->pulse_s, g->low, g->peak };
	h->profile_phase = -1;
	h->start_mono = mono_ns();
	h->last_chaos_slot = -1;
	hum_rng_seed(&h->rng, (uint64_t)getpid() ^ (uint64_t)now_ns());
	hum_sched_init(&h->sched, &h->rng);
	h->next_report = mono_ns() + HUM_REPORT_NS;
	h->next_second = mono_ns() + HUM_SECOND_NS;
	return 0;
}

int
hum_main(struct worker_ctx *ctx)
{
	static struct hum h;	/* 40 kB of latency samples: not the stack */
	char err[300];

	if (hum_setup(&h, ctx, err, sizeof(err)) == -1) {
		log_warnx("%s", err);
		status_set(ctx->slot, WS_FAILED, "%s", err);
		return EXIT_NORESPAWN;
	}
	status_counter_set(ctx->slot, HC_RATE_X100, (int64_t)(h.rate * 100));
	status_set(ctx->slot, WS_STARTING, "connecting to %s", h.node->name);
	hum_connect(&h, false);
	while (!worker_stop) {
		int64_t now;

		hum_report(&h);
		if (h.rate > 0) {
			now = mono_ns();
			if (now < h.next_tx) {
				hum_sleep_until(&h, h.next_tx);
				continue;
			}
			if (now - h.next_tx > HUM_MAX_LAG_NS) {
				/* hopelessly behind: skip, like --latency-limit */
				h.skipped_total++;
				h.next_tx = now;
			}
			h.cur_sched = h.next_tx;
			h.iv.lag_sum_ms += (now - h.next_tx) / 1e6;
			h.iv.lag_n++;
			h.next_tx += (int64_t)(hum_sched_gap(&h.sched,
			    hum_rate_now(&h)) * 1e9);
		}
		if (hum_run_tx(&h) == -1) {
			char why[160];
			log_warnx("%s: lost %s: %s (reconnecting)", h.name,
			    h.node->name, pgc_error(h.conn, why, sizeof(why)));
			hum_disconnect(&h);
			hum_connect(&h, true);
		}
		h.cur_sched = 0;
	}
	/* the last partial interval still counts, if it counted anything */
	if (h.iv.tx + h.iv.err_ser + h.iv.err_dl + h.iv.err_other > 0) {
		h.next_report = 0;
		hum_report(&h);
	}
	hum_disconnect(&h);
	hum_script_free(&h.script);
	return 0;
}
