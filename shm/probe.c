/*
 * probe.c: the labsup side of a node's probe segment (probe.h): create it
 * for the server's user, or map the one a previous sampler left (its lane
 * keeps what was not relayed yet).  A plain file on tmpfs, opened by path
 * without following links: the directory is checked to be ours first.
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
probe_seg_dir(char *buf, size_t len, const char *lab)
{
	snprintf(buf, len, PROBE_SEG_ROOT "/labsup.%u.%s.probe",
	    (unsigned)getuid(), lab);
}

void
probe_seg_path(char *buf, size_t len, const char *lab, const char *node)
{
	char dir[256];

	probe_seg_dir(dir, sizeof(dir), lab);
	snprintf(buf, len, "%s/%s", dir, node);
}

/* Make the segments' directory dir, or take the one there if it is ours. */
static int
probe_dir_make(const char *dir, char *err, size_t errlen)
{
	struct stat sb;

	if (mkdir(dir, 0711) == -1 && errno != EEXIST) {
		snprintf(err, errlen, "cannot make %s: %s", dir,
		    strerror(errno));
		return -1;
	}
	/* /dev/shm is everyone's: a link or someone else's is not ours */
	if (lstat(dir, &sb) == -1 || !S_ISDIR(sb.st_mode) ||
	    sb.st_uid != getuid()) {
		snprintf(err, errlen, "%s is not a directory of uid %u: remove "
		    "it", dir, (unsigned)getuid());
		return -1;
	}
	if ((sb.st_mode & 0777) != 0711 && chmod(dir, 0711) == -1) {
		snprintf(err, errlen, "cannot chmod %s: %s", dir,
		    strerror(errno));
		return -1;
	}
	return 0;
}

int
probe_seg_mkdir(const char *lab, char *err, size_t errlen)
{
	char dir[256];

	probe_seg_dir(dir, sizeof(dir), lab);
	return probe_dir_make(dir, err, errlen);
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
probe_seg_attach(const char *path, uid_t uid, gid_t gid, bool *reused,
    char *err, size_t errlen)
{
	uint64_t size = probe_seg_bytes(PROBE_LANE_RECORDS);
	struct probe_seg *p;
	char dir[256], *slash;	/* the path's directory */
	int fd, e;

	*reused = false;
	fd = open(path, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
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
		unlink(path);	/* not ours, or another layout */
	}
	/*
	 * Another node's sampler, leaving, removes the directory when it
	 * finds it empty (a local lab's last one does): between our mkdir
	 * and this create it may have.  Make it again and retry.
	 */
	snprintf(dir, sizeof(dir), "%s", path);
	if ((slash = strrchr(dir, '/')) != NULL)
		*slash = '\0';
	for (int tries = 0;; tries++) {
		fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW |
		    O_CLOEXEC, 0600);
		if (fd != -1 || errno != ENOENT || tries == 3 ||
		    slash == NULL || slash == dir)
			break;
		if (probe_dir_make(dir, err, errlen) == -1)
			return NULL;
	}
	if (fd == -1) {
		snprintf(err, errlen, "cannot create %s: %s",
		    path, strerror(errno));
		return NULL;
	}
	/* the server's user writes it; nobody else may read it */
	if (fchmod(fd, 0600) == -1 || fchown(fd, uid, gid) == -1 ||
	    ftruncate(fd, (off_t)size) == -1) {
		e = errno;
		snprintf(err, errlen, "cannot set up %s (%llu "
		    "bytes, owner %u): %s", path, (unsigned long long)size,
		    (unsigned)uid, strerror(e));
		close(fd);
		unlink(path);
		return NULL;
	}
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (p == MAP_FAILED) {
		snprintf(err, errlen, "cannot map %s: %s", path,
		    strerror(errno));
		unlink(path);
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

uint16_t
probe_seg_id(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == 0 ? (uint16_t)sb.st_ino : 0;
}

uint64_t
probe_relay_resume(struct lane *probe, const struct lane *own, uint16_t seg)
{
	uint64_t head = atomic_load_explicit(&own->head, memory_order_relaxed);
	uint64_t back = head < own->size ? head : own->size;
	uint64_t tail = lane_committed(probe), phead = lane_produced(probe);

	for (uint64_t i = 1; i <= back; i++) {
		const struct record *r = &own->recs[(head - i) & own->mask];
		uint64_t pos;

		if (!r->relayed)
			continue;
		/* older segments' records are all older than this one's */
		if (r->origin_seg != seg)
			return 0;
		/* the 32 bits back to 64, from the oldest unfreed record */
		pos = tail + (uint32_t)(r->origin - (uint32_t)tail);
		if (pos >= phead)	/* already freed: nothing to skip */
			return 0;
		lane_skip(probe, pos + 1);
		return pos + 1 - tail;
	}
	return 0;
}
