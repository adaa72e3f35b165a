/*
 * spool.c: the writer's on-disk spool (see spool.h).  Touches only files
 * in its own directory.  Segment files let the cap drop the oldest data
 * with one unlink instead of rewriting an append-only file.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#include <zlib.h>

#include "spool.h"

#define SPOOL_SEG_MIN (64 * 1024)
#define SPOOL_SEG_MAX (16 * 1024 * 1024)

static uint32_t
spool_crc(const void *p, size_t len)
{
	return (uint32_t)crc32(crc32(0L, Z_NULL, 0), p, (uInt)len);
}

static uint32_t
spool_hcrc(const struct spool_hdr *h)
{
	return spool_crc(h, offsetof(struct spool_hdr, hcrc));
}

static void
spool_path(const struct spool *sp, uint64_t id, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%016" PRIu64 ".spool", sp->dir, id);
}

static int
spool_push_seg(struct spool *sp, uint64_t id, uint64_t bytes,
    uint64_t points)
{
	if (sp->nsegs == sp->capsegs) {
		size_t cap = sp->capsegs ? sp->capsegs * 2 : 16;
		struct spool_seg *s = reallocarray(sp->segs, cap, sizeof(*s));
		if (s == NULL)
			return -1;
		sp->segs = s;
		sp->capsegs = cap;
	}
	sp->segs[sp->nsegs].id = id;
	sp->segs[sp->nsegs].bytes = bytes;
	sp->segs[sp->nsegs].points = points;
	sp->nsegs++;
	return 0;
}

/* Forget segs[0] and its file. */
static void
spool_pop_oldest(struct spool *sp)
{
	char path[600];

	if (sp->nsegs == 0)
		return;
	if (sp->nsegs == 1 && sp->wfd != -1) {
		close(sp->wfd);
		sp->wfd = -1;
	}
	spool_path(sp, sp->segs[0].id, path, sizeof(path));
	unlink(path);
	memmove(&sp->segs[0], &sp->segs[1],
	    (sp->nsegs - 1) * sizeof(sp->segs[0]));
	sp->nsegs--;
	sp->roff = 0;
	if (sp->nsegs == 0)
		rmdir(sp->dir);	/* best effort: "the spool is gone" */
}

/*
 * Read and check the block at off of fd (file size size).  Returns 1 with
 * the header in *h (and the payload in *data when data is not NULL), 0 at
 * a clean end of file, -1 for a torn or corrupt block.
 */
static int
spool_read_block(int fd, uint64_t off, uint64_t size, struct spool_hdr *h,
    void **data)
{
	void *buf;

	if (off == size)
		return 0;
	if (size - off < sizeof(*h) ||
	    pread(fd, h, sizeof(*h), (off_t)off) != (ssize_t)sizeof(*h))
		return -1;
	if (h->magic != SPOOL_MAGIC || h->hcrc != spool_hcrc(h) ||
	    h->len > size - off - sizeof(*h))
		return -1;
	buf = malloc(h->len ? h->len : 1);
	if (buf == NULL)
		return -1;
	if (pread(fd, buf, h->len, (off_t)(off + sizeof(*h))) !=
	    (ssize_t)h->len || spool_crc(buf, h->len) != h->crc) {
		free(buf);
		return -1;
	}
	if (data != NULL)
		*data = buf;
	else
		free(buf);
	return 1;
}

/* Check one segment left by an earlier run; cut it at a torn block. */
static int
spool_scan_seg(struct spool *sp, uint64_t id)
{
	char path[600];
	struct spool_hdr h;
	struct stat st;
	uint64_t off = 0, points = 0;
	int fd, rc;

	spool_path(sp, id, path, sizeof(path));
	if ((fd = open(path, O_RDWR)) == -1 || fstat(fd, &st) == -1) {
		if (fd != -1)
			close(fd);
		return -1;
	}
	while ((rc = spool_read_block(fd, off, (uint64_t)st.st_size, &h,
	    NULL)) == 1) {
		off += sizeof(h) + h.len;
		points += h.npoints;
	}
	if (rc == -1) {
		/* a crash mid-append: what follows cannot be trusted */
		sp->torn++;
		if (ftruncate(fd, (off_t)off) == 0)
			fsync(fd);
	}
	close(fd);
	if (off == 0) {
		unlink(path);
		return 0;
	}
	return spool_push_seg(sp, id, off, points);
}

static int
spool_cmp_id(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

int
spool_open(struct spool *sp, const char *dir, uint64_t max_bytes, char *err,
    size_t errlen)
{
	uint64_t *ids = NULL;
	size_t nids = 0, capids = 0;
	struct dirent *de;
	DIR *d;

	memset(sp, 0, sizeof(*sp));
	sp->wfd = -1;
	if (snprintf(sp->dir, sizeof(sp->dir), "%s", dir) >=
	    (int)sizeof(sp->dir)) {
		snprintf(err, errlen, "spool directory name %s is too long",
		    dir);
		return -1;
	}
	sp->max_bytes = max_bytes;
	sp->seg_max = max_bytes / 4;
	if (sp->seg_max < SPOOL_SEG_MIN)
		sp->seg_max = SPOOL_SEG_MIN;
	if (sp->seg_max > SPOOL_SEG_MAX)
		sp->seg_max = SPOOL_SEG_MAX;

	if ((d = opendir(dir)) == NULL) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "cannot open spool directory %s: %s "
		    "(check the state directory's permissions)", dir,
		    strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		char *end;
		unsigned long long id = strtoull(de->d_name, &end, 10);

		if (end == de->d_name || strcmp(end, ".spool") != 0)
			continue;
		if (nids == capids) {
			size_t cap = capids ? capids * 2 : 16;
			uint64_t *n = reallocarray(ids, cap, sizeof(*n));
			if (n == NULL)
				break;
			ids = n;
			capids = cap;
		}
		ids[nids++] = id;
	}
	closedir(d);
	if (nids > 0) /* qsort(NULL, 0) is undefined */
		qsort(ids, nids, sizeof(*ids), spool_cmp_id);
	for (size_t i = 0; i < nids; i++) {
		if (spool_scan_seg(sp, ids[i]) == -1) {
			snprintf(err, errlen, "cannot read spool segment "
			    "%016" PRIu64 ".spool in %s: %s", ids[i], dir,
			    strerror(errno));
			free(ids);
			spool_close(sp);
			return -1;
		}
	}
	free(ids);
	if (sp->nsegs == 0)
		rmdir(dir);
	return 0;
}

void
spool_close(struct spool *sp)
{
	if (sp->wfd != -1)
		close(sp->wfd);
	sp->wfd = -1;
	free(sp->segs);
	sp->segs = NULL;
	sp->nsegs = sp->capsegs = 0;
}

/* Sum of bytes (points false) or of unreplayed points over the segments. */
static uint64_t
spool_sum(const struct spool *sp, bool points)
{
	uint64_t sum = 0;

	for (size_t i = 0; i < sp->nsegs; i++)
		sum += points ? sp->segs[i].points : sp->segs[i].bytes;
	return sum;
}

uint64_t
spool_bytes(const struct spool *sp)
{
	return spool_sum(sp, false);
}

uint64_t
spool_points(const struct spool *sp)
{
	return spool_sum(sp, true);
}

bool
spool_empty(const struct spool *sp)
{
	return spool_bytes(sp) <= sp->roff;
}

static int
spool_new_seg(struct spool *sp, char *err, size_t errlen)
{
	uint64_t id = sp->nsegs ? sp->segs[sp->nsegs - 1].id + 1 : 1;
	char path[600];
	int dfd;

	if (sp->wfd != -1)
		close(sp->wfd);
	sp->wfd = -1;
	if (mkdir(sp->dir, 0700) == -1 && errno != EEXIST) {
		snprintf(err, errlen, "cannot create spool directory %s: %s "
		    "(check the state directory)", sp->dir, strerror(errno));
		return -1;
	}
	spool_path(sp, id, path, sizeof(path));
	sp->wfd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (sp->wfd == -1 || spool_push_seg(sp, id, 0, 0) == -1) {
		snprintf(err, errlen, "cannot create spool file %s: %s", path,
		    strerror(errno));
		if (sp->wfd != -1)
			close(sp->wfd);
		sp->wfd = -1;
		return -1;
	}
	/* the new name must survive a crash as much as its contents */
	if ((dfd = open(sp->dir, O_RDONLY | O_DIRECTORY)) != -1) {
		fsync(dfd);
		close(dfd);
	}
	return 0;
}

int
spool_append(struct spool *sp, const void *data, size_t len,
    uint32_t npoints, uint32_t flags, char *err, size_t errlen)
{
	struct spool_hdr h;
	struct spool_seg *s;
	struct iovec iov[2];
	uint64_t need = sizeof(h) + len;
	ssize_t n;

	if (need > sp->max_bytes || len > UINT32_MAX) {
		sp->dropped_points += npoints;
		return 0;
	}
	while (sp->nsegs > 0 && spool_bytes(sp) + need > sp->max_bytes) {
		sp->dropped_points += sp->segs[0].points;
		spool_pop_oldest(sp);
	}
	if (sp->wfd == -1 || sp->segs[sp->nsegs - 1].bytes + need >
	    sp->seg_max) {
		if (spool_new_seg(sp, err, errlen) == -1)
			return -1;
	}
	h.magic = SPOOL_MAGIC;
	h.flags = flags;
	h.len = (uint32_t)len;
	h.npoints = npoints;
	h.crc = spool_crc(data, len);
	h.hcrc = spool_hcrc(&h);
	s = &sp->segs[sp->nsegs - 1];
	iov[0].iov_base = &h;
	iov[0].iov_len = sizeof(h);
	iov[1].iov_base = (void *)(uintptr_t)data;
	iov[1].iov_len = len;
	n = pwritev(sp->wfd, iov, 2, (off_t)s->bytes);
	if (n != (ssize_t)need || fdatasync(sp->wfd) == -1) {
		int e = n == -1 ? errno : EIO;
		if (n != -1 && n != (ssize_t)need)
			e = ENOSPC;
		snprintf(err, errlen, "cannot write %llu bytes to the spool in "
		    "%s: %s (is the disk full?)", (unsigned long long)need,
		    sp->dir, strerror(e));
		/* leave no half block behind */
		if (ftruncate(sp->wfd, (off_t)s->bytes) == -1)
			sp->torn++;
		return -1;
	}
	s->bytes += need;
	s->points += npoints;
	return 0;
}

int
spool_peek(struct spool *sp, struct spool_block *b, char *err, size_t errlen)
{
	char path[600];
	struct spool_hdr h;
	int fd, rc;

	while (sp->nsegs > 0) {
		struct spool_seg *s = &sp->segs[0];

		if (sp->roff >= s->bytes) {
			if (sp->nsegs == 1 && sp->wfd != -1)
				return 0;	/* caught up with the writer */
			spool_pop_oldest(sp);
			continue;
		}
		spool_path(sp, s->id, path, sizeof(path));
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
			snprintf(err, errlen, "cannot open spool file %s: %s",
			    path, strerror(errno));
			return -1;
		}
		b->data = NULL;
		rc = spool_read_block(fd, sp->roff, s->bytes, &h, &b->data);
		close(fd);
		if (rc == 1) {
			b->len = h.len;
			b->npoints = h.npoints;
			b->flags = h.flags;
			return 1;
		}
		/* corrupt after it was written: skip the rest of the file */
		sp->torn++;
		sp->roff = s->bytes;
		s->points = 0;
	}
	return 0;
}

void
spool_consume(struct spool *sp, const struct spool_block *b)
{
	struct spool_seg *s;

	if (sp->nsegs == 0)
		return;
	s = &sp->segs[0];
	sp->roff += sizeof(struct spool_hdr) + b->len;
	s->points -= b->npoints < s->points ? b->npoints : s->points;
	if (sp->roff >= s->bytes && (sp->nsegs > 1 || spool_empty(sp)))
		spool_pop_oldest(sp);
}
