/*
 * logs.c: the logs worker, one per lab.  Follows every node's jsonlog
 * (pglog.h: file after file, across rotations and server restarts), woken
 * by inotify on the log directories, and writes the lines that matter to
 * pg_log and the important ones to events.  Where it stands in each
 * node's log is kept in <state_dir>/logs-offset.<node>, so a restarted
 * worker goes on where the last one stopped: a line sent twice (the
 * worker died between sending and saving) is the same point with the
 * same timestamp (pglog_point_ts), which InfluxDB stores once.  It reads
 * files only: no connection to any server.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "../lib/fileio.h"
#include "pglog.h"
#include "worker.h"

#define LOGS_SAVE_NS 1000000000LL	/* offsets saved at most once a second */
#define LOGS_BATCH_MS 20		/* after an event: let a burst gather */

struct logs_node {
	const struct node_cfg *node;
	int index;			/* its place in the config: its digit */
	struct pglog_follow f;
	int wd;				/* inotify watch, -1 none yet */
	bool skip_one;			/* the line at skip_off was sent ... */
	int64_t skip_off;
	int skip_parts;			/* ... its first skip_parts parts, or
					 * all of it when 0 */
	char saved_file[256];
	int64_t saved_off;
	char offset_path[PATH_MAX];
};

struct logs {
	struct worker_ctx *ctx;
	int ino;			/* inotify fd, -1 when unavailable */
	bool docker;
	int nnodes;
	struct logs_node nodes[CFG_MAX_NODES];
	struct logs_node *cur;		/* the node logs_line() is for */
	int64_t lines, kept, errors;
	int64_t sev[4];			/* kept WARNING, ERROR, FATAL, PANIC */
	union slot_extra top;		/* the latest ERROR or worse */
	bool top_changed;
};

_Static_assert(PGLOG_PANIC - PGLOG_WARNING == 3 &&
    LC_PANICS - LC_WARNINGS == 3, "sev[] is WARNING .. PANIC");

/* For top: count a kept line by severity, and keep the latest error. */
static void
logs_top_note(struct logs *lg, const struct pglog_line *l)
{
	struct slot_logline *e = &lg->top.last_error;

	if (l->severity < PGLOG_WARNING || l->severity > PGLOG_PANIC)
		return;
	lg->sev[l->severity - PGLOG_WARNING]++;
	lg->top_changed = true;
	/* nodes are read one after another: keep the newest by its time */
	if (l->severity == PGLOG_WARNING || l->ts_ns < e->ts_ns)
		return;
	e->ts_ns = l->ts_ns;
	snprintf(e->node, sizeof(e->node), "%s", lg->cur->node->name);
	snprintf(e->severity, sizeof(e->severity), "%s", l->severity_name);
	snprintf(e->sqlstate, sizeof(e->sqlstate), "%s", l->sqlstate);
	snprintf(e->text, sizeof(e->text), "%s", l->text);
}

/*
 * Free records in my lane: a line's records go in whole or wait, rather
 * than lane_push() dropping some of them.
 */
static uint64_t
logs_room(struct lane *l)
{
	/* A (ring.h): pairs with D; slots up to tail are free */
	return l->size - (atomic_load_explicit(&l->head, memory_order_relaxed) -
	    atomic_load_explicit(&l->tail, memory_order_acquire));
}

static void
logs_load_offset(struct logs_node *n)
{
	FILE *fp = fopen(n->offset_path, "r");
	char file[256];
	long long off;

	if (fp == NULL)
		return;
	if (fscanf(fp, "%255s %lld", file, &off) == 2 && off >= 0) {
		snprintf(n->saved_file, sizeof(n->saved_file), "%s", file);
		n->saved_off = off;
	}
	fclose(fp);
}

static void
logs_save_offset(struct logs_node *n)
{
	char text[300];
	int len;

	if (!strcmp(n->saved_file, n->f.file) && n->saved_off == n->f.off)
		return;
	len = snprintf(text, sizeof(text), "%s %lld\n", n->f.file,
	    (long long)n->f.off);
	if (file_write_atomic(n->offset_path, text, (size_t)len, 0600,
	    (uid_t)-1, (gid_t)-1) == -1) {
		log_warn("cannot save the log offset in %s", n->offset_path);
		return;
	}
	snprintf(n->saved_file, sizeof(n->saved_file), "%s", n->f.file);
	n->saved_off = n->f.off;
}

/* One line of n->f: 0 consumed, 1 "no room, hand it to me again". */
static int
logs_line(void *arg, const char *line, size_t len, const char *file,
    int64_t off)
{
	struct logs *lg = arg;
	struct pglog_line *l = malloc(sizeof(*l));
	struct record recs[PGLOG_PARTS + 1];
	int cls, n = 0, from = 0;

	if (l == NULL)
		return 1;
	if (lg->cur->skip_one) {
		lg->cur->skip_one = false;
		if (off == lg->cur->skip_off) {
			if (lg->cur->skip_parts == 0) {
				free(l);
				return 0;
			}
			from = lg->cur->skip_parts;
		}
	}
	lg->lines++;
	if (pglog_parse(line, len, l) == -1) {
		/* not jsonlog: a line the server wrote before the collector */
		lg->errors++;
		free(l);
		return 0;
	}
	cls = pglog_classify(l);
	if (cls == PGLOG_DROP) {
		free(l);
		return 0;
	}
	int64_t ts = pglog_point_ts(l->ts_ns, off, lg->cur->index);
	/* the event first: the last record of a line is a pg_log part */
	if (cls == PGLOG_EVENT) {
		struct record *e = &recs[n++];
		memset(e, 0, sizeof(*e));
		e->kind = REC_EVENT;
		e->ts = ts;
		snprintf(e->u.event.kind, sizeof(e->u.event.kind), "pg_log");
		pglog_event_text(l, lg->cur->node->name, e->u.event.text,
		    sizeof(e->u.event.text));
	}
	n += pglog_records(l, lg->cur->node->name, ts, pglog_file_hash(file),
	    off, recs + n);
	/* the rest of a line my predecessor was killed in */
	if (from > 0)
		from = pglog_unsent(from, cls == PGLOG_EVENT, n);
	if (logs_room(lg->ctx->lane) < (uint64_t)(n - from)) {
		/* handed to me again: then too only its rest */
		lg->cur->skip_one = from > 0;
		free(l);
		return 1;
	}
	for (int i = from; i < n; i++)
		worker_emit(lg->ctx, &recs[i]);
	lg->kept++;
	logs_top_note(lg, l);
	free(l);
	return 0;
}

/*
 * A worker that died (kill -9) may have sent lines after it last saved
 * its offsets.  Sending them again would make the same points with new
 * seqs, so the seqs they had would be gone from InfluxDB.  Instead: the
 * newest pg_log record of each node still in my lane (the segment
 * outlives its workers, and a lane's slots are only overwritten by its
 * producer: me) says which line was sent last; go on after it when it is
 * past the saved offset.  When that record is not the line's last part
 * the worker died between two parts: send the parts it did not.
 *
 * The follower is moved with pglog_follow_seek(), in its own directory:
 * re-initialising it with its own dir (pglog_follow_init clears the
 * follower first) left it with none, and that node's log was never read
 * again by this worker.
 */
static void
logs_resume(struct logs *lg)
{
	struct lane *l = lg->ctx->lane;
	uint64_t head = atomic_load_explicit(&l->head, memory_order_relaxed);
	uint64_t back = head < l->size ? head : l->size;
	bool seen[CFG_MAX_NODES] = { false };
	int left = lg->nnodes;

	for (uint64_t i = 1; i <= back && left > 0; i++) {
		const struct record *r = &l->recs[(head - i) & l->mask];
		struct logs_node *n = NULL;
		char name[256];
		int64_t off;
		int j;

		if (r->kind != REC_PG_LOG)
			continue;
		for (j = 0; j < lg->nnodes; j++)
			if (!strncmp(lg->nodes[j].node->name, r->u.pg_log.node,
			    sizeof(r->u.pg_log.node)))
				break;
		if (j == lg->nnodes || seen[j])
			continue;
		/*
		 * Only this node's newest record decides.  (skip_off once
		 * doubled as this mark, and setting it let the node's older
		 * records decide again: the first part of the last line had
		 * its later parts sent twice, their seqs lost.)
		 */
		seen[j] = true;
		left--;
		n = &lg->nodes[j];
		if (pglog_resume(n->f.dir, &r->u.pg_log, n->saved_file,
		    n->saved_off, name, sizeof(name), &off, &n->skip_parts) == 0)
			continue;
		log_info("%s: going on after the last line my predecessor "
		    "sent (%s at %lld%s), not from its saved offset (%s at "
		    "%lld)",
		    n->node->name, name, (long long)off, n->skip_parts ?
		    ", its first parts" : "", n->saved_file[0] ?
		    n->saved_file : "none", (long long)n->saved_off);
		pglog_follow_seek(&n->f, name, off);
		n->skip_one = true;
		n->skip_off = off;
	}
}

/* Watch a node's directory once it exists (the server makes it). */
static void
logs_watch(struct logs *lg, struct logs_node *n)
{
	if (lg->ino == -1 || n->wd != -1)
		return;
	n->wd = inotify_add_watch(lg->ino, n->f.dir, IN_MODIFY | IN_CREATE |
	    IN_MOVED_TO | IN_CLOSE_WRITE);
}

/* Read what every node has; returns how many nodes could not be read. */
static int
logs_pass(struct logs *lg)
{
	int missing = 0;

	for (int i = 0; i < lg->nnodes; i++) {
		struct logs_node *n = &lg->nodes[i];

		lg->cur = n;
		logs_watch(lg, n);
		if (pglog_follow_read(&n->f, logs_line, lg) == -1) {
			missing++;
			if (n->wd != -1 && errno == ENOENT) {
				/* the directory went (purge): watch it anew */
				inotify_rm_watch(lg->ino, n->wd);
				n->wd = -1;
			}
		}
	}
	return missing;
}

/* Wait up to ms for a log directory to change; drains the events. */
static void
logs_wait(struct logs *lg, int ms)
{
	struct pollfd pfd = { lg->ino, POLLIN, 0 };
	char buf[4096];

	if (lg->ino == -1) {
		worker_sleep_ms(ms);
		return;
	}
	if (poll(&pfd, 1, ms) > 0) {
		while (read(lg->ino, buf, sizeof(buf)) > 0)
			;
		worker_sleep_ms(LOGS_BATCH_MS);
	}
}

int
logs_main(struct worker_ctx *ctx)
{
	const struct config *cfg = ctx->cfg;
	struct logs *lg = calloc(1, sizeof(*lg));
	int64_t next_save = 0, next_self = 0;

	if (lg == NULL) {
		status_set(ctx->slot, WS_FAILED, "out of memory");
		return 1;
	}
	lg->ctx = ctx;
	status_set(ctx->slot, WS_STARTING, "waiting for the container worker");
	while (!worker_stop && atomic_load(&ctx->seg->hdr->backend) == 0) {
		status_heartbeat(ctx->slot);
		worker_sleep_ms(100);
	}
	lg->docker = atomic_load(&ctx->seg->hdr->backend) == BACKEND_DOCKER;
	lg->ino = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (lg->ino == -1)
		log_warn("inotify: reading the server logs every second instead");
	for (int i = 0; i < cfg->nnodes && i < CFG_MAX_NODES; i++) {
		struct logs_node *n = &lg->nodes[lg->nnodes++];
		char dir[PATH_MAX], rel[CFG_NAME + 16];

		n->node = &cfg->nodes[i];
		n->index = i;
		n->wd = -1;
		lab_node_log_dir(cfg, n->node->name, lg->docker, dir,
		    sizeof(dir));
		snprintf(rel, sizeof(rel), "logs-offset.%s", n->node->name);
		lab_path(cfg, rel, n->offset_path, sizeof(n->offset_path));
		logs_load_offset(n);
		pglog_follow_init(&n->f, dir, n->saved_file, n->saved_off);
	}
	logs_resume(lg);

	while (!worker_stop) {
		int64_t now = mono_ns();
		int missing = logs_pass(lg);

		status_heartbeat(ctx->slot);
		if (lg->nnodes > 0 && missing == lg->nnodes)
			status_set(ctx->slot, WS_STARTING, "waiting for the "
			    "servers' log directories (%s, ...)",
			    lg->nodes[0].f.dir);
		else
			status_set(ctx->slot, WS_RUNNING, "%lld lines kept of "
			    "%lld read", (long long)lg->kept,
			    (long long)lg->lines);
		status_counter_set(ctx->slot, LC_KEPT, lg->kept);
		status_counter_set(ctx->slot, LC_LINES, lg->lines);
		if (lg->top_changed) {
			status_extra_set(ctx->slot, &lg->top, lg->sev,
			    LC_WARNINGS, 4);
			lg->top_changed = false;
		}
		if (now >= next_save) {
			for (int i = 0; i < lg->nnodes; i++)
				logs_save_offset(&lg->nodes[i]);
			next_save = now + LOGS_SAVE_NS;
		}
		if (now >= next_self) {
			struct record r;
			worker_labsup_init(ctx, &r);
			r.u.labsup.errors = lg->errors;
			r.u.labsup.value = lg->kept;
			worker_emit(ctx, &r);
			next_self = now + LOGS_SAVE_NS;
		}
		/* an event wakes us at once; without one, look anyway */
		logs_wait(lg, 100);
	}
	for (int i = 0; i < lg->nnodes; i++) {
		logs_save_offset(&lg->nodes[i]);
		pglog_follow_close(&lg->nodes[i].f);
	}
	if (lg->ino != -1)
		close(lg->ino);
	free(lg);
	return 0;
}
