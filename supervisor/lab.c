/*
 * lab.c: small facts about a lab that every process needs: paths in its
 * state directory, its segment name, connection strings, clocks, and the
 * helpers a worker uses to talk to its lane and status slot.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "labsup.h"

volatile sig_atomic_t worker_stop;
pid_t worker_parent_pid;

int64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t
mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int
lab_path(const struct config *cfg, const char *file, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s/%s", cfg->lab.state_dir, file);

	if (n < 0 || (size_t)n >= len) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

void
lab_seg_name(const struct config *cfg, char *buf, size_t len)
{
	seg_name(buf, len, cfg->lab.name);
}

int
lab_conninfo(const struct config *cfg, const struct node_cfg *node,
    const char *appname, char *buf, size_t len)
{
	char passfile[CFG_PATH + 16];
	int n;

	if (lab_path(cfg, LAB_PASSFILE, passfile, sizeof(passfile)) == -1)
		return -1;
	/* values are tame (config.c checks names and paths); quote anyway */
	n = snprintf(buf, len, "host='%s' port=%d dbname='%s' user='%s' "
	    "passfile='%s' application_name='%s' connect_timeout=5",
	    cfg->lab.bind, node->port, cfg->lab.database, cfg->lab.user,
	    passfile, appname);
	if (n < 0 || (size_t)n >= len) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

bool
worker_orphaned(void)
{
	return getppid() != worker_parent_pid;
}

void
worker_sleep_ms(int ms)
{
	int64_t end = mono_ns() + (int64_t)ms * 1000000;

	while (!worker_stop) {
		int64_t left = end - mono_ns();
		if (left <= 0)
			break;
		if (left > 50000000)
			left = 50000000;
		struct timespec ts = { 0, (long)left };
		nanosleep(&ts, NULL);
		if (worker_orphaned()) {
			worker_stop = 1;
			break;
		}
	}
}

int
worker_emit(struct worker_ctx *ctx, struct record *r)
{
	if (r->ts == 0)
		r->ts = now_ns();
	return lane_push(ctx->lane, r);
}

void
worker_labsup_init(struct worker_ctx *ctx, struct record *r)
{
	struct slot_sup sup;

	memset(r, 0, sizeof(*r));
	r->kind = REC_LABSUP;
	if (status_read_sup(ctx->slot, &sup) == -1)
		memset(&sup, 0, sizeof(sup));
	snprintf(r->u.labsup.worker, sizeof(r->u.labsup.worker), "%s",
	    sup.name[0] ? sup.name : worker_kind_name(ctx->kind));
	r->u.labsup.ring_drops = (int64_t)lane_dropped(ctx->lane);
	r->u.labsup.restarts = sup.restarts;
	r->u.labsup.spool_bytes = REC_ABSENT;
	r->u.labsup.deadline_misses = REC_ABSENT;
	r->u.labsup.points_written = REC_ABSENT;
	r->u.labsup.errors = REC_ABSENT;
	r->u.labsup.value = REC_ABSENT;
}

int
worker_event(struct worker_ctx *ctx, const char *kind, const char *fmt, ...)
{
	struct record r;
	va_list ap;

	memset(&r, 0, sizeof(r));
	r.kind = REC_EVENT;
	snprintf(r.u.event.kind, sizeof(r.u.event.kind), "%s", kind);
	va_start(ap, fmt);
	vsnprintf(r.u.event.text, sizeof(r.u.event.text), fmt, ap);
	va_end(ap);
	return worker_emit(ctx, &r);
}
