/*
 * fileio.h: the one way labsup writes a file that must never be seen half
 * written: a temporary file with a unique name beside it, written, fsync'd,
 * renamed over the target, and the directory fsync'd.
 */
#ifndef LABSUP_FILEIO_H
#define LABSUP_FILEIO_H

#include <stddef.h>
#include <sys/types.h>

/*
 * Write len bytes to path atomically, with mode (from the first byte) and,
 * when uid is not (uid_t)-1, that owner.  0, or -1 with errno set and
 * nothing left behind.
 */
int file_write_atomic(const char *path, const void *data, size_t len,
    mode_t mode, uid_t uid, gid_t gid);

/*
 * Whether path already holds exactly text with mode: callers that rewrite
 * a file every second skip the write (and its fsync) when it would change
 * nothing.
 */
int file_same(const char *path, const void *data, size_t len, mode_t mode);

#endif
