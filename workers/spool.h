/*
 * spool.h: the writer's append-only on-disk spool, where batches go while
 * InfluxDB cannot take them.  A directory of numbered segment files, each
 * a run of blocks: a header with a CRC-32 of the payload, then the payload
 * (a request body, usually gzip).  spool_append() returns only once the
 * block is fsync'd, so the caller may then free the ring records it holds.
 *
 * A block cut short by a crash (torn) is detected by its length or CRC and
 * skipped with a count.  Over the size cap the oldest segment is dropped
 * and its points counted.  Once every block has been replayed the segment
 * files and the directory are removed.
 */
#ifndef LABSUP_SPOOL_H
#define LABSUP_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SPOOL_MAGIC 0x4c53504cU /* "LSPL" */
#define SPOOL_GZIP 0x1		/* block flag: payload is gzip */

struct spool_hdr {
	uint32_t magic;
	uint32_t flags;
	uint32_t len;		/* payload bytes */
	uint32_t npoints;	/* lines in the payload */
	uint32_t crc;		/* CRC-32 of the payload */
	uint32_t hcrc;		/* CRC-32 of the fields above */
};

struct spool_seg {
	uint64_t id;		/* file name: %016llu.spool */
	uint64_t bytes;		/* file size (good blocks only) */
	uint64_t points;	/* points in its blocks not yet consumed */
};

struct spool {
	char dir[512];
	uint64_t max_bytes;	/* cap on the sum of segment sizes */
	uint64_t seg_max;	/* start a new segment beyond this */
	struct spool_seg *segs;	/* oldest first */
	size_t nsegs, capsegs;
	int wfd;		/* open for append: the newest segment */
	uint64_t roff;		/* read offset in segs[0] */
	/* counters since spool_open */
	uint64_t dropped_points;
	uint64_t torn;		/* torn or corrupt blocks skipped */
};

/* One block read back for replay: payload is owned by the caller. */
struct spool_block {
	void *data;
	uint32_t len;
	uint32_t npoints;
	uint32_t flags;
};

/*
 * Open (create lazily) the spool in dir and scan what a previous run left:
 * torn or corrupt blocks are counted in torn and cut off.  Returns 0, or -1
 * with a message in err.
 */
int spool_open(struct spool *sp, const char *dir, uint64_t max_bytes,
    char *err, size_t errlen);
void spool_close(struct spool *sp);

/*
 * Append one block and fsync it.  Drops the oldest segments (counting their
 * points in dropped_points) to stay under the cap; a block larger than the
 * cap itself is dropped and counted.  Returns 0, or -1 with a message in
 * err (nothing is then known to be stored).
 */
int spool_append(struct spool *sp, const void *data, size_t len,
    uint32_t npoints, uint32_t flags, char *err, size_t errlen);

/*
 * Read the oldest unconsumed block into *b (free b->data).  Returns 1 when
 * there is one, 0 when the spool is empty, -1 with a message in err.
 */
int spool_peek(struct spool *sp, struct spool_block *b, char *err,
    size_t errlen);

/*
 * The block spool_peek() returned is stored elsewhere now: move past it.
 * Finished segments are unlinked, and the directory once nothing is left.
 */
void spool_consume(struct spool *sp, const struct spool_block *b);

bool spool_empty(const struct spool *sp);
uint64_t spool_bytes(const struct spool *sp);	/* on disk, unconsumed too */
uint64_t spool_points(const struct spool *sp);	/* not yet replayed */

#endif
