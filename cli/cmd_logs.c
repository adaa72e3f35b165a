/*
 * cmd_logs.c: `labsup logs [NODE...] [-f] [--since DUR] [--grep RE]
 * [--all]`: the servers' log lines that matter (the logs worker's choice,
 * pglog_classify; every line with --all), merged across nodes in time
 * order.  It reads the jsonlog files themselves (pglog.h), not InfluxDB:
 * it works with InfluxDB down or the lab stopped, shows messages whole
 * (pg_log keeps PGLOG_PARTS * REC_PGLOG_TEXT = 280 bytes of each), and
 * needs no query language.  -f follows the files, looking every 200 ms.
 */
#include <errno.h>
#include <getopt.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../backend/backend.h"
#include "../workers/pglog.h"
#include "cli.h"

#define LOGS_FOLLOW_MS 200

struct logs_entry {
	int64_t ts;
	int node;		/* index into the selected nodes */
	int64_t seq;		/* order of reading: ties keep it */
	char *text;
};

struct logs_cli {
	const struct node_cfg *nodes[CFG_MAX_NODES];
	struct pglog_follow *f[CFG_MAX_NODES];
	int nnodes, cur;
	int64_t since_ns;	/* 0: everything */
	regex_t re;
	bool grep, all;
	struct logs_entry *e;
	size_t n, cap;
	int64_t seq;
};

static int
logs_line(void *arg, const char *line, size_t len, const char *file,
    int64_t off)
{
	struct logs_cli *lc = arg;
	struct pglog_line *l = malloc(sizeof(*l));
	char ts[32], out[PGLOG_TEXT_MAX + 160];

	(void)file;
	(void)off;
	if (l == NULL)
		return 1;
	if (pglog_parse(line, len, l) == -1 || l->ts_ns < lc->since_ns ||
	    (!lc->all && pglog_classify(l) == PGLOG_DROP)) {
		free(l);
		return 0;
	}
	pglog_format_ts(l->ts_ns, ts, sizeof(ts));
	snprintf(out, sizeof(out), "%s %s %s %s [%s %d] %s", ts,
	    lc->nodes[lc->cur]->name, l->severity_name,
	    l->sqlstate[0] ? l->sqlstate : "-", l->backend_type[0] ?
	    l->backend_type : "-", (int)l->pid, l->text);
	/* one line an entry: a DETAIL's newlines (a deadlock's) become spaces */
	for (char *p = out; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20)
			*p = ' ';
	if (lc->grep && regexec(&lc->re, out, 0, NULL, 0) != 0) {
		free(l);
		return 0;
	}
	if (lc->n == lc->cap) {
		size_t cap = lc->cap ? lc->cap * 2 : 256;
		struct logs_entry *e = reallocarray(lc->e, cap, sizeof(*e));
		if (e == NULL) {
			free(l);
			return 1;
		}
		lc->e = e;
		lc->cap = cap;
	}
	lc->e[lc->n++] = (struct logs_entry){ l->ts_ns, lc->cur, lc->seq++,
	    strdup(out) };
	free(l);
	return 0;
}

static int
logs_cmp(const void *a, const void *b)
{
	const struct logs_entry *x = a, *y = b;

	if (x->ts != y->ts)
		return x->ts < y->ts ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Read what every node has now, print it in time order; lines read. */
static int
logs_round(struct logs_cli *lc, bool first)
{
	int readable = 0;

	for (lc->cur = 0; lc->cur < lc->nnodes; lc->cur++) {
		struct pglog_follow *f = lc->f[lc->cur];
		if (pglog_follow_read(f, logs_line, lc) >= 0)
			readable++;
		else if (first)
			fprintf(stderr, "labsup: logs: cannot read %s's server "
			    "log in %s: %s (has the lab started?)\n",
			    lc->nodes[lc->cur]->name, f->dir, strerror(errno));
	}
	qsort(lc->e, lc->n, sizeof(lc->e[0]), logs_cmp);
	for (size_t i = 0; i < lc->n; i++) {
		if (lc->e[i].text != NULL)
			puts(lc->e[i].text);
		free(lc->e[i].text);
	}
	lc->n = 0;
	fflush(stdout);
	return readable;
}

int
cmd_logs(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "follow", no_argument, NULL, 'f' },
		{ "since", required_argument, NULL, 's' },
		{ "grep", required_argument, NULL, 'g' },
		{ "all", no_argument, NULL, 'a' },
		{ NULL, 0, NULL, 0 },
	};
	struct logs_cli *lc = calloc(1, sizeof(*lc));
	const char *grep = NULL;
	struct config *cfg;
	bool follow = false, docker;
	int64_t since = 0;
	int ch, rc = 0;

	if (lc == NULL) {
		fprintf(stderr, "labsup: logs: out of memory\n");
		return 1;
	}
	while ((ch = getopt_long(argc, argv, "f", opts, NULL)) != -1) {
		switch (ch) {
		case 'f': follow = true; break;
		case 'a': lc->all = true; break;
		case 'g': grep = optarg; break;
		case 's': since = cli_duration("logs: --since", optarg); break;
		default:
			cli_usage_error("logs: unknown option or missing value "
			    "\"%s\" (try -f, --since DUR, --grep RE, --all)",
			    argv[optind - 1]);
		}
	}
	if (grep != NULL) {
		int e = regcomp(&lc->re, grep, REG_EXTENDED | REG_NOSUB);
		if (e != 0) {
			char why[128];
			regerror(e, &lc->re, why, sizeof(why));
			cli_usage_error("logs: --grep \"%s\": %s", grep, why);
		}
		lc->grep = true;
	}
	cfg = cli_cfg();
	for (int i = optind; i < argc; i++) {
		const struct node_cfg *n = config_node(cfg, argv[i]);
		if (n == NULL) {
			fprintf(stderr, "labsup: logs: no node \"%s\" in the "
			    "config (labsup config check lists them)\n",
			    argv[i]);
			if (lc->grep)
				regfree(&lc->re);
			free(lc);
			return EXIT_USAGE;
		}
		lc->nodes[lc->nnodes++] = n;
	}
	for (int i = 0; optind == argc && i < cfg->nnodes; i++)
		lc->nodes[lc->nnodes++] = &cfg->nodes[i];
	if (since > 0)
		lc->since_ns = now_ns() - since;
	docker = backend_recorded(cfg) == &backend_docker;
	for (int i = 0; i < lc->nnodes; i++) {
		char dir[PATH_MAX];

		lc->f[i] = malloc(sizeof(*lc->f[i]));
		if (lc->f[i] == NULL) {
			fprintf(stderr, "labsup: logs: out of memory\n");
			return 1;
		}
		lab_node_log_dir(cfg, lc->nodes[i]->name, docker, dir,
		    sizeof(dir));
		pglog_follow_init(lc->f[i], dir, NULL, 0);
	}
	if (logs_round(lc, true) == 0)
		rc = 1;
	while (follow && rc == 0) {
		struct timespec ts = { 0, LOGS_FOLLOW_MS * 1000000L };
		nanosleep(&ts, NULL);
		logs_round(lc, false);
	}
	for (int i = 0; i < lc->nnodes; i++) {
		pglog_follow_close(lc->f[i]);
		free(lc->f[i]);
	}
	if (lc->grep)
		regfree(&lc->re);
	free(lc->e);
	free(lc);
	return rc;
}
