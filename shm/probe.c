/*
 * probe.c: the labsup side of a node's probe segment (probe.h): create it
 * for the server's user, or map the one a previous sampler left (its lane
 * keeps what was not relayed yet).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "probe.h"

void
probe_seg_name(char *buf, size_t len, const char *lab, const char *node)
{
	snprintf(buf, len, "/labsup.%u.%s.probe.%s", (unsigned)getuid(), lab,
	    node);
}

/* The mapping of fd when it is a whole probe segment, else NULL. */
static struct probe_seg *
probe_seg_map_valid(int fd)
{
	struct stat sb;
	struct probe_seg *p;

	if (fstat(fd, &sb) == -1 ||
	    (size_t)sb.st_size != probe_seg_bytes(PROBE_LANE_RECORDS))
		return NULL;
	p = mmap(NULL, (size_t)sb.st_size, PROT_READ | PROT_WRITE, MAP_SHARED,
	    fd, 0);
	if (p == MAP_FAILED)
		return NULL;
	if (p->magic != PROBE_MAGIC || p->version != PROBE_VERSION ||
	    p->lane_records != PROBE_LANE_RECORDS ||
	    p->total_size != (uint64_t)sb.st_size) {
		munmap(p, (size_t)sb.st_size);
		return NULL;
	}
	return p;
}

struct probe_seg *
probe_seg_attach(const char *name, uid_t uid, gid_t gid, bool *reused,
    char *err, size_t errlen)
{
	uint64_t size = probe_seg_bytes(PROBE_LANE_RECORDS);
	struct probe_seg *p;
	int fd, e;

	*reused = false;
	fd = shm_open(name, O_RDWR, 0);
	if (fd != -1) {
		p = probe_seg_map_valid(fd);
		if (p != NULL && fchown(fd, uid, gid) == 0) {
			close(fd);
			*reused = true;
			return p;
		}
		if (p != NULL)
			munmap(p, size);
		close(fd);
		shm_unlink(name);	/* not ours, or another layout */
	}
	fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600);
	if (fd == -1) {
		snprintf(err, errlen, "cannot create shared memory %s: %s",
		    name, strerror(errno));
		return NULL;
	}
	/* the server's user writes it; nobody else may read it */
	if (fchmod(fd, 0600) == -1 || fchown(fd, uid, gid) == -1 ||
	    ftruncate(fd, (off_t)size) == -1) {
		e = errno;
		snprintf(err, errlen, "cannot set up shared memory %s (%llu "
		    "bytes, owner %u): %s", name, (unsigned long long)size,
		    (unsigned)uid, strerror(e));
		close(fd);
		shm_unlink(name);
		return NULL;
	}
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (p == MAP_FAILED) {
		snprintf(err, errlen, "cannot map shared memory %s: %s", name,
		    strerror(errno));
		shm_unlink(name);
		return NULL;
	}
	p->version = PROBE_VERSION;
	p->lane_records = PROBE_LANE_RECORDS;
	p->total_size = size;
	p->off_lane = size - lane_bytes(PROBE_LANE_RECORDS);
	lane_init(probe_lane(p), PROBE_LANE_RECORDS, false);
	/* the probe maps it only once the magic says it is complete */
	atomic_thread_fence(memory_order_release);
	p->magic = PROBE_MAGIC;
	return p;
}

void
probe_seg_detach(struct probe_seg *p)
{
	if (p != NULL)
		munmap(p, p->total_size);
}
