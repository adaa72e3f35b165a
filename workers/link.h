/*
 * link.h: the pure parts of the link proxy (workers/link.c), apart so the
 * unit tests can drive them with their own clock: a delay queue that holds
 * bytes until they are due without ever reordering them, and a token
 * bucket for the bandwidth limit.
 */
#ifndef LABSUP_WORKERS_LINK_H
#define LABSUP_WORKERS_LINK_H

#include <stddef.h>
#include <stdint.h>

/* Bytes read at once from one socket, and the most held per direction. */
#define LQ_CHUNK 65536
#define LQ_CAP (4 * LQ_CHUNK)

struct lq_chunk {
	struct lq_chunk *next;
	int64_t enq_ns;		/* when it was read */
	int64_t due_ns;		/* not delivered before */
	size_t len, off;	/* off: already delivered */
	unsigned char data[];
};

/* One direction of one connection, in order of arrival. */
struct lq {
	struct lq_chunk *head, *tail;
	size_t bytes;		/* held, not yet delivered */
	int64_t last_due;	/* a new chunk is never due before this */
};

/*
 * Queue len bytes read at now, due delay_ns later, or when the chunk
 * before it is due if that is later (jitter never reorders).  0, or -1
 * when out of memory.
 */
int lq_push(struct lq *q, const void *data, size_t len, int64_t now,
    int64_t delay_ns);
/* The head chunk when it is due at now, else NULL. */
struct lq_chunk *lq_due(struct lq *q, int64_t now);
/* n bytes of the head chunk were delivered; returns the chunk's delay (ns)
 * when it is done (freed), else -1. */
int64_t lq_consume(struct lq *q, size_t n, int64_t now);
/* When the head chunk is due (INT64_MAX: empty). */
int64_t lq_next_due(const struct lq *q);
void lq_free(struct lq *q);

/* A token bucket in bytes; rate 0 = unlimited. */
struct tb {
	double rate;		/* bytes per second */
	double burst;		/* the most it holds */
	double tokens;
	int64_t last_ns;
};

void tb_set(struct tb *b, int rate_kbps, int64_t now);
/* Up to want bytes may go now: the grant, taken from the bucket. */
size_t tb_take(struct tb *b, size_t want, int64_t now);
/* Give back what a short write did not use. */
void tb_give(struct tb *b, size_t n);
/* ns until at least one more byte may go (0: now). */
int64_t tb_wait_ns(const struct tb *b, int64_t now);

#endif
