/*
 * schema.c: the lab schema and the names of its publications and
 * subscriptions, shared by the replication worker and `labsup check`.
 */
#include <stdio.h>
#include <string.h>

#include "schema.h"

const char *const schema_tables[SCHEMA_NTABLES] = {
	"branches", "tellers", "accounts", "history", "heartbeat",
};

/* The schema of docs/CONTRIBUTING.md, made idempotent. */
static const char *const schema_ddl[SCHEMA_NTABLES] = {
	"CREATE TABLE IF NOT EXISTS branches (bid int PRIMARY KEY, "
	"bbalance int NOT NULL DEFAULT 0, filler char(88))",
	"CREATE TABLE IF NOT EXISTS tellers (tid int PRIMARY KEY, "
	"bid int NOT NULL, tbalance int NOT NULL DEFAULT 0, filler char(84))",
	"CREATE TABLE IF NOT EXISTS accounts (aid int PRIMARY KEY, "
	"bid int NOT NULL, abalance int NOT NULL DEFAULT 0, filler char(84))",
	"CREATE TABLE IF NOT EXISTS history (hid bigserial PRIMARY KEY, "
	"tid int, bid int, aid int, delta int, mtime timestamptz, "
	"filler char(22))",
	"CREATE TABLE IF NOT EXISTS heartbeat (id int PRIMARY KEY, "
	"ts timestamptz NOT NULL, seq bigint NOT NULL)",
};

/*
 * issue 15: pgbench's table names as views of the lab tables (simple
 * views: updatable), so a pgbench script runs as a hum script unchanged.
 * Views are not replicated: every node gets its own.
 */
#define SCHEMA_NVIEWS 4
static const char *const schema_views[SCHEMA_NVIEWS] = {
	"CREATE OR REPLACE VIEW pgbench_branches AS SELECT bid, bbalance, "
	"filler FROM branches",
	"CREATE OR REPLACE VIEW pgbench_tellers AS SELECT tid, bid, tbalance, "
	"filler FROM tellers",
	"CREATE OR REPLACE VIEW pgbench_accounts AS SELECT aid, bid, abalance, "
	"filler FROM accounts",
	"CREATE OR REPLACE VIEW pgbench_history AS SELECT tid, bid, aid, "
	"delta, mtime, filler FROM history",
};

static int
schema_run(PGconn *c, const char *sql, const char *what, char *err,
    size_t errlen)
{
	PGresult *r = PQexec(c, sql);

	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		snprintf(err, errlen, "cannot create %s: %s", what,
		    PQresultErrorMessage(r));
		err[strcspn(err, "\n")] = '\0';
		PQclear(r);
		return -1;
	}
	PQclear(r);
	return 0;
}

int
schema_create(PGconn *c, char *err, size_t errlen)
{
	for (int i = 0; i < SCHEMA_NTABLES; i++)
		if (schema_run(c, schema_ddl[i], schema_tables[i], err,
		    errlen) == -1)
			return -1;
	for (int i = 0; i < SCHEMA_NVIEWS; i++)
		if (schema_run(c, schema_views[i], "the pgbench_* views", err,
		    errlen) == -1)
			return -1;
	return 0;
}

void
schema_subname(const struct node_cfg *node, char *buf, size_t len)
{
	snprintf(buf, len, "sub_%s", node->name);
}

void
schema_node_pubname(const struct node_cfg *node, char *buf, size_t len)
{
	snprintf(buf, len, "pub_%s", node->name);
}

void
schema_pubname(const struct config *cfg, const struct node_cfg *node,
    char *buf, size_t len)
{
	if (node->tables[0] != '\0' || node->row_filter[0] != '\0')
		schema_node_pubname(node, buf, len);
	else
		snprintf(buf, len, "%s", cfg->replication.publication);
}

/* Is word in a list separated by commas and/or blanks? */
static bool
schema_in_list(const char *list, const char *word)
{
	size_t wl = strlen(word);
	const char *p = list;

	while (*p != '\0') {
		p += strspn(p, ", \t");
		size_t n = strcspn(p, ", \t");
		if (n == wl && strncmp(p, word, n) == 0)
			return true;
		p += n;
	}
	return false;
}

bool
schema_node_table(const struct node_cfg *node, const char *table, char *filter,
    size_t len)
{
	const char *p = node->row_filter;
	size_t tl = strlen(table);

	filter[0] = '\0';
	if (!strcmp(table, "heartbeat"))
		return true;
	if (node->tables[0] != '\0' && !schema_in_list(node->tables, table))
		return false;
	/* "table: condition; table: condition": a table name has no ':' */
	while (*p != '\0') {
		p += strspn(p, "; \t");
		size_t seg = strcspn(p, ";");
		const char *colon = memchr(p, ':', seg);
		if (colon != NULL) {
			const char *end = colon;
			while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
				end--;
			if ((size_t)(end - p) == tl &&
			    strncmp(p, table, tl) == 0) {
				const char *c = colon + 1;
				size_t cl = seg - (size_t)(c - p);
				while (cl > 0 && (*c == ' ' || *c == '\t'))
					c++, cl--;
				snprintf(filter, len, "%.*s", (int)cl, c);
				return true;
			}
		}
		p += seg;
	}
	return true;
}
