/*
 * schema.c: the lab schema and the names of its publications and
 * subscriptions, shared by the replication worker and `labsup check`.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/stat.h>
#include <unistd.h>
#include <strings.h>

#include "schema.h"

const char *schema_tables[SCHEMA_MAX_TABLES] = {
	"branches", "tellers", "accounts", "history", "heartbeat",
};
int schema_ntables = 5;

#define SCHEMA_PGBENCH_N 5
/* issue 15: [replication] schema = FILE: its text and table names */
static char *schema_text;
static char schema_names[SCHEMA_MAX_TABLES][64];

/* The schema of docs/CONTRIBUTING.md, made idempotent. */
static const char *const schema_ddl[SCHEMA_PGBENCH_N] = {
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
	if (schema_text != NULL) {
		/* your own schema, then labsup's heartbeat (issue 15) */
		if (schema_run(c, schema_text, "the schema file's tables", err,
		    errlen) == -1)
			return -1;
		return schema_run(c, schema_ddl[SCHEMA_PGBENCH_N - 1],
		    "heartbeat", err, errlen);
	}
	for (int i = 0; i < SCHEMA_PGBENCH_N; i++)
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

/* ---- issue 15: your own schema and data -------------------------------- */

bool
schema_is_pgbench(const struct config *cfg)
{
	return !strcmp(cfg->replication.schema, "pgbench");
}

static char *
schema_read(const char *path, char *err, size_t errlen)
{
	FILE *fp = fopen(path, "r");
	char *text;
	long len;

	if (fp == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (fseek(fp, 0, SEEK_END) == -1 || (len = ftell(fp)) < 0 ||
	    len > 64 << 20 || fseek(fp, 0, SEEK_SET) == -1 ||
	    (text = malloc((size_t)len + 1)) == NULL) {
		snprintf(err, errlen, "%s: cannot read (a file under 64 MB?)",
		    path);
		fclose(fp);
		return NULL;
	}
	text[fread(text, 1, (size_t)len, fp)] = '\0';
	fclose(fp);
	return text;
}

static int
schema_line(const char *text, const char *p)
{
	int n = 1;

	for (; text < p; text++)
		n += *text == '\n';
	return n;
}

/* The next word at *p (comments and quoted text skipped), or 0. */
static size_t
schema_word(const char **pp, const char **start)
{
	const char *p = *pp;

	for (;;) {
		while (*p != '\0' && !isalnum((unsigned char)*p) && *p != '_' &&
		    *p != '"' && *p != '\'' && !(p[0] == '-' && p[1] == '-') &&
		    !(p[0] == '/' && p[1] == '*'))
			p++;
		if (p[0] == '-' && p[1] == '-') {
			p += strcspn(p, "\n");
			continue;
		}
		if (p[0] == '/' && p[1] == '*') {
			const char *e = strstr(p + 2, "*/");
			p = e != NULL ? e + 2 : p + strlen(p);
			continue;
		}
		if (*p == '\'') {
			const char *e = strchr(p + 1, '\'');
			p = e != NULL ? e + 1 : p + strlen(p);
			continue;
		}
		break;
	}
	*start = p;
	if (*p == '"') {
		const char *e = strchr(p + 1, '"');
		p = e != NULL ? e + 1 : p + strlen(p);
	} else
		while (isalnum((unsigned char)*p) || *p == '_' || *p == '.')
			p++;
	*pp = p;
	return (size_t)(p - *start);
}

static bool
schema_is(const char *w, size_t n, const char *kw)
{
	return strlen(kw) == n && !strncasecmp(w, kw, n);
}

int
schema_load(const struct config *cfg, char *err, size_t errlen)
{
	const char *path = cfg->replication.schema, *p, *w;
	char perr[256];
	size_t n;
	int nt = 0;

	if (schema_is_pgbench(cfg))
		return 0;
	free(schema_text);
	if ((schema_text = schema_read(path, perr, sizeof(perr))) == NULL) {
		snprintf(err, errlen, "%s (fix [replication] schema)", perr);
		return -1;
	}
	/* CREATE [UNLOGGED] TABLE [IF NOT EXISTS] name */
	for (p = schema_text; (n = schema_word(&p, &w)) > 0;) {
		if (!schema_is(w, n, "create"))
			continue;
		const char *save = p;
		n = schema_word(&p, &w);
		if (schema_is(w, n, "unlogged"))
			n = schema_word(&p, &w);
		if (!schema_is(w, n, "table")) {
			p = save;
			continue;
		}
		n = schema_word(&p, &w);
		if (schema_is(w, n, "if")) {
			schema_word(&p, &w);	/* not */
			schema_word(&p, &w);	/* exists */
			n = schema_word(&p, &w);
		}
		if (n > 7 && !strncasecmp(w, "public.", 7)) {
			w += 7;
			n -= 7;
		}
		bool plain = n > 0 && n < sizeof(schema_names[0]) &&
		    (isalpha((unsigned char)w[0]) || w[0] == '_');
		for (size_t i = 0; plain && i < n; i++)
			plain = isalnum((unsigned char)w[i]) || w[i] == '_';
		if (!plain) {
			snprintf(err, errlen, "%s:%d: table %.*s: labsup takes "
			    "plain names in the public schema (a-z, 0-9, _)",
			    path, schema_line(schema_text, w), (int)(n > 40 ?
			    40 : n), w);
			return -1;
		}
		if (nt == SCHEMA_MAX_TABLES - 1) {
			snprintf(err, errlen, "%s:%d: more than %d tables", path,
			    schema_line(schema_text, w), SCHEMA_MAX_TABLES - 1);
			return -1;
		}
		for (size_t i = 0; i < n; i++)
			schema_names[nt][i] = (char)tolower((unsigned char)w[i]);
		schema_names[nt][n] = '\0';
		if (!strcmp(schema_names[nt], "heartbeat")) {
			snprintf(err, errlen, "%s:%d: heartbeat is labsup's own "
			    "table (rename yours)", path,
			    schema_line(schema_text, w));
			return -1;
		}
		nt++;
	}
	if (nt == 0) {
		snprintf(err, errlen, "%s:1: no CREATE TABLE in the schema file",
		    path);
		return -1;
	}
	for (int i = 0; i < nt; i++)
		schema_tables[i] = schema_names[i];
	schema_tables[nt] = "heartbeat";
	schema_ntables = nt + 1;
	return 0;
}

/*
 * COPY one CSV file into table; its header line names the columns, so a
 * serial column left out takes its default.
 */
static int
schema_copy_csv(PGconn *c, const char *table, const char *path, char *err,
    size_t errlen)
{
	char sql[1400], buf[65536], head[1024];
	FILE *fp = fopen(path, "r");
	PGresult *r;
	size_t n;
	int rc = 0;

	if (fp == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fgets(head, sizeof(head), fp) == NULL) {
		snprintf(err, errlen, "%s:1: no header line (the column names)",
		    path);
		fclose(fp);
		return -1;
	}
	head[strcspn(head, "\r\n")] = '\0';
	if (head[0] == '\0' || strspn(head, "abcdefghijklmnopqrstuvwxyz"
	    "0123456789_, ") != strlen(head)) {
		snprintf(err, errlen, "%s:1: the header line must be column "
		    "names (a-z, 0-9, _), comma-separated", path);
		fclose(fp);
		return -1;
	}
	rewind(fp);
	snprintf(sql, sizeof(sql), "COPY %s (%s) FROM STDIN (FORMAT csv, "
	    "HEADER true)", table, head);
	r = PQexec(c, sql);
	if (PQresultStatus(r) != PGRES_COPY_IN) {
		snprintf(err, errlen, "%s: %s", path, PQresultErrorMessage(r));
		PQclear(r);
		fclose(fp);
		return -1;
	}
	PQclear(r);
	while (rc == 0 && (n = fread(buf, 1, sizeof(buf), fp)) > 0)
		if (PQputCopyData(c, buf, (int)n) != 1)
			rc = -1;
	fclose(fp);
	if (PQputCopyEnd(c, rc == 0 ? NULL : "read error") != 1)
		rc = -1;
	r = PQgetResult(c);
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		snprintf(err, errlen, "%s: %s", path, PQresultErrorMessage(r));
		rc = -1;
	}
	PQclear(r);
	while ((r = PQgetResult(c)) != NULL)
		PQclear(r);
	err[strcspn(err, "\n")] = '\0';
	return rc;
}

/* Every TABLE.csv of dir, in the schema's order; another file is an error. */
static int
schema_load_dir(PGconn *c, const char *dir, char *err, size_t errlen)
{
	char path[CFG_PATH + 80];
	DIR *d = opendir(dir);
	struct dirent *e;

	if (d == NULL) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	while ((e = readdir(d)) != NULL) {
		size_t n = strlen(e->d_name);
		bool known = false;
		if (e->d_name[0] == '.')
			continue;
		for (int t = 0; t < schema_ntables - 1 && !known; t++)
			known = n == strlen(schema_tables[t]) + 4 &&
			    !strncmp(e->d_name, schema_tables[t], n - 4) &&
			    !strcmp(e->d_name + n - 4, ".csv");
		if (!known) {
			snprintf(err, errlen, "%s/%s: not TABLE.csv of a table "
			    "of the schema", dir, e->d_name);
			closedir(d);
			return -1;
		}
	}
	closedir(d);
	for (int t = 0; t < schema_ntables - 1; t++) {
		snprintf(path, sizeof(path), "%s/%s.csv", dir, schema_tables[t]);
		if (access(path, F_OK) == 0 &&
		    schema_copy_csv(c, schema_tables[t], path, err, errlen) == -1)
			return -1;
	}
	return 0;
}

int
schema_load_data(const struct config *cfg, PGconn *c, bool *loaded,
    char *err, size_t errlen)
{
	const char *data = cfg->replication.data;
	char sql[160];
	struct stat st;
	PGresult *r;
	int rc;

	*loaded = false;
	if (data[0] == '\0' || schema_is_pgbench(cfg))
		return 0;
	/* once: the first table has rows when it was done */
	snprintf(sql, sizeof(sql), "SELECT EXISTS (SELECT 1 FROM %s)",
	    schema_tables[0]);
	r = PQexec(c, sql);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		snprintf(err, errlen, "%s", PQresultErrorMessage(r));
		err[strcspn(err, "\n")] = '\0';
		PQclear(r);
		return -1;
	}
	rc = !strcmp(PQgetvalue(r, 0, 0), "t");
	PQclear(r);
	if (rc)
		return 0;
	if (stat(data, &st) == -1) {
		snprintf(err, errlen, "%s: %s (fix [replication] data)", data,
		    strerror(errno));
		return -1;
	}
	if (schema_run(c, "BEGIN", "a transaction", err, errlen) == -1)
		return -1;
	if (S_ISDIR(st.st_mode))
		rc = schema_load_dir(c, data, err, errlen);
	else {
		char *text = schema_read(data, err, errlen);
		rc = text == NULL ? -1 : schema_run(c, text, "the data", err,
		    errlen);
		free(text);
	}
	if (rc == -1) {
		PQclear(PQexec(c, "ROLLBACK"));
		return -1;
	}
	*loaded = true;
	return schema_run(c, "COMMIT", "a transaction", err, errlen);
}
