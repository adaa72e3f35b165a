/*
 * segment.h: the lab's POSIX shared-memory segment, /labsup.<uid>.<lab>,
 * mode 0600.  Layout: header, status slots, service table, lanes (one per
 * slot).  The supervisor creates it; everyone else maps it.
 */
#ifndef LABSUP_SEGMENT_H
#define LABSUP_SEGMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ring.h"
#include "status.h"

#define SEG_MAGIC 0x6c61627375703031ULL /* "labsup01" */
#define SEG_VERSION 1
#define SEG_NAME_MAX 96

/* Lab-wide facts, written by the supervisor under info_lock. */
struct lab_info {
	uint64_t generation;	  /* config generation, +1 per good reload */
	uint64_t reloads;	  /* successful reloads */
	uint64_t reload_failures; /* reloads refused (bad config) */
	char lab[32];
	char backend[16];	  /* unused: see seg_header.backend */
	char config_path[256];
	char state_dir[256];
	char influx_url[128];
	char influx_db[64];
	char last_reload_error[STATUS_TEXT * 2];
};

/* Flags the CLI sets before signalling the supervisor to stop. */
#define SHUT_KEEP_RUNNING 0x1 /* leave the services running */
#define SHUT_PURGE 0x2	      /* delete the lab's data too */

struct seg_header {
	uint64_t magic;
	uint32_t version;
	uint32_t nslots;
	uint32_t nsvc;
	/*
	 * The backend the lab runs on (enum backend_kind, lib/config.h), 0
	 * until the container worker picked one.  Written by that worker
	 * alone (lab_info is the supervisor's): a plain atomic, no seqlock.
	 */
	_Atomic uint32_t backend;
	uint64_t lane_records;
	uint64_t total_size;
	uint64_t off_slots, off_svcs, off_lanes, lane_stride;
	_Atomic int32_t supervisor_pid;
	_Atomic uint32_t shutdown_flags;
	int64_t boot_ns;
	struct seqlock info_lock;
	struct lab_info info;
};

struct seg {
	struct seg_header *hdr;
	size_t size;
	char name[SEG_NAME_MAX];
};

/* "/labsup.<uid>.<lab>" */
void seg_name(char *buf, size_t len, const char *lab);

/*
 * Create the segment (fails with EEXIST if it exists).  Returns 0 or -1 with
 * errno set and a message in err.
 */
int seg_create(struct seg *s, const char *name, uint32_t nslots,
    uint32_t nsvc, uint64_t lane_records, char *err, size_t errlen);
/* Map an existing segment; validates magic, version and size. */
int seg_open(struct seg *s, const char *name, bool writable, char *err,
    size_t errlen);
void seg_close(struct seg *s);
int seg_unlink(const char *name);

struct slot *seg_slot(const struct seg *s, uint32_t i);
struct svc_status *seg_svc(const struct seg *s, uint32_t i);
struct lane *seg_lane(const struct seg *s, uint32_t i);

/* Sums over every lane. */
void seg_ring_totals(const struct seg *s, uint64_t *produced,
    uint64_t *committed, uint64_t *dropped);

void seg_read_info(const struct seg *s, struct lab_info *out);
void seg_write_info(struct seg *s, const struct lab_info *in);

#endif
