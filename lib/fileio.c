/*
 * fileio.c: atomic small-file writes (see fileio.h).  Used for secrets,
 * passfiles, server configs and every other file labsup writes whole.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"

static int
fsync_dir_of(const char *path)
{
	char dir[4096];
	const char *slash = strrchr(path, '/');
	int fd, rc;

	if (slash == NULL)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == path)
		snprintf(dir, sizeof(dir), "/");
	else
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd == -1)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

int
file_write_atomic(const char *path, const void *data, size_t len, mode_t mode,
    uid_t uid, gid_t gid)
{
	char tmp[4096];
	const char *p = data;
	size_t off = 0;
	int fd, e;

	/* unique per process and call: two writers never share a temp file */
	if (snprintf(tmp, sizeof(tmp), "%s.tmp.XXXXXX", path) >=
	    (int)sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd == -1)
		return -1;
	if (fchmod(fd, mode) == -1 ||
	    (uid != (uid_t)-1 && fchown(fd, uid, gid) == -1))
		goto fail;
	while (off < len) {
		ssize_t n = write(fd, p + off, len - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			goto fail;
		off += (size_t)n;
	}
	if (fsync(fd) == -1)
		goto fail;
	if (close(fd) == -1) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) == -1)
		goto fail;
	/* the rename itself is durable only once the directory is */
	(void)fsync_dir_of(path);
	return 0;
fail:
	e = errno;
	if (fd != -1)
		close(fd);
	unlink(tmp);
	errno = e;
	return -1;
}

int
file_same(const char *path, const void *data, size_t len, mode_t mode)
{
	char cur[4096];
	struct stat st;
	ssize_t n;
	int fd, same = 0;

	if (len > sizeof(cur) || (fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return 0;
	if (fstat(fd, &st) == 0 && (st.st_mode & 07777) == mode &&
	    st.st_size == (off_t)len) {
		n = read(fd, cur, sizeof(cur));
		same = n == (ssize_t)len && memcmp(cur, data, len) == 0;
	}
	close(fd);
	explicit_bzero(cur, sizeof(cur));
	return same;
}
