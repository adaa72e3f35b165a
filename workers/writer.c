/*
 * writer.c: the writer worker.  Drains every lane of the segment round-robin
 * into line-protocol batches and posts them to InfluxDB; while InfluxDB is
 * down the batches go to the on-disk spool, replayed in order once it is
 * back.  A lane's tail moves only after its records are stored (2xx, or
 * fsync'd in the spool, or set aside in the reject file): delivery is at
 * least once, and InfluxDB makes a repeated point a no-op.
 *
 * Files in the state directory: writer-spool/ (see spool.h) and
 * writer-rejects.lp.gz (batches InfluxDB refused with a 4xx other than 429,
 * one gzip member each: `zcat` reads them all, InfluxDB's reason is logged).
 *
 * Once a second it emits `labsup` records into its own lane:
 *   worker=<its slot name>: ring_drops (its lane), spool_bytes,
 *     points_written (acknowledged by InfluxDB), errors, value = points
 *     dropped because the spool was full.
 *   worker=<every other slot's name>: ring_drops (records that slot's lane
 *     refused because it was full), points_written (records of that lane
 *     stored: the lane's tail), value (records ever pushed: its head).
 * Fields a record does not carry are left out (LP_ABSENT), so these never
 * overwrite a worker's own `labsup` figures.
 *
 * Missing database (1.x answers 404 "database not found"): the writer sends
 * CREATE DATABASE once a minute at most and retries; until that works the
 * batches are spooled, never rejected.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "worker.h"
#include "influx.h"
#include "lineproto.h"
#include "spool.h"

#define WR_QUANTUM 256			/* records per lane per pass */
#define WR_IDLE_NS 2000000LL		/* sleep when every lane is empty */
#define WR_RETRY_BUDGET_NS 1000000000LL	/* live retries before spooling */
#define WR_BACKOFF_MIN_MS 250
#define WR_BACKOFF_MAX_MS 10000
#define WR_STOP_NS 5000000000LL		/* flush budget after SIGTERM */
#define WR_REJECT_MAX (64LL << 20)	/* reject file cap */
#define WR_SPOOL_DIR "writer-spool"
#define WR_REJECT_FILE "writer-rejects.lp.gz"
#define WR_LOCK_FILE "writer.lock"	/* one writer per spool, and per lanes */
#define WR_LOCK_WAIT_MS 30000

struct wr_batch {
	struct lp_buf text;
	uint32_t npoints;
	int64_t started;	/* mono ns when the first point went in */
	uint64_t *pos;		/* per lane: read position after its last one */
	bool *held;		/* per lane: has records in this batch */
};

struct writer {
	struct worker_ctx *ctx;
	const struct config *cfg;
	int lockfd;		/* the one-writer lock (WR_LOCK_FILE), held for life */
	uint32_t nlanes;
	uint32_t rr;		/* lane the next pass starts at */
	struct influx ix;
	struct spool sp;
	struct wr_batch b;
	bool up;		/* InfluxDB took the last request */
	int64_t next_try;	/* mono ns: next request while down */
	int backoff_ms;
	int64_t nodb_at;	/* mono ns of the last CREATE DATABASE */
	int64_t next_tick;	/* mono ns: next once-a-second work */
	int64_t hold_until;	/* mono ns: the spool failed, pause until */
	int64_t warned_at;	/* mono ns: last spool failure logged */
	int64_t c[NCOUNTERS];	/* mirror of the slot counters */
	char reject_path[CFG_PATH + 32];
};

static void
wr_publish(struct writer *w)
{
	struct slot *s = w->ctx->slot;

	w->c[WC_SPOOL_BYTES] = (int64_t)spool_bytes(&w->sp);
	w->c[WC_SPOOL_DROPPED] = (int64_t)w->sp.dropped_points;
	w->c[WC_INFLUX_UP] = w->up;
	/* one seqlock round for all of them: readers see a consistent set */
	seq_write_begin(&s->own_lock);
	memcpy(s->own.counters, w->c, sizeof(w->c));
	seq_write_end(&s->own_lock);
}

/* The batch's records are stored: free their ring slots. */
static void
wr_commit(struct writer *w)
{
	for (uint32_t i = 0; i < w->nlanes; i++) {
		if (!w->b.held[i])
			continue;
		lane_commit(seg_lane(w->ctx->seg, i), w->b.pos[i]);
		w->b.held[i] = false;
	}
	w->b.text.len = 0;
	w->b.npoints = 0;
}

/* The batch could not be stored: forget it, read the records again later. */
static void
wr_unread(struct writer *w)
{
	for (uint32_t i = 0; i < w->nlanes; i++) {
		if (w->b.held[i])
			lane_rewind(seg_lane(w->ctx->seg, i));
		w->b.held[i] = false;
	}
	w->b.text.len = 0;
	w->b.npoints = 0;
}

/*
 * One pass over every lane, up to WR_QUANTUM records each, stopping when
 * the batch is full.  Returns the records read, or -1 when out of memory.
 */
static int
wr_drain(struct writer *w)
{
	uint32_t max = (uint32_t)w->cfg->writer.batch_points;
	int got = 0;

	for (uint32_t k = 0; k < w->nlanes && w->b.npoints < max; k++) {
		uint32_t i = (w->rr + k) % w->nlanes;
		struct lane *l = seg_lane(w->ctx->seg, i);
		const struct record *r;

		for (int n = 0; n < WR_QUANTUM && w->b.npoints < max; n++) {
			if ((r = lane_read(l)) == NULL)
				break;
			switch (lp_format(&w->b.text, r)) {
			case 0:
				if (w->b.npoints++ == 0)
					w->b.started = mono_ns();
				break;
			case 1:		/* unknown kind: nothing to send */
				w->c[WC_ERRORS]++;
				break;
			default:
				return -1;
			}
			w->b.pos[i] = lane_read_pos(l);
			w->b.held[i] = true;
			got++;
		}
	}
	w->rr = (w->rr + 1) % w->nlanes;
	return got;
}

static void
wr_down(struct writer *w, int retry_after_s)
{
	int64_t wait_ms = w->backoff_ms;

	if (w->up)
		log_warnx("InfluxDB at %s does not take writes (HTTP %ld: "
		    "%s): spooling to %s until it does", w->cfg->influx.url,
		    w->ix.status, w->ix.message, w->sp.dir);
	if (retry_after_s > 0 && retry_after_s * 1000LL > wait_ms)
		wait_ms = retry_after_s * 1000LL;
	w->up = false;
	w->next_try = mono_ns() + wait_ms * 1000000;
	w->backoff_ms *= 2;
	if (w->backoff_ms > WR_BACKOFF_MAX_MS)
		w->backoff_ms = WR_BACKOFF_MAX_MS;
}

/* Keep what InfluxDB refused, so nobody has to guess what was lost. */
static void
wr_reject(struct writer *w, const void *body, size_t len, bool gz,
    uint32_t npoints)
{
	struct stat st;
	int fd;

	log_warnx("InfluxDB refused %u points with HTTP %ld: %s (set aside "
	    "in %s)", npoints, w->ix.status, w->ix.message, w->reject_path);
	w->c[WC_REJECTED] += npoints;
	if (!gz && (len = influx_gzip(&w->ix, body, len, &body)) == 0)
		return;
	if (stat(w->reject_path, &st) == 0 && st.st_size > WR_REJECT_MAX) {
		log_warnx("reject file %s is over %lld MB: not adding to it "
		    "(look at it, then remove it)", w->reject_path,
		    WR_REJECT_MAX >> 20);
		return;
	}
	fd = open(w->reject_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
	    0600);
	if (fd == -1 || write(fd, body, len) != (ssize_t)len)
		log_warn("cannot write the reject file %s", w->reject_path);
	if (fd != -1)
		close(fd);
}

/*
 * Post one body, retrying 5xx/429/no answer for up to WR_RETRY_BUDGET_NS
 * when live (a spooled block just waits for the next try).  Returns
 * INFLUX_OK, INFLUX_REJECT (already set aside) or INFLUX_RETRY (gave up:
 * InfluxDB is now marked down).
 */
static int
wr_post(struct writer *w, const void *body, size_t len, bool gz,
    uint32_t npoints, bool live, int64_t deadline)
{
	int64_t t0 = mono_ns();
	int delay_ms = 100;

	for (;;) {
		long tmo = 0;
		int rc;

		if (deadline != 0) {
			tmo = (long)((deadline - mono_ns()) / 1000000);
			if (tmo < 100)
				tmo = 100;
			if (tmo > w->cfg->writer.timeout_ms)
				tmo = w->cfg->writer.timeout_ms;
		}
		rc = influx_write(&w->ix, body, len, gz, tmo);
		if (rc == INFLUX_OK) {
			if (!w->up)
				log_info("InfluxDB at %s takes writes again",
				    w->cfg->influx.url);
			w->up = true;
			w->backoff_ms = WR_BACKOFF_MIN_MS;
			w->c[WC_POINTS] += npoints;
			w->c[WC_BATCHES]++;
			w->c[WC_BYTES] += (int64_t)len;
			w->c[WC_LAST_FLUSH] = now_ns();
			return INFLUX_OK;
		}
		if (rc == INFLUX_NODB && mono_ns() - w->nodb_at > 60000000000LL) {
			w->nodb_at = mono_ns();
			log_info("InfluxDB has no database \"%s\": creating it",
			    w->cfg->influx.database);
			if (influx_create_db(&w->ix) == 0)
				continue;
			log_warnx("cannot create database \"%s\" in InfluxDB "
			    "(HTTP %ld: %s): spooling until it exists",
			    w->cfg->influx.database, w->ix.status,
			    w->ix.message);
		}
		if (rc == INFLUX_REJECT) {
			w->up = true;	/* it answered */
			wr_reject(w, body, len, gz, npoints);
			return INFLUX_REJECT;
		}
		w->c[WC_RETRIES]++;
		int ra = w->ix.retry_after_s;
		/* retry in place only while InfluxDB was up: a probe that
		 * fails while it is down goes straight to the spool */
		if (live && w->up && !worker_stop && deadline == 0 &&
		    mono_ns() - t0 + delay_ms * 1000000LL < WR_RETRY_BUDGET_NS &&
		    (ra <= 0 || ra * 1000 < delay_ms * 4)) {
			worker_sleep_ms(ra > 0 ? ra * 1000 : delay_ms);
			delay_ms *= 2;
			continue;
		}
		w->c[WC_ERRORS]++;
		wr_down(w, ra);
		return INFLUX_RETRY;
	}
}

/* Send the batch (or spool it), then free or rewind its ring records. */
static void
wr_flush(struct writer *w, int64_t deadline)
{
	char err[512];
	const void *body = w->b.text.data;
	size_t len = w->b.text.len;
	bool gz;

	if (w->b.npoints == 0) {
		wr_commit(w);	/* only records with nothing to send */
		return;
	}
	if ((len = influx_gzip(&w->ix, w->b.text.data, w->b.text.len,
	    &body)) == 0) {
		body = w->b.text.data;
		len = w->b.text.len;
	}
	gz = body != w->b.text.data;
	if (w->up || mono_ns() >= w->next_try) {
		if (wr_post(w, body, len, gz, w->b.npoints, true, deadline) !=
		    INFLUX_RETRY) {
			wr_commit(w);
			return;
		}
	}
	if (spool_append(&w->sp, body, len, w->b.npoints,
	    gz ? SPOOL_GZIP : 0, err, sizeof(err)) == -1) {
		/*
		 * The records stay in the ring: nothing is lost yet.  Pause
		 * rather than spin on a full disk; log now and then.
		 */
		if (mono_ns() - w->warned_at > 10000000000LL) {
			log_warnx("%s", err);
			w->warned_at = mono_ns();
		}
		w->c[WC_ERRORS]++;
		wr_unread(w);
		w->hold_until = mono_ns() + 1000000000;
		return;
	}
	w->c[WC_SPOOLED] += w->b.npoints;
	wr_commit(w);
}

/* Replay the oldest spooled block if InfluxDB may take it. */
static void
wr_replay(struct writer *w)
{
	struct spool_block blk;
	char err[512];
	int rc;

	if (!w->up && mono_ns() < w->next_try)
		return;
	rc = spool_peek(&w->sp, &blk, err, sizeof(err));
	if (rc == -1) {
		log_warnx("%s", err);
		w->c[WC_ERRORS]++;
		wr_down(w, 0);
		return;
	}
	if (rc == 0)
		return;
	rc = wr_post(w, blk.data, blk.len, blk.flags & SPOOL_GZIP,
	    blk.npoints, false, 0);
	if (rc != INFLUX_RETRY) {
		spool_consume(&w->sp, &blk);
		if (rc == INFLUX_OK)
			w->c[WC_REPLAYED] += blk.npoints;
		if (spool_empty(&w->sp))
			log_info("spool replayed: every spooled point is in "
			    "InfluxDB");
	}
	free(blk.data);
}

static void
wr_labsup(struct writer *w, uint32_t i, const struct slot_sup *sup)
{
	const char *name = sup->name[0] ? sup->name : "writer";
	struct lane *l = seg_lane(w->ctx->seg, i);
	struct record r;

	memset(&r, 0, sizeof(r));
	r.kind = REC_LABSUP;
	snprintf(r.u.labsup.worker, sizeof(r.u.labsup.worker), "%s", name);
	r.u.labsup.ring_drops = (int64_t)lane_dropped(l);
	r.u.labsup.deadline_misses = LP_ABSENT;
	/* the supervisor counts restarts; it does not touch the data plane */
	r.u.labsup.restarts = sup->restarts;
	if (i == (uint32_t)w->ctx->slot_index) {
		r.u.labsup.spool_bytes = (int64_t)spool_bytes(&w->sp);
		r.u.labsup.points_written = w->c[WC_POINTS];
		r.u.labsup.errors = w->c[WC_ERRORS];
		r.u.labsup.value = (int64_t)w->sp.dropped_points;
	} else {
		r.u.labsup.spool_bytes = LP_ABSENT;
		r.u.labsup.points_written = (int64_t)lane_committed(l);
		r.u.labsup.errors = LP_ABSENT;
		/* value is the worker's own figure (its record, same series) */
		r.u.labsup.value = LP_ABSENT;
	}
	worker_emit(w->ctx, &r);
}

/* Once a second: own figures, other lanes' drops, status. */
static void
wr_tick(struct writer *w)
{
	struct slot_sup sup;

	for (uint32_t i = 0; i < w->nlanes; i++) {
		struct slot *s = seg_slot(w->ctx->seg, i);

		if (status_read_sup(s, &sup) == -1)
			continue;
		if (i == (uint32_t)w->ctx->slot_index ||
		    (sup.kind != WK_NONE && sup.name[0] != '\0'))
			wr_labsup(w, i, &sup);
	}
	w->c[WC_TORN] = (int64_t)w->sp.torn;
	wr_publish(w);
	if (!w->up)
		status_set(w->ctx->slot, WS_RUNNING, "influxdb down, spooling "
		    "(%.1f MB): %s", spool_bytes(&w->sp) / 1048576.0,
		    w->ix.message);
	else if (!spool_empty(&w->sp))
		status_set(w->ctx->slot, WS_RUNNING, "replaying the spool, "
		    "%llu points left",
		    (unsigned long long)spool_points(&w->sp));
	else
		status_set(w->ctx->slot, WS_RUNNING, "writing to %s",
		    w->cfg->influx.url);
	if (worker_orphaned())
		worker_stop = 1;
}

/* SIGTERM: flush what the lanes hold, within WR_STOP_NS, then stop. */
static void
wr_stop(struct writer *w)
{
	int64_t deadline = mono_ns() + WR_STOP_NS;
	int got;

	do {
		got = wr_drain(w);
		if (got < 0)
			break;
		if (w->b.npoints >= (uint32_t)w->cfg->writer.batch_points ||
		    got == 0)
			wr_flush(w, deadline);
		if (!w->up)
			w->next_try = deadline;	/* spool the rest at once */
		if (w->hold_until > mono_ns())
			return;			/* nowhere to put it */
	} while (got > 0 && mono_ns() < deadline);
	if (w->b.npoints > 0)
		wr_flush(w, deadline);
	wr_publish(w);
}

/*
 * The one-writer lock: held (flock) for the writer's life, taken before it
 * touches the spool or rewinds a lane.  A writer left by a supervisor that
 * was killed may still be flushing: wait for it.  -1: give up (the
 * supervisor restarts us with backoff).
 */
static int
wr_lock(struct writer *w)
{
	char path[CFG_PATH + 32], pid[24];
	int64_t until = mono_ns() + (int64_t)WR_LOCK_WAIT_MS * 1000000;
	bool said = false;

	if (lab_path(w->cfg, WR_LOCK_FILE, path, sizeof(path)) == -1)
		return -1;
	w->lockfd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (w->lockfd == -1) {
		log_warn("cannot open %s", path);
		return -1;
	}
	while (flock(w->lockfd, LOCK_EX | LOCK_NB) == -1) {
		if (errno != EWOULDBLOCK || worker_stop || mono_ns() > until) {
			ssize_t n = pread(w->lockfd, pid, sizeof(pid) - 1, 0);
			pid[n > 0 ? n : 0] = '\0';
			pid[strcspn(pid, "\n")] = '\0';
			log_warnx("%s is still held by another writer (pid %s): "
			    "not draining the lanes beside it", path,
			    pid[0] ? pid : "?");
			return -1;
		}
		if (!said) {
			status_set(w->ctx->slot, WS_STARTING, "waiting for the "
			    "writer of a previous supervisor to exit");
			said = true;
		}
		worker_sleep_ms(50);
	}
	log_info("one-writer lock taken: pid %d drains the lanes",
	    (int)getpid());
	snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
	if (ftruncate(w->lockfd, 0) == -1 ||
	    pwrite(w->lockfd, pid, strlen(pid), 0) == -1)
		log_warn("cannot write %s", path);
	return 0;
}

static int
wr_init(struct writer *w, struct worker_ctx *ctx)
{
	char err[512], dir[CFG_PATH + 32];

	memset(w, 0, sizeof(*w));
	w->sp.wfd = -1;
	w->lockfd = -1;
	w->ctx = ctx;
	w->cfg = ctx->cfg;
	w->nlanes = ctx->seg->hdr->nslots;
	w->up = true;
	w->backoff_ms = WR_BACKOFF_MIN_MS;
	w->nodb_at = mono_ns() - 3600000000000LL;
	w->b.pos = calloc(w->nlanes, sizeof(*w->b.pos));
	w->b.held = calloc(w->nlanes, sizeof(*w->b.held));
	if (w->b.pos == NULL || w->b.held == NULL) {
		log_warnx("writer: out of memory");
		return 1;
	}
	if (wr_lock(w) == -1)
		return 1;
	/* a restarted writer continues its totals */
	_Static_assert(sizeof(w->c) == sizeof(ctx->prev_counters),
	    "the writer's totals are its slot's counters");
	memcpy(w->c, ctx->prev_counters, sizeof(w->c));
	if (influx_init(&w->ix, w->cfg, err, sizeof(err)) == -1) {
		log_warnx("%s", err);
		status_set(ctx->slot, WS_FAILED, "%s", err);
		return EXIT_NORESPAWN;
	}
	if (lab_path(w->cfg, WR_SPOOL_DIR, dir, sizeof(dir)) == -1 ||
	    lab_path(w->cfg, WR_REJECT_FILE, w->reject_path,
	    sizeof(w->reject_path)) == -1) {
		log_warnx("state directory %s: name too long (choose a "
		    "shorter state_dir)", w->cfg->lab.state_dir);
		return EXIT_NORESPAWN;
	}
	if (spool_open(&w->sp, dir, (uint64_t)w->cfg->writer.spool_max_mb <<
	    20, err, sizeof(err)) == -1) {
		log_warnx("%s", err);
		status_set(ctx->slot, WS_FAILED, "%s", err);
		return EXIT_NORESPAWN;
	}
	if (w->sp.torn > 0)
		log_warnx("spool %s: skipped %llu torn block(s) left by a "
		    "crash", dir, (unsigned long long)w->sp.torn);
	if (!spool_empty(&w->sp))
		log_info("spool %s holds %llu points from before: replaying",
		    dir, (unsigned long long)spool_points(&w->sp));
	/* what a previous writer read but did not store, read again */
	for (uint32_t i = 0; i < w->nlanes; i++)
		lane_rewind(seg_lane(ctx->seg, i));
	return 0;
}

static void
wr_free(struct writer *w)
{
	influx_free(&w->ix);
	spool_close(&w->sp);
	lp_free(&w->b.text);
	free(w->b.pos);
	free(w->b.held);
	if (w->lockfd != -1) {
		/* said before the close: a successor's "taken" comes after */
		log_info("one-writer lock released: pid %d", (int)getpid());
		close(w->lockfd);
	}
}

int
writer_main(struct worker_ctx *ctx)
{
	struct writer w;
	int64_t flush_ns = (int64_t)ctx->cfg->writer.flush_ms * 1000000;
	int rc;

	status_set(ctx->slot, WS_STARTING, "opening the spool and InfluxDB "
	    "at %s", ctx->cfg->influx.url);
	if ((rc = wr_init(&w, ctx)) != 0) {
		wr_free(&w);
		return rc;
	}
	w.ix.cancel = &worker_stop;
	w.next_tick = mono_ns();
	while (!worker_stop) {
		int64_t now = mono_ns();
		int got = now >= w.hold_until ? wr_drain(&w) : 0;

		if (got < 0) {
			log_warnx("writer: out of memory formatting a batch");
			wr_free(&w);
			return 1;
		}
		if (now < w.hold_until)
			;	/* the spool failed a moment ago */
		else if (w.b.npoints >= (uint32_t)ctx->cfg->writer.batch_points ||
		    (w.b.npoints > 0 && now - w.b.started >= flush_ns))
			wr_flush(&w, 0);
		else if (w.b.npoints == 0)
			wr_commit(&w);
		if (!spool_empty(&w.sp))
			wr_replay(&w);
		if (now >= w.next_tick) {
			w.next_tick = now + 1000000000;
			wr_tick(&w);
		}
		if (got == 0) {
			struct timespec ts = { 0, WR_IDLE_NS };
			nanosleep(&ts, NULL);
		}
	}
	w.ix.cancel = NULL;	/* from here on the stop deadline rules */
	wr_stop(&w);
	status_set(ctx->slot, WS_RUNNING, "stopped; %lld points written",
	    (long long)w.c[WC_POINTS]);
	wr_free(&w);
	return 0;
}
