/*
 * labsup_probe.c: labsup's in-server probe, a PostgreSQL 15 extension
 * loaded through shared_preload_libraries.  Its background worker samples
 * the server from the inside, on the shared tick grid (multiples of the
 * interval on CLOCK_MONOTONIC, as the sampler worker's ticks are), and
 * writes the records the SQL sampler writes (pg_locks, pg_activity,
 * pg_blocking: shm/record.h) into the lane of the node's probe segment
 * (shm/probe.h), which the node's sampler worker relays to the writer.
 *
 * How it stays out of the backends' way:
 *  - backend state and wait events are read without locks, as
 *    pg_wait_sampling reads wait events: each PGPROC's wait_event_info and
 *    waitStart are single words; each backend status entry is copied under
 *    its own change counter (the protocol pgstat_read_current_status
 *    uses), retried a few times and skipped (counted as torn) if it keeps
 *    changing.  No query, no transaction, no client.
 *  - the locks are counted (probe_locks: every live process's own lock
 *    lists, one partition lock at a time, shared, and its fast-path word)
 *    on every locks_every-th slot of the grid only; on ticks where some
 *    backend waits on a heavyweight lock, the partition locks are taken
 *    (shared) to walk the waiters' own locks alone, as pg_blocking_pids()
 *    does: blockers, modes, target (probe_waiters).  Both timed and
 *    counted in the state block.
 *  - below 10 ms a tick (PROBE_SUMMARY_NS) the per-tick summaries go out
 *    once per window of ticks, the waiters' records every tick.
 *  - no lock is held while it writes: records go into a single-producer
 *    lane (shm/ring.h) that never blocks; a full lane drops and counts.
 *  - a segment that goes away is noticed within a second (its path is
 *    looked up again each second; on the docker backend the directory
 *    holding it is bind-mounted into the container): it stops writing and says so in the
 *    server log; a new one under the same name (labsup restarted) is
 *    mapped instead.  A fault while writing into the mapping (a segment
 *    truncated under it) is caught and unmaps it instead of crashing the
 *    server.
 */
#include "postgres.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "access/transam.h"
#include "access/twophase.h"
#include "access/xact.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lock.h"
#include "storage/pmsignal.h"
#include "storage/proc.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "utils/backend_status.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
#include "utils/wait_event.h"

#include "probe.h"

PG_MODULE_MAGIC;

void _PG_init(void);
PGDLLEXPORT void labsup_probe_main(Datum arg);

#define NS 1000000000LL
#define IDLE_MS 100		/* idle: look at the control word this often */
#define CHECK_NS NS		/* look the segment's name up again */
#define READ_TRIES 4		/* of a status entry that keeps changing */
#define LOCK_GROUPS 256
#define ACT_GROUPS 256
#define PAIR_WAITERS_MAX 256	/* waiters whose blockers a tick counts */

static char *probe_segment = NULL;	/* GUC labsup.segment */

/*
 * Who ended a transaction.  Every backend, at the end of a transaction
 * that had an xid (committed or aborted; and a subtransaction rolled
 * back), writes (pid, xid) into this table's slot for the xid: one 64-bit
 * store, no lock.  The xact callbacks run after ProcArrayEndTransaction
 * and before the transaction's locks go (CommitTransaction,
 * AbortTransaction).  A waiter a tick finds granted but not yet running
 * (its lock wait still reported: the holder let go, the waiter waits to
 * be scheduled) holds ShareLock on the transaction it waited for, and
 * this names the backend that ended it: the blocker, which
 * pg_blocking_pids() no longer shows and pg_wait_sampling counts as a
 * lock wait all the same.  A slot is written again ENDED_SLOTS xids later.
 */
#define ENDED_SLOTS 4096	/* a power of two */
static pg_atomic_uint64 *ended_xids;
static shmem_request_hook_type prev_shmem_request;
static shmem_startup_hook_type prev_shmem_startup;

static void
ended_request(void)
{
	if (prev_shmem_request != NULL)
		prev_shmem_request();
	RequestAddinShmemSpace(ENDED_SLOTS * sizeof(pg_atomic_uint64));
}

static void
ended_startup(void)
{
	bool found;

	if (prev_shmem_startup != NULL)
		prev_shmem_startup();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	ended_xids = ShmemInitStruct("labsup ended xids",
	    ENDED_SLOTS * sizeof(pg_atomic_uint64), &found);
	if (!found)
		for (int i = 0; i < ENDED_SLOTS; i++)
			pg_atomic_init_u64(&ended_xids[i], 0);
	LWLockRelease(AddinShmemInitLock);
}

static void
ended_note(TransactionId xid)
{
	if (ended_xids != NULL && TransactionIdIsNormal(xid))
		pg_atomic_write_u64(&ended_xids[xid & (ENDED_SLOTS - 1)],
		    (uint64)(uint32)MyProcPid << 32 | xid);
}

static void
ended_xact(XactEvent ev, void *arg)
{
	TransactionId *kids, xid = GetTopTransactionIdIfAny();
	int n;

	(void)arg;
	if ((ev != XACT_EVENT_COMMIT && ev != XACT_EVENT_ABORT) ||
	    !TransactionIdIsValid(xid))
		return;
	ended_note(xid);
	n = xactGetCommittedChildren(&kids);
	for (int i = 0; i < n; i++)
		ended_note(kids[i]);
}

static void
ended_subxact(SubXactEvent ev, SubTransactionId sub, SubTransactionId parent,
    void *arg)
{
	(void)sub;
	(void)parent;
	(void)arg;
	if (ev == SUBXACT_EVENT_ABORT_SUB)
		ended_note(GetCurrentTransactionIdIfAny());
}

/* The backend that ended xid lately, 0 when the table does not know. */
static int32
ended_by(TransactionId xid)
{
	uint64 v;

	if (ended_xids == NULL || !TransactionIdIsNormal(xid))
		return 0;
	v = pg_atomic_read_u64(&ended_xids[xid & (ENDED_SLOTS - 1)]);
	return (TransactionId)(uint32)v == xid ? (int32)(v >> 32) : 0;
}

static volatile sig_atomic_t got_sigterm = 0;

/* The mapping, and what it is: a new segment has another inode. */
static struct probe_seg *seg = NULL;
static size_t seg_size = 0;
static ino_t seg_ino = 0;
static bool said_missing = false;

/* Catching a fault while writing into the mapping (see top). */
static sigjmp_buf bus_env;
static volatile sig_atomic_t bus_armed = 0;

static PgBackendStatus *beArray = NULL;
static int beSlots = 0;

struct lock_group {
	const char *locktype, *mode;
	bool granted;
	int64 count;
};

struct act_group {
	const char *state, *wtype, *wevent;
	int64 count;
};

/* One backend status entry as this tick read it. */
struct be_view {
	int pid;
	int idx;		/* in beArray: its text is read again if needed */
	BackendState st;
	uint64 query_id;
};

/*
 * The waiters whose statements went out (REC_PROBE_WAIT_TEXT) on the last
 * tick that snapshotted the lock manager, and on this one: a waiter's text
 * goes once per (pid, blocker, waitStart), not every tick.
 */
struct told {
	int pid, blocker;
	TimestampTz wait_start;
};

static struct told told_prev[PAIR_WAITERS_MAX], told_cur[PAIR_WAITERS_MAX];
static int ntold_prev = 0, ntold_cur = 0;

/* Sized by the server's process count on the first tick (probe_tick). */
static uint64 *proc_tick = NULL;	/* the probe_procs that listed it */
static uint64 proc_tickno = 0;
static PGPROC **lock_procs = NULL;	/* the processes probe_locks walks */

/*
 * The summary window (PROBE_SUMMARY_TICKS slots of the grid, aligned on
 * multiples of it): its pg_activity went out on its first tick; its
 * pg_blocking peaks go out when it ends.
 */
static struct {
	int64 first;		/* its first slot; -1: none open */
	int64 ticks;		/* the slots it spans */
	int64 ts;		/* CLOCK_REALTIME of its first tick */
	int64 waiting, pairs;
	double longest;
} win = { .first = -1 };

/* One live PGPROC, read without locks. */
struct proc_view {
	int pid;
	int idx;		/* in ProcGlobal->allProcs */
	int backend_id;		/* its status entry is at backend_id - 1 */
	uint32 wei;
	TimestampTz wait_start;
};

static int64
mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64)ts.tv_sec * NS + ts.tv_nsec;
}

static int64
real_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64)ts.tv_sec * NS + ts.tv_nsec;
}

static void
probe_sigterm(SIGNAL_ARGS)
{
	int save_errno = errno;

	got_sigterm = 1;
	SetLatch(MyLatch);
	errno = save_errno;
}

static void
probe_sigbus(SIGNAL_ARGS)
{
	if (bus_armed) {
		bus_armed = 0;
		siglongjmp(bus_env, 1);
	}
	/* not ours: the default action, as if we had no handler */
	signal(SIGBUS, SIG_DFL);
	raise(SIGBUS);
}

static void
probe_unmap(void)
{
	if (seg != NULL)
		munmap(seg, seg_size);
	seg = NULL;
	seg_size = 0;
	seg_ino = 0;
}

/*
 * Map the segment at labsup.segment's path if it is there and not the one
 * already mapped; unmap the one mapped when its path is gone.
 */
static void
probe_attach(void)
{
	struct stat sb;
	struct probe_seg *p;
	int fd;

	fd = open(probe_segment, O_RDWR | O_CLOEXEC);
	if (fd == -1) {
		if (seg != NULL)
			ereport(LOG, (errmsg("labsup probe: segment %s is gone "
			    "(labsup stopped?): stopped writing; sampling "
			    "again when it is back", probe_segment)));
		else if (!said_missing && errno != ENOENT)
			ereport(LOG, (errmsg("labsup probe: cannot open %s: %m",
			    probe_segment)));
		said_missing = true;
		probe_unmap();
		return;
	}
	if (fstat(fd, &sb) == -1 || (seg != NULL && sb.st_ino == seg_ino)) {
		close(fd);
		return;
	}
	if ((size_t)sb.st_size < sizeof(struct probe_seg)) {
		close(fd);	/* being created: next second */
		return;
	}
	p = mmap(NULL, (size_t)sb.st_size, PROT_READ | PROT_WRITE, MAP_SHARED,
	    fd, 0);
	close(fd);
	if (p == MAP_FAILED) {
		ereport(LOG, (errmsg("labsup probe: cannot map %s: %m",
		    probe_segment)));
		return;
	}
	if (p->magic != PROBE_MAGIC || p->version != PROBE_VERSION ||
	    p->total_size != (uint64)sb.st_size ||
	    p->total_size != probe_seg_bytes(p->lane_records)) {
		munmap(p, (size_t)sb.st_size);
		return;		/* not (yet) a probe segment of ours */
	}
	probe_unmap();
	seg = p;
	win.first = -1;		/* the old segment's window */
	seg_size = (size_t)sb.st_size;
	seg_ino = sb.st_ino;
	said_missing = false;
	atomic_store(&seg->st.pid, MyProcPid);
	ereport(LOG, (errmsg("labsup probe: attached to %s", probe_segment)));
}

/* The group of (a, b, c), added if new; NULL when the table is full. */
static struct lock_group *
lock_group(struct lock_group *g, int *n, const char *locktype,
    const char *mode, bool granted)
{
	for (int i = 0; i < *n; i++)
		if (g[i].granted == granted && g[i].mode == mode &&
		    g[i].locktype == locktype)
			return &g[i];
	if (*n == LOCK_GROUPS)
		return NULL;
	g[*n] = (struct lock_group){ locktype, mode, granted, 0 };
	return &g[(*n)++];
}

#define SAME_NAME(a, b) ((a) == (b) || strcmp((a), (b)) == 0)

static struct act_group *
act_group(struct act_group *g, int *n, const char *state, const char *wtype,
    const char *wevent)
{
	/*
	 * The names are PostgreSQL's constants: the same pointer, mostly;
	 * by pointer first, by text only for a group the pointers miss (two
	 * groups of one name would be two points of one series and time).
	 */
	for (int i = 0; i < *n; i++)
		if (g[i].wevent == wevent && g[i].wtype == wtype &&
		    g[i].state == state)
			return &g[i];
	for (int i = 0; i < *n; i++)
		if (SAME_NAME(g[i].wevent, wevent) &&
		    SAME_NAME(g[i].wtype, wtype) &&
		    SAME_NAME(g[i].state, state))
			return &g[i];
	if (*n == ACT_GROUPS)
		return NULL;
	g[*n] = (struct act_group){ state, wtype, wevent, 0 };
	return &g[(*n)++];
}

/*
 * A wait event's type and name, as pgstat_get_wait_event_type and
 * pgstat_get_wait_event give them (constants, or a tranche's registered
 * name: the same for the same word), remembered by the word: a tick asks
 * for every backend's.
 */
static void
wei_names(uint32 wei, const char **type, const char **name)
{
	static struct {
		uint32 wei;
		const char *type, *name;
	} cache[64];
	unsigned h = (unsigned)((wei * 2654435761U) >> 26);	/* 0..63 */

	/* never asked for 0 (no wait), which an empty entry holds */
	if (cache[h].wei != wei) {
		const char *t = pgstat_get_wait_event_type(wei);
		const char *n = pgstat_get_wait_event(wei);

		cache[h].wei = wei;
		cache[h].type = t != NULL ? t : "";
		cache[h].name = n != NULL ? n : "";
	}
	*type = cache[h].type;
	*name = cache[h].name;
}

/* As pg_stat_activity spells it; "" where it shows NULL. */
static const char *
state_name(BackendState st)
{
	switch (st) {
	case STATE_IDLE:
		return "idle";
	case STATE_RUNNING:
		return "active";
	case STATE_IDLEINTRANSACTION:
		return "idle in transaction";
	case STATE_FASTPATH:
		return "fastpath function call";
	case STATE_IDLEINTRANSACTION_ABORTED:
		return "idle in transaction (aborted)";
	case STATE_DISABLED:
		return "disabled";
	default:
		return "";
	}
}

static void
rec_init(struct record *r, int kind, int64 ts)
{
	memset(r, 0, sizeof(*r));
	r->kind = (uint8)kind;
	r->ts = ts;
}

static const struct be_view *
be_find(const struct be_view *bv, int n, int pid)
{
	for (int i = 0; i < n && pid != 0; i++)
		if (bv[i].pid == pid)
			return &bv[i];
	return NULL;
}

/*
 * The start of v's statement (st_activity_raw, which it keeps after the
 * statement ended, as pg_stat_activity.query shows it) into dst, cut to
 * REC_QUERY_TEXT - 1 bytes at a character's start (UTF-8).  Read under the
 * entry's change counter, as the tick read the rest; "" when it keeps
 * changing or is another backend's by now.
 */
static void
be_text(const struct be_view *v, char *dst)
{
	volatile PgBackendStatus *be = &beArray[v->idx];
	size_t n, k;
	int pid = 0, tries;

	for (tries = 0; tries < READ_TRIES; tries++) {
		int before, after;

		pgstat_begin_read_activity(be, before);
		pid = be->st_procpid;
		memcpy(dst, (const char *)be->st_activity_raw,
		    REC_QUERY_TEXT - 1);
		pgstat_end_read_activity(be, after);
		if (pgstat_read_activity_complete(before, after))
			break;
	}
	dst[REC_QUERY_TEXT - 1] = '\0';
	if (tries == READ_TRIES || pid != v->pid) {
		dst[0] = '\0';
		return;
	}
	n = strlen(dst);
	if (n < REC_QUERY_TEXT - 1)
		return;
	/* a character cut in two: drop its first bytes */
	for (k = n; k > 0 && ((unsigned char)dst[k - 1] & 0xC0) == 0x80; k--)
		;
	if (k > 0 && ((unsigned char)dst[k - 1] & 0x80) != 0) {
		unsigned char c = (unsigned char)dst[k - 1];
		size_t len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;

		if (k - 1 + len > n)
			dst[k - 1] = '\0';
	}
}

static bool
told_before(int pid, int blocker, TimestampTz wait_start)
{
	for (int i = 0; i < ntold_prev; i++)
		if (told_prev[i].pid == pid && told_prev[i].blocker ==
		    blocker && told_prev[i].wait_start == wait_start)
			return true;
	return false;
}

/* PostgreSQL's timestamps count us from 2000-01-01; ours ns from 1970. */
#define PG_EPOCH_US ((int64)(POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * \
    SECS_PER_DAY * USECS_PER_SEC)

#define AHEAD_MAX 64	/* waiters ahead in a queue that are looked at */

static int
leader_pid(const PGPROC *p)
{
	return p->lockGroupLeader != NULL ? p->lockGroupLeader->pid : p->pid;
}

/* Each PROCLOCK on a process's list head (one partition's), as pl. */
#define FOREACH_PROCLOCK(pl, head)					\
	for ((pl) = (PROCLOCK *)SHMQueueNext((head), (head),		\
	    offsetof(PROCLOCK, procLink)); (pl) != NULL;		\
	    (pl) = (PROCLOCK *)SHMQueueNext((head), &(pl)->procLink,	\
	    offsetof(PROCLOCK, procLink)))

/*
 * What a row waiter holds, from its own lock lists, under the partition
 * locks (probe_waiters): the relation of its tuple lock (it keeps that
 * while it waits on the row's transaction), and with want_xid the
 * transaction it was granted ShareLock on (XactLockTableWait's, taken
 * back as soon as it runs; its own xid it holds ExclusiveLock on).
 */
static void
held_locks(PGPROC *wp, struct rec_probe_wait *pw, bool want_xid)
{
	for (int part = 0; part < NUM_LOCK_PARTITIONS; part++) {
		PROCLOCK *pl;

		FOREACH_PROCLOCK(pl, &wp->myProcLocks[part]) {
			const LOCKTAG *t = &pl->tag.myLock->tag;

			if (t->locktag_type == LOCKTAG_TUPLE &&
			    pl->holdMask != 0 && pw->relid == 0) {
				pw->dbid = t->locktag_field1;
				pw->relid = t->locktag_field2;
			} else if (want_xid &&
			    t->locktag_type == LOCKTAG_TRANSACTION &&
			    (pl->holdMask & LOCKBIT_ON(ShareLock)) != 0 &&
			    (pl->holdMask & LOCKBIT_ON(ExclusiveLock)) == 0)
				pw->xid = t->locktag_field1;
			if (pw->relid != 0 && (!want_xid || pw->xid != 0))
				return;
		}
	}
}

/*
 * A waiter granted a transaction's lock, not yet running: its blocker is
 * who ended that transaction (the ended table); the row's relation is its
 * tuple lock's, as for a waiter still queued.
 */
static void
granted_xact(PGPROC *wp, struct rec_probe_wait *pw)
{
	held_locks(wp, pw, true);
	if ((pw->blocker = ended_by(pw->xid)) != 0) {
		pw->nblockers = 1;	/* it waited on one */
		pw->held = ExclusiveLock;
	}
}

/*
 * Waiter wp as pg_blocking_pids() sees it (GetSingleProcBlockerStatusData),
 * from the lock it waits on alone, every partition lock held (shared) by
 * the caller: its blockers in that lock's PROCLOCK order (holders of a
 * conflicting mode, and waiters for one queued ahead of it), the first
 * one's strongest mode held there, what it waits on, and for a row wait
 * (on a transactionid) the table of the tuple lock it holds meanwhile.
 * A waiter granted but not yet running, still reporting its lock wait,
 * is one too (granted, its blocker from granted_xact).  False when it no
 * longer reports the wait (running again since its wait event was read).
 */
static bool
walk_waiter(PGPROC *wp, struct rec_probe_wait *pw)
{
	LOCK *lk = wp->waitLock;
	const LOCKTAG *tag;
	LOCKMASK conflicts;
	PGPROC *ahead[AHEAD_MAX], *q;
	SHM_QUEUE *head;
	PROCLOCK *pl;
	int nahead = 0, n = 0, wl;

	if (lk == NULL || wp->waitProcLock == NULL) {
		uint32 wei = wp->wait_event_info;

		/*
		 * Still reporting the lock wait, but out of the queue: granted
		 * (or refused), not yet running.  The holder let go, which
		 * pg_blocking_pids() no longer shows; a transaction's end is
		 * in the ended table (granted_xact).
		 */
		if ((wei & 0xFF000000) != PG_WAIT_LOCK)
			return false;
		pw->pid = wp->pid;
		pw->nblockers = 0;
		pw->granted = 1;
		pw->vxid_backend = -1;
		pw->locktype = (wei & 0xFFFF) <= LOCKTAG_LAST_TYPE ?
		    (uint8)((wei & 0xFFFF) + 1) : 0;
		pw->mode = (uint8)wp->waitLockMode;
		if ((wei & 0xFFFF) == LOCKTAG_TRANSACTION)
			granted_xact(wp, pw);
		return true;
	}
	tag = &lk->tag;
	conflicts = GetLocksMethodTable(lk)->conflictTab[wp->waitLockMode];
	wl = leader_pid(wp);
	/* links is a PGPROC's first member: the queue holds PGPROCs */
	q = (PGPROC *)lk->waitProcs.links.next;
	for (int k = 0; k < lk->waitProcs.size && q != wp &&
	    nahead < AHEAD_MAX; k++) {
		ahead[nahead++] = q;
		q = (PGPROC *)q->links.next;
	}
	head = &lk->procLocks;
	for (pl = (PROCLOCK *)SHMQueueNext(head, head,
	    offsetof(PROCLOCK, lockLink)); pl != NULL;
	    pl = (PROCLOCK *)SHMQueueNext(head, &pl->lockLink,
	    offsetof(PROCLOCK, lockLink))) {
		PGPROC *h = pl->tag.myProc;
		bool blocks = (pl->holdMask & conflicts) != 0;

		if (h == wp || leader_pid(h) == wl)
			continue;
		if (!blocks && h->waitLock == lk && h->waitProcLock == pl &&
		    (conflicts & LOCKBIT_ON(h->waitLockMode)) != 0)
			for (int k = 0; k < nahead && !blocks; k++)
				blocks = ahead[k] == h;
		if (!blocks || n++ > 0)
			continue;
		pw->blocker = h->pid;
		for (int m = MAX_LOCKMODES - 1; m > 0; m--)
			if ((pl->holdMask & LOCKBIT_ON(m)) != 0) {
				pw->held = (uint8)m;
				break;
			}
	}
	pw->pid = wp->pid;
	pw->nblockers = (uint16)Min(n, UINT16_MAX);
	pw->vxid_backend = -1;
	pw->locktype = tag->locktag_type <= LOCKTAG_LAST_TYPE ?
	    (uint8)(tag->locktag_type + 1) : 0;
	pw->mode = (uint8)wp->waitLockMode;
	switch ((LockTagType)tag->locktag_type) {
	case LOCKTAG_RELATION:
	case LOCKTAG_RELATION_EXTEND:
	case LOCKTAG_PAGE:
	case LOCKTAG_TUPLE:
		pw->dbid = tag->locktag_field1;
		pw->relid = tag->locktag_field2;
		break;
	case LOCKTAG_TRANSACTION:
		pw->xid = tag->locktag_field1;
		held_locks(wp, pw, false);
		break;
	case LOCKTAG_VIRTUALTRANSACTION:
		pw->vxid_backend = (int32)tag->locktag_field1;
		pw->vxid_local = tag->locktag_field2;
		break;
	default:
		break;
	}
	return true;
}

/*
 * The lock waiters among the live processes, each as a lock-wait episode
 * needs it (walk_waiter; their waitStart from their PGPROC), and from the
 * status entries both statements and whether the blocker is idle in
 * transaction: a REC_PROBE_WAIT each, with the statements on the first
 * tick that shows the waiter on that blocker.  The partition locks are
 * held for the walks alone (no full lock-table scan: GetLockStatusData
 * also reads every backend's fast-path locks, several times the cost),
 * and released before anything is written.  Returns the blocking pairs.
 */
static int64
probe_waiters(struct lane *l, int64 ts, const struct proc_view *pv, int npv,
    const struct be_view *bv, int nbv, int skip)
{
	static struct record wr[PAIR_WAITERS_MAX];
	int64 pairs = 0, t0 = mono_ns();
	int nw = 0;
	struct record t;

	for (int i = 0; i < NUM_LOCK_PARTITIONS; i++)
		LWLockAcquire(LockHashPartitionLockByIndex(i), LW_SHARED);
	for (int k = 0; k < npv; k++) {
		PGPROC *wp = &ProcGlobal->allProcs[pv[k].idx];

		if ((pv[k].wei & 0xFF000000) != PG_WAIT_LOCK ||
		    pv[k].pid == skip || wp->pid != pv[k].pid)
			continue;
		if (nw == PAIR_WAITERS_MAX) {
			atomic_fetch_add(&seg->st.pairs_capped, 1);
			continue;
		}
		rec_init(&wr[nw], REC_PROBE_WAIT, ts);
		if (walk_waiter(wp, &wr[nw].u.probe_wait)) {
			if (pv[k].wait_start != 0)
				wr[nw].u.probe_wait.waitstart_ns =
				    (pv[k].wait_start + PG_EPOCH_US) * 1000;
			nw++;
		}
	}
	for (int i = NUM_LOCK_PARTITIONS; --i >= 0;)
		LWLockRelease(LockHashPartitionLockByIndex(i));
	atomic_fetch_add(&seg->st.wait_walks, 1);
	atomic_fetch_add(&seg->st.wait_walk_ns, (uint64)(mono_ns() - t0));
	ntold_cur = 0;
	for (int i = 0; i < nw; i++) {
		struct rec_probe_wait *pw = &wr[i].u.probe_wait;
		const struct be_view *wv = be_find(bv, nbv, pw->pid);
		const struct be_view *bk = be_find(bv, nbv, pw->blocker);
		TimestampTz ws = pw->waitstart_ns;	/* the key, as it is */

		if (!pw->granted)	/* as pg_blocking_pids() counts */
			pairs += pw->nblockers;
		pw->query_id = wv != NULL ? (int64)wv->query_id : 0;
		pw->blocker_query_id = bk != NULL ? (int64)bk->query_id : 0;
		pw->blocker_idle_tx = bk == NULL ? 2 :
		    bk->st == STATE_IDLEINTRANSACTION ||
		    bk->st == STATE_IDLEINTRANSACTION_ABORTED;
		told_cur[ntold_cur++] = (struct told){ pw->pid, pw->blocker,
		    ws };
		if (told_before(pw->pid, pw->blocker, ws)) {
			lane_push(l, &wr[i]);
			continue;
		}
		/* the first tick of this wait on this blocker: statements */
		pw->texts = (uint8)((wv != NULL) + (bk != NULL));
		lane_push(l, &wr[i]);
		for (int side = REC_SIDE_WAITER; side <= REC_SIDE_BLOCKER;
		    side++) {
			const struct be_view *v = side == REC_SIDE_WAITER ?
			    wv : bk;

			if (v == NULL)
				continue;
			rec_init(&t, REC_PROBE_WAIT_TEXT, ts);
			t.u.probe_wait_text.pid = pw->pid;
			t.u.probe_wait_text.side = (uint8)side;
			be_text(v, t.u.probe_wait_text.text);
			lane_push(l, &t);
		}
	}
	memcpy(told_prev, told_cur, sizeof(told_cur[0]) * (size_t)ntold_cur);
	ntold_prev = ntold_cur;
	return pairs;
}

/*
 * lock.c's fast-path slot layout (private to it; the same since 9.2): each
 * of a PGPROC's FP_LOCK_SLOTS_PER_BACKEND slots has 3 bits in fpLockBits,
 * one per mode from AccessShareLock.
 */
#define FP_BITS_PER_SLOT 3
#define FP_SLOT_MASK ((1U << FP_BITS_PER_SLOT) - 1)
#define FP_LOCKNUMBER_OFFSET 1

static void
lock_count(struct lock_group *lg, int *nl, LOCKMETHODID mid, uint8 type,
    LOCKMODE mode, bool granted)
{
	const char *tn = type <= LOCKTAG_LAST_TYPE ? LockTagTypeNames[type] :
	    "unknown";
	struct lock_group *g;

	if ((g = lock_group(lg, nl, tn, GetLockmodeName(mid, mode),
	    granted)) != NULL)
		g->count++;
}

/*
 * Locks by (locktype, mode, granted) as pg_locks has them (one row per
 * mode held and one for the mode awaited), without GetLockStatusData's
 * copy of the lock table (whose scan of the whole
 * PROCLOCK hash, mostly empty buckets, was most of a snapshot's time):
 *  - the PROCLOCKs of every live process and prepared transaction, from
 *    its own lists, under one partition lock at a time, shared; a waiter
 *    counts once, ungranted, on the lock it waits for;
 *  - their fast-path slots, one word each, read without the process's
 *    fpInfoLock: a lock moving to the main table meanwhile may be counted
 *    twice or not at all, as between GetLockStatusData's own two passes.
 * Returns the number of granted locks.
 */
static int64
probe_locks(struct lane *l, const char *node, int64 ts,
    const struct proc_view *pv, int npv)
{
	static struct lock_group lg[LOCK_GROUPS];
	PGPROC **procs = lock_procs;
	int nl = 0, np = 0;
	int64 granted = 0;
	int64 t0 = mono_ns(), dt;
	uint32 all = ProcGlobal->allProcCount;
	struct record r;

	for (int k = 0; k < npv; k++)
		procs[np++] = &ProcGlobal->allProcs[pv[k].idx];
	/*
	 * Prepared transactions hold locks in PGPROCs of their own (pid 0),
	 * past allProcCount (proc.c: "it excludes prepared xacts").
	 */
	for (int i = 0; i < max_prepared_xacts; i++)
		procs[np++] = &ProcGlobal->allProcs[all + (uint32)i];
	for (int k = 0; k < np; k++) {
		volatile PGPROC *p = procs[k];
		uint64 bits = p->fpLockBits;

		for (int j = 0; bits != 0 && j < FP_LOCK_SLOTS_PER_BACKEND;
		    j++) {
			uint32 b = (uint32)(bits >> (FP_BITS_PER_SLOT * j)) &
			    FP_SLOT_MASK;

			for (int m = 0; m < FP_BITS_PER_SLOT; m++)
				if ((b & (1U << m)) != 0) {
					lock_count(lg, &nl, DEFAULT_LOCKMETHOD,
					    LOCKTAG_RELATION,
					    m + FP_LOCKNUMBER_OFFSET, true);
					granted++;
				}
		}
		if (p->fpVXIDLock) {
			lock_count(lg, &nl, DEFAULT_LOCKMETHOD,
			    LOCKTAG_VIRTUALTRANSACTION, ExclusiveLock, true);
			granted++;
		}
	}
	for (int part = 0; part < NUM_LOCK_PARTITIONS; part++) {
		LWLockAcquire(LockHashPartitionLockByIndex(part), LW_SHARED);
		for (int k = 0; k < np; k++) {
			PGPROC *p = procs[k];
			PROCLOCK *pl;

			FOREACH_PROCLOCK(pl, &p->myProcLocks[part]) {
				const LOCKTAG *tag = &pl->tag.myLock->tag;
				LOCKMETHODID mid =
				    (LOCKMETHODID)tag->locktag_lockmethodid;

				for (int m = 1; m < MAX_LOCKMODES; m++)
					if ((pl->holdMask & LOCKBIT_ON(m)) != 0) {
						lock_count(lg, &nl, mid,
						    tag->locktag_type, m, true);
						granted++;
					}
				if (p->waitProcLock == pl)
					lock_count(lg, &nl, mid,
					    tag->locktag_type, p->waitLockMode,
					    false);
			}
		}
		LWLockRelease(LockHashPartitionLockByIndex(part));
	}
	dt = mono_ns() - t0;
	atomic_fetch_add(&seg->st.lock_snaps, 1);
	atomic_fetch_add(&seg->st.lock_snap_ns, (uint64)dt);
	if ((uint64)dt > atomic_load(&seg->st.lock_snap_max_ns))
		atomic_store(&seg->st.lock_snap_max_ns, (uint64)dt);
	for (int i = 0; i < nl; i++) {
		rec_init(&r, REC_LOCKS, ts);
		strlcpy(r.u.locks.node, node, REC_NAME);
		strlcpy(r.u.locks.locktype, lg[i].locktype,
		    sizeof(r.u.locks.locktype));
		strlcpy(r.u.locks.mode, lg[i].mode, sizeof(r.u.locks.mode));
		r.u.locks.granted = lg[i].granted;
		r.u.locks.count = lg[i].count;
		lane_push(l, &r);
	}
	return granted;
}

/*
 * procarray.c's ProcArrayStruct, private to it (PostgreSQL 15's layout):
 * its pgprocnos[] lists the PGPROCs in use, densely, where most of
 * allProcs[] is unused and each unused one costs a tick a cache miss.
 * Looked up by name and size, which fails on another layout (every PGPROC
 * is read then, as before); read without ProcArrayLock, as the PGPROCs
 * are: a backend coming or going mid-read may be missed or read twice
 * that tick, and every index is bounded before use.
 */
struct proc_array15 {
	int numProcs;
	int maxProcs;
	int maxKnownAssignedXids;
	int numKnownAssignedXids;
	int tailKnownAssignedXids;
	int headKnownAssignedXids;
	slock_t known_assigned_xids_lck;
	TransactionId lastOverflowedXid;
	TransactionId replication_slot_xmin;
	TransactionId replication_slot_catalog_xmin;
	int pgprocnos[FLEXIBLE_ARRAY_MEMBER];
};

static volatile struct proc_array15 *procArr = NULL;

static void
proc_array_attach(void)
{
	int maxprocs = MaxBackends + max_prepared_xacts;
	Size size = add_size(offsetof(struct proc_array15, pgprocnos),
	    mul_size(sizeof(int), maxprocs));
	MemoryContext cx = CurrentMemoryContext;
	volatile struct proc_array15 *pa = NULL;
	bool found = false;

	PG_TRY();
	{
		pa = ShmemInitStruct("Proc Array", size, &found);
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(cx);
		FlushErrorState();
		pa = NULL;
	}
	PG_END_TRY();
	if (pa == NULL || !found || pa->maxProcs != maxprocs) {
		ereport(LOG, (errmsg("labsup probe: the server's proc array is "
		    "not laid out as in PostgreSQL 15: reading every PGPROC")));
		return;
	}
	procArr = pa;
}

static int
proc_view(struct proc_view *pv, int n, uint32 i)
{
	volatile PGPROC *p = &ProcGlobal->allProcs[i];
	int pid = p->pid;

	if (pid == 0)
		return n;
	/* once a tick: the list shifts as backends come and go */
	if (proc_tick[i] == proc_tickno)
		return n;
	proc_tick[i] = proc_tickno;
	pv[n].pid = pid;
	pv[n].idx = (int)i;
	pv[n].backend_id = p->backendId;
	pv[n].wei = p->wait_event_info;
	pv[n].wait_start = (TimestampTz)pg_atomic_read_u64(
	    (pg_atomic_uint64 *)&p->waitStart);
	return n + 1;
}

/*
 * Every live PGPROC's pid, wait event and lock-wait start, no locks: those
 * the proc array lists (not prepared transactions: pid 0), and the
 * auxiliary processes, which it does not list.
 */
static int
probe_procs(struct proc_view *pv, int max)
{
	uint32 all = ProcGlobal->allProcCount;
	int n = 0;

	proc_tickno++;
	if (procArr == NULL) {
		for (uint32 i = 0; i < all && n < max; i++)
			n = proc_view(pv, n, i);
		return n;
	}
	for (int k = 0, np = Min(procArr->numProcs, procArr->maxProcs);
	    k < np && n < max; k++) {
		int i = procArr->pgprocnos[k];

		if (i >= 0 && (uint32)i < all)
			n = proc_view(pv, n, (uint32)i);
	}
	for (uint32 i = (uint32)MaxBackends; i < all && n < max; i++)
		n = proc_view(pv, n, i);
	return n;
}

static const struct proc_view *
proc_find(const struct proc_view *pv, int n, int pid)
{
	for (int i = 0; i < n; i++)
		if (pv[i].pid == pid)
			return &pv[i];
	return NULL;
}

/* The open summary window's pg_blocking record, if one is open. */
static void
win_flush(struct lane *l, const char *node)
{
	struct record r;

	if (win.first < 0)
		return;
	rec_init(&r, REC_BLOCKING, win.ts);
	strlcpy(r.u.blocking.node, node, REC_NAME);
	r.u.blocking.waiting = win.waiting;
	r.u.blocking.pairs = win.pairs;
	r.u.blocking.longest_wait_ms = win.longest;
	/* no statistics are read here: the sampler adds it, once a second */
	r.u.blocking.deadlocks = REC_ABSENT;
	lane_push(l, &r);
	win.first = -1;
}

/*
 * One tick of slot `slot` on the grid of `iv` ns: every backend, and the
 * lock manager when it is due.  Slot -1: only the open window's record
 * (sampling stops).
 */
static void
probe_tick(int64 slot, int64 iv)
{
	static struct act_group ag[ACT_GROUPS];
	static struct proc_view *pv = NULL;
	static struct be_view *bv = NULL;
	static int *slots = NULL, *slot_pv = NULL; /* and its pv entry */
	static uint64 *slot_tick = NULL;	/* the tick that listed it */
	static uint64 tickno = 0;
	static bool waited = false;	/* the last tick saw a waiter */
	static int npv_max = 0;
	struct lane *l = probe_lane(seg);
	int64 ts = real_ns(), t0 = mono_ns();
	int64 waiting = 0, pairs = 0, active = 0, idle_tx = 0;
	int64 locks_every = atomic_load(&seg->ctl.locks_every);
	int skip = atomic_load(&seg->ctl.skip_pid);
	char node[REC_NAME];
	double longest = 0;
	TimestampTz now = GetCurrentTimestamp();
	int na = 0, npv, nbv = 0, nslots = 0;
	struct record r;
	int64 wticks = PROBE_SUMMARY_TICKS(iv);
	bool opens;

	/* bounded: the segment is labsup's to write */
	memcpy(node, seg->ctl.node, REC_NAME);
	node[REC_NAME - 1] = '\0';
	if (win.first >= 0 && (slot < win.first ||
	    slot >= win.first + win.ticks || win.ticks != wticks))
		win_flush(l, node);	/* ended unseen (late), or stopping */
	if (slot < 0)
		return;
	if ((opens = win.first < 0)) {
		win.first = slot - slot % wticks;
		win.ticks = wticks;
		win.ts = ts;
		win.waiting = win.pairs = 0;
		win.longest = 0;
	}
	if (pv == NULL) {
		npv_max = (int)ProcGlobal->allProcCount;
		pv = MemoryContextAlloc(TopMemoryContext,
		    sizeof(*pv) * (size_t)npv_max);
		bv = MemoryContextAlloc(TopMemoryContext,
		    sizeof(*bv) * (size_t)beSlots);
		slots = MemoryContextAlloc(TopMemoryContext,
		    sizeof(*slots) * (size_t)(npv_max + beSlots));
		slot_pv = MemoryContextAlloc(TopMemoryContext,
		    sizeof(*slot_pv) * (size_t)(npv_max + beSlots));
		slot_tick = MemoryContextAllocZero(TopMemoryContext,
		    sizeof(*slot_tick) * (size_t)beSlots);
		proc_tick = MemoryContextAllocZero(TopMemoryContext,
		    sizeof(*proc_tick) * (size_t)npv_max);
		lock_procs = MemoryContextAlloc(TopMemoryContext,
		    sizeof(*lock_procs) * (size_t)(npv_max +
		    max_prepared_xacts));
	}
	tickno++;
	npv = probe_procs(pv, npv_max);
	for (int k = 0; k < npv; k++) {
		if ((pv[k].wei & 0xFF000000) != PG_WAIT_LOCK ||
		    pv[k].pid == skip)
			continue;
		waiting++;
		if (pv[k].wait_start != 0 && now > pv[k].wait_start &&
		    (now - pv[k].wait_start) / 1000.0 > longest)
			longest = (now - pv[k].wait_start) / 1000.0;
	}
	/*
	 * Between summaries (1 kHz) a tick where nobody waits needs no status
	 * entry: the PGPROCs tell it all.
	 */
	if (!opens && waiting == 0)
		goto summary;
	/*
	 * The status entries of live processes only: a backend's is at its
	 * backendId - 1 (pgstat_beinit), the auxiliary processes' past
	 * MaxBackends.  The unused slots are most of the array, and each cost
	 * the tick a cache miss or two (the tick's largest part but for the
	 * lock snapshot); a slot reused meanwhile shows another pid, and
	 * goes by what it shows, once (two PGPROCs may name it while one
	 * backend exits and another starts).
	 */
	for (int k = 0; k < npv; k++) {
		int b = pv[k].backend_id;

		if (b > 0 && b <= MaxBackends && slot_tick[b - 1] != tickno) {
			slot_tick[b - 1] = tickno;
			slot_pv[nslots] = k;
			slots[nslots++] = b - 1;
		}
	}
	for (int k = MaxBackends; k < beSlots; k++) {
		slot_pv[nslots] = -1;	/* an auxiliary process: by pid */
		slots[nslots++] = k;
	}
	for (int si = 0; si < nslots; si++) {
		int i = slots[si];
		volatile PgBackendStatus *be = &beArray[i];
		int pid = 0, tries;
		BackendState st = STATE_UNDEFINED;
		uint64 qid = 0;
		const struct proc_view *p;
		const char *wt = "", *we = "";
		struct act_group *g;

		for (tries = 0; tries < READ_TRIES; tries++) {
			int before, after;

			pgstat_begin_read_activity(be, before);
			pid = be->st_procpid;
			if (pid > 0) {	/* an empty slot: one cache line */
				st = be->st_state;
				qid = be->st_query_id;
			}
			pgstat_end_read_activity(be, after);
			if (pgstat_read_activity_complete(before, after))
				break;
			CHECK_FOR_INTERRUPTS();
		}
		if (tries == READ_TRIES) {
			atomic_fetch_add(&seg->st.torn, 1);
			continue;
		}
		if (pid <= 0 || pid == skip)
			continue;
		bv[nbv++] = (struct be_view){ pid, i, st, qid };
		p = slot_pv[si] >= 0 && pv[slot_pv[si]].pid == pid ?
		    &pv[slot_pv[si]] : proc_find(pv, npv, pid);
		if (opens && p != NULL && p->wei != 0)
			wei_names(p->wei, &wt, &we);
		if (opens &&
		    (g = act_group(ag, &na, state_name(st), wt, we)) != NULL)
			g->count++;
		if (st == STATE_RUNNING)
			active++;
		else if (st == STATE_IDLEINTRANSACTION ||
		    st == STATE_IDLEINTRANSACTION_ABORTED)
			idle_tx++;
	}
	for (int i = 0; opens && i < na; i++) {
		rec_init(&r, REC_ACTIVITY, ts);
		strlcpy(r.u.activity.node, node, REC_NAME);
		strlcpy(r.u.activity.state, ag[i].state,
		    sizeof(r.u.activity.state));
		strlcpy(r.u.activity.wait_event_type, ag[i].wtype,
		    sizeof(r.u.activity.wait_event_type));
		strlcpy(r.u.activity.wait_event, ag[i].wevent,
		    sizeof(r.u.activity.wait_event));
		r.u.activity.count = (int32)ag[i].count;
		lane_push(l, &r);
	}
	if (waiting > 0)
		pairs = probe_waiters(l, ts, pv, npv, bv, nbv, skip);
	if (opens) {
		atomic_store(&seg->st.active, active);
		atomic_store(&seg->st.idle_tx, idle_tx);
	}
summary:
	if (waiting > 0 || waited) {
		/* the waiters are all in; or the waits ended */
		rec_init(&r, REC_PROBE_TICK, ts);
		lane_push(l, &r);
	}
	waited = waiting > 0;
	if (waiting == 0)
		ntold_prev = 0;	/* nobody waits: the next waiter is new */
	if (locks_every > 0 && slot % locks_every == 0)
		atomic_store(&seg->st.granted,
		    probe_locks(l, node, ts, pv, npv));
	win.waiting = Max(win.waiting, waiting);
	win.pairs = Max(win.pairs, pairs);
	win.longest = Max(win.longest, longest);
	if (slot == win.first + win.ticks - 1)
		win_flush(l, node);
	atomic_store(&seg->st.waiting, waiting);
	atomic_store(&seg->st.pairs, pairs);
	atomic_store(&seg->st.last_tick_ns, ts);
	atomic_fetch_add(&seg->st.tick_ns, (uint64)(mono_ns() - t0));
	atomic_fetch_add(&seg->st.ticks, 1);
}

/*
 * Sleep until mono ns `until`, a signal, or the postmaster's death (looked
 * at every IDLE_MS of a long interval).
 */
static void
probe_sleep_until(int64 until)
{
	int64 now;

	while (!got_sigterm && (now = mono_ns()) < until) {
		int64 t = Min(until, now + (int64)IDLE_MS * 1000000);
		struct timespec ts = { t / NS, t % NS };

		(void)clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts,
		    NULL);
		if (!PostmasterIsAlive())
			proc_exit(1);
	}
}

/* Writing into the mapping: a fault there comes back to the sigsetjmp. */
#define GUARDED(call) do {						\
	bus_armed = 1;							\
	call;								\
	bus_armed = 0;							\
} while (0)

void
labsup_probe_main(Datum arg)
{
	int64 next_check = 0, next_slot = -1;
	bool found;

	(void)arg;
	pqsignal(SIGTERM, probe_sigterm);
	pqsignal(SIGBUS, probe_sigbus);
	BackgroundWorkerUnblockSignals();
	/* the status array is the server's own: look it up, once */
	beSlots = MaxBackends + NUM_AUXPROCTYPES;
	beArray = ShmemInitStruct("Backend Status Array",
	    mul_size(sizeof(PgBackendStatus), beSlots), &found);
	if (!found)
		ereport(ERROR, (errmsg("labsup probe: no backend status array")));
	proc_array_attach();
	ereport(LOG, (errmsg("labsup probe: started, waiting for %s",
	    probe_segment)));
	/*
	 * A fault while writing into the mapping (a segment truncated under
	 * us: probe_sigbus) comes back here, once per fault rather than a
	 * sigsetjmp (a system call, for the mask) per tick.
	 */
	if (sigsetjmp(bus_env, 1) != 0) {
		bus_armed = 0;
		ereport(LOG, (errmsg("labsup probe: segment %s faulted "
		    "under us (truncated?): unmapped it", probe_segment)));
		seg = NULL;	/* the mapping is unusable */
		next_check = 0;
		next_slot = -1;
	}
	while (!got_sigterm) {
		int64 now = mono_ns(), iv;

		if (!PostmasterIsAlive())
			proc_exit(1);
		CHECK_FOR_INTERRUPTS();
		if (now >= next_check) {
			probe_attach();
			next_check = now + CHECK_NS;
			if (seg != NULL)
				atomic_store(&seg->st.heartbeat_ns, now);
		}
		if (seg == NULL || !atomic_load(&seg->ctl.run) ||
		    (iv = atomic_load(&seg->ctl.interval_ns)) <= 0) {
			if (seg != NULL) {
				GUARDED(probe_tick(-1, 0));
				atomic_store(&seg->st.sampling, 0);
			}
			next_slot = -1;
			(void)WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT |
			    WL_EXIT_ON_PM_DEATH, IDLE_MS, PG_WAIT_EXTENSION);
			ResetLatch(MyLatch);
			continue;
		}
		atomic_store(&seg->st.sampling, 1);
		if (next_slot < 0)
			next_slot = now / iv + 1;
		probe_sleep_until(next_slot * iv);
		if (got_sigterm)
			break;
		now = mono_ns();
		if (seg == NULL)
			continue;
		atomic_store(&seg->st.heartbeat_ns, now);
		GUARDED(probe_tick(next_slot, iv));
		/* the grid's next slot; those that passed meanwhile are late */
		now = mono_ns();
		if (now / iv + 1 > next_slot + 1)
			atomic_fetch_add(&seg->st.misses,
			    (uint64)(now / iv - next_slot));
		next_slot = now / iv + 1;
	}
	if (seg != NULL) {
		GUARDED(probe_tick(-1, 0));
		atomic_store(&seg->st.sampling, 0);
		atomic_store(&seg->st.pid, 0);
	}
	proc_exit(0);
}

void
_PG_init(void)
{
	BackgroundWorker w;
	Dl_info di;

	if (!process_shared_preload_libraries_in_progress) {
		ereport(WARNING, (errmsg("labsup probe: load it through "
		    "shared_preload_libraries; it does nothing otherwise")));
		return;
	}
	DefineCustomStringVariable(PROBE_GUC, "labsup's probe segment for "
	    "this node (a file's absolute path)", NULL, &probe_segment, "",
	    PGC_POSTMASTER, 0, NULL, NULL, NULL);
	MarkGUCPrefixReserved("labsup");
	if (probe_segment == NULL || probe_segment[0] != '/') {
		ereport(LOG, (errmsg("labsup probe: " PROBE_GUC " is not set "
		    "(labsup sets it): not sampling")));
		return;
	}
	/* the worker loads the library by the path the server loaded it */
	if (dladdr((void *)_PG_init, &di) == 0 || di.dli_fname == NULL ||
	    strlen(di.dli_fname) >= BGW_MAXLEN) {
		ereport(LOG, (errmsg("labsup probe: its path is unknown or "
		    "longer than %d bytes: not sampling (use a shorter "
		    "state_dir)", BGW_MAXLEN - 1)));
		return;
	}
	prev_shmem_request = shmem_request_hook;
	shmem_request_hook = ended_request;
	prev_shmem_startup = shmem_startup_hook;
	shmem_startup_hook = ended_startup;
	RegisterXactCallback(ended_xact, NULL);
	RegisterSubXactCallback(ended_subxact, NULL);
	memset(&w, 0, sizeof(w));
	w.bgw_flags = BGWORKER_SHMEM_ACCESS;
	w.bgw_start_time = BgWorkerStart_RecoveryFinished;
	w.bgw_restart_time = 1;
	strlcpy(w.bgw_library_name, di.dli_fname, BGW_MAXLEN);
	strlcpy(w.bgw_function_name, "labsup_probe_main", BGW_MAXLEN);
	strlcpy(w.bgw_name, "labsup probe", BGW_MAXLEN);
	strlcpy(w.bgw_type, "labsup probe", BGW_MAXLEN);
	RegisterBackgroundWorker(&w);
}
