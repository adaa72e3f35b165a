/*
 * worker.h: the worker table (every kind of worker process, in one place)
 * and what a worker process gets: its context, its lane and status slot,
 * and the start-up every forker (the supervisor, the bench harnesses) runs
 * through worker_run().
 */
#ifndef LABSUP_WORKER_H
#define LABSUP_WORKER_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../lib/labsup.h"

/* The kinds of process a lab runs; the value is a slot's `kind` byte. */
enum worker_kind {
	WK_NONE = 0,
	WK_CONTAINER,
	WK_REPLICATION,
	WK_HUM,
	WK_SAMPLER,
	WK_WRITER,
	WK_SUPERVISOR,
	WK_LOGS,	/* issue 16 */
	WK_LINK,
	WK_MAX
};

/* Worker counters (struct slot_own): meaning set by the worker's kind. */
enum writer_counter {
	WC_POINTS = 0,	 /* points acknowledged by InfluxDB */
	WC_BATCHES,	 /* batches acknowledged */
	WC_BYTES,	 /* bytes posted (after gzip) */
	WC_LAST_FLUSH,	 /* ns, CLOCK_REALTIME, of the last good flush */
	WC_SPOOL_BYTES,	 /* current spool size */
	WC_SPOOLED,	 /* points ever written to the spool */
	WC_RETRIES,
	WC_ERRORS,
	WC_REJECTED,	 /* points set aside after a 4xx */
	WC_SPOOL_DROPPED,/* points dropped because the spool was full */
	WC_REPLAYED,	 /* points replayed from the spool */
	WC_INFLUX_UP,	 /* 1 when the last post succeeded */
	WC_TORN,	 /* torn spool blocks skipped */
};
enum sampler_counter {
	SC_TICKS = 0,
	SC_DEADLINE_MISSES,
	SC_ERRORS,
	SC_RECONNECTS,
	SC_UNREACHABLE,	 /* 1 while the node cannot be reached */
	SC_LAST_TICK,	 /* ns, CLOCK_REALTIME */
	SC_WAITING,	 /* latest figures, for labsup top */
	SC_GRANTED,
	SC_PAIRS,
	SC_ACTIVE,
	SC_IDLE_IN_TX,
	SC_APPLY_LAG_US,
	SC_TICK_COST_US, /* mean server time to take a sample, last second */
	SC_EP_OPEN,	 /* lock-wait episodes open now (workers/episodes.h) */
	SC_EP_PAIR,	 /* the longest: waiter pid << 32 | its blocker */
	SC_EP_SINCE,	 /* ... and its start, ns, CLOCK_REALTIME; 0 none */
	/* issue 18: the in-server probe */
	SC_SOURCE,	 /* enum sampler_source in use: probe or sql */
	SC_PROBE_DROPS,	 /* records the probe's lane refused (full) */
	SC_LOCK_SNAPS,	 /* lock-manager snapshots the probe took */
	SC_NCOUNTERS
};
_Static_assert(SC_NCOUNTERS <= NCOUNTERS, "sampler counters fit a slot");
enum hum_counter {
	HC_TX = 0,
	HC_ERRORS,
	HC_RECONNECTS,
	HC_TPS_X100,	 /* last interval's rate, x100 */
	HC_P50_US,
	HC_P99_US,
	HC_RATE_X100,	 /* target rate now (chaos varies it), x100 */
};
enum container_counter {
	CC_SERVICES_READY = 0,
	CC_SERVICE_RESTARTS,
};
enum replication_counter {
	RC_SUBS_READY = 0,
	RC_HEARTBEATS,
	RC_REPAIRS,
};
enum link_counter {
	LK_BYTES_DOWN = 0,	/* publisher to subscriber, since the start */
	LK_BYTES_UP,
	LK_CONNECTIONS,		/* open now */
	LK_ACCEPTED,
	LK_REFUSED,		/* refused or cut by a partition */
	LK_PARTITIONS,
	LK_PORT,		/* where it listens */
	LK_DELAY_US,		/* mean delay applied, last second */
};

enum logs_counter {	/* issue 16 */
	LC_KEPT = 0,	 /* log lines written to pg_log */
	LC_LINES,	 /* log lines read */
	LC_WARNINGS,	 /* lines kept of each severity (for top); the */
	LC_ERRORS,	 /* latest ERROR, FATAL or PANIC is the slot's */
	LC_FATALS,	 /* extra.last_error */
	LC_PANICS,
};

/* What a worker gets; it owns slot and lane, and reads cfg. */
struct worker_ctx {
	struct seg *seg;
	struct slot *slot;	/* my status slot */
	struct lane *lane;	/* my lane (I am its only producer) */
	const struct config *cfg;
	int slot_index;
	int kind;		/* enum worker_kind */
	const char *arg;	/* node name (sampler), client index (hum) */
	/*
	 * The counters the slot's previous owner left (a restarted worker
	 * may continue its totals), all zero when there was none or its
	 * block was torn (it died mid-write).
	 */
	int64_t prev_counters[NCOUNTERS];
};

/*
 * issue 15: a hum worker's arg is "N" (client N of [hum]) or "GROUP.N"
 * (client N of [hum GROUP]).  hum_group_of returns the group and sets
 * *client, or NULL; hum_worker_arg makes the arg.
 */
const struct hum_cfg *hum_group_of(const struct config *cfg, const char *arg,
    int *client);
void hum_worker_arg(const struct config *cfg, const struct hum_cfg *g, int i,
    char *buf, size_t len);

/* Entry point: returns the process exit code (0, 1 crash-ish, 78). */
typedef int (*worker_entry)(struct worker_ctx *ctx);

/* How many workers of a kind a config asks for. */
enum worker_count {
	WN_NONE = 0,	/* not forked (the supervisor's own row) */
	WN_ONE,		/* one per lab */
	WN_PER_NODE,	/* one per [node]; arg is the node name */
	WN_PER_CLIENT,	/* one per hum client; arg "1", "2", ..., "GROUP.1", ... */
	WN_PER_SUBSCRIBER, /* one per subscriber [node] with a link ([link]
			      bypass = no); arg is its name */
};

/*
 * One row per kind.  The supervisor forks, stops and reloads workers from
 * this table alone; `status`, `top` and the bench harnesses name them from
 * it.
 *
 * config: the parts of the config a worker depends on, as sections of
 * the key table (lib/config.h): "hum" is every key of [hum], "lab.bind" one
 * key, "node" every [node] section, "node @" the node the worker is for
 * (node_of), "node names" only which nodes there are, "link.bypass" that
 * key of every node's [link], "hum @" every key of a hum worker's own
 * group (issue 15).  A reload
 * restarts a worker only when a value among these changed; they are
 * compared by name, field by field, so line numbers, comments and the
 * order of sections never count.  "SECTION live": the
 * worker reads that section again by itself on a reload (it follows the
 * config generation), so a change there never restarts it.
 */
struct worker_type {
	int kind;		/* enum worker_kind, its index in the table */
	const char *name;	/* "sampler"; a worker is "sampler pub" */
	worker_entry run;
	int count;		/* enum worker_count */
	/* false: the config asks for none of this kind (NULL: always) */
	bool (*enabled)(const struct config *cfg);
	/* the node a worker is for, NULL for none (NULL: none) */
	const struct node_cfg *(*node_of)(const struct config *cfg,
	    const char *arg);
	int stop_phase;		/* 0 stops first; 1 once phase 0 is gone */
	int grace_ms;		/* SIGTERM to SIGKILL */
	const char *const *config;
};

/* In start order (the writer first, so every record has a reader). */
extern const struct worker_type worker_types[];
extern const size_t worker_ntypes;
#define WORKER_LAST_PHASE 1

/* The row of kind (a row named "unknown" for a kind not in the table). */
const struct worker_type *worker_type_of(int kind);

/* "sampler", or "unknown" for a kind that is not in the table. */
const char *worker_kind_name(int kind);

/*
 * Hash of the config values a worker of this kind and arg depends on
 * (worker_types[kind].config): equal hashes mean nothing it reads changed.
 */
uint64_t worker_config_hash(const struct config *cfg, int kind,
    const char *arg);

/* How a forker hands a worker its slot. */
struct worker_start {
	struct seg *seg;
	uint32_t slot;
	int kind;
	const char *arg;
	const char *name;	/* process title and log ident */
	const struct config *cfg;
	pid_t parent;		/* the forker: die with it */
	worker_entry entry;	/* NULL: the table's */
};

/*
 * In a freshly forked child: die with the parent (PR_SET_PDEATHSIG and the
 * race check), worker signal handlers and an empty signal mask, process
 * title and log ident, a fresh own block in the slot; then the entry point.
 * Returns the process exit code for _exit().
 */
int worker_run(const struct worker_start *ws);

/* Set once setproctitle_init() ran (main); tests leave it false. */
extern bool worker_titles;

/*
 * Set by the worker's signal handler (installed by worker_run before the
 * entry point runs): SIGTERM/SIGINT set worker_stop.  A worker loop checks
 * it at least every 100 ms and returns 0 promptly when it is set.
 */
extern volatile sig_atomic_t worker_stop;

struct backend_ops;

/* Entry points. */
int container_main(struct worker_ctx *ctx);
int replication_main(struct worker_ctx *ctx);
int hum_main(struct worker_ctx *ctx);
int sampler_main(struct worker_ctx *ctx);
int writer_main(struct worker_ctx *ctx);
int logs_main(struct worker_ctx *ctx);	/* issue 16 */
int link_main(struct worker_ctx *ctx);

/*
 * Run by a one-shot child of the supervisor at `labsup stop`, after every
 * worker is gone (and by `labsup stop` for a lab whose supervisor died):
 * stop the lab's services (and delete their data when purge).  0 or 1.
 */
int container_stop_services(const struct config *cfg, bool purge);

/*
 * The backend the container worker picked for the lab (the segment says),
 * or NULL while it has not picked one yet.
 */
const struct backend_ops *worker_backend(const struct seg *seg);

/* True when the worker has been orphaned (its forker gone). */
bool worker_orphaned(void);

/* Sleep up to ms, returning early when worker_stop is set. */
void worker_sleep_ms(int ms);

/* Push a record into the worker's lane, stamping ts when it is 0. */
int worker_emit(struct worker_ctx *ctx, struct record *r);
/*
 * Start this worker's `labsup` record: every figure absent (so it never
 * overwrites what the writer reports for the same worker) but ring_drops
 * and restarts.  Fill in what the worker knows, then worker_emit().
 */
void worker_labsup_init(struct worker_ctx *ctx, struct record *r);

/* Push an `events` record: kind and printf text. */
int worker_event(struct worker_ctx *ctx, const char *kind, const char *fmt,
    ...) __attribute__((format(printf, 3, 4)));

#endif
