/*
 * cmd_sub.c: `labsup sub pause|resume|status [NODE]`: a subscriber's
 * subscription paused on purpose (the seed demo's disable/enable), which
 * the replication worker then leaves paused instead of repairing it, and
 * where every subscription stands.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../lib/schema.h"
#include "cli.h"

static int
sub_alter(const struct config *cfg, const struct node_cfg *n, bool enable)
{
	char err[512], sub[64], sql[160];
	PGconn *c = lab_connect(cfg, n, "labsup sub", err, sizeof(err));
	PGresult *r;
	int rc = 0;

	if (c == NULL) {
		fprintf(stderr, "labsup: sub: cannot connect to %s: %s (is the "
		    "lab running? labsup status)\n", n->name, err);
		return 1;
	}
	schema_subname(n, sub, sizeof(sub));
	char *q = PQescapeIdentifier(c, sub, strlen(sub));
	snprintf(sql, sizeof(sql), "ALTER SUBSCRIPTION %s %s", q ? q : "\"\"",
	    enable ? "ENABLE" : "DISABLE");
	PQfreemem(q);
	r = PQexec(c, sql);
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		snprintf(err, sizeof(err), "%s", PQresultErrorMessage(r));
		err[strcspn(err, "\n")] = '\0';
		fprintf(stderr, "labsup: sub: %s on %s: %s\n", sql, n->name, err);
		rc = 1;
	}
	PQclear(r);
	PQfinish(c);
	return rc;
}

static int
sub_status(const struct config *cfg, const struct node_cfg *only)
{
	printf("%-10s %-9s %-8s %-14s %s\n", "NODE", "STATE", "PAUSED",
	    "TABLES READY", "APPLY LAG");
	for (int i = 0; i < cfg->nnodes; i++) {
		const struct node_cfg *n = &cfg->nodes[i];
		char err[512], sub[64], state[16] = "?", tables[32] = "?",
		    lag[32] = "?";
		const char *params[1] = { sub };

		if (n->role != NODE_SUBSCRIBER || (only && only != n))
			continue;
		schema_subname(n, sub, sizeof(sub));
		PGconn *c = lab_connect(cfg, n, "labsup sub", err, sizeof(err));
		if (c != NULL) {
			PGresult *r = PQexecParams(c, "SELECT CASE WHEN "
			    "s.subenabled THEN 'enabled' ELSE 'disabled' END, "
			    "(SELECT count(*) FILTER (WHERE srsubstate = 'r') || "
			    "'/' || count(*) FROM pg_subscription_rel WHERE "
			    "srsubid = s.oid), (SELECT round(extract(epoch FROM "
			    "clock_timestamp() - ts) * 1000) || ' ms' FROM "
			    "heartbeat WHERE id = 1) FROM pg_subscription s "
			    "WHERE s.subname = $1", 1, NULL, params, NULL, NULL,
			    0);
			if (PQresultStatus(r) == PGRES_TUPLES_OK &&
			    PQntuples(r) == 1) {
				snprintf(state, sizeof(state), "%s",
				    PQgetvalue(r, 0, 0));
				snprintf(tables, sizeof(tables), "%s",
				    PQgetvalue(r, 0, 1));
				snprintf(lag, sizeof(lag), "%s",
				    PQgetisnull(r, 0, 2) ? "-" :
				    PQgetvalue(r, 0, 2));
			} else
				snprintf(state, sizeof(state), "missing");
			PQclear(r);
			PQfinish(c);
		} else
			snprintf(state, sizeof(state), "down");
		printf("%-10s %-9s %-8s %-14s %s\n", n->name, state,
		    lab_sub_paused(cfg, n->name) ? "yes" : "no", tables, lag);
	}
	return 0;
}

int
cmd_sub(int argc, char **argv)
{
	struct config *cfg;
	const char *what = argc >= 2 ? argv[1] : "";
	const struct node_cfg *n = NULL;
	char path[CFG_PATH + 32];

	if (strcmp(what, "pause") && strcmp(what, "resume") &&
	    strcmp(what, "status"))
		cli_usage_error("sub: expected `sub pause NODE`, `sub resume "
		    "NODE` or `sub status [NODE]`");
	if (argc > 3)
		cli_usage_error("sub %s: unexpected argument \"%s\"", what,
		    argv[3]);
	if (argc == 3 && argv[2][0] == '-')
		cli_usage_error("sub %s: unknown option \"%s\"", what, argv[2]);
	cfg = cli_cfg();	/* once the command line is known good */
	if (argc == 3) {
		n = config_node(cfg, argv[2]);
		if (n == NULL || n->role != NODE_SUBSCRIBER) {
			fprintf(stderr, "labsup: sub %s: %s is not a subscriber "
			    "of this lab (labsup config check lists them)\n",
			    what, argv[2]);
			return EXIT_USAGE;
		}
	} else if (strcmp(what, "status") != 0)
		cli_usage_error("sub %s: which subscriber? (sub %s NODE)", what,
		    what);
	if (!strcmp(what, "status"))
		return sub_status(cfg, n);
	if (lab_sub_paused_path(cfg, n->name, path, sizeof(path)) == -1)
		return 1;
	if (!strcmp(what, "pause")) {
		/* the mark first: the replication worker must not undo it */
		if (file_write_atomic(path, "paused\n", 7, 0600, (uid_t)-1,
		    (gid_t)-1) == -1) {
			fprintf(stderr, "labsup: sub pause: cannot write %s: %s\n",
			    path, strerror(errno));
			return 1;
		}
		if (sub_alter(cfg, n, false) != 0) {
			unlink(path);	/* not paused: do not pretend it is */
			return 1;
		}
		printf("labsup: %s's subscription paused; it stays so until "
		    "`labsup sub resume %s`\n", n->name, n->name);
		return 0;
	}
	/* the mark first, or the replication worker disables it again */
	if (unlink(path) == -1 && errno != ENOENT) {
		fprintf(stderr, "labsup: sub resume: cannot remove %s: %s\n",
		    path, strerror(errno));
		return 1;
	}
	if (sub_alter(cfg, n, true) != 0)
		return 1;
	printf("labsup: %s's subscription resumed\n", n->name);
	return 0;
}
