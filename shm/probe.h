/*
 * probe.h: the segment labsup shares with the in-server probe of one node
 * (probe/labsup_probe.c, a background worker inside that node's
 * PostgreSQL): the file <node> in the lab's directory on tmpfs,
 * /dev/shm/labsup.<uid>.<lab>.probe/, mode 0600, owned by the server's
 * user.  A directory, not a POSIX shm name of its own per node: the docker
 * backend bind-mounts the directory into the node's container, and a
 * segment made again by a restarted labsup (a new inode) appears there
 * as it does on the host.  The sampler worker creates it and is the only
 * reader of its one lane; the probe is the lane's only producer.
 *
 * The control block is the sampler's (the probe only reads it), the state
 * block the probe's (the sampler only reads it): each word has one writer,
 * so plain atomics do, no seqlock.  Neither side ever waits for the other.
 * The probe looks at the segment's path once a second: when it is gone it
 * stops writing, when a new one took its place (labsup restarted) it maps
 * that one instead.
 *
 * This header is included by the extension too, which is built against
 * PostgreSQL's headers: it uses nothing but C11 and ring.h.
 */
#ifndef LABSUP_PROBE_H
#define LABSUP_PROBE_H

#include <stdatomic.h>
#include <stdint.h>

#include "ring.h"

#define PROBE_MAGIC 0x6c61627370726231ULL /* "labsprb1" */
#define PROBE_VERSION 3	/* 2: REC_PROBE_WAIT; 3: PROBE_SUMMARY_NS */
#define PROBE_LANE_RECORDS 16384	  /* 2 MiB: seconds of 1 kHz ticks */
#define PROBE_GUC "labsup.segment"	  /* the server setting naming it */
#define PROBE_SEG_ROOT "/dev/shm"	  /* tmpfs: where the directories go */
/*
 * The per-tick summaries (REC_ACTIVITY, REC_BLOCKING) go out at most this
 * often: below it (interval_ms < 10) the probe samples every tick, but
 * writes pg_activity from the first tick of each window of
 * PROBE_SUMMARY_NS / interval ticks and pg_blocking with the window's
 * peaks; the waiters' records (REC_PROBE_WAIT) go every tick.
 */
#define PROBE_SUMMARY_NS 10000000LL
#define PROBE_SUMMARY_TICKS(interval_ns)				\
	((interval_ns) > 0 && (interval_ns) < PROBE_SUMMARY_NS ?	\
	PROBE_SUMMARY_NS / (interval_ns) : 1)

/* Written by the sampler, read by the probe. */
struct probe_ctl {
	_Atomic uint32_t run;		/* 1: sample; 0: stay idle */
	_Atomic int32_t skip_pid;	/* the sampler's own backend */
	_Atomic int64_t interval_ns;	/* the tick grid: multiples of it */
	_Atomic int64_t locks_every;	/* lock snapshot every n-th slot */
	char node[REC_NAME];		/* what the records call the node */
};

/* Written by the probe, read by the sampler. */
struct probe_state {
	_Atomic int32_t pid;		/* the probe's background worker */
	_Atomic uint32_t sampling;	/* 1 while it samples */
	_Atomic int64_t heartbeat_ns;	/* CLOCK_MONOTONIC, every tick */
	_Atomic int64_t last_tick_ns;	/* CLOCK_REALTIME of the last tick */
	_Atomic uint64_t ticks;
	_Atomic uint64_t misses;	/* grid slots skipped: late */
	_Atomic uint64_t lock_snaps;	/* lock-manager snapshots taken */
	_Atomic uint64_t lock_snap_ns;	/* their total time */
	_Atomic uint64_t lock_snap_max_ns;
	_Atomic uint64_t torn;		/* backend entries changing mid-read */
	_Atomic uint64_t tick_ns;	/* total time of the ticks */
	_Atomic uint64_t pairs_capped;	/* waiters left out of pairs */
	_Atomic uint64_t wait_walks;	/* lock waiters' queues walked */
	_Atomic uint64_t wait_walk_ns;	/* their total time */
	/* the latest tick's figures, for labsup top */
	_Atomic int64_t waiting, pairs, granted, active, idle_tx;
};

struct probe_seg {
	uint64_t magic;
	uint32_t version;
	uint32_t pad;
	uint64_t lane_records;
	uint64_t total_size;
	uint64_t off_lane;
	_Alignas(LANE_CACHELINE) struct probe_ctl ctl;
	_Alignas(LANE_CACHELINE) struct probe_state st;
};

static inline struct lane *
probe_lane(struct probe_seg *p)
{
	return (struct lane *)((char *)p + p->off_lane);
}

static inline uint64_t
probe_seg_bytes(uint64_t nrecs)
{
	uint64_t hdr = (sizeof(struct probe_seg) + 4095) & ~(uint64_t)4095;

	return hdr + lane_bytes(nrecs);
}

#ifndef LABSUP_PROBE_EXTENSION /* labsup's side only */
#include <stdbool.h>
#include <sys/types.h>

/* "/dev/shm/labsup.<uid>.<lab>.probe": the lab's segments */
void probe_seg_dir(char *buf, size_t len, const char *lab);
/* "/dev/shm/labsup.<uid>.<lab>.probe/<node>" */
void probe_seg_path(char *buf, size_t len, const char *lab, const char *node);
/*
 * Make the lab's directory (mode 0711: the servers' users reach their own
 * file, nobody lists it) unless it is there.  0, or -1 with err.
 */
int probe_seg_mkdir(const char *lab, char *err, size_t errlen);
/*
 * Map the node's probe segment at path (in a directory probe_seg_mkdir
 * made), owned by uid:gid, mode 0600: the one there if it is whole
 * (*reused), else a new one.  NULL with a message in err.
 */
struct probe_seg *probe_seg_attach(const char *path, uid_t uid, gid_t gid,
    bool *reused, char *err, size_t errlen);
void probe_seg_detach(struct probe_seg *p);
/*
 * Exactly once over a sampler's kill -9.  A sampler frees what it relayed
 * from the probe's lane only after a batch, so its successor reads again
 * (lane_rewind) what it may already have put into its own lane: the same
 * points again under new seqs, which InfluxDB folds into one (same series
 * and time), leaving the first seqs missing.  Every record a sampler makes
 * of a probe record says which one (record.relayed, .origin) of which
 * segment (.origin_seg: probe_seg_id()).  This finds the newest such
 * record in the sampler's own lane and, when it came from this segment
 * (seg) and from the records probe still holds unfreed, frees them up to
 * it.  Returns how many records it skipped (0: none were relayed, all
 * were freed, or the newest came from a segment this one replaced).
 */
uint64_t probe_relay_resume(struct lane *probe, const struct lane *own,
    uint16_t seg);
/* What records relayed from the segment at path say of it (its inode). */
uint16_t probe_seg_id(const char *path);
#endif

#endif
