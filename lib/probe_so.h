/*
 * probe_so.h: where labsup finds its in-server probe (probe/, built as
 * labsup_probe.so) and how a node's server is set up to load it.
 */
#ifndef LABSUP_PROBE_SO_H
#define LABSUP_PROBE_SO_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "config.h"

#define PROBE_SO_NAME "labsup_probe.so"
/*
 * Tests and benchmarks only (docs/CONTRIBUTING.md): "NAME=value ..."
 * added to the environment of the local servers labsup starts, e.g. the
 * sanitizer run's LD_PRELOAD of libasan for a probe built with ASan.
 */
#define PROBE_TEST_PG_ENV "LABSUP_TEST_PG_ENV"

/*
 * The library beside the binary (a build tree) or in <prefix>/lib/labsup
 * (installed).  0, or -1 with the places looked at in why.
 */
int probe_so_find(char *buf, size_t len, char *why, size_t whylen);

/* True when the library at path is built with ASan or UBSan. */
bool probe_so_sanitized(const char *path);
/*
 * Whether a local server can load the library at path: one built with a
 * sanitizer (make SANITIZE=1) only with its runtime preloaded, which
 * only PROBE_TEST_PG_ENV does.  0, or -1 with why.
 */
int probe_so_usable(const char *path, char *why, size_t whylen);

/*
 * For a local server: copy the library into the lab's state directory
 * (readable by uid:gid, the server's user) and append the settings that
 * load it and name node's probe segment to conf.  1 when appended, 0 when
 * the config does not want the probe, -1 when it cannot (why).
 */
int probe_server_conf(const struct config *cfg, const char *node, uid_t uid,
    gid_t gid, char *conf, size_t len, char *why, size_t whylen);

#endif
