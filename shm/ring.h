/*
 * ring.h: one single-producer/single-consumer lane of fixed-size records
 * living in shared memory.  State is indices only (free-running 64-bit,
 * masked by a power-of-two size), so the lane works at any mapping address
 * and survives the death of either side.
 *
 * Ordering, in the style of the perf ring buffer:
 *   producer                          consumer
 *   A: acquire-load tail  <------->   D: release-store tail (commit)
 *   B: release-store head <------->   C: acquire-load head
 * A<->D: the consumer is done reading a slot before the producer reuses it.
 * B<->C: a record's bytes are visible before its index is.
 * A producer killed before B leaves only its own unpublished record behind;
 * nothing else is ever blocked.
 */
#ifndef LABSUP_RING_H
#define LABSUP_RING_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "record.h"

#define LANE_CACHELINE 64

struct lane {
	/* producer's line: only the producer writes here */
	_Alignas(LANE_CACHELINE) _Atomic uint64_t head;
	uint64_t tail_cache;		/* producer's last view of tail */
	_Atomic uint64_t dropped;	/* records refused because full */
	/* consumer's line: only the consumer writes here */
	_Alignas(LANE_CACHELINE) _Atomic uint64_t tail;
	uint64_t read;			/* next record to read (>= tail) */
	uint64_t head_cache;		/* consumer's last view of head */
	/* constant after lane_init */
	_Alignas(LANE_CACHELINE) uint64_t size;
	uint64_t mask;
	_Alignas(LANE_CACHELINE) struct record recs[];
};

static inline size_t
lane_bytes(uint64_t nrecs)
{
	return sizeof(struct lane) + nrecs * sizeof(struct record);
}

/* nrecs must be a power of two; keeps head/tail when keep is true. */
void lane_init(struct lane *l, uint64_t nrecs, bool keep);

/* Producer side. */

/*
 * Copy *r into the lane, stamping r->seq with its position.  Returns 0, or
 * -1 when the lane is full: the record is dropped and counted.
 */
static inline int
lane_push(struct lane *l, struct record *r)
{
	uint64_t h = atomic_load_explicit(&l->head, memory_order_relaxed);

	if (h - l->tail_cache >= l->size) {
		/* A: pairs with D; slots up to tail are free to overwrite */
		l->tail_cache =
		    atomic_load_explicit(&l->tail, memory_order_acquire);
		if (h - l->tail_cache >= l->size) {
			atomic_fetch_add_explicit(&l->dropped, 1,
			    memory_order_relaxed);
			return -1;
		}
	}
	r->seq = h;
	memcpy(&l->recs[h & l->mask], r, sizeof(*r));
	/* B: pairs with C; the record is complete before it is counted */
	atomic_store_explicit(&l->head, h + 1, memory_order_release);
	return 0;
}

/* Consumer side: read without freeing, then commit what is safely stored. */

/* Next unread record, or NULL when the consumer has caught up. */
static inline const struct record *
lane_read(struct lane *l)
{
	if (l->read == l->head_cache) {
		/* C: pairs with B; records below head are complete */
		l->head_cache =
		    atomic_load_explicit(&l->head, memory_order_acquire);
		if (l->read == l->head_cache)
			return NULL;
	}
	return &l->recs[l->read++ & l->mask];
}

/* Position of the next unread record: what to pass to lane_commit(). */
static inline uint64_t
lane_read_pos(const struct lane *l)
{
	return l->read;
}

/* Free every record below pos (pos <= read). */
static inline void
lane_commit(struct lane *l, uint64_t pos)
{
	/* D: pairs with A; we are done with the slots below pos */
	atomic_store_explicit(&l->tail, pos, memory_order_release);
}

/* Free every record below pos and read on from there (tail <= pos <= head). */
static inline void
lane_skip(struct lane *l, uint64_t pos)
{
	l->read = pos;
	lane_commit(l, pos);
}

/* Forget what was read but not committed: read it again from tail. */
static inline void
lane_rewind(struct lane *l)
{
	l->read = atomic_load_explicit(&l->tail, memory_order_relaxed);
}

/*
 * For a consumer that polls an empty lane in a tight loop: back off a
 * little so each poll does not steal the producer's cache line for head.
 */
static inline void
lane_relax(void)
{
	for (int i = 0; i < 64; i++) {
#if defined(__x86_64__) || defined(__i386__)
		__builtin_ia32_pause();
#elif defined(__aarch64__)
		__asm__ __volatile__("yield");
#endif
	}
}

/* Counters for status: records ever published, committed, dropped. */
static inline uint64_t
lane_produced(const struct lane *l)
{
	return atomic_load_explicit(&l->head, memory_order_acquire);
}

static inline uint64_t
lane_committed(const struct lane *l)
{
	return atomic_load_explicit(&l->tail, memory_order_acquire);
}

static inline uint64_t
lane_dropped(const struct lane *l)
{
	return atomic_load_explicit(&l->dropped, memory_order_relaxed);
}

#endif
