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

struct rec_test {
	char stream[REC_NAME];
	int64_t n;
};

struct record {
	uint64_t seq;  /* lane position; gaps reveal loss */
	int64_t ts;    /* ns since the epoch, CLOCK_REALTIME */
	uint8_t kind;  /* enum rec_kind */
	uint8_t pad[7];
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
		char raw[REC_SIZE - 24];
	} u;
};

_Static_assert(sizeof(struct record) == REC_SIZE, "record must be REC_SIZE");

const char *rec_measurement(int kind);

#endif
