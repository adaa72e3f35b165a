/*
 * cmd_check.c: `labsup check` (are the subscribers true copies of the
 * publisher?) and `labsup psql NODE` (a psql on a node with the lab's
 * credentials).  Both talk to the nodes directly; neither needs the
 * supervisor.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../lib/schema.h"
#include "cli.h"

#define CK_DEFAULT_TIMEOUT 120
/* tables compared; the heartbeat changes every 100 ms by design */
#define CK_NTABLES (SCHEMA_NTABLES - 1)

struct ck_sum {
	bool taken;		/* the node takes this table */
	bool ok;		/* query succeeded */
	long long rows;
	char sum[48];		/* numeric as text */
	char filter[CFG_STR * 2];
};

struct ck_node {
	const struct node_cfg *node;
	PGconn *conn;
	char subname[64];
	struct ck_sum t[SCHEMA_MAX_TABLES];
};

static int
ck_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int
ck_err(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "labsup: check: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

static PGresult *
ck_query(PGconn *c, const char *sql, const char *param)
{
	const char *params[1] = { param };
	PGresult *r = PQexecParams(c, sql, param != NULL, NULL, params, NULL,
	    NULL, 0);

	if (PQresultStatus(r) != PGRES_TUPLES_OK &&
	    PQresultStatus(r) != PGRES_COMMAND_OK) {
		PQclear(r);
		return NULL;
	}
	return r;
}

static void
ck_sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

/* Every table of every subscription in state r (initial sync done). */
static int
ck_wait_synced(struct ck_node *subs, int nsubs, int64_t deadline)
{
	for (int i = 0; i < nsubs; i++) {
		for (;;) {
			PGresult *r = ck_query(subs[i].conn, "SELECT count(*), "
			    "count(*) FILTER (WHERE r.srsubstate <> 'r') FROM "
			    "pg_subscription s JOIN pg_subscription_rel r ON "
			    "r.srsubid = s.oid WHERE s.subname = $1",
			    subs[i].subname);
			bool done = r != NULL && atoi(PQgetvalue(r, 0, 0)) > 0 &&
			    atoi(PQgetvalue(r, 0, 1)) == 0;
			PQclear(r);
			if (done)
				break;
			if (mono_ns() > deadline)
				return ck_err("%s: subscription %s is not "
				    "synchronized (is the lab running? see "
				    "labsup status)", subs[i].node->name,
				    subs[i].subname);
			ck_sleep_ms(200);
		}
	}
	return 0;
}

/* Every subscriber's slot has confirmed everything up to lsn. */
static int
ck_wait_caught_up(PGconn *pub, struct ck_node *subs, int nsubs,
    const char *lsn, int64_t deadline)
{
	char sql[256];

	for (int i = 0; i < nsubs; i++) {
		for (;;) {
			snprintf(sql, sizeof(sql), "SELECT confirmed_flush_lsn "
			    ">= '%s'::pg_lsn FROM pg_replication_slots WHERE "
			    "slot_name = $1", lsn);
			PGresult *r = ck_query(pub, sql, subs[i].subname);
			bool done = r != NULL && PQntuples(r) > 0 &&
			    !strcmp(PQgetvalue(r, 0, 0), "t");
			PQclear(r);
			if (done)
				break;
			if (mono_ns() > deadline)
				return ck_err("%s has not caught up with the "
				    "publisher (see labsup status)",
				    subs[i].node->name);
			ck_sleep_ms(100);
		}
	}
	return 0;
}

/* Row count and an order-independent checksum of table (WHERE filter). */
static int
ck_table(PGconn *c, const char *table, const char *filter, struct ck_sum *s)
{
	char sql[1024], *q = PQescapeIdentifier(c, table, strlen(table));
	PGresult *r;

	if (q == NULL)
		return -1;
	snprintf(sql, sizeof(sql), "SELECT count(*), coalesce(sum("
	    "hashtextextended(t::text, 0)), 0) FROM public.%s t%s%s%s", q,
	    filter[0] ? " WHERE (" : "", filter, filter[0] ? ")" : "");
	PQfreemem(q);
	r = ck_query(c, sql, NULL);
	if (r == NULL)
		return -1;
	s->ok = true;
	s->rows = atoll(PQgetvalue(r, 0, 0));
	snprintf(s->sum, sizeof(s->sum), "%s", PQgetvalue(r, 0, 1));
	PQclear(r);
	return 0;
}

static void
ck_print(struct ck_node *nodes, int n)
{
	printf("%-10s", "TABLE");
	for (int j = 0; j < n; j++)
		printf("  %-22s", nodes[j].node->name);
	printf("\n");
	for (int t = 0; t < CK_NTABLES; t++) {
		printf("%-10s", schema_tables[t]);
		for (int j = 0; j < n; j++) {
			const struct ck_sum *s = &nodes[j].t[t];
			char cell[40];
			if (!s->taken)
				snprintf(cell, sizeof(cell), "-");
			else if (!s->ok)
				snprintf(cell, sizeof(cell), "%lld DIFFERS",
				    s->rows);
			else
				snprintf(cell, sizeof(cell), "%lld%s%s", s->rows,
				    j == 0 ? "" : " ok", s->filter[0] ?
				    " (filtered)" : "");
			printf("  %-22s", cell);
		}
		printf("\n");
	}
}

static int
ck_usage(void)
{
	fprintf(stderr, "usage: labsup check [-c FILE] [--timeout SEC]\n");
	return EXIT_USAGE;
}

int
cmd_check(int argc, char **argv)
{
	struct config *cfg;
	struct ck_node nodes[CFG_MAX_NODES];
	struct ck_sum pubf;
	const struct node_cfg *pub;
	char err[512], lsn[64];
	int n = 0, timeout = CK_DEFAULT_TIMEOUT, bad = 0, rc = 1;
	int64_t deadline;
	PGresult *r;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--timeout") && i + 1 < argc)
			timeout = cli_seconds("check", argv[++i]);
		else
			return ck_usage();
	}
	cfg = cli_cfg();	/* once the command line is known good */
	/* issue 15: the tables of [replication] schema = FILE */
	{
		char serr[512];
		if (schema_load(cfg, serr, sizeof(serr)) == -1)
			return ck_err("%s", serr);
	}
	pub = config_publisher(cfg);
	if (pub == NULL || timeout <= 0)
		return pub == NULL ? ck_err("the config has no publisher") :
		    ck_usage();
	memset(nodes, 0, sizeof(nodes));
	nodes[n++].node = pub;
	for (int i = 0; i < cfg->nnodes; i++)
		if (cfg->nodes[i].role == NODE_SUBSCRIBER) {
			nodes[n].node = &cfg->nodes[i];
			schema_subname(nodes[n].node, nodes[n].subname,
			    sizeof(nodes[n].subname));
			n++;
		}
	for (int j = 0; j < n; j++) {
		nodes[j].conn = lab_connect(cfg, nodes[j].node, "labsup check",
		    err, sizeof(err));
		if (nodes[j].conn == NULL) {
			ck_err("cannot connect to %s: %s (is the lab running? "
			    "labsup start)", nodes[j].node->name, err);
			goto out;
		}
		PQclear(PQexec(nodes[j].conn, "SET TimeZone = 'UTC'"));
	}
	deadline = mono_ns() + (int64_t)timeout * 1000000000;
	if (ck_wait_synced(nodes + 1, n - 1, deadline) != 0)
		goto out;

	/*
	 * Hold writers off the lab tables for the comparison: the publisher's
	 * figures and LSN are then final, and once every subscriber confirms
	 * that LSN its tables must match exactly.  The hum waits meanwhile.
	 */
	PGconn *pc = nodes[0].conn;
	/* tpcb's order; your own schema's: its file's (issue 15) */
	char lock[1024] = "LOCK TABLE accounts, tellers, branches, history";
	if (!schema_is_pgbench(cfg)) {
		snprintf(lock, sizeof(lock), "LOCK TABLE ");
		for (int t = 0; t < CK_NTABLES; t++) {
			size_t l = strlen(lock);
			snprintf(lock + l, sizeof(lock) - l, "%s%s", t ? ", " :
			    "", schema_tables[t]);
		}
	}
	strlcat(lock, " IN EXCLUSIVE MODE", sizeof(lock));
	for (int try = 1;; try++) {
		PQclear(PQexec(pc, "BEGIN ISOLATION LEVEL REPEATABLE READ"));
		PQclear(PQexec(pc, "SET LOCAL lock_timeout = '30s'"));
		/* a workload locking in another order may deadlock us */
		r = ck_query(pc, lock, NULL);
		if (r != NULL)
			break;
		if (try == 5 || mono_ns() > deadline) {
			ck_err("cannot lock the lab tables on %s: %s", pub->name,
			    PQerrorMessage(pc));
			goto out;
		}
		PQclear(PQexec(pc, "ROLLBACK"));
		ck_sleep_ms(100 * try);
	}
	PQclear(r);
	r = ck_query(pc, "SELECT pg_current_wal_lsn()", NULL);
	if (r == NULL)
		goto out;
	snprintf(lsn, sizeof(lsn), "%s", PQgetvalue(r, 0, 0));
	PQclear(r);
	for (int t = 0; t < CK_NTABLES; t++) {
		nodes[0].t[t].taken = true;
		if (ck_table(pc, schema_tables[t], "", &nodes[0].t[t]) == -1) {
			ck_err("%s.%s: %s", pub->name, schema_tables[t],
			    PQerrorMessage(pc));
			goto out;
		}
	}
	if (ck_wait_caught_up(pc, nodes + 1, n - 1, lsn, deadline) != 0)
		goto out;
	for (int j = 1; j < n; j++) {
		for (int t = 0; t < CK_NTABLES; t++) {
			struct ck_sum *s = &nodes[j].t[t];
			const struct ck_sum *want = &nodes[0].t[t];
			s->taken = schema_node_table(nodes[j].node,
			    schema_tables[t], s->filter, sizeof(s->filter));
			if (!s->taken)
				continue;
			if (ck_table(nodes[j].conn, schema_tables[t], "", s) ==
			    -1) {
				bad++;
				ck_err("%s.%s: %s", nodes[j].node->name,
				    schema_tables[t],
				    PQerrorMessage(nodes[j].conn));
				continue;
			}
			if (s->filter[0] != '\0') {
				/* a filtered subscriber holds the filtered set */
				memset(&pubf, 0, sizeof(pubf));
				if (ck_table(pc, schema_tables[t], s->filter,
				    &pubf) == -1) {
					ck_err("%s.%s with filter %s: %s",
					    pub->name, schema_tables[t],
					    s->filter, PQerrorMessage(pc));
					bad++;
					continue;
				}
				want = &pubf;
			}
			if (s->rows != want->rows ||
			    strcmp(s->sum, want->sum) != 0) {
				bad++;
				s->ok = false;
				ck_err("%s.%s differs from %s: %lld rows vs "
				    "%lld%s", nodes[j].node->name,
				    schema_tables[t], pub->name, s->rows,
				    want->rows, s->rows == want->rows ?
				    ", same count but different content" : "");
			}
		}
	}
	PQclear(PQexec(pc, "COMMIT"));
	ck_print(nodes, n);
	if (bad == 0)
		printf("all %d subscribers match %s\n", n - 1, pub->name);
	rc = bad == 0 ? 0 : 1;
out:
	for (int j = 0; j < n; j++)
		PQfinish(nodes[j].conn);
	return rc;
}

int
cmd_psql(int argc, char **argv)
{
	struct config *cfg;
	const struct node_cfg *node;
	char passfile[CFG_PATH + 16], psql[CFG_PATH + 16], sport[16];
	char **args;
	int n = 0;

	argc--, argv++;	/* after "psql": NODE [psql arguments] */
	if (argc < 1 || argv[0][0] == '-') {
		fprintf(stderr, "labsup: usage: labsup psql [-c FILE] NODE "
		    "[psql arguments] (see `labsup --help`)\n");
		return EXIT_USAGE;
	}
	cfg = cli_cfg();	/* once the command line is known good */
	node = config_node(cfg, argv[0]);
	if (node == NULL) {
		fprintf(stderr, "labsup: psql: no node \"%s\" in the config "
		    "(labsup config check lists them)\n", argv[0]);
		return EXIT_USAGE;
	}
	if (lab_path(cfg, LAB_PASSFILE, passfile, sizeof(passfile)) == -1 ||
	    access(passfile, R_OK) == -1) {
		fprintf(stderr, "labsup: psql: cannot read %s: %s (has the lab "
		    "been started, and by this user?)\n", passfile,
		    strerror(errno));
		return 1;
	}
	/* the passfile, never a password: nothing secret in argv or env */
	setenv("PGPASSFILE", passfile, 1);
	snprintf(psql, sizeof(psql), "%s/psql", cfg->lab.pg_bin);
	if (access(psql, X_OK) == -1)
		snprintf(psql, sizeof(psql), "psql");
	snprintf(sport, sizeof(sport), "%d", node->port);
	args = calloc((size_t)argc + 12, sizeof(char *));
	if (args == NULL)
		return 1;
	args[n++] = psql;
	args[n++] = "-h";
	args[n++] = (char *)cfg->lab.bind;
	args[n++] = "-p";
	args[n++] = sport;
	args[n++] = "-U";
	args[n++] = (char *)cfg->lab.user;
	args[n++] = "-d";
	args[n++] = (char *)cfg->lab.database;
	for (int i = 1; i < argc; i++)
		args[n++] = argv[i];
	args[n] = NULL;
	fflush(NULL);
	execvp(psql, args);
	fprintf(stderr, "labsup: psql: cannot run %s: %s (install "
	    "postgresql-client)\n", psql, strerror(errno));
	free(args);
	return 1;
}
