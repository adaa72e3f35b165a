/*
 * segment.c: create, map and lay out the lab's shared-memory segment.
 * Only the supervisor creates or unlinks it; workers inherit the mapping
 * across fork, the CLI maps it read-only.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "segment.h"

#define ALIGN_UP(x, a) (((x) + (a) - 1) & ~((uint64_t)(a) - 1))

void
seg_name(char *buf, size_t len, const char *lab)
{
	snprintf(buf, len, "/labsup.%u.%s", (unsigned)getuid(), lab);
}

static void
seg_layout(struct seg_header *h, uint32_t nslots, uint32_t nsvc,
    uint64_t lane_records)
{
	h->nslots = nslots;
	h->nsvc = nsvc;
	h->lane_records = lane_records;
	h->off_slots = ALIGN_UP(sizeof(*h), LANE_CACHELINE);
	h->off_svcs = ALIGN_UP(h->off_slots + nslots * sizeof(struct slot),
	    LANE_CACHELINE);
	h->off_lanes = ALIGN_UP(h->off_svcs + nsvc * sizeof(struct svc_status),
	    4096);
	h->lane_stride = ALIGN_UP(lane_bytes(lane_records), 4096);
	h->total_size = h->off_lanes + nslots * h->lane_stride;
}

int
seg_create(struct seg *s, const char *name, uint32_t nslots, uint32_t nsvc,
    uint64_t lane_records, char *err, size_t errlen)
{
	struct seg_header tmp;
	int fd;
	void *p;

	if (lane_records < 2 || (lane_records & (lane_records - 1)) != 0) {
		snprintf(err, errlen, "lane size %llu is not a power of two",
		    (unsigned long long)lane_records);
		errno = EINVAL;
		return -1;
	}
	memset(&tmp, 0, sizeof(tmp));
	seg_layout(&tmp, nslots, nsvc, lane_records);
	fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600);
	if (fd == -1) {
		snprintf(err, errlen, "cannot create shared memory %s: %s",
		    name, strerror(errno));
		return -1;
	}
	/* shm_open honours the umask; make sure of 0600 */
	if (fchmod(fd, 0600) == -1 ||
	    ftruncate(fd, (off_t)tmp.total_size) == -1) {
		int e = errno;
		snprintf(err, errlen, "cannot size shared memory %s to %llu "
		    "bytes: %s (is /dev/shm full?)", name,
		    (unsigned long long)tmp.total_size, strerror(e));
		close(fd);
		shm_unlink(name);
		errno = e;
		return -1;
	}
	p = mmap(NULL, tmp.total_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
	    0);
	close(fd);
	if (p == MAP_FAILED) {
		int e = errno;
		snprintf(err, errlen, "cannot map shared memory %s: %s", name,
		    strerror(e));
		shm_unlink(name);
		errno = e;
		return -1;
	}
	s->hdr = p;
	s->size = tmp.total_size;
	snprintf(s->name, sizeof(s->name), "%s", name);
	memcpy(s->hdr, &tmp, sizeof(tmp));
	for (uint32_t i = 0; i < nslots; i++)
		lane_init(seg_lane(s, i), lane_records, false);
	s->hdr->version = SEG_VERSION;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	s->hdr->boot_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
	/* magic last: a reader never sees a half-built header as valid */
	atomic_thread_fence(memory_order_release);
	s->hdr->magic = SEG_MAGIC;
	return 0;
}

int
seg_open(struct seg *s, const char *name, bool writable, char *err,
    size_t errlen)
{
	struct stat st;
	struct seg_header h;
	int fd;
	void *p;

	fd = shm_open(name, writable ? O_RDWR : O_RDONLY, 0);
	if (fd == -1) {
		snprintf(err, errlen, "cannot open shared memory %s: %s", name,
		    strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1 || (size_t)st.st_size < sizeof(h) ||
	    pread(fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h)) {
		snprintf(err, errlen, "shared memory %s is truncated", name);
		close(fd);
		errno = EINVAL;
		return -1;
	}
	if (h.magic != SEG_MAGIC || h.version != SEG_VERSION ||
	    h.total_size != (uint64_t)st.st_size) {
		snprintf(err, errlen, "shared memory %s has another layout "
		    "(an older labsup?): stop that lab or remove /dev/shm%s",
		    name, name);
		close(fd);
		errno = EINVAL;
		return -1;
	}
	p = mmap(NULL, h.total_size, PROT_READ | (writable ? PROT_WRITE : 0),
	    MAP_SHARED, fd, 0);
	close(fd);
	if (p == MAP_FAILED) {
		snprintf(err, errlen, "cannot map shared memory %s: %s", name,
		    strerror(errno));
		return -1;
	}
	s->hdr = p;
	s->size = h.total_size;
	snprintf(s->name, sizeof(s->name), "%s", name);
	return 0;
}

void
seg_close(struct seg *s)
{
	if (s->hdr != NULL)
		munmap(s->hdr, s->size);
	s->hdr = NULL;
}

int
seg_unlink(const char *name)
{
	return shm_unlink(name);
}

struct slot *
seg_slot(const struct seg *s, uint32_t i)
{
	return (struct slot *)((char *)s->hdr + s->hdr->off_slots) + i;
}

struct svc_status *
seg_svc(const struct seg *s, uint32_t i)
{
	return (struct svc_status *)((char *)s->hdr + s->hdr->off_svcs) + i;
}

struct lane *
seg_lane(const struct seg *s, uint32_t i)
{
	return (struct lane *)((char *)s->hdr + s->hdr->off_lanes +
	    i * s->hdr->lane_stride);
}

void
seg_ring_totals(const struct seg *s, uint64_t *produced, uint64_t *committed,
    uint64_t *dropped)
{
	*produced = *committed = *dropped = 0;
	for (uint32_t i = 0; i < s->hdr->nslots; i++) {
		struct lane *l = seg_lane(s, i);
		*produced += lane_produced(l);
		*committed += lane_committed(l);
		*dropped += lane_dropped(l);
	}
}

void
seg_read_info(const struct seg *s, struct lab_info *out)
{
	if (seq_read(&s->hdr->info_lock, out, &s->hdr->info, sizeof(*out)))
		memset(out, 0, sizeof(*out));
}

void
seg_write_info(struct seg *s, const struct lab_info *in)
{
	seq_write_begin(&s->hdr->info_lock);
	memcpy(&s->hdr->info, in, sizeof(*in));
	seq_write_end(&s->hdr->info_lock);
}
