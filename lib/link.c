/*
 * link.c: link settings as words and as the settings file, and the control
 * path from any labsup process to a running link worker (files in
 * <state_dir>/links/, written atomically, polled by the worker).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "labsup.h"
#include "duration.h"
#include "link.h"

static const char *const dir_names[] = { "both", "down", "up", NULL };

/* "50", "50ms" or "2s" as milliseconds (s: scale 1000), or -1. */
static long
link_number(const char *v, const char *unit, long scale_s, long max)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(v, &end, 10);
	if (end == v || errno == ERANGE || n < 0)
		return -1;
	if (*end == '\0' || !strcmp(end, unit))
		;
	else if (scale_s > 1 && !strcmp(end, "s"))
		n *= scale_s;
	else
		return -1;
	return n > max ? -1 : n;
}

int
link_settings_parse(int argc, char *const argv[], struct link_settings *s,
    bool *clear, char *err, size_t errlen)
{
	*clear = false;
	for (int i = 0; i < argc; i++) {
		const char *w = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		long n;

		if (!strcmp(w, "stall")) {
			s->stall = true;
			continue;
		}
		if (!strcmp(w, "partition")) {
			s->partition = true;
			continue;
		}
		if (!strcmp(w, "heal")) {
			s->stall = s->partition = false;
			continue;
		}
		if (!strcmp(w, "clear")) {
			*clear = true;
			continue;
		}
		if (v == NULL) {
			snprintf(err, errlen, "\"%s\" needs a value, or is not "
			    "one of latency MS, jitter MS, rate KBPS, "
			    "direction both|down|up, stall, partition, heal, "
			    "clear, for DURATION", w);
			return -1;
		}
		i++;
		if (!strcmp(w, "latency") || !strcmp(w, "jitter")) {
			if ((n = link_number(v, "ms", 1000, LINK_MAX_MS)) < 0) {
				snprintf(err, errlen, "%s \"%s\": expected "
				    "milliseconds 0 to %d (50, 50ms or 2s)", w,
				    v, LINK_MAX_MS);
				return -1;
			}
			if (w[0] == 'l')
				s->latency_ms = (int)n;
			else
				s->jitter_ms = (int)n;
		} else if (!strcmp(w, "rate")) {
			n = link_number(v, "kbps", 1, LINK_MAX_KBPS);
			if (n < 0) {
				snprintf(err, errlen, "rate \"%s\": expected "
				    "kilobytes per second 0 (unlimited) to %d",
				    v, LINK_MAX_KBPS);
				return -1;
			}
			s->rate_kbps = (int)n;
		} else if (!strcmp(w, "direction")) {
			int d = 0;
			while (dir_names[d] && strcmp(dir_names[d], v))
				d++;
			if (dir_names[d] == NULL) {
				snprintf(err, errlen, "direction \"%s\": "
				    "expected both, down (publisher to "
				    "subscriber) or up", v);
				return -1;
			}
			s->direction = d;
		} else if (!strcmp(w, "for") || !strcmp(w, "--for")) {
			int64_t ns;

			/* the durations of every command (duration.h) */
			if (duration_arg("for", v, 1000000000LL,
			    86400LL * 30 * 1000000000, &ns, err, errlen) == -1)
				return -1;
			s->for_s = (int)(ns / 1000000000);
		} else {
			snprintf(err, errlen, "\"%s\" is not one of latency, "
			    "jitter, rate, direction, stall, partition, heal, "
			    "clear, for", w);
			return -1;
		}
	}
	return 0;
}

bool
link_settings_same(const struct link_settings *a,
    const struct link_settings *b)
{
	return a->latency_ms == b->latency_ms && a->jitter_ms == b->jitter_ms &&
	    a->rate_kbps == b->rate_kbps && a->direction == b->direction &&
	    a->stall == b->stall && a->partition == b->partition &&
	    a->bypass == b->bypass;
}

const char *
link_settings_text(const struct link_settings *s, char *buf, size_t len)
{
	size_t o = 0;

	buf[0] = '\0';
	if (s->bypass) {
		snprintf(buf, len, "bypassed");
		return buf;
	}
#define ADD(...) o += (size_t)snprintf(buf + o, o < len ? len - o : 0, \
	    __VA_ARGS__)
	if (s->partition)
		ADD("partition ");
	if (s->stall)
		ADD("stall ");
	if (s->latency_ms || s->jitter_ms)
		ADD("latency %dms jitter %dms ", s->latency_ms, s->jitter_ms);
	if (s->rate_kbps)
		ADD("rate %dkbps ", s->rate_kbps);
	if (o > 0 && s->direction != LINK_BOTH)
		ADD("direction %s ", dir_names[s->direction]);
#undef ADD
	if (o == 0)
		snprintf(buf, len, "pass-through");
	else if (o <= len)
		buf[o - 1] = '\0';
	return buf;
}

void
link_settings_format(const struct link_settings *s, int64_t until_ns,
    char *buf, size_t len)
{
	snprintf(buf, len, "latency=%d jitter=%d rate=%d direction=%d "
	    "stall=%d partition=%d until=%" PRId64 "\n", s->latency_ms,
	    s->jitter_ms, s->rate_kbps, s->direction, s->stall ? 1 : 0,
	    s->partition ? 1 : 0, until_ns);
}

int
link_settings_scan(const char *line, struct link_settings *s,
    int64_t *until_ns)
{
	int st, pa;

	memset(s, 0, sizeof(*s));
	if (sscanf(line, "latency=%d jitter=%d rate=%d direction=%d stall=%d "
	    "partition=%d until=%" SCNd64, &s->latency_ms, &s->jitter_ms,
	    &s->rate_kbps, &s->direction, &st, &pa, until_ns) != 7)
		return -1;
	if (s->latency_ms < 0 || s->latency_ms > LINK_MAX_MS ||
	    s->jitter_ms < 0 || s->jitter_ms > LINK_MAX_MS ||
	    s->rate_kbps < 0 || s->rate_kbps > LINK_MAX_KBPS ||
	    s->direction < LINK_BOTH || s->direction > LINK_UP)
		return -1;
	s->stall = st != 0;
	s->partition = pa != 0;
	return 0;
}

const struct link_settings *
config_link(const struct config *cfg, const char *node)
{
	static const struct link_settings none;
	const struct node_cfg *n = config_node(cfg, node);

	return n != NULL ? &n->link : &none;
}

int
link_path(const struct config *cfg, const char *node, const char *ext,
    char *buf, size_t len)
{
	char rel[CFG_NAME + 32];

	snprintf(rel, sizeof(rel), "links/%s.%s", node, ext);
	return lab_path(cfg, rel, buf, len);
}

static int
link_subscriber(const struct config *cfg, const char *node, char *err,
    size_t errlen)
{
	const struct node_cfg *n = config_node(cfg, node);

	if (n == NULL || n->role != NODE_SUBSCRIBER) {
		snprintf(err, errlen, "%s is not a subscriber of this lab "
		    "(links join each subscriber to the publisher)", node);
		return -1;
	}
	return 0;
}

/* Write text to node's links/NODE.ext, making links/ when needed. */
static int
link_write(const struct config *cfg, const char *node, const char *ext,
    const char *text, char *err, size_t errlen)
{
	char path[CFG_PATH + 64];

	if (lab_path(cfg, "links", path, sizeof(path)) == -1 ||
	    (mkdir(path, 0700) == -1 && errno != EEXIST) ||
	    link_path(cfg, node, ext, path, sizeof(path)) == -1 ||
	    file_write_atomic(path, text, strlen(text), 0600, (uid_t)-1,
	    (gid_t)-1) == -1) {
		snprintf(err, errlen, "cannot write %s: %s (is the state "
		    "directory %s yours?)", path, strerror(errno),
		    cfg->lab.state_dir);
		return -1;
	}
	return 0;
}

int
link_apply(const struct config *cfg, const char *node,
    const struct link_settings *s, char *err, size_t errlen)
{
	char line[256];

	if (link_subscriber(cfg, node, err, errlen) == -1)
		return -1;
	link_settings_format(s, s->for_s > 0 ? now_ns() +
	    (int64_t)s->for_s * 1000000000 : 0, line, sizeof(line));
	return link_write(cfg, node, "set", line, err, errlen);
}

int
link_clear(const struct config *cfg, const char *node, char *err,
    size_t errlen)
{
	char path[CFG_PATH + 64];

	if (link_subscriber(cfg, node, err, errlen) == -1)
		return -1;
	if (link_path(cfg, node, "set", path, sizeof(path)) == -1 ||
	    (unlink(path) == -1 && errno != ENOENT)) {
		snprintf(err, errlen, "cannot remove %s: %s", path,
		    strerror(errno));
		return -1;
	}
	return 0;
}

/* The first line of a small file, or -1. */
static int
link_read_line(const char *path, char *buf, size_t len)
{
	FILE *fp = fopen(path, "r");
	bool ok;

	if (fp == NULL)
		return -1;
	ok = fgets(buf, (int)len, fp) != NULL;
	fclose(fp);
	return ok ? 0 : -1;
}

int
link_override(const struct config *cfg, const char *node,
    struct link_settings *s, int64_t *until_ns)
{
	char path[CFG_PATH + 64], line[256];

	if (link_path(cfg, node, "set", path, sizeof(path)) == -1 ||
	    link_read_line(path, line, sizeof(line)) == -1 ||
	    link_settings_scan(line, s, until_ns) == -1)
		return 0;
	return *until_ns == 0 || *until_ns > now_ns();
}

void
link_effective(const struct config *cfg, const char *node,
    struct link_settings *s, int64_t *until_ns)
{
	if (link_override(cfg, node, s, until_ns) == 1)
		return;
	*s = *config_link(cfg, node);
	*until_ns = 0;
}

int
link_addr_read(const struct config *cfg, const char *node, char *host,
    size_t hostlen, int *port)
{
	char path[CFG_PATH + 64], line[128], h[64];

	if (link_path(cfg, node, "addr", path, sizeof(path)) == -1 ||
	    link_read_line(path, line, sizeof(line)) == -1 ||
	    sscanf(line, "%63s %d", h, port) != 2 || *port <= 0 ||
	    *port > 65535)
		return -1;
	snprintf(host, hostlen, "%s", h);
	return 0;
}

int
link_addr_write(const struct config *cfg, const char *node, const char *host,
    int port)
{
	char line[128], err[256];

	snprintf(line, sizeof(line), "%s %d\n", host, port);
	if (link_write(cfg, node, "addr", line, err, sizeof(err)) == -1) {
		log_warnx("%s", err);
		return -1;
	}
	return 0;
}
