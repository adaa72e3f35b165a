/*
 * episodes.h: lock-wait episodes, followed from the sampler's ticks.  The
 * sampler hands over, each tick, the backends it saw waiting on a lock;
 * this module keeps each one's episode from the first tick that shows it
 * to the first that does not, and turns episodes into lock_wait records
 * (shm/record.h): one a second while it lasts, one when it ends.  Pure
 * code: no I/O, no clock (times come with the ticks), so it is unit-tested.
 */
#ifndef LABSUP_EPISODES_H
#define LABSUP_EPISODES_H

#include <stdbool.h>
#include <stdint.h>

#include "../shm/record.h"

#define EP_MAX 128	/* episodes followed at once on one node */

/* One waiting backend as one tick shows it. */
struct ep_wait {
	int32_t pid;
	int32_t blocker;	/* the first of pg_blocking_pids(), 0 none */
	int nblockers;
	uint8_t blocker_idle_tx; /* 1, 0, or 2 when not known */
	/* the rest only on ticks that asked for it (detail) */
	bool detail;
	uint8_t locktype, mode, held;	/* rec_lock*_code() */
	char target[REC_TARGET];
	int64_t waitstart_ns;	/* pg_locks.waitstart, 0 unknown */
	int64_t query_id, blocker_query_id;
	char query[REC_QUERY_TEXT], blocker_query[REC_QUERY_TEXT];
};

struct episode {
	struct ep_wait w;	/* what is known of it, details kept */
	int64_t first_ts, last_ts;	/* the ticks that saw it, first, last */
	int64_t next_report;	/* when its next `waiting` point is due */
	bool seen;		/* in the tick being taken in */
};

typedef void ep_emit_fn(void *arg, const struct record *r);

struct ep_table {
	char node[REC_NAME];
	int64_t interval_ns;	/* the sampler's: the precision of the ends */
	struct episode ep[EP_MAX];
	int n;
	int64_t ended;		/* episodes ended so far */
	int64_t dropped;	/* waits not followed: the table was full */
};

void ep_init(struct ep_table *t, const char *node, int64_t interval_ns);

/*
 * Take in one tick at ts (CLOCK_REALTIME ns): the nw backends it saw
 * waiting.  Episodes it does not show have ended; a backend now waiting on
 * something else (another target or mode) starts a new one.  Emits their
 * records through emit.  Costs nothing when nobody waits or waited.
 */
void ep_tick(struct ep_table *t, int64_t ts, const struct ep_wait *w,
    int nw, ep_emit_fn *emit, void *arg);

/*
 * End every open episode (the sampler lost its node or stops): they end
 * at their last tick, as far as anyone can tell.
 */
void ep_flush(struct ep_table *t, ep_emit_fn *emit, void *arg);

/* The longest open episode, NULL when none is open. */
const struct episode *ep_longest(const struct ep_table *t);

/*
 * An episode's start and duration estimates: its start is pg_locks'
 * waitstart when a detailed tick gave it, else half an interval before the
 * first tick that showed it; its end half an interval (or half the gap to
 * the tick that no longer shows it) after the last.  Either is off by at
 * most one interval.
 */
int64_t ep_start(const struct ep_table *t, const struct episode *e);
double ep_duration_ms(const struct ep_table *t, const struct episode *e,
    int64_t end);

/*
 * Fill *w's detail from the sampler's detail column: fields separated by
 * 0x1f, in the order locktype, mode, target, held, waitstart (us since
 * the epoch), query_id, blocker state, blocker query_id, blocker query,
 * query.  Returns 0, or -1 (detail left false) when it is malformed.
 */
int ep_parse_detail(struct ep_wait *w, const char *s);

/* pg_blocking_pids() as text ("{12,34}"): the first and how many. */
void ep_parse_blockers(struct ep_wait *w, const char *s);

#endif
