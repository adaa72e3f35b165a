/*
 * status.c: seqlock-guarded status blocks.  A writer that dies mid-write
 * leaves an odd sequence; the next writer of the block repairs it and
 * readers give up after about 10 ms (spinning, then pausing) with a zeroed
 * copy, never a torn one.  Writers copy prepared data inside the section
 * and do nothing slow there (no formatting, no system calls).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "status.h"

/*
 * A reader spins SEQ_SPINS times, then pauses SEQ_PAUSE_NS and tries again,
 * SEQ_ROUNDS rounds in all (about 10 ms): a writer preempted mid-write gets
 * the CPU back; one that died leaves the block odd until its next writer.
 */
#define SEQ_SPINS 1000
#define SEQ_ROUNDS 100
#define SEQ_PAUSE_NS 100000L

void
seq_write_begin(struct seqlock *s)
{
	uint32_t v = atomic_load_explicit(&s->seq, memory_order_relaxed);

	if (v & 1) /* a previous writer died mid-write */
		v++;
	atomic_store_explicit(&s->seq, v + 1, memory_order_relaxed);
	/* pairs with the reader's acquire fence: odd before the data */
	atomic_thread_fence(memory_order_release);
}

void
seq_write_end(struct seqlock *s)
{
	uint32_t v = atomic_load_explicit(&s->seq, memory_order_relaxed);

	/* pairs with the reader's first acquire load: data before even */
	atomic_store_explicit(&s->seq, v + 1, memory_order_release);
}

int
seq_read(const struct seqlock *s, void *dst, const void *src, size_t len)
{
	struct seqlock *m = (struct seqlock *)s;

	for (int round = 0; round < SEQ_ROUNDS; round++) {
		for (int i = 0; i < SEQ_SPINS; i++) {
			/* pairs with seq_write_end's release store */
			uint32_t v1 = atomic_load_explicit(&m->seq,
			    memory_order_acquire);
			if (v1 & 1)
				continue;
			memcpy(dst, src, len);
			/* pairs with seq_write_begin's release fence */
			atomic_thread_fence(memory_order_acquire);
			uint32_t v2 = atomic_load_explicit(&m->seq,
			    memory_order_relaxed);
			if (v1 == v2)
				return 0;
		}
		struct timespec ts = { 0, SEQ_PAUSE_NS };
		nanosleep(&ts, NULL);
	}
	/* no consistent copy: never hand out the torn one */
	memset(dst, 0, len);
	return -1;
}

static int64_t
status_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void
status_set(struct slot *s, int state, const char *fmt, ...)
{
	char detail[sizeof(s->own.detail)] = "";
	int64_t now = status_now();
	va_list ap;

	/* format first: the write section only copies (readers spin on it) */
	if (fmt != NULL) {
		va_start(ap, fmt);
		vsnprintf(detail, sizeof(detail), fmt, ap);
		va_end(ap);
	}
	seq_write_begin(&s->own_lock);
	s->own.state = (uint8_t)state;
	s->own.heartbeat_ns = now;
	memcpy(s->own.detail, detail, sizeof(detail));
	seq_write_end(&s->own_lock);
}

void
status_counter_set(struct slot *s, int idx, int64_t v)
{
	if (idx < 0 || idx >= NCOUNTERS)
		return;
	seq_write_begin(&s->own_lock);
	s->own.counters[idx] = v;
	seq_write_end(&s->own_lock);
}

void
status_extra_set(struct slot *s, const union slot_extra *x,
    const int64_t *counters, int first, int n)
{
	if (first < 0 || n < 0 || first + n > NCOUNTERS)
		n = 0;
	seq_write_begin(&s->own_lock);
	memcpy(&s->own.extra, x, sizeof(*x));
	if (n > 0)
		memcpy(&s->own.counters[first], counters,
		    (size_t)n * sizeof(*counters));
	seq_write_end(&s->own_lock);
}

void
status_counter_add(struct slot *s, int idx, int64_t v)
{
	if (idx < 0 || idx >= NCOUNTERS)
		return;
	seq_write_begin(&s->own_lock);
	s->own.counters[idx] += v;
	seq_write_end(&s->own_lock);
}

void
status_heartbeat(struct slot *s)
{
	int64_t now = status_now();

	seq_write_begin(&s->own_lock);
	s->own.heartbeat_ns = now;
	seq_write_end(&s->own_lock);
}

int
status_read_sup(const struct slot *s, struct slot_sup *out)
{
	return seq_read(&s->sup_lock, out, &s->sup, sizeof(*out));
}

int
status_read_own(const struct slot *s, struct slot_own *out)
{
	return seq_read(&s->own_lock, out, &s->own, sizeof(*out));
}

int
status_read_svc(const struct svc_status *s, struct svc_info *out)
{
	return seq_read(&s->lock, out, &s->info, sizeof(*out));
}

void
status_write_svc(struct svc_status *s, const struct svc_info *in)
{
	seq_write_begin((struct seqlock *)&s->lock);
	memcpy(&s->info, in, sizeof(*in));
	seq_write_end((struct seqlock *)&s->lock);
}

const char *
worker_state_name(int state)
{
	static const char *const names[WS_MAX] = {
		[WS_EMPTY] = "empty",
		[WS_STARTING] = "starting",
		[WS_RUNNING] = "running",
		[WS_BACKOFF] = "backoff",
		[WS_FAILED] = "failed",
		[WS_STOPPED] = "stopped",
	};

	return state >= 0 && state < WS_MAX ? names[state] : "unknown";
}

const char *
svc_role_name(int role)
{
	switch (role) {
	case ROLE_PUBLISHER:
		return "publisher";
	case ROLE_SUBSCRIBER:
		return "subscriber";
	case ROLE_INFLUXDB:
		return "influxdb";
	case ROLE_GRAFANA:
		return "grafana";
	}
	return "unknown";
}

const char *
svc_state_name(int state)
{
	static const char *const names[SS_MAX] = {
		[SS_EMPTY] = "unknown",
		[SS_STARTING] = "starting",
		[SS_READY] = "ready",
		[SS_FAILED] = "failed",
		[SS_UNAVAILABLE] = "unavailable",
		[SS_STOPPED] = "stopped",
	};

	return state >= 0 && state < SS_MAX ? names[state] : "unknown";
}
