/*
 * asan_preload.c: preloaded after libasan into the servers of the
 * sanitizer run (make SANITIZE=1 builds it as labsup_asan_preload.so;
 * tests/integration/90_probe.sh, docs/CONTRIBUTING.md), so that GCC 12's
 * libasan can start in a PostgreSQL it was not linked into.
 *
 * Why: preloaded, libasan initializes lazily, on the first malloc.  In
 * Debian's postgres (and psql, curl: anything with libgnutls) that malloc
 * is inside libgpg-error's constructor, in bindtextdomain(), which holds
 * glibc's _nl_state_lock for writing.  libasan's start looks up
 * swift_demangle with dlsym() and, not finding it, clears the error with
 * dlerror(), whose message lookup (dcgettext) takes and releases the same
 * lock for reading: the release corrupts the held lock, and the process
 * hangs for good in the next bindtextdomain() (postgres's own, in main).
 * With swift_demangle defined dlsym() finds it and dlerror() has nothing
 * to translate.  libasan calls it only to demangle Swift names; returning
 * NULL tells it this one is not.
 */
#include <stddef.h>
#include <stdint.h>

char *swift_demangle(const char *name, size_t len, char *out,
    size_t *outlen, uint32_t flags);

char *
swift_demangle(const char *name, size_t len, char *out, size_t *outlen,
    uint32_t flags)
{
	(void)name;
	(void)len;
	(void)out;
	(void)outlen;
	(void)flags;
	return NULL;
}
