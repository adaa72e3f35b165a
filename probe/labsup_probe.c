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
 *  - the lock manager is snapshotted (GetLockStatusData: its partition
 *    locks, shared, while it copies) only on ticks where some backend waits
 *    on a heavyweight lock, and on every locks_every-th slot of the grid:
 *    at most once per tick, timed and counted in the state block.
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

/* One live PGPROC, read without locks. */
struct proc_view {
	int pid;
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

static struct act_group *
act_group(struct act_group *g, int *n, const char *state, const char *wtype,
    const char *wevent)
{
	for (int i = 0; i < *n; i++)
		if (strcmp(g[i].wevent, wevent) == 0 &&
		    strcmp(g[i].wtype, wtype) == 0 &&
		    strcmp(g[i].state, state) == 0)
			return &g[i];
	if (*n == ACT_GROUPS)
		return NULL;
	g[*n] = (struct act_group){ state, wtype, wevent, 0 };
	return &g[(*n)++];
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

/*
 * Locks by (locktype, mode, granted) as pg_locks has them (one row per
 * mode held and one for the mode awaited), and the (waiter, holder) pairs
 * where the holder holds a mode that conflicts with the one awaited (the
 * hard blockers pg_blocking_pids() counts; queue order is not in the
 * snapshot).  Returns the number of granted locks.
 */
static int64
probe_locks(struct lane *l, const char *node, int64 ts, int64 *pairs)
{
	static struct lock_group lg[LOCK_GROUPS];
	int nl = 0, waiters = 0;
	int64 granted = 0;
	int64 t0 = mono_ns(), dt;
	LockData *ld = GetLockStatusData();
	struct record r;

	/* the partition locks are released: the rest is our own memory */
	dt = mono_ns() - t0;
	atomic_fetch_add(&seg->st.lock_snaps, 1);
	atomic_fetch_add(&seg->st.lock_snap_ns, (uint64)dt);
	if ((uint64)dt > atomic_load(&seg->st.lock_snap_max_ns))
		atomic_store(&seg->st.lock_snap_max_ns, (uint64)dt);
	*pairs = 0;
	for (int i = 0; i < ld->nelements; i++) {
		LockInstanceData *li = &ld->locks[i];
		LOCKMETHODID mid = (LOCKMETHODID)li->locktag.locktag_lockmethodid;
		const char *type = li->locktag.locktag_type <= LOCKTAG_LAST_TYPE ?
		    LockTagTypeNames[li->locktag.locktag_type] : "unknown";
		struct lock_group *g;

		for (int m = 1; m < MAX_LOCKMODES; m++) {
			if ((li->holdMask & LOCKBIT_ON(m)) == 0)
				continue;
			if ((g = lock_group(lg, &nl, type,
			    GetLockmodeName(mid, m), true)) != NULL)
				g->count++;
			granted++;
		}
		if (li->waitLockMode == NoLock)
			continue;
		waiters++;
		if ((g = lock_group(lg, &nl, type,
		    GetLockmodeName(mid, li->waitLockMode), false)) != NULL)
			g->count++;
		/* pairs: quadratic in the lock table, so bounded */
		if (waiters > PAIR_WAITERS_MAX) {
			atomic_fetch_add(&seg->st.pairs_capped, 1);
			continue;
		}
		{
			LockMethod lm = GetLockTagsMethodTable(&li->locktag);
			LOCKMASK conflicts = lm->conflictTab[li->waitLockMode];

			for (int j = 0; j < ld->nelements; j++) {
				LockInstanceData *h = &ld->locks[j];

				if (j == i || (h->holdMask & conflicts) == 0 ||
				    h->leaderPid == li->leaderPid ||
				    memcmp(&h->locktag, &li->locktag,
				    sizeof(LOCKTAG)) != 0)
					continue;
				(*pairs)++;
			}
		}
	}
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

/* Every live PGPROC's pid, wait event and lock-wait start, no locks. */
static int
probe_procs(struct proc_view *pv, int max)
{
	int n = 0;

	for (uint32 i = 0; i < ProcGlobal->allProcCount && n < max; i++) {
		volatile PGPROC *p = &ProcGlobal->allProcs[i];
		int pid = p->pid;

		if (pid == 0)
			continue;
		pv[n].pid = pid;
		pv[n].wei = p->wait_event_info;
		pv[n].wait_start = (TimestampTz)pg_atomic_read_u64(
		    (pg_atomic_uint64 *)&p->waitStart);
		n++;
	}
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

/* One tick: every backend, and the lock manager when it is due. */
static void
probe_tick(int64 slot, MemoryContext tickcx)
{
	static struct act_group ag[ACT_GROUPS];
	static struct proc_view *pv = NULL;
	static int npv_max = 0;
	struct lane *l = probe_lane(seg);
	int64 ts = real_ns(), t0 = mono_ns();
	int64 waiting = 0, pairs = 0, active = 0, idle_tx = 0;
	int64 locks_every = atomic_load(&seg->ctl.locks_every);
	int skip = atomic_load(&seg->ctl.skip_pid);
	char node[REC_NAME];
	double longest = 0;
	TimestampTz now = GetCurrentTimestamp();
	int na = 0, npv;
	struct record r;
	MemoryContext old;

	/* bounded: the segment is labsup's to write */
	memcpy(node, seg->ctl.node, REC_NAME);
	node[REC_NAME - 1] = '\0';
	if (pv == NULL) {
		npv_max = (int)ProcGlobal->allProcCount;
		pv = MemoryContextAlloc(TopMemoryContext,
		    sizeof(*pv) * (size_t)npv_max);
	}
	npv = probe_procs(pv, npv_max);
	for (int i = 0; i < beSlots; i++) {
		volatile PgBackendStatus *be = &beArray[i];
		int pid = 0, tries;
		BackendState st = STATE_UNDEFINED;
		const struct proc_view *p;
		const char *wt = "", *we = "";
		struct act_group *g;

		for (tries = 0; tries < READ_TRIES; tries++) {
			int before, after;

			pgstat_begin_read_activity(be, before);
			pid = be->st_procpid;
			st = be->st_state;
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
		if ((p = proc_find(pv, npv, pid)) != NULL && p->wei != 0) {
			const char *s;

			if ((s = pgstat_get_wait_event_type(p->wei)) != NULL)
				wt = s;
			if ((s = pgstat_get_wait_event(p->wei)) != NULL)
				we = s;
		}
		if ((g = act_group(ag, &na, state_name(st), wt, we)) != NULL)
			g->count++;
		if (st == STATE_RUNNING)
			active++;
		else if (st == STATE_IDLEINTRANSACTION ||
		    st == STATE_IDLEINTRANSACTION_ABORTED)
			idle_tx++;
		if (p != NULL && (p->wei & 0xFF000000) == PG_WAIT_LOCK) {
			waiting++;
			if (p->wait_start != 0 && now > p->wait_start &&
			    (now - p->wait_start) / 1000.0 > longest)
				longest = (now - p->wait_start) / 1000.0;
		}
	}
	for (int i = 0; i < na; i++) {
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
	if (waiting > 0 || (locks_every > 0 && slot % locks_every == 0)) {
		old = MemoryContextSwitchTo(tickcx);
		atomic_store(&seg->st.granted, probe_locks(l, node, ts, &pairs));
		MemoryContextSwitchTo(old);
		MemoryContextReset(tickcx);
	}
	rec_init(&r, REC_BLOCKING, ts);
	strlcpy(r.u.blocking.node, node, REC_NAME);
	r.u.blocking.waiting = waiting;
	r.u.blocking.pairs = pairs;
	r.u.blocking.longest_wait_ms = longest;
	/* no statistics are read here: the sampler adds it, once a second */
	r.u.blocking.deadlocks = REC_ABSENT;
	lane_push(l, &r);
	atomic_store(&seg->st.waiting, waiting);
	atomic_store(&seg->st.pairs, pairs);
	atomic_store(&seg->st.active, active);
	atomic_store(&seg->st.idle_tx, idle_tx);
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

void
labsup_probe_main(Datum arg)
{
	MemoryContext tickcx, base;
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
	tickcx = AllocSetContextCreate(TopMemoryContext, "labsup probe tick",
	    ALLOCSET_DEFAULT_SIZES);
	base = CurrentMemoryContext;
	ereport(LOG, (errmsg("labsup probe: started, waiting for %s",
	    probe_segment)));
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
			if (seg != NULL)
				atomic_store(&seg->st.sampling, 0);
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
		if (sigsetjmp(bus_env, 1) != 0) {
			ereport(LOG, (errmsg("labsup probe: segment %s faulted "
			    "under us (truncated?): unmapped it",
			    probe_segment)));
			MemoryContextSwitchTo(base);
			MemoryContextReset(tickcx);
			seg = NULL;	/* the mapping is unusable */
			continue;
		}
		bus_armed = 1;
		probe_tick(next_slot, tickcx);
		bus_armed = 0;
		/* the grid's next slot; those that passed meanwhile are late */
		now = mono_ns();
		if (now / iv + 1 > next_slot + 1)
			atomic_fetch_add(&seg->st.misses,
			    (uint64)(now / iv - next_slot));
		next_slot = now / iv + 1;
	}
	if (seg != NULL) {
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
