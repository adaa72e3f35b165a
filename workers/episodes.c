/*
 * episodes.c: lock-wait episodes from the sampler's ticks (see episodes.h).
 * A linear table: a node has a few dozen backends, and on a tick where
 * nobody waits and nobody waited ep_tick returns at once, so the 100 Hz
 * sampler pays nothing for it then.
 */
#include <stdlib.h>
#include <string.h>

#include "episodes.h"

#define EP_SECOND_NS 1000000000LL
#define EP_SEP '\x1f'

void
ep_init(struct ep_table *t, const char *node, int64_t interval_ns)
{
	memset(t, 0, sizeof(*t));
	strlcpy(t->node, node, sizeof(t->node));
	t->interval_ns = interval_ns;
}

int64_t
ep_start(const struct ep_table *t, const struct episode *e)
{
	int64_t guess = e->first_ts - t->interval_ns / 2;

	/*
	 * waitstart is the server's clock, the ticks the sampler's: on one
	 * machine they agree, but a waitstart after the first tick that saw
	 * the wait (or more than a tick before the tick that did not, see
	 * the caller) is not believed.
	 */
	if (e->w.waitstart_ns > 0 && e->w.waitstart_ns <= e->first_ts)
		return e->w.waitstart_ns;
	return guess;
}

double
ep_duration_ms(const struct ep_table *t, const struct episode *e, int64_t end)
{
	int64_t d = end - ep_start(t, e);

	return d > 0 ? (double)d / 1e6 : 0;
}

/* The main record of e's point, and its statements' records. */
static void
ep_emit(struct ep_table *t, const struct episode *e, int64_t ts, bool ended,
    double duration_ms, ep_emit_fn *emit, void *arg)
{
	struct record r;
	struct rec_lock_wait *l = &r.u.lock_wait;
	struct rec_lock_wait_text *x = &r.u.lock_wait_text;
	const char *text[2] = { e->w.query, e->w.blocker_query };

	memset(&r, 0, sizeof(r));
	r.kind = REC_LOCK_WAIT;
	r.ts = ts;
	strlcpy(l->node, t->node, sizeof(l->node));
	strlcpy(l->target, e->w.target, sizeof(l->target));
	l->pid = e->w.pid;
	l->blocker = e->w.blocker;
	l->blockers = (uint8_t)(e->w.nblockers > 255 ? 255 :
	    e->w.nblockers);
	l->duration_ms = duration_ms;
	l->query_id = e->w.query_id;
	l->blocker_query_id = e->w.blocker_query_id;
	l->ended = ended;
	l->locktype = e->w.locktype;
	l->mode = e->w.mode;
	l->held = e->w.held;
	l->blocker_idle_tx = e->w.blocker_idle_tx;
	emit(arg, &r);
	for (int side = REC_SIDE_WAITER; side <= REC_SIDE_BLOCKER; side++) {
		if (text[side][0] == '\0')
			continue;
		memset(&r.u, 0, sizeof(r.u));
		r.kind = REC_LOCK_WAIT_TEXT;
		strlcpy(x->node, t->node, sizeof(x->node));
		x->pid = e->w.pid;
		x->ended = ended;
		x->side = (uint8_t)side;
		strlcpy(x->text, text[side], sizeof(x->text));
		emit(arg, &r);
	}
}

/*
 * e ended at `gone` (the tick that no longer shows it, or its last tick
 * when there is none): its point is stamped with its start, so a table of
 * episodes reads in the order they began.
 */
static void
ep_end(struct ep_table *t, int i, int64_t gone, ep_emit_fn *emit, void *arg)
{
	struct episode *e = &t->ep[i];
	int64_t end = e->last_ts + (gone > e->last_ts ?
	    (gone - e->last_ts) / 2 : t->interval_ns / 2);

	ep_emit(t, e, ep_start(t, e), true, ep_duration_ms(t, e, end), emit,
	    arg);
	t->ended++;
	t->ep[i] = t->ep[--t->n];
}

static struct episode *
ep_find(struct ep_table *t, int32_t pid)
{
	for (int i = 0; i < t->n; i++)
		if (t->ep[i].w.pid == pid)
			return &t->ep[i];
	return NULL;
}

/* A wait on another object or in another mode is another episode. */
static bool
ep_same_wait(const struct ep_wait *a, const struct ep_wait *b)
{
	if (!a->detail || !b->detail)
		return true;
	return a->mode == b->mode && a->locktype == b->locktype &&
	    strcmp(a->target, b->target) == 0;
}

/*
 * Take what this tick knows that the episode did not.  The blocker is
 * described as the first detailed tick saw it, for as long as it stays
 * the blocker: the last tick of a wait often catches it at its COMMIT,
 * which is not what it did while the other waited.  A tick that shows the
 * backend still waiting but no blocker (it let go mid-snapshot) keeps the
 * blocker seen before.
 */
static void
ep_update(struct episode *e, const struct ep_wait *w)
{
	struct ep_wait old = e->w;
	bool other = w->nblockers > 0 && w->blocker != old.blocker;

	if (w->detail && (!old.detail || other))
		e->w = *w;
	if (w->nblockers == 0) {
		e->w.blocker = old.blocker;
		e->w.nblockers = old.nblockers;
		return;
	}
	e->w.nblockers = w->nblockers;
	if (other && !w->detail) {	/* nothing known of the new one yet */
		e->w.blocker = w->blocker;
		e->w.blocker_query[0] = '\0';
		e->w.blocker_query_id = 0;
		e->w.held = 0;
		e->w.blocker_idle_tx = 2;
		e->w.detail = false;	/* the next detailed tick describes it */
	}
}

void
ep_tick(struct ep_table *t, int64_t ts, const struct ep_wait *w, int nw,
    ep_emit_fn *emit, void *arg)
{
	if (nw == 0 && t->n == 0)
		return;
	for (int i = 0; i < t->n; i++)
		t->ep[i].seen = false;
	for (int i = 0; i < nw; i++) {
		struct episode *e = ep_find(t, w[i].pid);

		if (e != NULL && !ep_same_wait(&e->w, &w[i])) {
			ep_end(t, (int)(e - t->ep), ts, emit, arg);
			e = NULL;
		}
		if (e == NULL) {
			if (t->n == EP_MAX) {
				t->dropped++;
				continue;
			}
			e = &t->ep[t->n++];
			memset(e, 0, sizeof(*e));
			e->w = w[i];
			e->first_ts = ts;
			e->next_report = ts + EP_SECOND_NS;
		} else {
			ep_update(e, &w[i]);
		}
		e->last_ts = ts;
		e->seen = true;
	}
	for (int i = 0; i < t->n; i++) {
		struct episode *e = &t->ep[i];

		if (!e->seen) {
			ep_end(t, i--, ts, emit, arg);
			continue;
		}
		if (ts >= e->next_report) {
			ep_emit(t, e, ts, false, ep_duration_ms(t, e, ts),
			    emit, arg);
			e->next_report += EP_SECOND_NS;
			if (e->next_report <= ts)
				e->next_report = ts + EP_SECOND_NS;
		}
	}
}

void
ep_flush(struct ep_table *t, ep_emit_fn *emit, void *arg)
{
	while (t->n > 0)
		ep_end(t, t->n - 1, 0, emit, arg);
}

const struct episode *
ep_longest(const struct ep_table *t)
{
	const struct episode *best = NULL;

	for (int i = 0; i < t->n; i++)
		if (best == NULL ||
		    ep_start(t, &t->ep[i]) < ep_start(t, best))
			best = &t->ep[i];
	return best;
}

void
ep_parse_blockers(struct ep_wait *w, const char *s)
{
	char *end;

	w->blocker = 0;
	w->nblockers = 0;
	if (s == NULL || *s++ != '{')
		return;
	while (*s != '\0' && *s != '}') {
		long v = strtol(s, &end, 10);

		if (end == s)
			return;
		if (w->nblockers++ == 0)
			w->blocker = (int32_t)v;
		s = *end == ',' ? end + 1 : end;
	}
}

/* The next field of a detail at *s, copied to dst; NULL past the last. */
static const char *
ep_field(const char **s, char *dst, size_t len)
{
	const char *f = *s, *sep;
	size_t n;

	if (f == NULL)
		return NULL;
	sep = strchr(f, EP_SEP);
	n = sep != NULL ? (size_t)(sep - f) : strlen(f);
	if (len > 0) {
		if (n >= len)
			n = len - 1;
		memcpy(dst, f, n);
		dst[n] = '\0';
	}
	*s = sep != NULL ? sep + 1 : NULL;
	return dst;
}

int
ep_parse_detail(struct ep_wait *w, const char *s)
{
	char locktype[24], mode[32], held[32], waitstart[24], qid[24];
	char bstate[32], bqid[24];

	w->detail = false;
	if (s == NULL || ep_field(&s, locktype, sizeof(locktype)) == NULL ||
	    ep_field(&s, mode, sizeof(mode)) == NULL ||
	    ep_field(&s, w->target, sizeof(w->target)) == NULL ||
	    ep_field(&s, held, sizeof(held)) == NULL ||
	    ep_field(&s, waitstart, sizeof(waitstart)) == NULL ||
	    ep_field(&s, qid, sizeof(qid)) == NULL ||
	    ep_field(&s, bstate, sizeof(bstate)) == NULL ||
	    ep_field(&s, bqid, sizeof(bqid)) == NULL ||
	    ep_field(&s, w->blocker_query, sizeof(w->blocker_query)) == NULL ||
	    ep_field(&s, w->query, sizeof(w->query)) == NULL || s != NULL) {
		w->target[0] = w->query[0] = w->blocker_query[0] = '\0';
		return -1;
	}
	w->locktype = (uint8_t)rec_locktype_code(locktype);
	w->mode = (uint8_t)rec_lockmode_code(mode);
	w->held = (uint8_t)rec_lockmode_code(held);
	w->waitstart_ns = strtoll(waitstart, NULL, 10) * 1000;
	w->query_id = strtoll(qid, NULL, 10);
	w->blocker_query_id = strtoll(bqid, NULL, 10);
	if (bstate[0] != '\0')
		w->blocker_idle_tx = strncmp(bstate, "idle in transaction",
		    19) == 0;
	w->detail = true;
	return 0;
}
