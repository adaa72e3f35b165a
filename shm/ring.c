/*
 * ring.c: lane set-up.  The hot paths are inline in ring.h.
 */
#include "ring.h"

void
lane_init(struct lane *l, uint64_t nrecs, bool keep)
{
	uint64_t h = 0, t = 0;

	if (keep) {
		h = atomic_load_explicit(&l->head, memory_order_relaxed);
		t = atomic_load_explicit(&l->tail, memory_order_relaxed);
	}
	l->size = nrecs;
	l->mask = nrecs - 1;
	atomic_store_explicit(&l->head, h, memory_order_relaxed);
	atomic_store_explicit(&l->tail, t, memory_order_relaxed);
	l->tail_cache = t;
	l->read = t;
	l->head_cache = t;
	if (!keep)
		atomic_store_explicit(&l->dropped, 0, memory_order_relaxed);
}
