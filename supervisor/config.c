/*
 * config.c: built-in defaults, the INI parser (libinih) and validation.
 * Every error names the file and line; nothing here exits.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"

#define DEFAULT_PG_BIN "/usr/lib/postgresql/15/bin"
/* the source tree's grafana/ (set by the Makefile) */
#ifndef LABSUP_GRAFANA_DIR
#define LABSUP_GRAFANA_DIR "/usr/share/labsup/grafana"
#endif

struct parse {
	struct config *cfg;
	const char *file;
	const char *text;	/* the whole file */
	size_t len, off;	/* its size, and where the reader is */
	int line;		/* line being parsed (our reader counts) */
	char err[512];		/* first error */
	int err_line;
	char seen[64][80];	/* section.key already set: duplicates */
	int seen_line[64];	/* where each was set */
	int nseen;
	int section_line;	/* line of the current [section] header */
	bool node_seen[CFG_MAX_NODES];
	char sections[32][80];	/* section headers met so far */
	int section_lines[32];
	int nsections;
};

#define CFG_MAX_FILE (1 << 20)

const char *
backend_name(int backend)
{
	switch (backend) {
	case BACKEND_DOCKER:
		return "docker";
	case BACKEND_LOCAL:
		return "local";
	}
	return "auto";
}

const char *
workload_name(int wl)
{
	static const char *const names[] = {
		[WL_TPCB] = "tpcb",
		[WL_SELECT] = "select",
		[WL_CONTENTION] = "contention",
		[WL_SCRIPT] = "script",
	};

	if (wl < 0 || wl > WL_SCRIPT)
		return "unknown";
	return names[wl];
}

static const char *
tristate_name(int t)
{
	return t == TRI_YES ? "yes" : t == TRI_NO ? "no" : "auto";
}

static void
default_state_dir(char *buf, size_t len, const char *lab)
{
	const char *xdg = getenv("XDG_STATE_HOME");
	const char *home = getenv("HOME");

	if (geteuid() == 0)
		snprintf(buf, len, "/var/lib/labsup/%s", lab);
	else if (xdg != NULL && xdg[0] == '/')
		snprintf(buf, len, "%s/labsup/%s", xdg, lab);
	else
		snprintf(buf, len, "%s/.local/state/labsup/%s",
		    home != NULL ? home : "/tmp", lab);
}

static void
add_node(struct config *cfg, const char *name, int role, int port)
{
	struct node_cfg *n = &cfg->nodes[cfg->nnodes++];

	memset(n, 0, sizeof(*n));
	snprintf(n->name, sizeof(n->name), "%s", name);
	n->role = role;
	n->port = port;
}

void
config_defaults(struct config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	snprintf(cfg->lab.name, sizeof(cfg->lab.name), "default");
	cfg->lab.backend = BACKEND_AUTO;
	snprintf(cfg->lab.run_as, sizeof(cfg->lab.run_as), "postgres");
	snprintf(cfg->lab.bind, sizeof(cfg->lab.bind), "127.0.0.1");
	snprintf(cfg->lab.pg_bin, sizeof(cfg->lab.pg_bin), DEFAULT_PG_BIN);
	snprintf(cfg->lab.database, sizeof(cfg->lab.database), "labsup");
	snprintf(cfg->lab.user, sizeof(cfg->lab.user), "labsup");

	add_node(cfg, "pub", NODE_PUBLISHER, 15432);
	add_node(cfg, "sub1", NODE_SUBSCRIBER, 15433);
	add_node(cfg, "sub2", NODE_SUBSCRIBER, 15434);

	cfg->influx.version = 1;
	cfg->influx.port = 18086;
	snprintf(cfg->influx.database, sizeof(cfg->influx.database), "labsup");
	snprintf(cfg->influx.token_env, sizeof(cfg->influx.token_env),
	    "LABSUP_INFLUX_TOKEN");

	cfg->grafana.enabled = TRI_AUTO;
	cfg->grafana.port = 13000;
	snprintf(cfg->grafana.dir, sizeof(cfg->grafana.dir), "%s",
	    LABSUP_GRAFANA_DIR);

	snprintf(cfg->docker.image_postgres, CFG_STR, "labsup/postgres:15");
	snprintf(cfg->docker.image_influxdb, CFG_STR, "labsup/influxdb:1.6");
	snprintf(cfg->docker.image_grafana, CFG_STR,
	    "grafana/grafana-oss:latest");

	cfg->replication.scale = 10;
	cfg->replication.heartbeat_ms = 100;
	snprintf(cfg->replication.publication,
	    sizeof(cfg->replication.publication), "labsup_pub");

	cfg->hum.clients = 2;
	cfg->hum.rate = 100;
	cfg->hum.workload = WL_TPCB;
	cfg->hum.chaos = false;
	cfg->hum.chaos_min = 0.2;
	cfg->hum.chaos_max = 3.0;

	cfg->sampler.enabled = true;
	cfg->sampler.interval_ms = 100;
	cfg->sampler.locks_interval_ms = 100;

	cfg->writer.batch_points = 5000;
	cfg->writer.flush_ms = 200;
	cfg->writer.spool_max_mb = 256;
	cfg->writer.lane_records = 4096;
	cfg->writer.timeout_ms = 5000;
}

static int
perr(struct parse *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int
perr(struct parse *p, const char *fmt, ...)
{
	va_list ap;

	if (p->err[0] == '\0') {
		va_start(ap, fmt);
		vsnprintf(p->err, sizeof(p->err), fmt, ap);
		va_end(ap);
		p->err_line = p->line;
	}
	return 0; /* inih: handler failed */
}

static int
parse_int(struct parse *p, const char *key, const char *v, long min,
    long max, int *out)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(v, &end, 10);
	if (v[0] == '\0' || *end != '\0' || errno == ERANGE)
		return perr(p, "%s: \"%s\" is not a whole number", key, v);
	if (n < min || n > max)
		return perr(p, "%s: %ld is out of range (%ld to %ld)", key, n,
		    min, max);
	*out = (int)n;
	return 1;
}

static int
parse_double(struct parse *p, const char *key, const char *v, double min,
    double max, double *out)
{
	char *end;
	double d;

	errno = 0;
	d = strtod(v, &end);
	if (v[0] == '\0' || *end != '\0' || errno == ERANGE || !isfinite(d))
		return perr(p, "%s: \"%s\" is not a number", key, v);
	if (d < min || d > max)
		return perr(p, "%s: %g is out of range (%g to %g)", key, d, min,
		    max);
	*out = d;
	return 1;
}

static int
parse_bool(struct parse *p, const char *key, const char *v, bool *out)
{
	if (!strcmp(v, "yes") || !strcmp(v, "true") || !strcmp(v, "on") ||
	    !strcmp(v, "1"))
		*out = true;
	else if (!strcmp(v, "no") || !strcmp(v, "false") ||
	    !strcmp(v, "off") || !strcmp(v, "0"))
		*out = false;
	else
		return perr(p, "%s: \"%s\" is not yes or no", key, v);
	return 1;
}

static int
parse_str(struct parse *p, const char *key, const char *v, char *dst,
    size_t len)
{
	if (strlen(v) >= len)
		return perr(p, "%s: value is longer than %zu characters", key,
		    len - 1);
	memcpy(dst, v, strlen(v) + 1);
	return 1;
}

/* Names end up in SQL identifiers, container names and tags: keep them tame. */
static int
parse_name(struct parse *p, const char *key, const char *v, char *dst,
    size_t len, bool dash)
{
	if (v[0] == '\0')
		return perr(p, "%s: must not be empty", key);
	for (const char *c = v; *c; c++) {
		if (!(islower((unsigned char)*c) || isdigit((unsigned char)*c) ||
		    *c == '_' || (dash && *c == '-')))
			return perr(p, "%s: \"%s\" may only contain a-z, 0-9%s "
			    "and _", key, v, dash ? ", -" : "");
	}
	if (!islower((unsigned char)v[0]))
		return perr(p, "%s: \"%s\" must start with a letter a-z", key,
		    v);
	return parse_str(p, key, v, dst, len);
}

static int
parse_path(struct parse *p, const char *key, const char *v, char *dst,
    size_t len)
{
	if (v[0] != '\0' && v[0] != '/')
		return perr(p, "%s: \"%s\" must be an absolute path", key, v);
	return parse_str(p, key, v, dst, len);
}

static int
handle_lab(struct parse *p, const char *k, const char *v)
{
	struct config *c = p->cfg;

	if (!strcmp(k, "name"))
		return parse_name(p, k, v, c->lab.name, sizeof(c->lab.name),
		    true);
	if (!strcmp(k, "backend")) {
		if (config_set_backend(c, v) == -1)
			return perr(p, "backend: \"%s\" is not auto, docker or "
			    "local", v);
		return 1;
	}
	if (!strcmp(k, "state_dir"))
		return parse_path(p, k, v, c->lab.state_dir,
		    sizeof(c->lab.state_dir));
	if (!strcmp(k, "run_as"))
		return parse_name(p, k, v, c->lab.run_as, sizeof(c->lab.run_as),
		    true);
	if (!strcmp(k, "bind")) {
		unsigned char addr[16];
		if (inet_pton(AF_INET, v, addr) != 1 &&
		    inet_pton(AF_INET6, v, addr) != 1)
			return perr(p, "bind: \"%s\" is not an IP address (e.g. "
			    "127.0.0.1)", v);
		return parse_str(p, k, v, c->lab.bind, sizeof(c->lab.bind));
	}
	if (!strcmp(k, "pg_bin"))
		return parse_path(p, k, v, c->lab.pg_bin,
		    sizeof(c->lab.pg_bin));
	if (!strcmp(k, "database"))
		return parse_name(p, k, v, c->lab.database,
		    sizeof(c->lab.database), false);
	if (!strcmp(k, "user"))
		return parse_name(p, k, v, c->lab.user, sizeof(c->lab.user),
		    false);
	return perr(p, "unknown key \"%s\" in [lab]", k);
}

static struct node_cfg *
node_for_section(struct parse *p, const char *section)
{
	const char *name = section + strlen("node ");
	struct config *c = p->cfg;

	for (int i = 0; i < c->nnodes; i++)
		if (!strcmp(c->nodes[i].name, name))
			return &c->nodes[i];
	return NULL;
}

static int
new_node(struct parse *p, const char *name)
{
	struct config *c = p->cfg;
	struct node_cfg *n;

	if (c->nnodes >= CFG_MAX_NODES)
		return perr(p, "[node %s]: at most %d nodes", name,
		    CFG_MAX_NODES);
	n = &c->nodes[c->nnodes];
	memset(n, 0, sizeof(*n));
	if (!parse_name(p, "node name", name, n->name, sizeof(n->name), false))
		return 0;
	n->line = p->section_line;
	p->node_seen[c->nnodes] = true;
	c->nnodes++;
	return 1;
}

static int
handle_node(struct parse *p, struct node_cfg *n, const char *k, const char *v)
{
	if (!strcmp(k, "role")) {
		if (!strcmp(v, "publisher"))
			n->role = NODE_PUBLISHER;
		else if (!strcmp(v, "subscriber"))
			n->role = NODE_SUBSCRIBER;
		else
			return perr(p, "role: \"%s\" is not publisher or "
			    "subscriber", v);
		return 1;
	}
	if (!strcmp(k, "port"))
		return parse_int(p, k, v, 1024, 65535, &n->port);
	if (!strcmp(k, "tables"))
		return parse_str(p, k, v, n->tables, sizeof(n->tables));
	if (!strcmp(k, "row_filter"))
		return parse_str(p, k, v, n->row_filter, sizeof(n->row_filter));
	return perr(p, "unknown key \"%s\" in [node %s]", k, n->name);
}

static int
handle_influx(struct parse *p, const char *k, const char *v)
{
	struct config *c = p->cfg;

	if (!strcmp(k, "version"))
		return parse_int(p, k, v, 1, 2, &c->influx.version);
	if (!strcmp(k, "port"))
		return parse_int(p, k, v, 1024, 65535, &c->influx.port);
	if (!strcmp(k, "database"))
		return parse_name(p, k, v, c->influx.database,
		    sizeof(c->influx.database), false);
	if (!strcmp(k, "retention_policy"))
		return parse_str(p, k, v, c->influx.retention_policy,
		    sizeof(c->influx.retention_policy));
	if (!strcmp(k, "user"))
		return parse_str(p, k, v, c->influx.user,
		    sizeof(c->influx.user));
	if (!strcmp(k, "password_file"))
		return parse_path(p, k, v, c->influx.password_file,
		    sizeof(c->influx.password_file));
	if (!strcmp(k, "org"))
		return parse_str(p, k, v, c->influx.org, sizeof(c->influx.org));
	if (!strcmp(k, "bucket"))
		return parse_str(p, k, v, c->influx.bucket,
		    sizeof(c->influx.bucket));
	if (!strcmp(k, "token_file"))
		return parse_path(p, k, v, c->influx.token_file,
		    sizeof(c->influx.token_file));
	if (!strcmp(k, "token_env"))
		return parse_str(p, k, v, c->influx.token_env,
		    sizeof(c->influx.token_env));
	if (!strcmp(k, "token") || !strcmp(k, "password"))
		return perr(p, "%s: secrets do not go in the config file; use "
		    "%s_file (or token_env)", k, k);
	return perr(p, "unknown key \"%s\" in [influxdb]", k);
}

static int
handle_grafana(struct parse *p, const char *k, const char *v)
{
	struct config *c = p->cfg;

	if (!strcmp(k, "enabled")) {
		bool b;
		if (!strcmp(v, "auto")) {
			c->grafana.enabled = TRI_AUTO;
			return 1;
		}
		if (!parse_bool(p, k, v, &b))
			return 0;
		c->grafana.enabled = b ? TRI_YES : TRI_NO;
		return 1;
	}
	if (!strcmp(k, "port"))
		return parse_int(p, k, v, 1024, 65535, &c->grafana.port);
	if (!strcmp(k, "admin_password_file"))
		return parse_path(p, k, v, c->grafana.admin_password_file,
		    sizeof(c->grafana.admin_password_file));
	if (!strcmp(k, "dir"))
		return parse_path(p, k, v, c->grafana.dir,
		    sizeof(c->grafana.dir));
	return perr(p, "unknown key \"%s\" in [grafana]", k);
}

static int
handle_docker(struct parse *p, const char *k, const char *v)
{
	struct config *c = p->cfg;

	if (!strcmp(k, "host"))
		return parse_str(p, k, v, c->docker.host, sizeof(c->docker.host));
	if (!strcmp(k, "image_postgres"))
		return parse_str(p, k, v, c->docker.image_postgres, CFG_STR);
	if (!strcmp(k, "image_influxdb"))
		return parse_str(p, k, v, c->docker.image_influxdb, CFG_STR);
	if (!strcmp(k, "image_grafana"))
		return parse_str(p, k, v, c->docker.image_grafana, CFG_STR);
	return perr(p, "unknown key \"%s\" in [docker]", k);
}

static int
handle_replication(struct parse *p, const char *k, const char *v)
{
	struct config *c = p->cfg;

	if (!strcmp(k, "scale"))
		return parse_int(p, k, v, 1, 1000, &c->replication.scale);
	if (!strcmp(k, "heartbeat_ms"))
		return parse_int(p, k, v, 10, 60000,
		    &c->replication.heartbeat_ms);
	if (!strcmp(k, "publication"))
		return parse_name(p, k, v, c->replication.publication,
		    sizeof(c->replication.publication), false);
	return perr(p, "unknown key \"%s\" in [replication]", k);
}

static int
handle_hum(struct parse *p, const char *k, const char *v)
{
	struct config *c = p->cfg;

	if (!strcmp(k, "clients"))
		return parse_int(p, k, v, 0, 64, &c->hum.clients);
	if (!strcmp(k, "rate"))
		return parse_double(p, k, v, 0, 1e6, &c->hum.rate);
	if (!strcmp(k, "workload")) {
		for (int w = WL_TPCB; w <= WL_SCRIPT; w++)
			if (!strcmp(v, workload_name(w))) {
				c->hum.workload = w;
				return 1;
			}
		return perr(p, "workload: \"%s\" is not tpcb, select, "
		    "contention or script", v);
	}
	if (!strcmp(k, "script"))
		return parse_path(p, k, v, c->hum.script, sizeof(c->hum.script));
	if (!strcmp(k, "node"))
		return parse_name(p, k, v, c->hum.node, sizeof(c->hum.node),
		    false);
	if (!strcmp(k, "chaos"))
		return parse_bool(p, k, v, &c->hum.chaos);
	if (!strcmp(k, "chaos_min"))
		return parse_double(p, k, v, 0, 100, &c->hum.chaos_min);
	if (!strcmp(k, "chaos_max"))
		return parse_double(p, k, v, 0, 100, &c->hum.chaos_max);
	return perr(p, "unknown key \"%s\" in [hum]", k);
}

static int
handle_sampler(struct parse *p, const char *k, const char *v)
{
	struct config *c = p->cfg;

	if (!strcmp(k, "enabled"))
		return parse_bool(p, k, v, &c->sampler.enabled);
	if (!strcmp(k, "interval_ms"))
		return parse_int(p, k, v, 10, 60000, &c->sampler.interval_ms);
	if (!strcmp(k, "locks_interval_ms"))
		return parse_int(p, k, v, 10, 60000,
		    &c->sampler.locks_interval_ms);
	return perr(p, "unknown key \"%s\" in [sampler]", k);
}

static int
handle_writer(struct parse *p, const char *k, const char *v)
{
	struct config *c = p->cfg;

	if (!strcmp(k, "batch_points"))
		return parse_int(p, k, v, 1, 1000000, &c->writer.batch_points);
	if (!strcmp(k, "flush_ms"))
		return parse_int(p, k, v, 1, 60000, &c->writer.flush_ms);
	if (!strcmp(k, "spool_max_mb"))
		return parse_int(p, k, v, 1, 1048576, &c->writer.spool_max_mb);
	if (!strcmp(k, "timeout_ms"))
		return parse_int(p, k, v, 100, 600000, &c->writer.timeout_ms);
	if (!strcmp(k, "lane_records")) {
		if (!parse_int(p, k, v, 64, 1 << 20, &c->writer.lane_records))
			return 0;
		if (c->writer.lane_records & (c->writer.lane_records - 1))
			return perr(p, "lane_records: %d is not a power of two",
			    c->writer.lane_records);
		return 1;
	}
	return perr(p, "unknown key \"%s\" in [writer]", k);
}

static int
handler(void *user, const char *section, const char *name, const char *value)
{
	struct parse *p = user;
	char key[80];

	if (p->err[0] != '\0')
		return 0;
	snprintf(key, sizeof(key), "%s.%s", section, name ? name : "");
	if (name == NULL) {
		/* a new section (inih calls with name NULL when built so) */
		return 1;
	}
	for (int i = 0; i < p->nseen; i++)
		if (!strcmp(p->seen[i], key))
			return perr(p, "%s: set twice in [%s]", name, section);
	if (p->nseen < 64) {
		p->seen_line[p->nseen] = p->line;
		snprintf(p->seen[p->nseen++], sizeof(p->seen[0]), "%s", key);
	}

	if (!strcmp(section, "lab"))
		return handle_lab(p, name, value);
	if (!strncmp(section, "node ", 5)) {
		struct node_cfg *n = node_for_section(p, section);
		if (n == NULL) {
			if (!new_node(p, section + 5))
				return 0;
			n = &p->cfg->nodes[p->cfg->nnodes - 1];
		} else if (!p->node_seen[n - p->cfg->nodes])
			return perr(p, "internal: node %s", n->name);
		return handle_node(p, n, name, value);
	}
	if (!strcmp(section, "influxdb"))
		return handle_influx(p, name, value);
	if (!strcmp(section, "grafana"))
		return handle_grafana(p, name, value);
	if (!strcmp(section, "docker"))
		return handle_docker(p, name, value);
	if (!strcmp(section, "replication"))
		return handle_replication(p, name, value);
	if (!strcmp(section, "hum"))
		return handle_hum(p, name, value);
	if (!strcmp(section, "sampler"))
		return handle_sampler(p, name, value);
	if (!strcmp(section, "writer"))
		return handle_writer(p, name, value);
	if (section[0] == '\0')
		return perr(p, "\"%s\" is outside any section (start with "
		    "[lab])", name);
	return perr(p, "unknown section [%s]", section);
}

static bool
utf8_valid(const unsigned char *s)
{
	while (*s) {
		int n;
		if (*s < 0x80)
			n = 0;
		else if ((*s & 0xe0) == 0xc0 && *s >= 0xc2)
			n = 1;
		else if ((*s & 0xf0) == 0xe0)
			n = 2;
		else if ((*s & 0xf8) == 0xf0 && *s <= 0xf4)
			n = 3;
		else
			return false;
		s++;
		for (; n > 0; n--, s++)
			if ((*s & 0xc0) != 0x80)
				return false;
	}
	return true;
}

/*
 * inih only reports a section once it holds a key: check section headers
 * here so an unknown or empty-named section is an error even when empty.
 */
static bool
section_line_ok(struct parse *p, const char *line)
{
	static const char *const known[] = { "lab", "influxdb", "grafana",
		"docker", "replication", "hum", "sampler", "writer" };
	const char *s = line, *e;
	char name[80];

	while (*s == ' ' || *s == '\t')
		s++;
	if (*s != '[')
		return true;
	p->section_line = p->line;
	e = strchr(s, ']');
	if (e == NULL) {
		perr(p, "syntax error: \"[\" without \"]\"");
		return false;
	}
	snprintf(name, sizeof(name), "%.*s", (int)(e - s - 1), s + 1);
	/* a section given twice would silently merge: refuse it */
	for (int i = 0; i < p->nsections; i++)
		if (!strcmp(p->sections[i], name)) {
			perr(p, "[%s] appears twice (first at line %d): one "
			    "section per name", name, p->section_lines[i]);
			return false;
		}
	if (p->nsections < 32) {
		p->section_lines[p->nsections] = p->line;
		snprintf(p->sections[p->nsections++], sizeof(p->sections[0]),
		    "%s", name);
	}
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (!strcmp(name, known[i]))
			return true;
	if (!strncmp(name, "node ", 5) && name[5] != '\0')
		return true;
	perr(p, "unknown section [%s] (expected lab, node NAME, influxdb, "
	    "grafana, docker, replication, hum, sampler or writer)", name);
	return false;
}

/*
 * inih reader over the file in memory: counts lines and refuses NUL bytes,
 * non-UTF-8 and over-long lines (which fgets would hide or split).
 */
static char *
reader(char *str, int num, void *stream)
{
	struct parse *p = stream;
	const char *start = p->text + p->off, *nl;
	size_t len, rest = p->len - p->off;

	if (rest == 0 || p->err[0] != '\0')
		return NULL;
	nl = memchr(start, '\n', rest);
	len = nl != NULL ? (size_t)(nl - start) + 1 : rest;
	p->off += len;
	p->line++;
	if (len > (size_t)num - 1) {
		perr(p, "line is longer than %d characters", num - 2);
		return NULL;
	}
	if (memchr(start, '\0', len) != NULL) {
		perr(p, "a NUL byte: this is not a text file");
		return NULL;
	}
	memcpy(str, start, len);
	str[len] = '\0';
	if (!utf8_valid((unsigned char *)str)) {
		perr(p, "not valid UTF-8 text");
		return NULL;
	}
	if (!section_line_ok(p, str))
		return NULL;
	return str;
}

/* Point p->line at where section.key was set (or the first line). */
static void
at_key(struct parse *p, const char *key)
{
	p->line = 1;
	for (int i = 0; i < p->nseen; i++)
		if (!strcmp(p->seen[i], key))
			p->line = p->seen_line[i];
}

static int
validate(struct parse *p)
{
	struct config *c = p->cfg;
	int npub = 0;

	for (int i = 0; i < c->nnodes; i++) {
		struct node_cfg *n = &c->nodes[i];
		p->line = n->line;
		if (n->role == 0)
			return perr(p, "[node %s]: role is missing (publisher "
			    "or subscriber)", n->name);
		if (n->port == 0)
			return perr(p, "[node %s]: port is missing", n->name);
		if (n->role == NODE_PUBLISHER) {
			npub++;
			if (n->tables[0] || n->row_filter[0])
				return perr(p, "[node %s]: tables and "
				    "row_filter are for subscribers", n->name);
		}
		for (int j = 0; j < i; j++)
			if (c->nodes[j].port == n->port)
				return perr(p, "[node %s]: port %d is already "
				    "used by node %s", n->name, n->port,
				    c->nodes[j].name);
		if (n->port == c->influx.port)
			return perr(p, "[node %s]: port %d is InfluxDB's port",
			    n->name, n->port);
		if (n->port == c->grafana.port)
			return perr(p, "[node %s]: port %d is Grafana's port",
			    n->name, n->port);
	}
	p->line = c->nnodes > 0 ? c->nodes[0].line : 1;
	if (npub == 0)
		return perr(p, "no publisher: add a [node NAME] section with "
		    "role = publisher");
	if (npub > 1) {
		for (int i = 0, seen = 0; i < c->nnodes; i++)
			if (c->nodes[i].role == NODE_PUBLISHER && seen++)
				p->line = c->nodes[i].line;
		return perr(p, "more than one publisher: labsup labs have "
		    "exactly one");
	}
	at_key(p, "grafana.port");
	if (c->influx.port == c->grafana.port)
		return perr(p, "InfluxDB and Grafana both on port %d",
		    c->influx.port);
	at_key(p, "hum.node");
	if (c->hum.node[0] && config_node(c, c->hum.node) == NULL)
		return perr(p, "[hum] node = %s: no such node", c->hum.node);
	at_key(p, "hum.workload");
	if (c->hum.workload == WL_SCRIPT && c->hum.script[0] == '\0')
		return perr(p, "[hum] workload = script needs script = FILE");
	at_key(p, "hum.chaos_max");
	if (c->hum.chaos_min > c->hum.chaos_max)
		return perr(p, "[hum] chaos_min %g is above chaos_max %g",
		    c->hum.chaos_min, c->hum.chaos_max);
	at_key(p, "sampler.locks_interval_ms");
	if (c->sampler.locks_interval_ms < c->sampler.interval_ms)
		return perr(p, "[sampler] locks_interval_ms %d is shorter than "
		    "interval_ms %d", c->sampler.locks_interval_ms,
		    c->sampler.interval_ms);
	at_key(p, "influxdb.version");
	if (c->influx.version == 2 && (!c->influx.org[0] || !c->influx.bucket[0]))
		return perr(p, "[influxdb] version = 2 needs org and bucket");
	return 1;
}

static void
finish(struct config *c)
{
	if (c->lab.state_dir[0] == '\0')
		default_state_dir(c->lab.state_dir, sizeof(c->lab.state_dir),
		    c->lab.name);
	snprintf(c->influx.url, sizeof(c->influx.url), "http://%s:%d",
	    strchr(c->lab.bind, ':') ? "[::1]" : c->lab.bind, c->influx.port);
}

static int
read_file(const char *path, struct parse *p, char *err, size_t errlen)
{
	FILE *fp = fopen(path, "r");
	char *buf;
	size_t n;

	if (fp == NULL) {
		snprintf(err, errlen, "%s: cannot read: %s", path,
		    strerror(errno));
		return -1;
	}
	buf = malloc(CFG_MAX_FILE + 1);
	if (buf == NULL) {
		fclose(fp);
		snprintf(err, errlen, "%s: out of memory", path);
		return -1;
	}
	n = fread(buf, 1, CFG_MAX_FILE + 1, fp);
	if (ferror(fp) || n > CFG_MAX_FILE) {
		snprintf(err, errlen, "%s: %s", path, ferror(fp) ?
		    "read error" : "larger than 1 MB: not a labsup config");
		fclose(fp);
		free(buf);
		return -1;
	}
	fclose(fp);
	p->text = buf;
	p->len = n;
	p->off = 0;
	return 0;
}

int
config_load(struct config *cfg, const char *path, char *err, size_t errlen)
{
	struct parse p;
	int rc;

	config_defaults(cfg);
	if (path == NULL || path[0] == '\0') {
		finish(cfg);
		return 0;
	}
	memset(&p, 0, sizeof(p));
	p.cfg = cfg;
	p.file = path;
	if (strlen(path) >= sizeof(cfg->path)) {
		snprintf(err, errlen, "%s: path too long", path);
		return -1;
	}
	snprintf(cfg->path, sizeof(cfg->path), "%s", path);
	if (read_file(path, &p, err, errlen) == -1)
		return -1;
	/* A file that names nodes replaces the default three entirely. */
	int saved_nnodes = cfg->nnodes;
	cfg->nnodes = 0;
	rc = ini_parse_stream(reader, &p, handler, &p);
	free((char *)p.text);
	if (p.err[0] == '\0' && rc != 0) {
		p.err_line = rc > 0 ? rc : p.line;
		snprintf(p.err, sizeof(p.err), "%s",
		    rc == -2 ? "out of memory" :
		    "syntax error (expected [section] or key = value)");
	}
	if (p.err[0] == '\0') {
		if (cfg->nnodes == 0) {
			struct config d;
			config_defaults(&d);
			memcpy(cfg->nodes, d.nodes, sizeof(d.nodes));
			cfg->nnodes = saved_nnodes;
		}
		validate(&p);
	}
	if (p.err[0] != '\0') {
		snprintf(err, errlen, "%s:%d: %s", path, p.err_line, p.err);
		return -1;
	}
	finish(cfg);
	return 0;
}

/* Only [lab] name and state_dir: enough to find a running lab. */
static int
identity_handler(void *user, const char *section, const char *name,
    const char *value)
{
	struct config *c = user;

	if (name == NULL || strcmp(section, "lab") != 0)
		return 1;
	if (!strcmp(name, "name") && strlen(value) < sizeof(c->lab.name))
		snprintf(c->lab.name, sizeof(c->lab.name), "%s", value);
	else if (!strcmp(name, "state_dir") && value[0] == '/' &&
	    strlen(value) < sizeof(c->lab.state_dir))
		snprintf(c->lab.state_dir, sizeof(c->lab.state_dir), "%s", value);
	return 1;
}

int
config_load_identity(struct config *cfg, const char *path)
{
	config_defaults(cfg);
	if (path != NULL && path[0] != '\0') {
		snprintf(cfg->path, sizeof(cfg->path), "%s", path);
		if (ini_parse(path, identity_handler, cfg) < 0)
			return -1;
	}
	finish(cfg);
	return 0;
}

int
config_set_backend(struct config *cfg, const char *name)
{
	if (!strcmp(name, "auto"))
		cfg->lab.backend = BACKEND_AUTO;
	else if (!strcmp(name, "docker"))
		cfg->lab.backend = BACKEND_DOCKER;
	else if (!strcmp(name, "local"))
		cfg->lab.backend = BACKEND_LOCAL;
	else
		return -1;
	return 0;
}

const struct node_cfg *
config_node(const struct config *cfg, const char *name)
{
	for (int i = 0; i < cfg->nnodes; i++)
		if (!strcmp(cfg->nodes[i].name, name))
			return &cfg->nodes[i];
	return NULL;
}

const struct node_cfg *
config_publisher(const struct config *cfg)
{
	for (int i = 0; i < cfg->nnodes; i++)
		if (cfg->nodes[i].role == NODE_PUBLISHER)
			return &cfg->nodes[i];
	return NULL;
}

void
config_print(const struct config *c, FILE *fp)
{
	fprintf(fp, "; effective configuration%s%s\n",
	    c->path[0] ? " of " : " (built-in defaults)", c->path);
	fprintf(fp, "[lab]\nname = %s\nbackend = %s\nstate_dir = %s\n"
	    "run_as = %s\nbind = %s\npg_bin = %s\ndatabase = %s\nuser = %s\n\n",
	    c->lab.name, backend_name(c->lab.backend), c->lab.state_dir,
	    c->lab.run_as, c->lab.bind, c->lab.pg_bin, c->lab.database,
	    c->lab.user);
	for (int i = 0; i < c->nnodes; i++) {
		const struct node_cfg *n = &c->nodes[i];
		fprintf(fp, "[node %s]\nrole = %s\nport = %d\n", n->name,
		    n->role == NODE_PUBLISHER ? "publisher" : "subscriber",
		    n->port);
		if (n->tables[0])
			fprintf(fp, "tables = %s\n", n->tables);
		if (n->row_filter[0])
			fprintf(fp, "row_filter = %s\n", n->row_filter);
		fputc('\n', fp);
	}
	fprintf(fp, "[influxdb]\nversion = %d\nport = %d\n", c->influx.version,
	    c->influx.port);
	if (c->influx.version == 1)
		fprintf(fp, "database = %s\n", c->influx.database);
	if (c->influx.retention_policy[0])
		fprintf(fp, "retention_policy = %s\n",
		    c->influx.retention_policy);
	if (c->influx.user[0])
		fprintf(fp, "user = %s\n", c->influx.user);
	if (c->influx.password_file[0])
		fprintf(fp, "password_file = %s\n", c->influx.password_file);
	if (c->influx.version == 2)
		fprintf(fp, "org = %s\nbucket = %s\n", c->influx.org,
		    c->influx.bucket);
	if (c->influx.token_file[0])
		fprintf(fp, "token_file = %s\n", c->influx.token_file);
	fprintf(fp, "token_env = %s\n\n", c->influx.token_env);
	fprintf(fp, "[grafana]\nenabled = %s\nport = %d\ndir = %s\n\n",
	    tristate_name(c->grafana.enabled), c->grafana.port, c->grafana.dir);
	fprintf(fp, "[docker]\n%s%s%simage_postgres = %s\nimage_influxdb = %s\n"
	    "image_grafana = %s\n\n", c->docker.host[0] ? "host = " : "",
	    c->docker.host, c->docker.host[0] ? "\n" : "",
	    c->docker.image_postgres, c->docker.image_influxdb,
	    c->docker.image_grafana);
	fprintf(fp, "[replication]\nscale = %d\nheartbeat_ms = %d\n"
	    "publication = %s\n\n", c->replication.scale,
	    c->replication.heartbeat_ms, c->replication.publication);
	fprintf(fp, "[hum]\nclients = %d\nrate = %g\nworkload = %s\n",
	    c->hum.clients, c->hum.rate, workload_name(c->hum.workload));
	if (c->hum.script[0])
		fprintf(fp, "script = %s\n", c->hum.script);
	if (c->hum.node[0])
		fprintf(fp, "node = %s\n", c->hum.node);
	fprintf(fp, "chaos = %s\nchaos_min = %g\nchaos_max = %g\n\n",
	    c->hum.chaos ? "yes" : "no", c->hum.chaos_min, c->hum.chaos_max);
	fprintf(fp, "[sampler]\nenabled = %s\ninterval_ms = %d\n"
	    "locks_interval_ms = %d\n\n", c->sampler.enabled ? "yes" : "no",
	    c->sampler.interval_ms, c->sampler.locks_interval_ms);
	fprintf(fp, "[writer]\nbatch_points = %d\nflush_ms = %d\n"
	    "spool_max_mb = %d\nlane_records = %d\ntimeout_ms = %d\n",
	    c->writer.batch_points, c->writer.flush_ms, c->writer.spool_max_mb,
	    c->writer.lane_records, c->writer.timeout_ms);
}
