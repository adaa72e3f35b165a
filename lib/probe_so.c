/*
 * probe_so.c: finding the in-server probe's library and the settings that
 * make a node's server load it.  Nothing goes into PostgreSQL's own
 * directories: the server loads a copy in the state directory by its
 * absolute path.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "labsup.h"
#include "fileio.h"
#include "probe_so.h"
#include "../shm/probe.h"

#define PROBE_SO_MAX (16 << 20)

int
probe_so_find(char *buf, size_t len, char *why, size_t whylen)
{
	char exe[CFG_PATH], *slash;
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (n <= 0 || exe[0] != '/') {
		snprintf(why, whylen, "cannot tell where the labsup binary is");
		return -1;
	}
	exe[n] = '\0';
	if ((slash = strrchr(exe, '/')) != NULL)
		*slash = '\0';
	/* a build tree: beside the binary */
	snprintf(buf, len, "%s/" PROBE_SO_NAME, exe);
	if (access(buf, R_OK) == 0)
		return 0;
	/* installed: <prefix>/bin/labsup, <prefix>/lib/labsup/ */
	if ((slash = strrchr(exe, '/')) != NULL) {
		*slash = '\0';
		snprintf(buf, len, "%s/lib/labsup/" PROBE_SO_NAME, exe);
		if (access(buf, R_OK) == 0)
			return 0;
	}
	snprintf(why, whylen, PROBE_SO_NAME " is neither beside labsup nor in "
	    "%s/lib/labsup (make builds it, with postgresql-server-dev-15)",
	    exe);
	return -1;
}

/* Its runtime's entry points are named in the library's symbols. */
bool
probe_so_sanitized(const char *path)
{
	static const char *const marks[] = { "__asan_init", "__ubsan_handle",
	    NULL };
	char buf[65536 + 32];
	size_t n, keep = 0;
	bool found = false;
	FILE *f = fopen(path, "r");

	if (f == NULL)
		return false;
	/* overlapping reads: a mark may straddle two */
	while (!found && (n = fread(buf + keep, 1, sizeof(buf) - 32 - keep,
	    f)) > 0) {
		n += keep;
		for (int i = 0; marks[i] != NULL && !found; i++)
			found = memmem(buf, n, marks[i], strlen(marks[i])) !=
			    NULL;
		keep = n < 31 ? n : 31;
		memmove(buf, buf + n - keep, keep);
	}
	fclose(f);
	return found;
}

int
probe_so_usable(const char *path, char *why, size_t whylen)
{
	const char *env = getenv(PROBE_TEST_PG_ENV);

	if (!probe_so_sanitized(path) ||
	    (env != NULL && strstr(env, "LD_PRELOAD=") != NULL))
		return 0;
	snprintf(why, whylen, "%s is built with a sanitizer: a server loads "
	    "it only with its runtime preloaded (" PROBE_TEST_PG_ENV ", see "
	    "docs/CONTRIBUTING.md)", path);
	return -1;
}

/* Copy src to dst (mode 0644, uid:gid) unless it holds the same bytes. */
static int
probe_so_copy(const char *src, const char *dst, uid_t uid, gid_t gid,
    char *why, size_t whylen)
{
	struct stat sb;
	char *data;
	int fd, rc = -1;

	if ((fd = open(src, O_RDONLY | O_CLOEXEC)) == -1 ||
	    fstat(fd, &sb) == -1 || sb.st_size > PROBE_SO_MAX) {
		snprintf(why, whylen, "cannot read %s: %s", src,
		    fd == -1 || errno ? strerror(errno) : "too large");
		if (fd != -1)
			close(fd);
		return -1;
	}
	if ((data = malloc((size_t)sb.st_size + 1)) != NULL &&
	    read(fd, data, (size_t)sb.st_size) == sb.st_size) {
		if (file_same(dst, data, (size_t)sb.st_size, 0644) ||
		    file_write_atomic(dst, data, (size_t)sb.st_size, 0644, uid,
		    gid) == 0)
			rc = 0;
		else
			snprintf(why, whylen, "cannot write %s: %s", dst,
			    strerror(errno));
	} else {
		snprintf(why, whylen, "cannot read %s", src);
	}
	free(data);
	close(fd);
	return rc;
}

int
probe_server_conf(const struct config *cfg, const char *node, uid_t uid,
    gid_t gid, char *conf, size_t len, char *why, size_t whylen)
{
	char src[CFG_PATH], dst[CFG_PATH], name[SEG_NAME_MAX + 64];
	size_t used = strlen(conf);
	int n;

	if (!cfg->sampler.enabled || cfg->sampler.source == SAMPLER_SQL)
		return 0;
	if (probe_so_find(src, sizeof(src), why, whylen) == -1 ||
	    probe_so_usable(src, why, whylen) == -1)
		return -1;
	/* pg/ holds the data directories: the server's user gets there */
	if (lab_path(cfg, "pg/" PROBE_SO_NAME, dst, sizeof(dst)) == -1 ||
	    probe_so_copy(src, dst, uid, gid, why, whylen) == -1)
		return -1;
	probe_seg_path(name, sizeof(name), cfg->lab.name, node);
	n = snprintf(conf + used, len - used,
	    "shared_preload_libraries = '%s'\n" PROBE_GUC " = '%s'\n", dst,
	    name);
	if (n < 0 || (size_t)n >= len - used) {
		conf[used] = '\0';
		snprintf(why, whylen, "the server settings do not fit");
		return -1;
	}
	return 1;
}
