/*
 * record.h: the fixed-size sample records that producers (samplers, hum,
 * container, replication, supervisor) put into their lanes and the writer
 * turns into InfluxDB line protocol.  No pointers: the segment maps at
 * different addresses in different processes.  Strings are short, fixed,
 * NUL-terminated arrays; producers truncate (strlcpy) what does not fit.
 *
 * The measurement names in rec_measurement() are an interface (dashboards
 * and users query them): keep them stable and documented in the README.
 */
#ifndef LABSUP_RECORD_H
#define LABSUP_RECORD_H

#include <stdint.h>

#define REC_SIZE 128
/* An int64 field holding REC_ABSENT is left out of the point. */
#define REC_ABSENT INT64_MIN
#define REC_NAME 16 /* node, service, client names (config limits them) */

enum rec_kind {
	REC_NONE = 0,
	REC_LOCKS,	 /* pg_locks */
	REC_ACTIVITY,	 /* pg_activity */
	REC_BLOCKING,	 /* pg_blocking */
	REC_REPLICATION, /* replication */
	REC_HUM,	 /* hum */
	REC_SERVICE,	 /* service */
	REC_LABSUP,	 /* labsup (a worker's own figures) */
	REC_EVENT,	 /* events (Grafana annotations) */
	REC_TEST,	 /* labsup_test: sequence-numbered probe records */
	/* issue 16: subscription health and server logs */
	REC_SUB_STATS,	 /* sub_stats: a subscription, seen on its subscriber */
	REC_SUB_REL,	 /* sub_rel: one table's sync state */
	REC_SUB_SLOT,	 /* sub_slot: its slot and walsender, on the publisher */
	REC_SUB_WORKER,	 /* sub_worker: what its apply worker/walsender waits on */
	REC_PG_LOG,	 /* pg_log: a server log line (or a part of one) */
	REC_LOCK_WAIT,	 /* lock_wait: one lock-wait episode */
	REC_LOCK_WAIT_TEXT, /* lock_wait: a statement of one */
	REC_LINK,	 /* labsup (a link worker's own figures) */
	/* issue 16/18: the in-server probe's lane only, never a point */
	REC_PROBE_WAIT,	 /* one lock waiter of a probe tick */
	REC_PROBE_WAIT_TEXT, /* a statement of one (first tick it is seen) */
	REC_PROBE_TICK,	 /* a tick's waiters are all in (no payload) */
	REC_KIND_MAX
};

struct rec_locks {
	char node[REC_NAME];
	char locktype[16];
	char mode[32];
	uint8_t granted;
	uint8_t pad[7];
	int64_t count;
};

struct rec_activity {
	char node[REC_NAME];
	char state[32]; /* "" for a NULL state */
	char wait_event_type[16];
	char wait_event[32];
	int32_t count;
};

struct rec_blocking {
	char node[REC_NAME];
	int64_t waiting;	 /* backends waiting on a lock */
	int64_t pairs;		 /* (blocked, blocker) pairs */
	double longest_wait_ms;	 /* longest current lock wait */
	int64_t deadlocks;	 /* pg_stat_database.deadlocks, cumulative */
};

struct rec_replication {
	char node[REC_NAME];	 /* the subscriber */
	char subscription[32];
	char state[16];		 /* streaming, catchup, down, ... */
	int64_t lag_bytes;	 /* slot lag on the publisher */
	double apply_lag_ms;	 /* from the heartbeat */
};

struct rec_hum {
	char node[REC_NAME];
	/* issue 15: the group tag; client "1".."64" needs 3 bytes */
	char group[12];		/* CFG_HUM_NAME */
	char client[4];
	int64_t tx;		/* committed in this interval */
	int64_t err_serialization;
	int64_t err_deadlock;
	int64_t err_other;
	double latency_p50_ms;
	double latency_p99_ms;
	double latency_max_ms;
	double schedule_lag_ms;
	int64_t reconnects;
};

struct rec_service {
	char service[REC_NAME];
	double cpu_pct;
	int64_t mem_bytes;
	int64_t net_rx_bytes;
	int64_t net_tx_bytes;
	int64_t up; /* 1 ready, 0 not */
};

struct rec_labsup {
	char worker[24];
	int64_t ring_drops;
	int64_t spool_bytes;
	int64_t deadline_misses;
	int64_t restarts;
	int64_t points_written;
	int64_t errors;
	int64_t value; /* kind-specific extra figure */
};

struct rec_event {
	char kind[16]; /* restart, reload, chaos, node_lost, node_back, ... */
	char text[88];
};

/* A link's figures over the last interval (workers/link.c). */
struct rec_link {
	char worker[24];	/* "link sub2": the labsup measurement's tag */
	char node[REC_NAME];	/* the subscriber */
	int64_t bytes_down;	/* publisher to subscriber, this interval */
	int64_t bytes_up;	/* subscriber to publisher */
	int64_t connections;	/* open now */
	int64_t accepted;	/* connections accepted, since the start */
	int64_t refused;	/* refused or cut by a partition, since start */
	int64_t partitions;	/* partitions begun, since the start */
	int32_t delay_us;	/* mean delay applied to bytes delivered */
	int32_t state;		/* 0 pass-through, 1 shaped, 2 stalled, 3 cut */
	int64_t queued;		/* bytes held now (delay, rate, stall) */
};

struct rec_test {
	char stream[REC_NAME];
	int64_t n;
};

/*
 * Subscription health (workers/subhealth.c), read once a second by the
 * replication worker.  The subscription name is a tag of each, so one
 * dashboard row per subscriber shows lag, errors, slot and waits side by
 * side.  Subscription names are schema_subname()'s ("labsup_sub_" and a
 * node name): 24 bytes hold them for node names up to 12 characters.
 */
#define REC_SUBNAME 24

struct rec_sub_stats {
	char node[REC_NAME];		/* the subscriber */
	char subscription[REC_SUBNAME];
	int64_t apply_errors;		/* pg_stat_subscription_stats */
	int64_t sync_errors;
	int64_t received_lsn;		/* pg_stat_subscription, as bytes */
	int64_t reported_lsn;		/* latest_end_lsn: flushed, told back */
	double send_age_ms;		/* now - last_msg_send_time */
	double receipt_age_ms;		/* now - last_msg_receipt_time */
	int32_t tables_not_ready;	/* pg_subscription_rel not in 'r' */
	int32_t enabled;		/* 0: paused (subenabled false) */
	int32_t apply_pid;		/* 0: no apply worker runs */
	int32_t pad;
};

struct rec_sub_rel {
	char node[REC_NAME];
	char subscription[REC_SUBNAME];
	char table[40];			/* schema-less relation name */
	char state[8];			/* i, d, f, s, r (srsubstate) */
	int64_t lsn;			/* srsublsn, REC_ABSENT when NULL */
};

struct rec_sub_slot {
	char node[REC_NAME];		/* the publisher */
	char subscription[REC_SUBNAME];	/* = the slot's name */
	char wal_status[16];		/* reserved, extended, unreserved, lost */
	char sender_state[16];		/* pg_stat_replication.state, "" none */
	int64_t safe_wal_size;		/* REC_ABSENT when unlimited (NULL) */
	int64_t retained_bytes;		/* current WAL lsn - restart_lsn */
	int64_t active;			/* 1 while a walsender uses the slot */
};

struct rec_sub_worker {
	char node[REC_NAME];
	char subscription[REC_SUBNAME];
	char role[8];			/* apply, sync, sender */
	char wait_event_type[16];	/* "" while it runs (on CPU) */
	char wait_event[32];
	int32_t pid;
	int32_t waiting;		/* 1 when it waits on something */
};

/*
 * A server log line (workers/pglog.c) is longer than a record: it goes as
 * up to PGLOG_PARTS records of the same node, tags and timestamp, each
 * carrying the next REC_PGLOG_TEXT bytes in its own field (message,
 * message_2, ...) and its lane position in its own seq field (seq,
 * seq_2, ...).  InfluxDB merges points of one series and timestamp into
 * one, so a query sees one point with the whole text (up to PGLOG_PARTS *
 * REC_PGLOG_TEXT bytes; the rest is cut, as `labsup logs` shows in full).
 * Severity and backend type are codes (pglog_severity(), pglog_btype()
 * name them) to leave room for text.  file_hash and off say where the line
 * is, and last marks a line's final part (neither written to InfluxDB): a
 * restarted logs worker finds in its own lane the last line it sent, and
 * goes on after it (or after the last part sent, when it was killed
 * between the parts of a line).
 */
#define REC_PGLOG_TEXT 56
#define PGLOG_PARTS 5

struct rec_pg_log {
	char node[REC_NAME];
	char sqlstate[6];		/* "40P01", "" when none */
	uint8_t severity;		/* enum pglog_severity */
	uint8_t btype;			/* enum pglog_btype */
	uint8_t part;			/* 0: message, n: message_<n+1> */
	uint8_t last;			/* 1: the line's last part */
	uint8_t pad[2];
	int32_t pid;
	uint32_t file_hash;		/* pglog_file_hash() of its file's name */
	uint32_t pad2;
	int64_t off;			/* the line's byte offset in its file */
	char text[REC_PGLOG_TEXT];	/* not NUL-terminated when full */
};

/*
 * lock_wait: one lock-wait episode (workers/episodes.h), written once a
 * second while it lasts (ended 0) and once when it ends (ended 1, at its
 * start time).  A point is one REC_LOCK_WAIT and up to two
 * REC_LOCK_WAIT_TEXT (each side's statement, cut to REC_QUERY_TEXT) with
 * the same tags and time: InfluxDB merges the fields of points of one
 * series and timestamp, so they land as one point.  Modes and lock types
 * are codes (rec_lockmode_name, rec_locktype_name) to fit the 128 bytes.
 */
#define REC_TARGET 40
#define REC_QUERY_TEXT 80

enum rec_lock_side { REC_SIDE_WAITER = 0, REC_SIDE_BLOCKER };

struct rec_lock_wait {
	char node[REC_NAME];
	char target[REC_TARGET]; /* relation name, "transaction 123", "" */
	int32_t pid;		 /* the waiting backend */
	int32_t blocker;	 /* the first of its blockers, 0 unknown */
	double duration_ms;	 /* so far, or in all once ended */
	int64_t query_id;	 /* the waiter's statement, 0 unknown */
	int64_t blocker_query_id;
	uint8_t ended;
	uint8_t locktype;	 /* rec_locktype_code(); 0 unknown */
	uint8_t mode;		 /* wanted: rec_lockmode_code(); 0 unknown */
	uint8_t held;		 /* the blocker's strongest on it; 0 unknown */
	uint8_t blockers;	 /* how many block it (pg_blocking_pids) */
	uint8_t blocker_idle_tx; /* 1 idle in transaction, 0 not, 2 unknown */
	uint8_t pad[2];
};

struct rec_lock_wait_text {
	char node[REC_NAME];
	int32_t pid;
	uint8_t ended;
	uint8_t side;		 /* enum rec_lock_side */
	uint8_t pad[2];
	char text[REC_QUERY_TEXT];
};

/*
 * What the in-server probe (probe/labsup_probe.c) knows of one lock waiter
 * on a tick where some backend waits: one REC_PROBE_WAIT per waiter,
 * followed by its `texts` REC_PROBE_WAIT_TEXT on the first tick that shows
 * it waiting on that blocker, then a REC_PROBE_TICK (also on the first
 * tick after, where nobody waits any more: the episodes end there, which
 * a pg_blocking point, once per 10 ms window at 1 kHz, does not tell).
 * The sampler (workers/sampler_probe.c) turns them into the episodes
 * (workers/episodes.h) the SQL sampler makes, naming relations itself.
 * No measurement: the writer never gets them.
 */
struct rec_probe_wait {
	int32_t pid;		 /* the waiting backend */
	int32_t blocker;	 /* its first blocker, 0 none found */
	int64_t waitstart_ns;	 /* PGPROC waitStart, CLOCK_REALTIME; 0 */
	int64_t query_id, blocker_query_id;	/* st_query_id; 0 unknown */
	uint32_t relid, dbid;	 /* the relation (or its tuple's), 0 none */
	uint32_t xid;		 /* a transactionid wait's xid */
	int32_t vxid_backend;	 /* a virtualxid wait's, -1 none */
	uint32_t vxid_local;
	uint16_t nblockers;	 /* as pg_blocking_pids() counts them */
	uint8_t locktype, mode, held; /* rec_lock*_code() numbering */
	uint8_t blocker_idle_tx; /* 1, 0, or 2 when not known */
	uint8_t texts;		 /* REC_PROBE_WAIT_TEXT records that follow */
	/*
	 * 1: granted, not running yet (its lock wait still reported); the
	 * blocker, if any, is who ended the transaction it waited for, and
	 * no pair: pg_blocking_pids() shows none any more
	 */
	uint8_t granted;
	uint8_t pad[4];
};

struct rec_probe_wait_text {
	int32_t pid;
	uint8_t side;		 /* enum rec_lock_side */
	uint8_t pad[3];
	char text[REC_QUERY_TEXT]; /* st_activity_raw, cut, NUL-terminated */
};

struct record {
	uint64_t seq;  /* lane position; gaps reveal loss */
	int64_t ts;    /* ns since the epoch, CLOCK_REALTIME */
	uint8_t kind;  /* enum rec_kind */
	/*
	 * 1 on a record a sampler made of a probe's record (shm/probe.h):
	 * origin is the low 32 bits of that one's position in the probe's
	 * lane, where a restarted sampler goes on (probe_relay_resume), and
	 * origin_seg which segment's lane (the low 16 bits of its inode).
	 */
	uint8_t relayed;
	uint16_t origin_seg;
	uint32_t origin;
	union {
		struct rec_locks locks;
		struct rec_activity activity;
		struct rec_blocking blocking;
		struct rec_replication replication;
		struct rec_hum hum;
		struct rec_service service;
		struct rec_labsup labsup;
		struct rec_event event;
		struct rec_test test;
		struct rec_sub_stats sub_stats;
		struct rec_sub_rel sub_rel;
		struct rec_sub_slot sub_slot;
		struct rec_sub_worker sub_worker;
		struct rec_pg_log pg_log;
		struct rec_lock_wait lock_wait;
		struct rec_lock_wait_text lock_wait_text;
		struct rec_link link;
		struct rec_probe_wait probe_wait;
		struct rec_probe_wait_text probe_wait_text;
		char raw[REC_SIZE - 24];
	} u;
};

_Static_assert(sizeof(struct record) == REC_SIZE, "record must be REC_SIZE");

const char *rec_measurement(int kind);
/* pg_locks' mode and locktype names as 1-based codes; 0 for unknown. */
int rec_lockmode_code(const char *name);
const char *rec_lockmode_name(int code);	/* "" for 0 or out of range */
int rec_locktype_code(const char *name);
const char *rec_locktype_name(int code);

/* pg_log codes: the record holds the index, the point the name. */
enum pglog_severity {
	PGLOG_NONE = 0, PGLOG_DEBUG, PGLOG_LOG, PGLOG_INFO, PGLOG_NOTICE,
	PGLOG_WARNING, PGLOG_ERROR, PGLOG_FATAL, PGLOG_PANIC, PGLOG_NSEV
};
enum pglog_btype {
	PGB_OTHER = 0, PGB_CLIENT, PGB_POSTMASTER, PGB_CHECKPOINTER,
	PGB_APPLY, PGB_LAUNCHER, PGB_WALSENDER, PGB_AUTOVACUUM,
	PGB_AUTOVACUUM_LAUNCHER, PGB_BGWRITER, PGB_WALWRITER, PGB_STARTUP,
	PGB_PARALLEL, PGB_NTYPES
};
/* "ERROR"; "" for PGLOG_NONE or out of range. */
const char *pglog_severity(int code);
/* "client backend"; "other" for PGB_OTHER or out of range. */
const char *pglog_btype(int code);
/* The code of a name (PGLOG_NONE / PGB_OTHER when not known). */
int pglog_severity_code(const char *name);
int pglog_btype_code(const char *name);

#endif
