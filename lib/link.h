/*
 * link.h: a subscriber's link to the publisher (workers/link.c is the
 * proxy).  What a link does (struct link_settings, in config.h), how the
 * words of `labsup link` and of scenario steps become settings, and the
 * control path: link_apply() writes a small file in the lab's state
 * directory that the link worker polls (about every 100 ms), so anything
 * that has the config (the CLI, a scenario runner) can change a running
 * link without signals or privileges.
 *
 * Files, in <state_dir>/links/:
 *   NODE.set   run-time settings over the config's (link_apply), one line
 *              "latency=50 jitter=10 rate=0 direction=both stall=0
 *              partition=0 until=<ns since the epoch, 0: until cleared>"
 *   NODE.addr  where the link listens, "HOST PORT" (the link writes it;
 *              the replication worker points the subscription at it)
 */
#ifndef LABSUP_LINK_H
#define LABSUP_LINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

/*
 * Parse the words of a link command over *s (which holds the starting
 * point, e.g. the link's current settings):
 *   latency MS, jitter MS, rate KBPS (0: unlimited), direction both|up|down,
 *   stall, partition, heal (neither stall nor partition), clear (the
 *   config's settings: *clear is set), for SECONDS / --for SECONDS.
 * MS takes an optional "ms" or "s" suffix, SECONDS an optional "s".
 * 0, or -1 with "what is wrong and what is expected" in err.
 */
int link_settings_parse(int argc, char *const argv[], struct link_settings *s,
    bool *clear, char *err, size_t errlen);

/* Whether a and b shape a link the same (for_s aside). */
bool link_settings_same(const struct link_settings *a,
    const struct link_settings *b);

/* "latency 50ms jitter 10ms rate 1000kbps both stall", for people. */
const char *link_settings_text(const struct link_settings *s, char *buf,
    size_t len);

/* The settings file's one line, and back (-1: not a settings line). */
void link_settings_format(const struct link_settings *s, int64_t until_ns,
    char *buf, size_t len);
int link_settings_scan(const char *line, struct link_settings *s,
    int64_t *until_ns);

/* The link settings of node from the config (all zero: pass-through). */
const struct link_settings *config_link(const struct config *cfg,
    const char *node);

/*
 * Change the running link of subscriber node: s replaces the config's
 * settings until s->for_s seconds pass (0: until link_clear).  0, or -1
 * with err ("no subscriber sub9", "cannot write ...").
 */
int link_apply(const struct config *cfg, const char *node,
    const struct link_settings *s, char *err, size_t errlen);

/* Back to the config's settings.  0, or -1 with err. */
int link_clear(const struct config *cfg, const char *node, char *err,
    size_t errlen);

/*
 * The run-time settings in force for node, if any: 1 with *s and
 * *until_ns (0: until cleared), 0 when there are none (or they expired).
 */
int link_override(const struct config *cfg, const char *node,
    struct link_settings *s, int64_t *until_ns);

/* The settings in force for node: the override, else the config's. */
void link_effective(const struct config *cfg, const char *node,
    struct link_settings *s, int64_t *until_ns);

/* <state_dir>/links/NODE.<ext> */
int link_path(const struct config *cfg, const char *node, const char *ext,
    char *buf, size_t len);

/* Where node's link listens: 0 with host and port, -1 when not known. */
int link_addr_read(const struct config *cfg, const char *node, char *host,
    size_t hostlen, int *port);
int link_addr_write(const struct config *cfg, const char *node,
    const char *host, int port);

#endif
