/*
 * container.c: the container worker.  Picks a backend, then reconciles what
 * the config asks for with what runs: adopt, start, restart.  It owns the
 * segment's service table and emits `service` records once a second.  It
 * keeps no state that matters across restarts: the backend finds running
 * servers again.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../backend/backend.h"
#include "worker.h"

#define CT_MAX_SVC (CFG_MAX_NODES + 2)
#define CT_FAST_MS 100		/* pass interval while something starts */
#define CT_SLOW_MS 1000		/* once everything is up */
#define CT_ORPHAN_MS 5000	/* look for nodes a reload removed */

struct ct_svc {
	struct service_def def;
	struct service_obs obs;
	int prev_state;
	bool lost;		/* was ready, went away: say when it is back */
	int64_t since_ns;
	int64_t restarts;
};

/* Say which backend runs the lab (the segment header's own field). */
static void
ct_set_backend_info(struct seg *seg, const struct backend_ops *be)
{
	atomic_store(&seg->hdr->backend, (uint32_t)(be == &backend_docker ?
	    BACKEND_DOCKER : BACKEND_LOCAL));
}

static void
ct_publish(struct worker_ctx *ctx, int i, const struct ct_svc *s)
{
	struct svc_info in;

	if ((uint32_t)i >= ctx->seg->hdr->nsvc)
		return;
	memset(&in, 0, sizeof(in));
	snprintf(in.name, sizeof(in.name), "%s", s->def.name);
	in.role = (uint8_t)s->def.role;
	in.state = (uint8_t)s->obs.state;
	in.port = s->def.port;
	in.pid = s->obs.pid;
	snprintf(in.id, sizeof(in.id), "%s", s->obs.id);
	snprintf(in.detail, sizeof(in.detail), "%s", s->obs.detail);
	in.cpu_pct = s->obs.cpu_pct;
	in.mem_bytes = s->obs.mem_bytes;
	in.restarts = s->restarts;
	in.since_ns = s->since_ns;
	status_write_svc(seg_svc(ctx->seg, (uint32_t)i), &in);
}

static void
ct_emit(struct worker_ctx *ctx, const struct ct_svc *s)
{
	struct record r;

	memset(&r, 0, sizeof(r));
	r.kind = REC_SERVICE;
	snprintf(r.u.service.service, sizeof(r.u.service.service), "%s",
	    s->def.name);
	r.u.service.cpu_pct = s->obs.cpu_pct;
	r.u.service.mem_bytes = s->obs.mem_bytes;
	r.u.service.net_rx_bytes = s->obs.net_rx_bytes;
	r.u.service.net_tx_bytes = s->obs.net_tx_bytes;
	r.u.service.up = s->obs.state == SS_READY;
	worker_emit(ctx, &r);
}

static void
ct_emit_self(struct worker_ctx *ctx, int64_t errors, int64_t ready)
{
	struct record r;

	worker_labsup_init(ctx, &r);
	r.u.labsup.errors = errors;
	r.u.labsup.value = ready;
	worker_emit(ctx, &r);
}

/* One service: ensure, stats when ready, note state changes. */
static void
ct_reconcile_one(struct worker_ctx *ctx, const struct backend_ops *be,
    struct ct_svc *s)
{
	const struct config *cfg = ctx->cfg;

	if (s->def.node != NULL && lab_node_held(cfg, s->def.name)) {
		/* a scenario's `stop NODE`: down on purpose until `start` */
		if (s->prev_state != SS_STOPPED) {
			log_info("%s: held down by a scenario", s->def.name);
			s->since_ns = now_ns();
			s->lost = s->prev_state == SS_READY || s->lost;
			s->prev_state = SS_STOPPED;
		}
		s->obs.state = SS_STOPPED;
		snprintf(s->obs.detail, sizeof(s->obs.detail), "held down by "
		    "a scenario");
		return;
	}
	be->ensure(cfg, &s->def, &s->obs);
	if (s->obs.state == SS_READY && be->stats != NULL)
		be->stats(cfg, &s->def, &s->obs);
	if (s->obs.state == s->prev_state)
		return;
	s->since_ns = now_ns();
	if (s->prev_state == SS_READY) {
		s->lost = true;
		s->restarts++;
		status_counter_add(ctx->slot, CC_SERVICE_RESTARTS, 1);
		log_warnx("%s: lost (%s); bringing it back", s->def.name,
		    svc_state_name(s->obs.state));
		worker_event(ctx, "node_lost", "%s is down", s->def.name);
	} else if (s->obs.state == SS_READY) {
		log_info("%s: ready%s", s->def.name, s->lost ? " again" : "");
		if (s->lost)
			worker_event(ctx, "node_back", "%s is back",
			    s->def.name);
		s->lost = false;
	} else if (s->obs.state == SS_FAILED) {
		log_warnx("%s: %s", s->def.name, s->obs.detail);
	} else if (s->obs.state == SS_UNAVAILABLE) {
		log_info("%s: unavailable: %s", s->def.name, s->obs.detail);
	}
	s->prev_state = s->obs.state;
}

/*
 * Nodes a reload removed: their servers stop (data kept until `stop
 * --purge`).  Run at start (a reload that removes a node restarts this
 * worker) and every CT_ORPHAN_MS.
 */
static void
ct_stop_orphans(struct worker_ctx *ctx, const struct backend_ops *be)
{
	struct service_def gone[CFG_MAX_NODES * 4];
	struct service_obs obs;
	char err[256];
	int n;

	if (be->orphans == NULL || be->stop == NULL)
		return;
	n = be->orphans(ctx->cfg, gone, (int)(sizeof(gone) / sizeof(gone[0])));
	for (int i = 0; i < n && !worker_stop; i++) {
		memset(&obs, 0, sizeof(obs));
		if (be->stats == NULL || be->stats(ctx->cfg, &gone[i], &obs) == -1)
			continue;	/* nothing runs there */
		log_info("%s: no longer in the config: stopping its server (its "
		    "data stays until `labsup stop --purge`)", gone[i].name);
		err[0] = '\0';
		if (be->stop(ctx->cfg, &gone[i], false, err, sizeof(err)) == -1)
			log_warnx("%s: %s", gone[i].name, err);
		else
			worker_event(ctx, "node_removed", "%s removed from the "
			    "config: stopped", gone[i].name);
	}
}

int
container_main(struct worker_ctx *ctx)
{
	const struct config *cfg = ctx->cfg;
	struct service_def defs[CT_MAX_SVC];
	struct ct_svc svcs[CT_MAX_SVC];
	const struct backend_ops *be;
	char why[256], err[256];
	int n, ready, failed, first_failed, first_waiting, tell;
	int64_t last_emit = 0, last_sweep = 0, errors = 0;

	be = backend_pick(cfg, why, sizeof(why));
	log_info("backend: %s", why);
	if (be->ensure == NULL || be->probe(cfg, err, sizeof(err)) == -1) {
		status_set(ctx->slot, WS_FAILED, "backend %s cannot run: %s",
		    be->name, be->ensure == NULL ? "not built" : err);
		log_warnx("backend %s cannot run here: %s", be->name,
		    be->ensure == NULL ? "not built" : err);
		return EXIT_NORESPAWN;
	}
	ct_set_backend_info(ctx->seg, be);
	backend_remember(cfg, be);

	n = backend_services(cfg, defs, CT_MAX_SVC);
	memset(svcs, 0, sizeof(svcs));
	for (int i = 0; i < n; i++) {
		svcs[i].def = defs[i];
		svcs[i].prev_state = SS_EMPTY;
		svcs[i].obs.state = SS_STARTING;
		svcs[i].since_ns = now_ns();
		ct_publish(ctx, i, &svcs[i]);
	}
	status_set(ctx->slot, WS_STARTING, "preparing %s backend", be->name);

	while (!worker_stop) {
		status_heartbeat(ctx->slot);
		if (be->prepare != NULL &&
		    be->prepare(cfg, err, sizeof(err)) == -1) {
			errors++;
			status_set(ctx->slot, WS_STARTING, "preparing: %s", err);
			worker_sleep_ms(CT_SLOW_MS);
			continue;
		}
		for (int i = 0; i < n && !worker_stop; i++) {
			ct_reconcile_one(ctx, be, &svcs[i]);
			ct_publish(ctx, i, &svcs[i]);
		}
		if (worker_stop)
			break;	/* the pass was cut short: nothing to report */
		if (mono_ns() - last_sweep >= (int64_t)CT_ORPHAN_MS * 1000000) {
			last_sweep = mono_ns();
			ct_stop_orphans(ctx, be);
		}
		ready = failed = 0;
		first_failed = first_waiting = -1;
		for (int i = 0; i < n; i++) {
			int st = svcs[i].obs.state;
			if (st == SS_READY || st == SS_UNAVAILABLE)
				ready++;
			else if (st == SS_FAILED && failed++ == 0)
				first_failed = i;
			else if (st != SS_FAILED && first_waiting == -1)
				first_waiting = i;
		}
		/* the service to tell about: the first failed, else waiting */
		tell = failed ? first_failed : first_waiting;
		status_counter_set(ctx->slot, CC_SERVICES_READY, ready);
		if (ready == n)
			status_set(ctx->slot, WS_RUNNING, "%d services up (%s)",
			    n, be->name);
		else if (failed)
			status_set(ctx->slot, WS_FAILED, "%s: %s",
			    svcs[tell].def.name, svcs[tell].obs.detail);
		else
			status_set(ctx->slot, WS_STARTING, "starting %s: %s",
			    svcs[tell].def.name, svcs[tell].obs.detail);
		if (mono_ns() - last_emit >= 1000000000LL) {
			last_emit = mono_ns();
			for (int i = 0; i < n; i++)
				ct_emit(ctx, &svcs[i]);
			ct_emit_self(ctx, errors, ready);
		}
		worker_sleep_ms(ready == n ? CT_SLOW_MS : CT_FAST_MS);
	}
	return 0;
}

int
container_stop_services(const struct config *cfg, bool purge)
{
	struct service_def defs[CT_MAX_SVC];
	const struct backend_ops *be = backend_recorded(cfg);
	char err[256];
	int n, rc = 0;

	if (be->stop == NULL) {
		log_warnx("backend %s cannot stop services in this build",
		    be->name);
		return 1;
	}
	/* nodes the config no longer names first: they run (or hold data) too */
	if (be->orphans != NULL) {
		struct service_def gone[CFG_MAX_NODES * 4];
		int ng = be->orphans(cfg, gone, (int)(sizeof(gone) /
		    sizeof(gone[0])));
		for (int i = 0; i < ng; i++) {
			err[0] = '\0';
			if (be->stop(cfg, &gone[i], purge, err, sizeof(err)) ==
			    -1) {
				log_warnx("stop %s: %s", gone[i].name, err);
				rc = 1;
			}
		}
	}
	n = backend_services(cfg, defs, CT_MAX_SVC);
	/* subscribers before the publisher: no walsender noise on the way */
	for (int i = n - 1; i >= 0; i--) {
		err[0] = '\0';
		if (be->stop(cfg, &defs[i], purge, err, sizeof(err)) == -1) {
			log_warnx("stop %s: %s", defs[i].name, err);
			rc = 1;
		}
	}
	if (be->teardown != NULL &&
	    be->teardown(cfg, purge, err, sizeof(err)) == -1) {
		log_warnx("teardown: %s", err);
		rc = 1;
	}
	if (purge) {
		char path[CFG_PATH + 16];
		if (lab_path(cfg, BACKEND_FILE, path, sizeof(path)) == 0)
			unlink(path);
	}
	return rc;
}
