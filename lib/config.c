/*
 * config.c: built-in defaults, the INI parser (libinih) and validation.
 * Every error names the file and line; nothing here exits.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "labsup.h"
#include "link.h"

#define DEFAULT_PG_BIN "/usr/lib/postgresql/15/bin"
/* the last resort for [grafana] dir (set by the Makefile: GRAFANA_DIR) */
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
	char seen[128][80];	/* section.key already set: duplicates */
	int seen_line[128];	/* where each was set */
	int nseen;
	int section_line;	/* line of the current [section] header */
	bool node_seen[CFG_MAX_NODES];
	char sections[32][80];	/* section headers met so far */
	int section_lines[32];
	int nsections;
};

#define CFG_MAX_FILE (1 << 20)

/*
 * [grafana] dir's default, found where the binary is (readlink
 * /proc/self/exe), once, by config_defaults():
 *   <prefix>/share/labsup/grafana when the binary is <prefix>/bin/labsup
 *     and that directory has provisioning/ (make install, the .deb);
 *   else <tree>/grafana when the binary runs from a build tree
 *     (<tree>/<build>/labsup, and <tree>/grafana/mkdash.sh is there);
 *   else the compiled-in LABSUP_GRAFANA_DIR.
 * The key table's row points at this buffer, so `config keys` and
 * `config check` show the value in use.
 */
static char grafana_dir_default[CFG_PATH] = LABSUP_GRAFANA_DIR;
static pthread_once_t grafana_dir_once = PTHREAD_ONCE_INIT;

static bool
is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* dir = base sub, if it fits and dir/probe exists (probe/: a directory) */
static bool
grafana_dir_try(char *dir, size_t len, const char *base, const char *sub,
    const char *probe)
{
	char path[CFG_PATH + 32];
	int n = snprintf(dir, len, "%s%s", base, sub);

	if (n < 0 || (size_t)n >= len)
		return false;
	snprintf(path, sizeof(path), "%s/%s", dir, probe);
	return probe[strlen(probe) - 1] == '/' ? is_dir(path) :
	    access(path, F_OK) == 0;
}

static void
grafana_dir_find(void)
{
	char exe[CFG_PATH], dir[CFG_PATH], *slash;
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (n <= 0 || exe[0] != '/')
		return;
	exe[n] = '\0';
	/* the binary -> its directory -> that one's parent ("" for "/") */
	for (int up = 0; up < 2; up++) {
		if ((slash = strrchr(exe, '/')) == NULL)
			return;
		*slash = '\0';
	}
	if (grafana_dir_try(dir, sizeof(dir), exe, "/share/labsup/grafana",
	    "provisioning/") ||
	    (grafana_dir_try(dir, sizeof(dir), exe, "/grafana", "mkdash.sh") &&
	    grafana_dir_try(dir, sizeof(dir), exe, "/grafana", "provisioning/")))
		memcpy(grafana_dir_default, dir, sizeof(dir));
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

/* ---- the key table ------------------------------------------------------ */

static const char *const backend_names[] = { "auto", "docker", "local", NULL };
static const char *const role_names[] = { "", "publisher", "subscriber", NULL };
static const char *const sampler_source_names[] = { "auto", "probe", "sql",
	NULL };
static const char *const workload_names[] = { "tpcb", "select", "contention",
	"script", NULL };
static const char *const link_direction_names[] = { "both", "down", "up",
	NULL };
static const char *const profile_names[] = { "flat", "pulse", "ramp", "sine",
	NULL };

#define C(f) offsetof(struct config, f), sizeof(((struct config *)0)->f)
#define N(f) offsetof(struct node_cfg, f), sizeof(((struct node_cfg *)0)->f)
#define PORT 1024, 65535

/*
 * Every key of the file: section, key, type, field, limits, enum names,
 * default (as text, parsed like the file's), one line of documentation.
 * labsup.conf.example must agree (tests/unit/test_config.c checks it).
 */
const struct cfg_key cfg_keys[] = {
	{ "lab", "name", CT_NAME_DASH, C(lab.name), 0, 0, NULL, "default",
	  "names the shared memory (/labsup.<uid>.<name>), containers and volumes" },
	{ "lab", "backend", CT_ENUM, C(lab.backend), 0, 0, backend_names, "auto",
	  "auto: docker when a Docker engine answers, local processes otherwise" },
	{ "lab", "state_dir", CT_PATH, C(lab.state_dir), 0, 0, NULL, NULL,
	  "where the lab keeps its data, log, pidfile and secrets (default: /var/lib/labsup/<name> for root, else $XDG_STATE_HOME/labsup/<name> or ~/.local/state/labsup/<name>)" },
	{ "lab", "run_as", CT_NAME_DASH, C(lab.run_as), 0, 0, NULL, "postgres",
	  "the user the servers run as when labsup runs as root (local backend)" },
	{ "lab", "bind", CT_ADDR, C(lab.bind), 0, 0, NULL, "127.0.0.1",
	  "the address every server listens on (keep it on loopback: no TLS)" },
	{ "lab", "pg_bin", CT_PATH, C(lab.pg_bin), 0, 0, NULL, DEFAULT_PG_BIN,
	  "the PostgreSQL server binaries (local backend, image build)" },
	{ "lab", "database", CT_NAME, C(lab.database), 0, 0, NULL, "labsup",
	  "the lab's database on every node" },
	{ "lab", "user", CT_NAME, C(lab.user), 0, 0, NULL, "labsup",
	  "the lab's PostgreSQL role" },

	{ CFG_NODE, "role", CT_ENUM, N(role), 0, 0, role_names, NULL,
	  "publisher (exactly one) or subscriber; required" },
	{ CFG_NODE, "port", CT_INT, N(port), PORT, NULL, NULL,
	  "the node's port on the bind address; required" },
	{ CFG_NODE, "tables", CT_STR, N(tables), 0, 0, NULL, NULL,
	  "subscriber: the lab tables it takes (default all), e.g. accounts, history" },
	{ CFG_NODE, "row_filter", CT_STR, N(row_filter), 0, 0, NULL, NULL,
	  "subscriber: row filters, \"table: condition; table: condition\"" },
	/* issue 15: per-node server settings and container limits */
	{ CFG_NODE, "settings", CT_STR, N(settings), 0, 0, NULL, NULL,
	  "server settings of this node, \"name=value; name=value\", after the lab's own" },
	{ CFG_NODE, "memory", CT_STR, N(memory), 0, 0, NULL, NULL,
	  "docker: the container's memory limit, e.g. 512m or 2g (default none)" },
	{ CFG_NODE, "cpus", CT_DOUBLE, N(cpus), 0, 1024, NULL, NULL,
	  "docker: the container's CPU limit, e.g. 1.5 (default none)" },

	{ "influxdb", "version", CT_INT, C(influx.version), 1, 2, NULL, "1",
	  "1 (InfluxQL, /write?db=) or 2 (/api/v2/write?org=&bucket=)" },
	{ "influxdb", "port", CT_INT, C(influx.port), PORT, NULL, "18086",
	  "InfluxDB's port on the bind address" },
	{ "influxdb", "database", CT_NAME, C(influx.database), 0, 0, NULL,
	  "labsup", "1.x: the database the lab writes to" },
	{ "influxdb", "retention_policy", CT_STR, C(influx.retention_policy), 0,
	  0, NULL, NULL, "1.x: the retention policy (default the database's)" },
	{ "influxdb", "user", CT_STR, C(influx.user), 0, 0, NULL, NULL,
	  "1.x authentication, optional" },
	{ "influxdb", "password_file", CT_PATH, C(influx.password_file), 0, 0,
	  NULL, NULL, "1.x: a file holding the user's password" },
	{ "influxdb", "org", CT_STR, C(influx.org), 0, 0, NULL, NULL,
	  "2.x: the organization" },
	{ "influxdb", "bucket", CT_STR, C(influx.bucket), 0, 0, NULL, NULL,
	  "2.x: the bucket" },
	{ "influxdb", "token_file", CT_PATH, C(influx.token_file), 0, 0, NULL,
	  NULL, "2.x: a file holding the token" },
	{ "influxdb", "token_env", CT_STR, C(influx.token_env), 0, 0, NULL,
	  "LABSUP_INFLUX_TOKEN", "2.x: the environment variable holding the token" },
	{ "influxdb", "token", CT_SECRET, 0, 0, 0, 0, NULL, NULL,
	  "refused: secrets do not go in the config file (token_file)" },
	{ "influxdb", "password", CT_SECRET, 0, 0, 0, 0, NULL, NULL,
	  "refused: secrets do not go in the config file (password_file)" },

	{ "grafana", "enabled", CT_TRISTATE, C(grafana.enabled), 0, 0, NULL,
	  "auto", "auto: start Grafana when it is installed (or its image exists)" },
	{ "grafana", "port", CT_INT, C(grafana.port), PORT, NULL, "13000",
	  "Grafana's port on the bind address" },
	{ "grafana", "admin_password_file", CT_PATH,
	  C(grafana.admin_password_file), 0, 0, NULL, NULL,
	  "a file holding Grafana's admin password" },
	{ "grafana", "dir", CT_PATH, C(grafana.dir), 0, 0, NULL,
	  grafana_dir_default, "holds Grafana's provisioning/ and dashboards/ "
	  "(default: <bindir>/../share/labsup/grafana when installed, else "
	  "the source tree's grafana/ when run from a build tree)" },

	{ "docker", "host", CT_STR, C(docker.host), 0, 0, NULL, NULL,
	  "the Docker engine (default $DOCKER_HOST, else unix:///var/run/docker.sock)" },
	{ "docker", "image_postgres", CT_STR, C(docker.image_postgres), 0, 0,
	  NULL, "labsup/postgres:15", "built offline by `labsup image build`" },
	{ "docker", "image_influxdb", CT_STR, C(docker.image_influxdb), 0, 0,
	  NULL, "labsup/influxdb:1.6", "built offline by `labsup image build`" },
	{ "docker", "image_grafana", CT_STR, C(docker.image_grafana), 0, 0, NULL,
	  "grafana/grafana-oss:latest", "used when present" },

	{ "replication", "scale", CT_INT, C(replication.scale), 1, 1000, NULL,
	  "10", "pgbench scale of the lab tables: accounts = 100000 x scale rows" },
	{ "replication", "heartbeat_ms", CT_INT, C(replication.heartbeat_ms), 10,
	  60000, NULL, "100", "how often the publisher's heartbeat row is updated" },
	{ "replication", "publication", CT_NAME, C(replication.publication), 0,
	  0, NULL, "labsup_pub", "the publication of the lab tables" },
	/* issue 15: your own schema and data */
	{ "replication", "schema", CT_STR, C(replication.schema), 0, 0, NULL,
	  "pgbench", "pgbench (its four tables at scale), or a SQL file of CREATE TABLE statements (absolute path)" },
	{ "replication", "data", CT_PATH, C(replication.data), 0, 0, NULL, NULL,
	  "with your own schema: a SQL file, or a directory of TABLE.csv files (a header line each), loaded once on the publisher" },

	{ "hum", "clients", CT_INT, C(hum.clients), 0, 64, NULL, "2",
	  "one worker process (and connection) per client" },
	{ "hum", "rate", CT_DOUBLE, C(hum.rate), 0, 1e6, NULL, "100",
	  "transactions per second over all clients (Poisson arrivals); 0 = flat out" },
	{ "hum", "workload", CT_ENUM, C(hum.workload), 0, 0, workload_names,
	  "tpcb", "tpcb | select | contention | script" },
	{ "hum", "script", CT_PATH, C(hum.script), 0, 0, NULL, NULL,
	  "workload = script: a SQL file, statements separated by ;" },
	{ "hum", "node", CT_NAME, C(hum.node), 0, 0, NULL, NULL,
	  "the node the hum runs against (default the publisher)" },
	{ "hum", "chaos", CT_BOOL, C(hum.chaos), 0, 0, NULL, "no",
	  "vary the rate at random between chaos_min and chaos_max times rate" },
	{ "hum", "chaos_min", CT_DOUBLE, C(hum.chaos_min), 0, 100, NULL, "0.2",
	  "the lowest chaos factor" },
	{ "hum", "chaos_max", CT_DOUBLE, C(hum.chaos_max), 0, 100, NULL, "3",
	  "the highest chaos factor" },
	/* issue 15: load profiles, in [hum] and every [hum NAME] */
	{ "hum", "profile", CT_ENUM, C(hum.profile), 0, 0, profile_names,
	  "flat", "flat | pulse (x peak for pulse_s every period_s) | ramp (low to peak over period_s) | sine (low..peak, period_s)" },
	{ "hum", "period_s", CT_DOUBLE, C(hum.period_s), 1, 86400, NULL, "60",
	  "the profile's period: pulse every, sine cycle, ramp length (seconds)" },
	{ "hum", "pulse_s", CT_DOUBLE, C(hum.pulse_s), 0.1, 86400, NULL, "10",
	  "pulse: how long each pulse lasts (seconds, under period_s)" },
	{ "hum", "low", CT_DOUBLE, C(hum.low), 0.01, 100, NULL, "1",
	  "ramp and sine: the lowest factor of rate (ramp: where it starts)" },
	{ "hum", "peak", CT_DOUBLE, C(hum.peak), 0.01, 100, NULL, "3",
	  "pulse, ramp and sine: the highest factor of rate" },

	{ "sampler", "enabled", CT_BOOL, C(sampler.enabled), 0, 0, NULL, "yes",
	  "one lock sampler per node" },
	{ "sampler", "interval_ms", CT_INT, C(sampler.interval_ms), 1, 60000,
	  NULL, "100", "pg_stat_activity and blocking pairs, 10 (100 Hz) to 60000; "
	  "from 1 (1 kHz) with source = probe" },
	{ "sampler", "locks_interval_ms", CT_INT, C(sampler.locks_interval_ms),
	  1, 60000, NULL, "100", "pg_locks: a multiple of interval_ms, not shorter" },
	/* issue 18: the in-server probe */
	{ "sampler", "source", CT_ENUM, C(sampler.source), 0, 0,
	  sampler_source_names, "auto", "sql: a query per tick; probe: the "
	  "in-server probe; auto: the probe where it loads, else sql" },

	{ "writer", "batch_points", CT_INT, C(writer.batch_points), 1, 1000000,
	  NULL, "5000", "a batch goes out at batch_points or after flush_ms" },
	{ "writer", "flush_ms", CT_INT, C(writer.flush_ms), 1, 60000, NULL, "200",
	  "the longest a point waits in a batch" },
	{ "writer", "spool_max_mb", CT_INT, C(writer.spool_max_mb), 1, 1048576,
	  NULL, "256", "on-disk spool while InfluxDB is down; beyond it the oldest data is dropped, counted" },
	{ "writer", "lane_records", CT_POW2, C(writer.lane_records), 64, 1 << 20,
	  NULL, "4096", "records per lane (a power of two); fixed when the lab starts" },
	{ "writer", "timeout_ms", CT_INT, C(writer.timeout_ms), 100, 600000,
	  NULL, "5000", "one HTTP request to InfluxDB" },

	{ CFG_LINK, "latency_ms", CT_INT, N(link.latency_ms), 0, LINK_MAX_MS,
	  NULL, "0", "delay added to every byte, one way, in each direction named" },
	{ CFG_LINK, "jitter_ms", CT_INT, N(link.jitter_ms), 0, LINK_MAX_MS,
	  NULL, "0", "+- this much at random on the latency (bytes keep their order)" },
	{ CFG_LINK, "rate_kbps", CT_INT, N(link.rate_kbps), 0, LINK_MAX_KBPS,
	  NULL, "0", "bandwidth, kilobytes per second per direction; 0 = unlimited" },
	{ CFG_LINK, "direction", CT_ENUM, N(link.direction), 0, 0,
	  link_direction_names, "both",
	  "where latency, jitter and rate apply: both, down (publisher to subscriber) or up" },
	{ CFG_LINK, "stall", CT_BOOL, N(link.stall), 0, 0, NULL, "no",
	  "hold every byte (connections stay up, nothing flows)" },
	{ CFG_LINK, "partition", CT_BOOL, N(link.partition), 0, 0, NULL, "no",
	  "cut the link's connections and refuse new ones" },
	{ CFG_LINK, "bypass", CT_BOOL, N(link.bypass), 0, 0, NULL, "no",
	  "no link: the subscription goes straight to the publisher (to compare)" },
};
const size_t cfg_nkeys = sizeof(cfg_keys) / sizeof(cfg_keys[0]);

#undef C
#undef N
#undef PORT

/* "node NAME" or "link NAME": the name, else NULL. */
static const char *
per_node_name(const char *section, const char *kind)
{
	size_t l = strlen(kind);

	return !strncmp(section, kind, l) && section[l] == ' ' ?
	    section + l + 1 : NULL;
}

bool
config_key_per_node(const struct cfg_key *k)
{
	return !strcmp(k->section, CFG_NODE) || !strcmp(k->section, CFG_LINK);
}

/* "hum NAME": a hum group's section (issue 15) */
static bool
hum_group_section(const char *section)
{
	return !strncmp(section, "hum ", 4) && section[4] != '\0';
}

const struct cfg_key *
config_key(const char *section, const char *key)
{
	if (per_node_name(section, CFG_NODE) != NULL)
		section = CFG_NODE;
	else if (per_node_name(section, CFG_LINK) != NULL)
		section = CFG_LINK;
	else if (hum_group_section(section))
		section = "hum";
	for (size_t i = 0; i < cfg_nkeys; i++)
		if (!strcmp(cfg_keys[i].section, section) &&
		    !strcmp(cfg_keys[i].key, key))
			return &cfg_keys[i];
	return NULL;
}

static bool
section_known(const char *name)
{
	const char *n;

	for (size_t i = 0; i < cfg_nkeys; i++)
		if (!strcmp(cfg_keys[i].section, name) &&
		    !config_key_per_node(&cfg_keys[i]))
			return true;
	return (((n = per_node_name(name, CFG_NODE)) != NULL ||
	    (n = per_node_name(name, CFG_LINK)) != NULL) && n[0] != '\0') ||
	    hum_group_section(name);
}

/* "lab, node NAME, influxdb, ... or writer", in the table's order. */
static void
section_list(char *buf, size_t len)
{
	const char *names[32];
	int n = 0;

	for (size_t i = 0; i < cfg_nkeys && n < 32; i++) {
		int j;
		for (j = 0; j < n && strcmp(names[j], cfg_keys[i].section); j++)
			;
		if (j == n)
			names[n++] = cfg_keys[i].section;
	}
	buf[0] = '\0';
	for (int i = 0; i < n; i++) {
		size_t l = strlen(buf);
		snprintf(buf + l, len - l, "%s%s%s", i == 0 ? "" : i == n - 1 ?
		    " or " : ", ", names[i], !strcmp(names[i], CFG_NODE) ||
		    !strcmp(names[i], CFG_LINK) ? " NAME" :
		    !strcmp(names[i], "hum") ? " [NAME]" : "");
	}
}

static void *
key_field(struct config *cfg, struct node_cfg *node, const struct cfg_key *k)
{
	char *base = config_key_per_node(k) ? (char *)node : (char *)cfg;

	return base + k->offset;
}

static int key_set(struct parse *p, const struct cfg_key *k, void *field,
    const char *v);

/* Key k of section "hum" in group g: the same layout as cfg->hum. */
static void *
hum_field(const struct hum_cfg *g, const struct cfg_key *k)
{
	return (char *)g + (k->offset - offsetof(struct config, hum));
}

/* A hum group with every key at its default. */
static void
hum_group_defaults(struct parse *p, struct hum_cfg *g, const char *name)
{
	memset(g, 0, sizeof(*g));
	for (size_t i = 0; i < cfg_nkeys; i++)
		if (cfg_keys[i].def != NULL && !strcmp(cfg_keys[i].section,
		    "hum"))
			key_set(p, &cfg_keys[i], hum_field(g, &cfg_keys[i]),
			    cfg_keys[i].def);
	snprintf(g->name, sizeof(g->name), "%s", name);
}

void
config_defaults(struct config *cfg)
{
	struct parse p;

	pthread_once(&grafana_dir_once, grafana_dir_find);
	memset(cfg, 0, sizeof(*cfg));
	memset(&p, 0, sizeof(p));
	p.cfg = cfg;
	for (size_t i = 0; i < cfg_nkeys; i++)
		if (cfg_keys[i].def != NULL &&
		    !config_key_per_node(&cfg_keys[i]))
			key_set(&p, &cfg_keys[i], key_field(cfg, NULL,
			    &cfg_keys[i]), cfg_keys[i].def);
	snprintf(cfg->hum.name, sizeof(cfg->hum.name), "%s", CFG_HUM_DEFAULT);
	/* the default lab: one publisher, two subscribers */
	add_node(cfg, "pub", NODE_PUBLISHER, 15432);
	add_node(cfg, "sub1", NODE_SUBSCRIBER, 15433);
	add_node(cfg, "sub2", NODE_SUBSCRIBER, 15434);
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

/* "a, b or c" of an enum's names (empty names are placeholders). */
static void
enum_list(const char *const *names, char *buf, size_t len)
{
	int n = 0, k = 0;

	for (int i = 0; names[i] != NULL; i++)
		n += names[i][0] != '\0';
	buf[0] = '\0';
	for (int i = 0; names[i] != NULL; i++) {
		if (names[i][0] == '\0')
			continue;
		size_t l = strlen(buf);
		snprintf(buf + l, len - l, "%s%s", k == 0 ? "" : k == n - 1 ?
		    " or " : ", ", names[i]);
		k++;
	}
}

static int
parse_enum(struct parse *p, const struct cfg_key *k, const char *v, int *out)
{
	char list[200];

	for (int i = 0; k->names[i] != NULL; i++)
		if (k->names[i][0] != '\0' && !strcmp(v, k->names[i])) {
			*out = i;
			return 1;
		}
	enum_list(k->names, list, sizeof(list));
	return perr(p, "%s: \"%s\" is not %s", k->key, v, list);
}

/* Parse v as key k into field: 1, or 0 with the error in p. */
static int
key_set(struct parse *p, const struct cfg_key *k, void *field, const char *v)
{
	const char *key = k->key;
	bool b;

	switch (k->type) {
	case CT_INT:
		return parse_int(p, key, v, (long)k->min, (long)k->max, field);
	case CT_POW2:
		if (!parse_int(p, key, v, (long)k->min, (long)k->max, field))
			return 0;
		if (*(int *)field & (*(int *)field - 1))
			return perr(p, "%s: %d is not a power of two", key,
			    *(int *)field);
		return 1;
	case CT_DOUBLE:
		return parse_double(p, key, v, k->min, k->max, field);
	case CT_BOOL:
		return parse_bool(p, key, v, field);
	case CT_TRISTATE:
		if (!strcmp(v, "auto")) {
			*(int *)field = TRI_AUTO;
			return 1;
		}
		if (!parse_bool(p, key, v, &b))
			return 0;
		*(int *)field = b ? TRI_YES : TRI_NO;
		return 1;
	case CT_ENUM:
		return parse_enum(p, k, v, field);
	case CT_STR:
		return parse_str(p, key, v, field, k->size);
	case CT_NAME:
	case CT_NAME_DASH:
		return parse_name(p, key, v, field, k->size,
		    k->type == CT_NAME_DASH);
	case CT_PATH:
		return parse_path(p, key, v, field, k->size);
	case CT_ADDR: {
		unsigned char addr[16];
		if (inet_pton(AF_INET, v, addr) != 1 &&
		    inet_pton(AF_INET6, v, addr) != 1)
			return perr(p, "%s: \"%s\" is not an IP address (e.g. "
			    "127.0.0.1)", key, v);
		return parse_str(p, key, v, field, k->size);
	}
	case CT_SECRET:
		return perr(p, "%s: secrets do not go in the config file; use "
		    "%s_file (or token_env)", key, key);
	}
	return perr(p, "%s: internal: unknown type %d", key, k->type);
}

const char *
config_key_kind(const struct cfg_key *k, char *buf, size_t len)
{
	switch (k->type) {
	case CT_INT:
		snprintf(buf, len, "integer %.0f..%.0f", k->min, k->max);
		break;
	case CT_POW2:
		snprintf(buf, len, "power of two %.0f..%.0f", k->min, k->max);
		break;
	case CT_DOUBLE:
		snprintf(buf, len, "number %g..%g", k->min, k->max);
		break;
	case CT_BOOL:
		snprintf(buf, len, "yes|no");
		break;
	case CT_TRISTATE:
		snprintf(buf, len, "auto|yes|no");
		break;
	case CT_ENUM:
		buf[0] = '\0';
		for (int i = 0; k->names[i] != NULL; i++)
			if (k->names[i][0] != '\0') {
				size_t l = strlen(buf);
				snprintf(buf + l, len - l, "%s%s", l ? "|" : "",
				    k->names[i]);
			}
		break;
	case CT_STR:
		snprintf(buf, len, "text");
		break;
	case CT_NAME:
		snprintf(buf, len, "name [a-z][a-z0-9_]*");
		break;
	case CT_NAME_DASH:
		snprintf(buf, len, "name [a-z][a-z0-9_-]*");
		break;
	case CT_PATH:
		snprintf(buf, len, "absolute path");
		break;
	case CT_ADDR:
		snprintf(buf, len, "IP address");
		break;
	case CT_SECRET:
		snprintf(buf, len, "refused");
		break;
	}
	return buf;
}

static const char *value_of(const struct cfg_key *k, const void *f,
    char *buf, size_t len);

const char *
config_value(const struct config *cfg, const struct cfg_key *k,
    const struct node_cfg *node, char *buf, size_t len)
{
	return value_of(k, key_field((struct config *)cfg,
	    (struct node_cfg *)node, k), buf, len);
}

const char *
config_hum_value(const struct config *cfg, const struct cfg_key *k,
    const struct hum_cfg *g, char *buf, size_t len)
{
	if (g == NULL || g == &cfg->hum || strcmp(k->section, "hum"))
		return config_value(cfg, k, NULL, buf, len);
	return value_of(k, hum_field(g, k), buf, len);
}

/* Field f of key k as the file would spell it. */
static const char *
value_of(const struct cfg_key *k, const void *f, char *buf, size_t len)
{
	int i;

	buf[0] = '\0';
	switch (k->type) {
	case CT_INT:
	case CT_POW2:
		snprintf(buf, len, "%d", *(const int *)f);
		break;
	case CT_DOUBLE:
		/* %g when it reads back the same (100, 0.2), else all digits */
		snprintf(buf, len, "%g", *(const double *)f);
		if (strtod(buf, NULL) != *(const double *)f)
			snprintf(buf, len, "%.17g", *(const double *)f);
		break;
	case CT_BOOL:
		snprintf(buf, len, "%s", *(const bool *)f ? "yes" : "no");
		break;
	case CT_TRISTATE:
		i = *(const int *)f;
		snprintf(buf, len, "%s", i == TRI_YES ? "yes" : i == TRI_NO ?
		    "no" : "auto");
		break;
	case CT_ENUM:
		i = *(const int *)f;
		for (int j = 0; k->names[j] != NULL; j++)
			if (j == i) {
				snprintf(buf, len, "%s", k->names[j]);
				break;
			}
		break;
	case CT_STR:
	case CT_NAME:
	case CT_NAME_DASH:
	case CT_PATH:
	case CT_ADDR:
		snprintf(buf, len, "%s", (const char *)f);
		break;
	case CT_SECRET:
		break;
	}
	return buf;
}

static struct node_cfg *
node_for_section(struct parse *p, const char *name)
{
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

/* The group of section "hum NAME", made at its first key (issue 15). */
static struct hum_cfg *
hum_group_for_section(struct parse *p, const char *section)
{
	const char *name = section + 4;
	struct config *c = p->cfg;
	struct hum_cfg *g;
	char tmp[CFG_HUM_NAME];

	for (int i = 0; i < c->nhum_groups; i++)
		if (!strcmp(c->hum_groups[i].name, name))
			return &c->hum_groups[i];
	p->line = p->section_line;
	if (!strcmp(name, CFG_HUM_DEFAULT)) {
		perr(p, "[hum %s]: the default group is plain [hum]", name);
		return NULL;
	}
	if (c->nhum_groups >= CFG_MAX_HUM) {
		perr(p, "[hum %s]: at most %d [hum NAME] groups", name,
		    CFG_MAX_HUM);
		return NULL;
	}
	if (!parse_name(p, "hum group name", name, tmp, sizeof(tmp), false))
		return NULL;
	g = &c->hum_groups[c->nhum_groups++];
	hum_group_defaults(p, g, tmp);
	g->line = p->section_line;
	return g;
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
	if (p->nseen < 128) {
		p->seen_line[p->nseen] = p->line;
		snprintf(p->seen[p->nseen++], sizeof(p->seen[0]), "%s", key);
	}

	if (section[0] == '\0')
		return perr(p, "\"%s\" is outside any section (start with "
		    "[lab])", name);
	const struct cfg_key *k = config_key(section, name);
	struct node_cfg *n = NULL;
	const char *nname = per_node_name(section, CFG_NODE);
	bool link = nname == NULL &&
	    (nname = per_node_name(section, CFG_LINK)) != NULL;
	if (nname != NULL) {
		n = node_for_section(p, nname);
		if (n == NULL) {
			if (!new_node(p, nname))
				return 0;
			n = &p->cfg->nodes[p->cfg->nnodes - 1];
			/* [link X] before [node X]: that header comes later */
			if (link)
				n->line = 0;
		} else if (!p->node_seen[n - p->cfg->nodes])
			return perr(p, "internal: node %s", n->name);
		if (link)
			n->link_line = p->section_line;
		else if (n->line == 0)
			n->line = p->section_line;
	}
	if (k == NULL)
		return perr(p, "unknown key \"%s\" in [%s]", name, section);
	if (!section_known(section))
		return perr(p, "unknown section [%s]", section);
	if (hum_group_section(section)) {
		int line = p->line;
		struct hum_cfg *g = hum_group_for_section(p, section);
		p->line = line;
		if (g == NULL)
			return 0;
		return key_set(p, k, hum_field(g, k), value);
	}
	return key_set(p, k, key_field(p->cfg, n, k), value);
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
	char list[200];
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
	if (section_known(name))
		return true;
	section_list(list, sizeof(list));
	perr(p, "unknown section [%s] (expected %s)", name, list);
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

/* Point p->line at where key of group g was set (or its section). */
static void
at_hum_key(struct parse *p, const struct hum_cfg *g, const char *key)
{
	char k[80];

	if (g == &p->cfg->hum) {
		snprintf(k, sizeof(k), "hum.%s", key);
	} else {
		snprintf(k, sizeof(k), "hum %s.%s", g->name, key);
		p->line = g->line;
	}
	for (int i = 0; i < p->nseen; i++)
		if (!strcmp(p->seen[i], k)) {
			p->line = p->seen_line[i];
			return;
		}
	if (g == &p->cfg->hum)
		at_key(p, k);
}

static int
validate_hum(struct parse *p, const struct hum_cfg *g)
{
	char sect[CFG_HUM_NAME + 8];

	if (g == &p->cfg->hum)
		snprintf(sect, sizeof(sect), "[hum]");
	else
		snprintf(sect, sizeof(sect), "[hum %s]", g->name);
	at_hum_key(p, g, "node");
	if (g->node[0] && config_node(p->cfg, g->node) == NULL)
		return perr(p, "%s node = %s: no such node", sect, g->node);
	at_hum_key(p, g, "workload");
	if (g->workload == WL_SCRIPT && g->script[0] == '\0')
		return perr(p, "%s workload = script needs script = FILE",
		    sect);
	at_hum_key(p, g, "chaos_max");
	if (g->chaos_min > g->chaos_max)
		return perr(p, "%s chaos_min %g is above chaos_max %g", sect,
		    g->chaos_min, g->chaos_max);
	at_hum_key(p, g, "profile");
	if (g->profile != HP_FLAT && g->rate <= 0)
		return perr(p, "%s profile = %s needs a rate (rate = 0 is "
		    "flat out)", sect, hum_profile_name(g->profile));
	at_hum_key(p, g, "pulse_s");
	if (g->profile == HP_PULSE && g->pulse_s >= g->period_s)
		return perr(p, "%s pulse_s %g is not under period_s %g", sect,
		    g->pulse_s, g->period_s);
	at_hum_key(p, g, "peak");
	if ((g->profile == HP_RAMP || g->profile == HP_SINE) &&
	    g->low > g->peak)
		return perr(p, "%s low %g is above peak %g", sect, g->low,
		    g->peak);
	return 1;
}

/* Settings labsup itself must own: the lab breaks without its values. */
static const char *const reserved_settings[] = { "listen_addresses", "port",
	"unix_socket_directories", "unix_socket_permissions", "wal_level",
	NULL };

int
config_setting_next(const char **pp, char *name, size_t namelen,
    char *value, size_t valuelen)
{
	const char *p = *pp, *eq, *end;
	size_t n, v;

	p += strspn(p, "; \t");
	if (*p == '\0')
		return 0;
	end = p + strcspn(p, ";");
	*pp = end;
	eq = memchr(p, '=', (size_t)(end - p));
	if (eq == NULL) {
		snprintf(name, namelen, "\"%.*s\" is not name=value",
		    (int)(end - p > 40 ? 40 : end - p), p);
		return -1;
	}
	n = (size_t)(eq - p);
	while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
		n--;
	eq++;
	eq += strspn(eq, " \t");
	v = (size_t)(end - eq);
	while (v > 0 && (eq[v - 1] == ' ' || eq[v - 1] == '\t'))
		v--;
	if (n == 0 || n >= namelen || strspn(p, "abcdefghijklmnopqrstuvwxyz"
	    "0123456789_.") < n) {
		snprintf(name, namelen, "\"%.*s\" is not a setting name "
		    "(a-z, 0-9, _ and .)", (int)(n > 40 ? 40 : n), p);
		return -1;
	}
	if (v == 0 || v >= valuelen) {
		snprintf(name, namelen, "%.*s: the value is empty or too long",
		    (int)n, p);
		return -1;
	}
	snprintf(name, namelen, "%.*s", (int)n, p);
	snprintf(value, valuelen, "%.*s", (int)v, eq);
	return 1;
}

/* "512m", "2g", "1048576" (bytes), "64k" */
static long long
parse_memory(const char *s)
{
	char *end;
	long long v, mult = 1;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (end == s || v <= 0 || errno == ERANGE)
		return -1;
	switch (tolower((unsigned char)*end)) {
	case '\0': break;
	case 'k': mult = 1LL << 10; end++; break;
	case 'm': mult = 1LL << 20; end++; break;
	case 'g': mult = 1LL << 30; end++; break;
	default: return -1;
	}
	if (tolower((unsigned char)*end) == 'b')
		end++;
	if (*end != '\0' || v > (1LL << 50) / mult)
		return -1;
	return v * mult;
}

/* A node's settings, memory and cpus (issue 15). */
static int
validate_node_settings(struct parse *p, struct node_cfg *n)
{
	char key[80], name[80], value[CFG_STR * 4], seen[32][64];
	const char *s = n->settings;
	int ns = 0, rc;

	snprintf(key, sizeof(key), "node %s.settings", n->name);
	n->settings_line = n->line;
	for (int i = 0; i < p->nseen; i++)
		if (!strcmp(p->seen[i], key))
			n->settings_line = p->seen_line[i];
	p->line = n->settings_line;
	while ((rc = config_setting_next(&s, name, sizeof(name), value,
	    sizeof(value))) != 0) {
		if (rc == -1)
			return perr(p, "[node %s] settings: %s", n->name, name);
		for (int i = 0; reserved_settings[i] != NULL; i++)
			if (!strcmp(name, reserved_settings[i]))
				return perr(p, "[node %s] settings: %s is "
				    "labsup's to set", n->name, name);
		for (int i = 0; i < ns; i++)
			if (!strcmp(seen[i], name))
				return perr(p, "[node %s] settings: %s is set "
				    "twice", n->name, name);
		if (ns < 32)
			snprintf(seen[ns++], sizeof(seen[0]), "%s", name);
	}
	n->memory_bytes = 0;
	if (n->memory[0] != '\0') {
		snprintf(key, sizeof(key), "node %s.memory", n->name);
		for (int i = 0; i < p->nseen; i++)
			if (!strcmp(p->seen[i], key))
				p->line = p->seen_line[i];
		n->memory_bytes = parse_memory(n->memory);
		if (n->memory_bytes < 4LL << 20)
			return perr(p, "[node %s] memory = %s: expected a size "
			    "of at least 4m, like 512m or 2g", n->name,
			    n->memory);
	}
	return 1;
}

static int
validate(struct parse *p)
{
	struct config *c = p->cfg;
	int npub = 0;

	for (int i = 0; i < c->nnodes; i++) {
		struct node_cfg *n = &c->nodes[i];
		p->line = n->link_line;
		if (n->link_line && n->role == 0)
			return perr(p, "[link %s]: there is no [node %s] "
			    "section", n->name, n->name);
		if (n->link_line && n->role == NODE_PUBLISHER)
			return perr(p, "[link %s]: links are for subscribers "
			    "(each joins a subscriber to the publisher)",
			    n->name);
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
		if (!validate_node_settings(p, n))
			return 0;
		p->line = n->line;
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
	for (int i = 0; i < config_hum_ngroups(c); i++)
		if (!validate_hum(p, config_hum_group(c, i)))
			return 0;
	/* issue 15: your own schema */
	at_key(p, "replication.schema");
	if (strcmp(c->replication.schema, "pgbench") != 0 &&
	    c->replication.schema[0] != '/')
		return perr(p, "[replication] schema = %s: pgbench, or the "
		    "absolute path of a SQL file", c->replication.schema);
	at_key(p, "replication.data");
	if (c->replication.data[0] != '\0' &&
	    !strcmp(c->replication.schema, "pgbench"))
		return perr(p, "[replication] data needs schema = FILE (the "
		    "pgbench tables are generated at scale)");
	for (int i = 0; i < config_hum_ngroups(c); i++) {
		const struct hum_cfg *g = config_hum_group(c, i);
		if (g->clients > 0 && g->workload != WL_SCRIPT &&
		    strcmp(c->replication.schema, "pgbench") != 0) {
			at_hum_key(p, g, "workload");
			return perr(p, "[hum%s%s] workload = %s runs on the "
			    "pgbench tables: with schema = FILE use workload = "
			    "script (or clients = 0)", g == &c->hum ? "" : " ",
			    g == &c->hum ? "" : g->name,
			    workload_name(g->workload));
		}
	}
	at_key(p, "sampler.interval_ms");
	if (c->sampler.interval_ms < SAMPLER_SQL_MIN_MS &&
	    c->sampler.source != SAMPLER_PROBE)
		return perr(p, "[sampler] interval_ms %d is below %d, which "
		    "only source = probe can do", c->sampler.interval_ms,
		    SAMPLER_SQL_MIN_MS);
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

/*
 * A scenario's overlay (LAB_OVERLAY in the lab's state directory, issue
 * 14): the same format, read after the user's file so its keys win and its
 * [node] sections add nodes; an error in it is reported as its own
 * file:line.  No file: nothing to do.
 */
static int
apply_overlay(struct config *cfg, char *err, size_t errlen)
{
	char dir[CFG_PATH], path[CFG_PATH + 32];
	struct parse o;
	int rc;

	if (cfg->lab.state_dir[0] != '\0')
		snprintf(dir, sizeof(dir), "%s", cfg->lab.state_dir);
	else
		default_state_dir(dir, sizeof(dir), cfg->lab.name);
	snprintf(path, sizeof(path), "%s/%s", dir, LAB_OVERLAY);
	if (access(path, F_OK) != 0)
		return 0;
	memset(&o, 0, sizeof(o));
	o.cfg = cfg;
	o.file = path;
	if (read_file(path, &o, err, errlen) == -1)
		return -1;
	rc = ini_parse_stream(reader, &o, handler, &o);
	free((char *)o.text);
	if (o.err[0] == '\0' && rc != 0) {
		o.err_line = rc > 0 ? rc : o.line;
		snprintf(o.err, sizeof(o.err), "syntax error");
	}
	if (o.err[0] != '\0') {
		snprintf(err, errlen, "%s:%d: %s (a scenario's overlay: remove "
		    "it to go back to your file)", path, o.err_line, o.err);
		return -1;
	}
	return 0;
}

/* Whether the file had a [node] section (not just [link] ones). */
static bool
nodes_named(const struct config *cfg)
{
	for (int i = 0; i < cfg->nnodes; i++)
		if (cfg->nodes[i].line != 0)
			return true;
	return false;
}

/* The default nodes, with the [link] sections the file gave them. */
static void
default_nodes(struct config *cfg, int n)
{
	struct config d;

	config_defaults(&d);
	for (int i = 0; i < n; i++)
		for (int j = 0; j < cfg->nnodes; j++)
			if (!strcmp(d.nodes[i].name, cfg->nodes[j].name)) {
				d.nodes[i].link = cfg->nodes[j].link;
				d.nodes[i].link_line = cfg->nodes[j].link_line;
			}
	for (int j = 0; j < cfg->nnodes; j++) {
		int i;
		for (i = 0; i < n && strcmp(d.nodes[i].name,
		    cfg->nodes[j].name); i++)
			;
		if (i == n && n < CFG_MAX_NODES)
			d.nodes[n++] = cfg->nodes[j]; /* validate names it */
	}
	memcpy(cfg->nodes, d.nodes, sizeof(d.nodes));
	cfg->nnodes = n;
}

int
config_load(struct config *cfg, const char *path, char *err, size_t errlen)
{
	struct parse p;
	int rc;

	config_defaults(cfg);
	if (path == NULL || path[0] == '\0') {
		if (apply_overlay(cfg, err, errlen) == -1)
			return -1;
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
		if (!nodes_named(cfg))
			default_nodes(cfg, saved_nnodes);
		if (apply_overlay(cfg, err, errlen) == -1)
			return -1;
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
	for (int i = 0; backend_names[i] != NULL; i++)
		if (!strcmp(name, backend_names[i])) {
			cfg->lab.backend = i;
			return 0;
		}
	return -1;
}

const char *
backend_name(int backend)
{
	return backend >= BACKEND_AUTO && backend <= BACKEND_LOCAL ?
	    backend_names[backend] : "auto";
}

const char *
workload_name(int wl)
{
	return wl >= WL_TPCB && wl <= WL_SCRIPT ? workload_names[wl] :
	    "unknown";
}

const struct node_cfg *
config_node(const struct config *cfg, const char *name)
{
	for (int i = 0; i < cfg->nnodes; i++)
		if (!strcmp(cfg->nodes[i].name, name))
			return &cfg->nodes[i];
	return NULL;
}

int
config_hum_ngroups(const struct config *cfg)
{
	return 1 + cfg->nhum_groups;
}

const struct hum_cfg *
config_hum_group(const struct config *cfg, int i)
{
	if (i == 0)
		return &cfg->hum;
	return i > 0 && i <= cfg->nhum_groups ? &cfg->hum_groups[i - 1] : NULL;
}

const struct hum_cfg *
config_hum_find(const struct config *cfg, const char *name)
{
	for (int i = 0; i < config_hum_ngroups(cfg); i++)
		if (!strcmp(config_hum_group(cfg, i)->name, name))
			return config_hum_group(cfg, i);
	return NULL;
}

const char *
hum_profile_name(int profile)
{
	return profile >= HP_FLAT && profile <= HP_SINE ?
	    profile_names[profile] : "unknown";
}

const struct node_cfg *
config_publisher(const struct config *cfg)
{
	for (int i = 0; i < cfg->nnodes; i++)
		if (cfg->nodes[i].role == NODE_PUBLISHER)
			return &cfg->nodes[i];
	return NULL;
}

/* Every [hum NAME] group, its keys in the table's order. */
static void
print_hum_groups(const struct config *c, FILE *fp)
{
	char v[CFG_PATH * 2];

	for (int j = 0; j < c->nhum_groups; j++) {
		const struct hum_cfg *g = &c->hum_groups[j];
		fprintf(fp, "\n[hum %s]\n", g->name);
		for (size_t i = 0; i < cfg_nkeys; i++)
			if (!strcmp(cfg_keys[i].section, "hum") &&
			    config_hum_value(c, &cfg_keys[i], g, v,
			    sizeof(v))[0])
				fprintf(fp, "%s = %s\n", cfg_keys[i].key, v);
	}
}

void
config_print(const struct config *c, FILE *fp)
{
	const char *last = "";
	char v[CFG_PATH * 2];

	fprintf(fp, "; effective configuration%s%s\n",
	    c->path[0] ? " of " : " (built-in defaults)", c->path);
	/* every key with a value, in the table's order; nodes in theirs */
	for (size_t i = 0; i < cfg_nkeys; i++) {
		const struct cfg_key *k = &cfg_keys[i];
		if (config_key_per_node(k)) {
			static const struct link_settings none;
			if (!strcmp(last, k->section))
				continue;
			last = k->section;
			for (int j = 0; j < c->nnodes; j++) {
				const struct node_cfg *n = &c->nodes[j];
				if (!strcmp(k->section, CFG_LINK) &&
				    n->link_line == 0 &&
				    link_settings_same(&n->link, &none))
					continue;
				fprintf(fp, "\n[%s %s]\n", k->section, n->name);
				for (size_t m = i; m < cfg_nkeys && !strcmp(
				    cfg_keys[m].section, k->section); m++)
					/* unset optional numbers (cpus) read 0 */
					if (config_value(c, &cfg_keys[m],
					    &c->nodes[j], v, sizeof(v))[0] &&
					    (cfg_keys[m].def != NULL ||
					    strcmp(v, "0") != 0))
						fprintf(fp, "%s = %s\n",
						    cfg_keys[m].key, v);
			}
			continue;
		}
		if (strcmp(last, k->section)) {
			if (!strcmp(last, "hum"))
				print_hum_groups(c, fp);
			fprintf(fp, "\n[%s]\n", k->section);
			last = k->section;
		}
		if (config_value(c, k, NULL, v, sizeof(v))[0])
			fprintf(fp, "%s = %s\n", k->key, v);
	}
}
