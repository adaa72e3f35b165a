/*
 * worker.c: the worker table, the start-up every worker process goes
 * through (worker_run), and the helpers a worker uses to talk to its lane
 * and its status slot.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "../backend/backend.h"
#include "worker.h"

volatile sig_atomic_t worker_stop;
bool worker_titles;
static pid_t worker_parent_pid;

#define GRACE_MS 10000		/* SIGTERM to SIGKILL */
#define WRITER_GRACE_MS 20000	/* the writer flushes what it holds first */

static bool
sampler_enabled(const struct config *cfg)
{
	return cfg->sampler.enabled;
}

static const struct node_cfg *
sampler_node(const struct config *cfg, const char *arg)
{
	return config_node(cfg, arg);
}

/*
 * A hum worker's arg names its group and client (issue 15): "N" is client
 * N of [hum], "GROUP.N" client N of [hum GROUP].  NULL if no such group or
 * N is not a client number.
 */
const struct hum_cfg *
hum_group_of(const struct config *cfg, const char *arg, int *client)
{
	const struct hum_cfg *g = &cfg->hum;
	const char *dot = strchr(arg, '.'), *num = arg, *e = NULL;
	char name[CFG_HUM_NAME];

	if (dot != NULL) {
		if ((size_t)(dot - arg) >= sizeof(name))
			return NULL;
		snprintf(name, sizeof(name), "%.*s", (int)(dot - arg), arg);
		if ((g = config_hum_find(cfg, name)) == NULL || g == &cfg->hum)
			return NULL;
		num = dot + 1;
	}
	*client = (int)strtonum(num, 1, 1000, &e);
	return e == NULL ? g : NULL;
}

/* The worker arg of client i (from 1) of group g. */
void
hum_worker_arg(const struct config *cfg, const struct hum_cfg *g, int i,
    char *buf, size_t len)
{
	if (g == &cfg->hum)
		snprintf(buf, len, "%d", i);
	else
		snprintf(buf, len, "%s.%d", g->name, i);
}

static const struct node_cfg *
hum_node(const struct config *cfg, const char *arg)
{
	int client;
	const struct hum_cfg *g = hum_group_of(cfg, arg, &client);

	if (g == NULL)
		return NULL;
	return g->node[0] ? config_node(cfg, g->node) : config_publisher(cfg);
}

/* Every key of the hum worker's own group (issue 15). */
static uint64_t hash_text(uint64_t h, const char *s);

static uint64_t
hash_hum_group(uint64_t h, const struct config *cfg, const char *arg)
{
	char v[CFG_PATH * 2];
	int client;
	const struct hum_cfg *g = hum_group_of(cfg, arg, &client);

	h = hash_text(h, g != NULL ? g->name : "(none)");
	if (g == NULL)
		return h;
	for (size_t i = 0; i < cfg_nkeys; i++) {
		const struct cfg_key *k = &cfg_keys[i];
		if (strcmp(k->section, "hum"))
			continue;
		h = hash_text(h, k->key);
		h = hash_text(h, config_hum_value(cfg, k, g, v, sizeof(v)));
	}
	return h;
}

/* Every worker reads [lab]: its name, state directory, address, user. */
static const char *const container_config[] = { "lab", "node", "influxdb",
	"grafana", "docker", NULL };
/* a bypassed link moves the subscription (replication.c rp_sub_reroute) */
static const char *const replication_config[] = { "lab", "node",
	"replication", "link.bypass", NULL };
static const char *const hum_config[] = { "lab", "hum @", "node @",
	"replication.schema", "replication.scale", NULL };
static const char *const sampler_config[] = { "lab", "sampler",
	"replication.heartbeat_ms", "node @", NULL };
static const char *const writer_config[] = { "lab", "influxdb", "writer",
	NULL };
/* issue 16: which nodes there are, not their settings ("node names") */
static const char *const logs_config[] = { "lab", CFG_NODE " names", NULL };
/*
 * A link reads its [link] section and the publisher's port again on every
 * reload (workers/link.c) so that a change keeps its connections: only
 * what names its socket restarts it.
 */
static const char *const link_config[] = { "lab", "link live", NULL };

/* In start order: the writer first, so the others' records have a reader. */
const struct worker_type worker_types[] = {
	{ WK_WRITER, "writer", writer_main, WN_ONE, NULL, NULL,
	    1, WRITER_GRACE_MS, writer_config },
	{ WK_CONTAINER, "container", container_main, WN_ONE,
	    NULL, NULL, 0, GRACE_MS, container_config },
	{ WK_REPLICATION, "replication", replication_main,
	    WN_ONE, NULL, NULL, 0, GRACE_MS, replication_config },
	{ WK_SAMPLER, "sampler", sampler_main, WN_PER_NODE,
	    sampler_enabled, sampler_node, 0, GRACE_MS, sampler_config },
	{ WK_HUM, "hum", hum_main, WN_PER_CLIENT, NULL, hum_node,
	    0, GRACE_MS, hum_config },
	{ WK_LOGS, "logs", logs_main, WN_ONE, NULL, NULL, 0, GRACE_MS,
	    logs_config },
	{ WK_LINK, "link", link_main, WN_PER_SUBSCRIBER, NULL, sampler_node,
	    0, GRACE_MS, link_config },
	{ WK_SUPERVISOR, "supervisor", NULL, WN_NONE, NULL,
	    NULL, 0, 0, NULL },
};

const size_t worker_ntypes = sizeof(worker_types) / sizeof(worker_types[0]);

const struct worker_type *
worker_type_of(int kind)
{
	static const struct worker_type none = { WK_NONE, "unknown" };

	for (size_t i = 0; i < worker_ntypes; i++)
		if (worker_types[i].kind == kind)
			return &worker_types[i];
	return &none;
}

const char *
worker_kind_name(int kind)
{
	return kind == WK_NONE ? "none" : worker_type_of(kind)->name;
}

/* FNV-1a */
static uint64_t
hash_text(uint64_t h, const char *s)
{
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
	return (h ^ 0xff) * 0x100000001b3ULL; /* a separator: "ab","c" != "a","bc" */
}

/* Add "section.key=value" of every key part names; node for "node" keys. */
static uint64_t
hash_part(uint64_t h, const struct config *cfg, const char *part,
    const struct node_cfg *node)
{
	char sect[32], v[CFG_PATH * 2];
	const char *dot = strchr(part, '.'), *key = NULL;

	snprintf(sect, sizeof(sect), "%.*s", dot ? (int)(dot - part) :
	    (int)strlen(part), part);
	if (dot != NULL)
		key = dot + 1;
	for (size_t i = 0; i < cfg_nkeys; i++) {
		const struct cfg_key *k = &cfg_keys[i];
		if (strcmp(k->section, sect) || (key && strcmp(k->key, key)))
			continue;
		h = hash_text(h, k->section);
		h = hash_text(h, k->key);
		h = hash_text(h, config_value(cfg, k, node, v, sizeof(v)));
	}
	return h;
}

/*
 * part ("node", "link.bypass") of every node, by name: the order of the
 * file's sections does not count.
 */
static uint64_t
hash_nodes(uint64_t h, const struct config *cfg, const char *part)
{
	const struct node_cfg *order[CFG_MAX_NODES];
	int n = cfg->nnodes;

	for (int i = 0; i < n; i++) {
		int j = i;
		while (j > 0 && strcmp(order[j - 1]->name, cfg->nodes[i].name) > 0) {
			order[j] = order[j - 1];
			j--;
		}
		order[j] = &cfg->nodes[i];
	}
	for (int i = 0; i < n; i++) {
		h = hash_text(h, order[i]->name);
		h = hash_part(h, cfg, part, order[i]);
	}
	return h;
}

uint64_t
worker_config_hash(const struct config *cfg, int kind, const char *arg)
{
	const struct worker_type *t = worker_type_of(kind);
	uint64_t h = 0xcbf29ce484222325ULL;

	if (t->config == NULL)
		return h;
	for (const char *const *part = t->config; *part != NULL; part++) {
		size_t pl = strlen(*part);
		if (pl > 5 && !strcmp(*part + pl - 5, " live"))
			continue;	/* read again in place */
		if (!strcmp(*part, CFG_NODE) ||
		    !strncmp(*part, CFG_LINK ".", strlen(CFG_LINK) + 1)) {
			h = hash_nodes(h, cfg, *part);
		} else if (!strcmp(*part, CFG_NODE " names")) {
			/* issue 16: the set of nodes, in any order */
			uint64_t sum = 0;
			for (int i = 0; i < cfg->nnodes; i++)
				sum += hash_text(0xcbf29ce484222325ULL,
				    cfg->nodes[i].name);
			h = (h ^ sum) * 0x100000001b3ULL;
		} else if (!strcmp(*part, "hum @")) {
			h = hash_hum_group(h, cfg, arg);
		} else if (!strcmp(*part, CFG_NODE " @")) {
			const struct node_cfg *n = t->node_of != NULL ?
			    t->node_of(cfg, arg) : NULL;
			h = hash_text(h, n != NULL ? n->name : "(none)");
			if (n != NULL)
				h = hash_part(h, cfg, CFG_NODE, n);
		} else
			h = hash_part(h, cfg, *part, NULL);
	}
	return h;
}

static void
worker_on_term(int sig)
{
	(void)sig;
	worker_stop = 1;
}

int
worker_run(const struct worker_start *ws)
{
	struct worker_ctx ctx;
	struct sigaction sa;
	sigset_t none;
	char ident[64];
	worker_entry entry = ws->entry != NULL ? ws->entry :
	    worker_type_of(ws->kind)->run;

	/* die with the forker; a race with its death is caught below */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	worker_parent_pid = ws->parent;
	if (getppid() != ws->parent)
		return 0;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = worker_on_term;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGPIPE, &sa, NULL);
	sa.sa_handler = SIG_DFL;
	sigaction(SIGCHLD, &sa, NULL);
	/* the forker may block signals (the supervisor reads a signalfd) */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);

	if (worker_titles)
		setproctitle("%s", ws->name);
	snprintf(ident, sizeof(ident), "labsup/%s", ws->name);
	log_setident(ident);

	memset(&ctx, 0, sizeof(ctx));
	ctx.seg = ws->seg;
	ctx.slot = seg_slot(ws->seg, ws->slot);
	ctx.lane = seg_lane(ws->seg, ws->slot);
	ctx.cfg = ws->cfg;
	ctx.slot_index = (int)ws->slot;
	ctx.kind = ws->kind;
	ctx.arg = ws->arg;

	/* a fresh own block: the previous owner may have died mid-write */
	{
		struct slot_own prev;

		if (status_read_own(ctx.slot, &prev) == 0)
			memcpy(ctx.prev_counters, prev.counters,
			    sizeof(ctx.prev_counters));
	}
	seq_write_begin(&ctx.slot->own_lock);
	memset(&ctx.slot->own, 0, sizeof(ctx.slot->own));
	ctx.slot->own.pid = getpid();
	ctx.slot->own.state = WS_STARTING;
	ctx.slot->own.heartbeat_ns = now_ns();
	seq_write_end(&ctx.slot->own_lock);

	int rc = entry != NULL ? entry(&ctx) : 1;
	fflush(NULL);
	return rc;
}

const struct backend_ops *
worker_backend(const struct seg *seg)
{
	switch (atomic_load(&seg->hdr->backend)) {
	case BACKEND_LOCAL:
		return &backend_local;
	case BACKEND_DOCKER:
		return &backend_docker;
	}
	return NULL;
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

