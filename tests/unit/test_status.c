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
