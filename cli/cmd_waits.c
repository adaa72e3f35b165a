/*
 * cmd_waits.c: `labsup waits [NODE] [--since 10m] [--json]`, the lock-wait
 * episodes the samplers recorded (lock_wait points, workers/episodes.h),
 * read back from InfluxDB, longest first, each with its chain: the waiter,
 * its blocker, the one that blocker itself waited on meanwhile, and so on.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "cli.h"
#include "../workers/influx.h"

#define WAITS_CHAIN 8		/* a chain longer than this is cut */
#define WAITS_MAX 100000	/* episodes read at most */

struct waits_ep {
	int64_t start_ms;
	double duration_ms;
	const char *node, *target, *locktype, *mode, *held;
	const char *query, *blocker_query;
	json_int_t pid, blocker, blockers, query_id, blocker_query_id;
	int idle_tx;		/* 1, 0, -1 unknown */
	/* who its blocker waited on meanwhile, and so on */
	json_int_t chain[WAITS_CHAIN];
	int nchain;
};

static const char *
waits_str(json_t *row, int col)
{
	json_t *v = col < 0 ? NULL : json_array_get(row, (size_t)col);

	return json_is_string(v) ? json_string_value(v) : "";
}

static json_int_t
waits_int(json_t *row, int col, json_int_t none)
{
	json_t *v = col < 0 ? NULL : json_array_get(row, (size_t)col);

	return json_is_number(v) ? (json_int_t)json_number_value(v) : none;
}

static int
waits_col(json_t *cols, const char *name)
{
	for (size_t i = 0; i < json_array_size(cols); i++)
		if (strcmp(json_string_value(json_array_get(cols, i)),
		    name) == 0)
			return (int)i;
	return -1;
}

static int
waits_by_duration(const void *a, const void *b)
{
	const struct waits_ep *x = a, *y = b;

	if (x->duration_ms != y->duration_ms)
		return x->duration_ms < y->duration_ms ? 1 : -1;
	return x->start_ms < y->start_ms ? -1 : x->start_ms > y->start_ms;
}

/*
 * The episode e's blocker was itself in while e lasted: the one of that
 * pid on the same node overlapping e the longest.  -1 if none.
 */
static int
waits_behind(const struct waits_ep *ep, int n, const struct waits_ep *e)
{
	int64_t e_end = e->start_ms + (int64_t)e->duration_ms;
	int best = -1;
	int64_t best_overlap = 0;

	for (int i = 0; i < n; i++) {
		const struct waits_ep *b = &ep[i];
		int64_t end = b->start_ms + (int64_t)b->duration_ms;
		int64_t lo = b->start_ms > e->start_ms ? b->start_ms :
		    e->start_ms;
		int64_t hi = end < e_end ? end : e_end;

		if (b->pid != e->blocker || strcmp(b->node, e->node) != 0 ||
		    hi < lo || (best >= 0 && hi - lo <= best_overlap))
			continue;
		best = i;
		best_overlap = hi - lo;
	}
	return best;
}

static void
waits_chains(struct waits_ep *ep, int n)
{
	for (int i = 0; i < n; i++) {
		const struct waits_ep *e = &ep[i];

		ep[i].nchain = 0;
		while (ep[i].nchain < WAITS_CHAIN && e->blocker != 0) {
			int b = waits_behind(ep, n, e);

			if (b < 0 || b == i || ep[b].blocker == 0)
				break;
			ep[i].chain[ep[i].nchain++] = ep[b].blocker;
			e = &ep[b];
		}
	}
}

static void
waits_time(int64_t ms, char *buf, size_t len)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	char hms[32];

	gmtime_r(&t, &tm);
	strftime(hms, sizeof(hms), "%Y-%m-%d %H:%M:%S", &tm);
	snprintf(buf, len, "%s.%03d", hms, (int)(ms % 1000));
}

static void
waits_print_chain(const struct waits_ep *e, FILE *fp)
{
	fprintf(fp, "%lld", (long long)e->pid);
	if (e->blocker != 0)
		fprintf(fp, " > %lld", (long long)e->blocker);
	for (int k = 0; k < e->nchain; k++)
		fprintf(fp, " > %lld", (long long)e->chain[k]);
}

static void
waits_text(const struct waits_ep *ep, int n)
{
	char when[40], modes[64];

	if (n == 0) {
		printf("no lock-wait episode in that time\n");
		return;
	}
	printf("%-23s %-8s %10s %7s %7s  %-40s %-16s %s\n", "started (UTC)",
	    "node", "ms", "waiter", "blocker", "wants / blocker holds", "on",
	    "chain (waits on >)");
	for (int i = 0; i < n; i++) {
		const struct waits_ep *e = &ep[i];

		waits_time(e->start_ms, when, sizeof(when));
		snprintf(modes, sizeof(modes), "%s / %s", e->mode[0] ?
		    e->mode : "?", e->held[0] ? e->held : "?");
		printf("%-23s %-8s %10.1f %7lld %7lld%s %-40s %-16s ", when,
		    e->node, e->duration_ms, (long long)e->pid,
		    (long long)e->blocker, e->idle_tx == 1 ? "*" : " ", modes,
		    e->target[0] ? e->target : e->locktype);
		waits_print_chain(e, stdout);
		printf("\n");
		if (e->query[0])
			printf("    waiter:  %s\n", e->query);
		if (e->blocker_query[0])
			printf("    blocker: %s%s\n", e->blocker_query,
			    e->idle_tx == 1 ? " (idle in transaction)" : "");
	}
	printf("(* the blocker was idle in transaction; durations are within "
	    "one sampler interval)\n");
}

static int
waits_json(const struct waits_ep *ep, int n)
{
	json_t *a = json_array();

	for (int i = 0; i < n; i++) {
		const struct waits_ep *e = &ep[i];
		json_t *chain = json_array();

		json_array_append_new(chain, json_integer(e->pid));
		if (e->blocker != 0)
			json_array_append_new(chain, json_integer(e->blocker));
		for (int k = 0; k < e->nchain; k++)
			json_array_append_new(chain, json_integer(e->chain[k]));
		json_array_append_new(a, json_pack("{s:I, s:f, s:s, s:I, s:I, "
		    "s:I, s:s, s:s, s:s, s:s, s:I, s:I, s:s, s:s, s:o, s:o}",
		    "start_ms", (json_int_t)e->start_ms,
		    "duration_ms", e->duration_ms, "node", e->node,
		    "pid", e->pid, "blocker", e->blocker,
		    "blockers", e->blockers, "target", e->target,
		    "locktype", e->locktype, "mode", e->mode, "held", e->held,
		    "query_id", e->query_id,
		    "blocker_query_id", e->blocker_query_id,
		    "query", e->query, "blocker_query", e->blocker_query,
		    "blocker_idle_in_tx", e->idle_tx < 0 ? json_null() :
		    json_boolean(e->idle_tx == 1), "chain", chain));
	}
	if (json_dumpf(a, stdout, JSON_INDENT(2)) == -1)
		return 1;
	printf("\n");
	json_decref(a);
	return 0;
}

/* The episodes of one answer's series into ep; -1 if it is not one. */
static int
waits_parse(json_t *root, struct waits_ep **out, int *nout, char *err,
    size_t errlen)
{
	json_t *res = json_array_get(json_object_get(root, "results"), 0);
	json_t *series, *s, *cols, *vals;
	struct waits_ep *ep;
	size_t n, i;
	int c_time, c_dur, c_node, c_pid, c_blocker, c_blockers, c_target;
	int c_lt, c_mode, c_held, c_q, c_bq, c_qid, c_bqid, c_idle;

	*out = NULL;
	*nout = 0;
	if (!json_is_object(res)) {
		snprintf(err, errlen, "InfluxDB's answer has no results");
		return -1;
	}
	if (json_is_string(json_object_get(res, "error"))) {
		snprintf(err, errlen, "InfluxDB: %s", json_string_value(
		    json_object_get(res, "error")));
		return -1;
	}
	series = json_object_get(res, "series");
	if ((s = json_array_get(series, 0)) == NULL)
		return 0;	/* no episode at all */
	cols = json_object_get(s, "columns");
	vals = json_object_get(s, "values");
	n = json_array_size(vals);
	if (n > WAITS_MAX)
		n = WAITS_MAX;
	if ((ep = calloc(n + 1, sizeof(*ep))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	c_time = waits_col(cols, "time");
	c_dur = waits_col(cols, "duration_ms");
	c_node = waits_col(cols, "node");
	c_pid = waits_col(cols, "pid");
	c_blocker = waits_col(cols, "blocker");
	c_blockers = waits_col(cols, "blockers");
	c_target = waits_col(cols, "target");
	c_lt = waits_col(cols, "locktype");
	c_mode = waits_col(cols, "mode");
	c_held = waits_col(cols, "held");
	c_q = waits_col(cols, "query");
	c_bq = waits_col(cols, "blocker_query");
	c_qid = waits_col(cols, "query_id");
	c_bqid = waits_col(cols, "blocker_query_id");
	c_idle = waits_col(cols, "blocker_idle_in_tx");
	for (i = 0; i < n; i++) {
		json_t *row = json_array_get(vals, i);
		struct waits_ep *e = &ep[*nout];
		json_t *d = json_array_get(row, (size_t)(c_dur < 0 ? 0 : c_dur));

		if (c_dur < 0 || !json_is_number(d))
			continue;	/* a text record without its episode */
		e->start_ms = (int64_t)waits_int(row, c_time, 0);
		e->duration_ms = json_number_value(d);
		e->node = waits_str(row, c_node);
		e->pid = strtoll(waits_str(row, c_pid), NULL, 10);
		e->blocker = waits_int(row, c_blocker, 0);
		e->blockers = waits_int(row, c_blockers, 0);
		e->target = waits_str(row, c_target);
		e->locktype = waits_str(row, c_lt);
		e->mode = waits_str(row, c_mode);
		e->held = waits_str(row, c_held);
		e->query = waits_str(row, c_q);
		e->blocker_query = waits_str(row, c_bq);
		e->query_id = waits_int(row, c_qid, 0);
		e->blocker_query_id = waits_int(row, c_bqid, 0);
		e->idle_tx = (int)waits_int(row, c_idle, -1);
		(*nout)++;
	}
	*out = ep;
	return 0;
}

int
cmd_waits(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "since", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	const char *node = NULL;
	int64_t since = 600000000000LL;	/* 10m */
	char q[512], err[600];
	bool json = false;
	struct config *cfg;
	struct influx ix;
	struct waits_ep *ep;
	json_t *root;
	json_error_t jerr;
	char *body;
	int ch, n, rc;

	while ((ch = getopt_long(argc, argv, "s:j", opts, NULL)) != -1) {
		switch (ch) {
		case 's': since = cli_duration("waits: --since", optarg); break;
		case 'j': json = true; break;
		default:
			cli_usage_error("waits: unknown option or missing value "
			    "\"%s\"", argv[optind - 1]);
		}
	}
	if (optind < argc)
		node = argv[optind++];
	if (optind != argc)
		cli_usage_error("waits: unexpected argument \"%s\"",
		    argv[optind]);
	cfg = cli_cfg();
	if (node != NULL && config_node(cfg, node) == NULL)
		cli_usage_error("waits: no node \"%s\" in the config", node);
	/* node names are config names: letters, digits, '_' and '-'; the
	 * duration goes to InfluxQL in microseconds (its unit u) */
	snprintf(q, sizeof(q), "SELECT * FROM lock_wait WHERE state = 'ended' "
	    "AND time > now() - %lldu%s%s%s", (long long)(since / 1000),
	    node ? " AND node = '" : "", node ? node : "", node ? "'" : "");
	if (influx_init(&ix, cfg, err, sizeof(err)) == -1) {
		fprintf(stderr, "labsup: waits: %s\n", err);
		return 1;
	}
	body = influx_select(&ix, cfg, q);
	if (body == NULL) {
		fprintf(stderr, "labsup: waits: cannot query InfluxDB at %s: %s "
		    "(is the lab running? labsup start)\n", cfg->influx.url,
		    ix.message);
		influx_free(&ix);
		return 1;
	}
	influx_free(&ix);
	root = json_loads(body, 0, &jerr);
	free(body);
	if (root == NULL) {
		fprintf(stderr, "labsup: waits: InfluxDB's answer is not JSON: "
		    "%s\n", jerr.text);
		return 1;
	}
	if (waits_parse(root, &ep, &n, err, sizeof(err)) == -1) {
		fprintf(stderr, "labsup: waits: %s\n", err);
		json_decref(root);
		return 1;
	}
	waits_chains(ep, n);
	if (n > 0)	/* no episode: ep may be NULL, which qsort may not get */
		qsort(ep, (size_t)n, sizeof(*ep), waits_by_duration);
	rc = json ? waits_json(ep, n) : (waits_text(ep, n), 0);
	free(ep);
	json_decref(root);
	return rc;
}
