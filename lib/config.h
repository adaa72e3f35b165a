/*
 * config.h: the lab's configuration.  Built-in defaults make a file
 * optional; config_load() parses an INI file over them (libinih) and
 * validates, reporting the first problem as "file:line: reason".
 * labsup.conf.example documents every key.
 */
#ifndef LABSUP_CONFIG_H
#define LABSUP_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>

#define CFG_MAX_NODES 8
#define CFG_NAME 16	/* node names: [a-z0-9_], at most 15 */
#define CFG_STR 128
#define CFG_PATH 256

enum backend_kind { BACKEND_AUTO = 0, BACKEND_DOCKER, BACKEND_LOCAL };
enum sampler_source { SAMPLER_AUTO = 0, SAMPLER_PROBE, SAMPLER_SQL };
#define SAMPLER_SQL_MIN_MS 10	/* the SQL source's floor: a round trip a tick */
enum node_role { NODE_PUBLISHER = 1, NODE_SUBSCRIBER };
enum workload {
	WL_TPCB = 0,
	WL_SELECT,
	WL_CONTENTION,
	WL_SCRIPT,
};
enum tristate { TRI_AUTO = 0, TRI_YES, TRI_NO };

/*
 * What a subscriber's link to the publisher does ([link NODE], `labsup
 * link`; lib/link.h).  All zero: a plain pass-through.  Latency, jitter and
 * rate apply to the direction(s) named; stall and partition to both.
 */
enum link_direction { LINK_BOTH = 0, LINK_DOWN, LINK_UP };
#define LINK_MAX_MS 600000
#define LINK_MAX_KBPS 10000000
struct link_settings {
	int latency_ms;		/* added one way, per direction */
	int jitter_ms;		/* +- uniformly; bytes are never reordered */
	int rate_kbps;		/* kilobytes per second, 0 = unlimited */
	int direction;		/* enum link_direction: down = pub to sub */
	bool stall;		/* hold bytes (connections stay up) */
	bool partition;		/* cut connections and refuse new ones */
	int for_s;		/* link_apply: seconds, 0 = until cleared */
	bool bypass;		/* config only: no link, straight to the pub */
};

struct node_cfg {
	char name[CFG_NAME];
	int role;		/* enum node_role */
	int port;		/* on 127.0.0.1 */
	/*
	 * Subscriber only: the tables this subscriber takes ("" = all the lab
	 * tables, through the lab's publication) and an optional row filter
	 * per table, "table: condition; table: condition".  A subscriber with
	 * either gets its own publication, pub_<node>.
	 */
	char tables[CFG_STR];
	char row_filter[CFG_STR * 2];
	int line;		/* where the section starts, for messages only */
	struct link_settings link; /* [link NAME] (subscribers) */
	int link_line;		/* where [link NAME] starts, 0: none */
	/*
	 * issue 15: server settings, "name=value; name=value", after the
	 * lab's own (backend/pg_settings.c); docker container limits.
	 */
	char settings[CFG_STR * 4];
	int settings_line;	/* where settings was set, for messages */
	char memory[16];	/* "512m"; "" = no limit */
	long long memory_bytes;	/* derived from memory */
	double cpus;		/* 0 = no limit */
};

/* Load profiles of a hum group: how its rate moves over time. */
enum hum_profile {
	HP_FLAT = 0,	/* the rate, always */
	HP_PULSE,	/* x peak for pulse_s seconds every period_s */
	HP_RAMP,	/* low to peak over period_s, then peak */
	HP_SINE,	/* between low and peak, one cycle per period_s */
};

#define CFG_MAX_HUM 8		/* [hum NAME] groups besides [hum] */
#define CFG_HUM_NAME 12		/* group names: at most 11 (a record tag) */
#define CFG_HUM_DEFAULT "default"	/* the group of plain [hum] */

/* One hum group: [hum] or [hum NAME]. */
struct hum_cfg {
	int clients;
	double rate;		/* total tx/s over all clients, 0 = max */
	int workload;		/* enum workload */
	char script[CFG_PATH];
	char node[CFG_NAME];	/* target node, default the publisher */
	bool chaos;
	double chaos_min;	/* chaos bounds, as factors of rate */
	double chaos_max;
	/* issue 15: groups and profiles */
	char name[CFG_HUM_NAME];	/* CFG_HUM_DEFAULT for [hum] */
	int profile;		/* enum hum_profile */
	double period_s;
	double pulse_s;
	double low, peak;	/* profile factors of rate */
	int line;		/* where the section starts, for messages */
};

struct config {
	char path[CFG_PATH];	/* "" when built-in defaults only */

	struct {
		char name[32];		/* [a-z0-9_-], names shm, containers */
		int backend;		/* enum backend_kind */
		char state_dir[CFG_PATH];
		char run_as[32];	/* server user when labsup runs as root */
		char bind[64];		/* address servers listen on */
		char pg_bin[CFG_PATH];	/* PostgreSQL binaries (local backend) */
		char database[64];	/* the lab's database on every node */
		char user[64];		/* the lab's PostgreSQL role */
	} lab;

	struct node_cfg nodes[CFG_MAX_NODES];
	int nnodes;

	struct {
		int version;		/* 1 or 2 */
		int port;
		char database[64];	/* 1.x */
		char retention_policy[64];
		char user[64];		/* 1.x, optional */
		char password_file[CFG_PATH];
		char org[64];		/* 2.x */
		char bucket[64];
		char token_file[CFG_PATH];
		char token_env[64];
		char url[CFG_STR];	/* derived: http://bind:port */
	} influx;

	struct {
		int enabled;		/* enum tristate: auto = if installed */
		int port;
		char admin_password_file[CFG_PATH];
		char dir[CFG_PATH];	/* holds provisioning/ and dashboards/ */
	} grafana;

	struct {
		char host[CFG_STR];	/* "" = $DOCKER_HOST or the unix socket */
		char image_postgres[CFG_STR];
		char image_influxdb[CFG_STR];
		char image_grafana[CFG_STR];
	} docker;

	struct {
		int scale;		/* pgbench scale of the lab tables */
		int heartbeat_ms;
		char publication[64];
		/* issue 15: "pgbench" or a SQL file; a SQL file or CSV dir */
		char schema[CFG_PATH];
		char data[CFG_PATH];
	} replication;

	struct hum_cfg hum;	/* [hum]: the group named "default" */

	/* issue 15: [hum NAME] groups, in file order */
	struct hum_cfg hum_groups[CFG_MAX_HUM];
	int nhum_groups;

	struct {
		bool enabled;
		int interval_ms;	/* activity and blocking, 10..60000 */
		int locks_interval_ms;	/* pg_locks scan */
		/* issue 18: the in-server probe */
		int source;		/* enum sampler_source */
	} sampler;

	struct {
		int batch_points;
		int flush_ms;
		int spool_max_mb;
		int lane_records;	/* power of two; fixed at start */
		int timeout_ms;		/* one HTTP request */
	} writer;
};

/* ---- the key table ------------------------------------------------------ */

/* How a key's text becomes a value (and is checked). */
enum cfg_type {
	CT_INT,		/* a whole number in min..max */
	CT_POW2,	/* the same, and a power of two */
	CT_DOUBLE,	/* a finite number in min..max */
	CT_BOOL,	/* yes/no, true/false, on/off, 1/0 */
	CT_TRISTATE,	/* auto, or a bool (enum tristate) */
	CT_ENUM,	/* one of names[]; stored as its index */
	CT_STR,		/* any text shorter than the field */
	CT_NAME,	/* [a-z][a-z0-9_]*: ends up in SQL identifiers and tags */
	CT_NAME_DASH,	/* the same, and '-' (lab names: shm, containers) */
	CT_PATH,	/* an absolute path, or empty */
	CT_ADDR,	/* an IPv4 or IPv6 address */
	CT_SECRET,	/* refused: secrets go in files (names the _file key) */
};

#define CFG_NODE "node"	/* the section name of every [node NAME] */
#define CFG_LINK "link"	/* [link NAME]: fields of the node NAME too */

/*
 * One row per key of the file.  Parsing, defaults, `labsup config check`,
 * unknown-key errors, the reload comparison of workers' config
 * (workers/worker.h) and the test against labsup.conf.example all come
 * from this table.
 */
struct cfg_key {
	const char *section;	/* "lab", CFG_NODE, "influxdb", ... */
	const char *key;
	int type;		/* enum cfg_type */
	size_t offset;		/* in struct config (in struct node_cfg for nodes) */
	size_t size;		/* of the field */
	double min, max;	/* CT_INT, CT_POW2, CT_DOUBLE */
	const char *const *names; /* CT_ENUM: by value, NULL-terminated */
	const char *def;	/* the default as text; NULL: empty or derived */
	const char *doc;	/* one line */
};

extern const struct cfg_key cfg_keys[];
extern const size_t cfg_nkeys;

/* Whether k belongs to a per-node section ([node NAME], [link NAME]). */
bool config_key_per_node(const struct cfg_key *k);

/* The row of section.key (section CFG_NODE for any node), or NULL. */
const struct cfg_key *config_key(const char *section, const char *key);

/* What values key k takes, for people: "integer 1..1000", "auto|yes|no". */
const char *config_key_kind(const struct cfg_key *k, char *buf, size_t len);

/*
 * The value of key k as the file would spell it; node is the node for
 * CFG_NODE keys.  "" for an empty string.  Returns buf.
 */
const char *config_value(const struct config *cfg, const struct cfg_key *k,
    const struct node_cfg *node, char *buf, size_t len);

/* Fill *cfg with the built-in defaults. */
void config_defaults(struct config *cfg);

/*
 * Load path (NULL or "" = defaults only) into *cfg.  On error returns -1
 * with "file:line: reason" in err and *cfg unspecified.
 */
int config_load(struct config *cfg, const char *path, char *err,
    size_t errlen);

/*
 * Read only what identifies a lab ([lab] name and state_dir) from a file
 * that may be invalid, so status, stop and reload still find a running lab
 * whose file has since been broken.  -1 if the file cannot be read.
 */
int config_load_identity(struct config *cfg, const char *path);

/* Apply a --backend override; -1 if the name is unknown. */
int config_set_backend(struct config *cfg, const char *name);

/* Print the effective config as an INI file. */
void config_print(const struct config *cfg, FILE *fp);

const char *backend_name(int backend);
const char *workload_name(int wl);
const struct node_cfg *config_node(const struct config *cfg,
    const char *name);
const struct node_cfg *config_publisher(const struct config *cfg);

/*
 * Hum groups: 0 is [hum] ("default"), 1.. the [hum NAME] sections in file
 * order.  config_hum_value is config_value for a key of section "hum" in
 * group g.
 */
int config_hum_ngroups(const struct config *cfg);
const struct hum_cfg *config_hum_group(const struct config *cfg, int i);
const struct hum_cfg *config_hum_find(const struct config *cfg,
    const char *name);
const char *config_hum_value(const struct config *cfg,
    const struct cfg_key *k, const struct hum_cfg *g, char *buf, size_t len);
const char *hum_profile_name(int profile);

/*
 * issue 15: the next "name=value" of a node's settings at *p (advanced),
 * name and value trimmed; 1, 0 at the end, -1 with a reason in name.
 */
int config_setting_next(const char **p, char *name, size_t namelen,
    char *value, size_t valuelen);

#endif
