/*
 * status.h: the status table in the shared segment.  Each block has exactly
 * one writing process and is read by anyone (labsup status, top, start's
 * progress) under a seqlock: the writer makes the sequence odd, writes,
 * makes it even; a reader retries while it is odd or changed under it.
 */
#ifndef LABSUP_STATUS_H
#define LABSUP_STATUS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct seqlock {
	_Atomic uint32_t seq;
};

void seq_write_begin(struct seqlock *s);
void seq_write_end(struct seqlock *s);
/*
 * Copy len bytes at src (guarded by s) into dst, consistently.  Returns 0,
 * or -1 with dst zeroed when no consistent copy could be had in about 10 ms
 * (a writer died mid-write, or was preempted that long): show it as busy.
 */
int seq_read(const struct seqlock *s, void *dst, const void *src, size_t len);

enum worker_state {
	WS_EMPTY = 0, /* slot unused */
	WS_STARTING,  /* forked, or waiting for something (see detail) */
	WS_RUNNING,
	WS_BACKOFF,   /* crashed; restart scheduled */
	WS_FAILED,    /* gave up (exit code 78 or start failure) */
	WS_STOPPED,
	WS_MAX
};

/* Worker counters: 16 int64 per slot, meaning set by the worker's kind
 * (workers/worker.h). */
#define NCOUNTERS 24

#define STATUS_NAME 32
#define STATUS_TEXT 120

/* Written by the supervisor only. */
struct slot_sup {
	char name[STATUS_NAME];	/* "sampler pub", "hum 2", "writer" */
	char arg[STATUS_NAME];	/* node or client the worker is for */
	uint8_t kind;		/* enum worker_kind (workers/worker.h) */
	uint8_t state;		/* EMPTY, STARTING, BACKOFF, FAILED, STOPPED */
	uint8_t pad[2];
	int32_t pid;		/* 0 when not running */
	uint32_t restarts;
	int32_t last_status;	/* wait status of the last exit */
	int64_t started_ns;	/* CLOCK_REALTIME */
	int64_t next_start_ns;	/* when in BACKOFF */
};

/*
 * issue 16: what `labsup top` shows beyond counters, by the slot's kind.
 * The replication worker: each subscription's health, read once a second
 * (workers/subhealth.h), one entry per subscriber in config order.  The
 * logs worker: the latest ERROR, FATAL or PANIC line of any node.
 */
#define SLOT_SUBS 7		/* CFG_MAX_NODES - 1: every subscriber */

struct slot_sub {
	char node[16];		/* the subscriber; "" unused */
	char wal_status[12];	/* its slot's on the publisher; "" unknown */
	int64_t apply_errors;	/* pg_stat_subscription_stats; -1 unknown */
	int64_t sync_errors;
	int64_t received_lsn;	/* pg_stat_subscription, as bytes; -1 none */
	int64_t reported_lsn;	/* latest_end_lsn: flushed and told back */
	int64_t retained_bytes;	/* WAL the slot holds on the publisher; -1 */
	int32_t tables_not_ready; /* pg_subscription_rel not in 'r'; -1 */
	uint8_t enabled;	/* 0: paused */
	uint8_t apply_running;	/* an apply worker runs */
	uint8_t seen;		/* the subscriber answered the last read */
	uint8_t pad;
};

struct slot_logline {
	int64_t ts_ns;		/* the line's time; 0: none yet */
	char node[16];
	char severity[8];	/* ERROR, FATAL, PANIC */
	char sqlstate[6];
	char pad[2];
	char text[96];		/* the message, cut */
};

union slot_extra {
	struct slot_sub subs[SLOT_SUBS];	/* WK_REPLICATION */
	struct slot_logline last_error;		/* WK_LOGS */
};

/* Written by the worker process that owns the slot. */
struct slot_own {
	int32_t pid;		/* the writer of this block */
	uint8_t state;		/* STARTING (detail says on what), RUNNING, FAILED */
	uint8_t pad[3];
	int64_t heartbeat_ns;	/* CLOCK_REALTIME */
	char detail[STATUS_TEXT];
	int64_t counters[NCOUNTERS];
	union slot_extra extra;	/* issue 16: by kind (above) */
};

struct slot {
	struct seqlock sup_lock;
	struct slot_sup sup;
	struct seqlock own_lock;
	struct slot_own own;
};

enum svc_role { ROLE_PUBLISHER = 1, ROLE_SUBSCRIBER, ROLE_INFLUXDB, ROLE_GRAFANA };
enum svc_state {
	SS_EMPTY = 0,
	SS_STARTING,
	SS_READY,
	SS_FAILED,
	SS_UNAVAILABLE,
	SS_STOPPED,
	SS_MAX
};

/* One per service, written by the container worker only. */
struct svc_info {
	char name[16];
	uint8_t role;		/* enum svc_role */
	uint8_t state;		/* enum svc_state */
	uint8_t pad[2];
	int32_t port;		/* on 127.0.0.1 */
	int32_t pid;		/* server pid (local backend), 0 otherwise */
	char id[72];		/* container id (docker backend) */
	char detail[STATUS_TEXT];
	double cpu_pct;
	int64_t mem_bytes;
	int64_t restarts;
	int64_t since_ns;	/* state entered at, CLOCK_REALTIME */
};

struct svc_status {
	struct seqlock lock;
	struct svc_info info;
};

const char *worker_state_name(int state);
const char *svc_role_name(int role);
const char *svc_state_name(int state);

/* Convenience for a worker updating its own block. */
void status_set(struct slot *s, int state, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void status_counter_set(struct slot *s, int idx, int64_t v);
void status_counter_add(struct slot *s, int idx, int64_t v);
void status_heartbeat(struct slot *s);
/* issue 16: the slot's extra block and some counters, in one write */
void status_extra_set(struct slot *s, const union slot_extra *x,
    const int64_t *counters, int first, int n);

/* Reads (consistent copies). */
int status_read_sup(const struct slot *s, struct slot_sup *out);
int status_read_own(const struct slot *s, struct slot_own *out);
int status_read_svc(const struct svc_status *s, struct svc_info *out);
void status_write_svc(struct svc_status *s, const struct svc_info *in);

#endif
