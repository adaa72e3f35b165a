/*
 * lanes.c: print every lane of a lab's segment, one line each, for the
 * fault tests' exact accounting:
 *   SLOT<TAB>NAME<TAB>KIND<TAB>PID<TAB>HEAD<TAB>TAIL<TAB>DROPPED
 * HEAD is the next sequence number the producer will use (so the lane
 * produced seq 0..HEAD-1), TAIL how far the writer has committed (stored in
 * InfluxDB or the spool).  Maps the segment read-only; touches nothing.
 * usage: lanes /labsup.<uid>.<lab>
 */
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>

#include "../../workers/worker.h"

int
main(int argc, char **argv)
{
	struct slot_sup sup;
	struct seg seg;
	char err[256];

	if (argc != 2) {
		fprintf(stderr, "usage: lanes SEGMENT\n");
		return 2;
	}
	if (seg_open(&seg, argv[1], false, err, sizeof(err)) == -1) {
		fprintf(stderr, "lanes: %s\n", err);
		return 1;
	}
	for (uint32_t i = 0; i < seg.hdr->nslots; i++) {
		struct lane *l = seg_lane(&seg, i);

		if (status_read_sup(seg_slot(&seg, i), &sup) == -1)
			continue;
		if (sup.kind == WK_NONE && atomic_load(&l->head) == 0)
			continue;
		printf("%u\t%s\t%s\t%d\t%" PRIu64 "\t%" PRIu64 "\t%" PRIu64
		    "\n", i, sup.name[0] ? sup.name : "-",
		    worker_kind_name(sup.kind), (int)sup.pid,
		    (uint64_t)atomic_load(&l->head),
		    (uint64_t)atomic_load(&l->tail),
		    (uint64_t)atomic_load(&l->dropped));
	}
	seg_close(&seg);
	return 0;
}
