/*
 * test_status.c: a status block is never shown torn.  A writer that died
 * inside its write section leaves the sequence odd: readers give up after
 * a bounded wait with a zeroed copy (shown as busy), never the half-written
 * data, and the block's next writer repairs it.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "../../shm/status.h"

Test(status, a_writer_dead_mid_write_is_never_read_torn)
{
	static struct slot s;
	struct slot_own out;

	status_set(&s, WS_RUNNING, "all good");
	/* a writer begins, scribbles half a detail and dies */
	seq_write_begin(&s.own_lock);
	memcpy(s.own.detail, "HALF-WRITTEN", 12);
	memset(&out, 0x5a, sizeof(out));
	cr_assert_eq(status_read_own(&s, &out), -1);
	cr_assert_eq(out.state, 0, "a torn copy was handed out");
	cr_assert_eq(out.detail[0], '\0', "a torn copy was handed out: %s",
	    out.detail);
	/* the next writer of the block repairs the sequence */
	status_set(&s, WS_RUNNING, "back");
	cr_assert_eq(status_read_own(&s, &out), 0);
	cr_assert_str_eq(out.detail, "back");
}

/* issue 16: a slot's extra block and its counters go in one write */
Test(status, extra_block_and_counters_together)
{
	static struct slot s;
	union slot_extra x;
	struct slot_own own;
	int64_t c[2] = { 7, 9 };

	memset(&x, 0, sizeof(x));
	snprintf(x.last_error.node, sizeof(x.last_error.node), "sub2");
	x.last_error.ts_ns = 42;
	s.own.counters[0] = 1;
	status_extra_set(&s, &x, c, 2, 2);
	cr_assert_eq(status_read_own(&s, &own), 0);
	cr_assert_str_eq(own.extra.last_error.node, "sub2");
	cr_assert_eq(own.extra.last_error.ts_ns, 42);
	cr_assert_eq(own.counters[0], 1, "the others are left alone");
	cr_assert_eq(own.counters[2], 7);
	cr_assert_eq(own.counters[3], 9);
	/* out of range: the block only */
	x.last_error.ts_ns = 43;
	status_extra_set(&s, &x, c, NCOUNTERS - 1, 2);
	cr_assert_eq(status_read_own(&s, &own), 0);
	cr_assert_eq(own.extra.last_error.ts_ns, 43);
	cr_assert_eq(own.counters[NCOUNTERS - 1], 0);
	cr_assert_eq(atomic_load(&s.own_lock.seq) % 2, 0, "left even");
}
