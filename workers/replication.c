/*
 * replication.c: the replication worker.  Makes the lab schema and its data
 * on the publisher, the publications, and on every subscriber the schema
 * and a subscription; then keeps the heartbeat row ticking and reports slot
 * lag.  Every pass is idempotent: it repairs what is missing (a dropped
 * subscription, a wiped node) and leaves alone what is right.  It touches
 * only the lab database on each node, through libpq.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../backend/backend.h"
#include "worker.h"
#include "../lib/link.h"
#include "../lib/schema.h"
#include "subhealth.h"

#define RP_CHECK_MS 2000	/* reconcile pass once everything is ready */
#define RP_CHECK_FAST_MS 300	/* while something is not */
#define RP_LAG_MS 1000
#define RP_COPY_CHUNK 65536

struct rp_node {
	const struct node_cfg *node;
	PGconn *conn;
	char subname[64];
	char pubname[64];
	bool ready;		/* every table of the subscription in 'r' */
	bool seen;		/* its subscription existed in this process */
	int64_t next_connect;	/* mono ns: reconnect throttle */
	char detail[STATUS_TEXT];
};

struct rp {
	struct worker_ctx *ctx;
	const struct config *cfg;
	const struct backend_ops *be;
	struct rp_node pub;
	struct rp_node subs[CFG_MAX_NODES];
	int nsubs;
	bool pub_ready;
	bool swept;		/* nothing of a removed subscriber is left */
	char pub_detail[STATUS_TEXT];
	int64_t heartbeats;
};

/* ---- small libpq helpers -------------------------------------------- */

/* Run sql with text params; 0 and *out (if asked) or -1 and err. */
static int
rp_exec(PGconn *c, const char *sql, int n, const char *const *params,
    PGresult **out, char *err, size_t errlen)
{
	PGresult *r = PQexecParams(c, sql, n, NULL, params, NULL, NULL, 0);
	int st = PQresultStatus(r);

	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		snprintf(err, errlen, "%s", PQresultErrorMessage(r));
		err[strcspn(err, "\n")] = '\0';
		PQclear(r);
		return -1;
	}
	if (out != NULL)
		*out = r;
	else
		PQclear(r);
	return 0;
}

/* Statement with one identifier: fmt has one %s. */
static int
rp_exec_ident(PGconn *c, const char *fmt, const char *ident, char *err,
    size_t errlen)
{
	char *q = PQescapeIdentifier(c, ident, strlen(ident));
	char sql[512];

	if (q == NULL) {
		snprintf(err, errlen, "%s", PQerrorMessage(c));
		return -1;
	}
	snprintf(sql, sizeof(sql), fmt, q);
	PQfreemem(q);
	return rp_exec(c, sql, 0, NULL, NULL, err, errlen);
}

/* One-value query: the first column of the first row, or "" if none. */
static int
rp_value(PGconn *c, const char *sql, const char *param, char *buf,
    size_t len, char *err, size_t errlen)
{
	PGresult *r;
	const char *params[1] = { param };

	if (rp_exec(c, sql, param != NULL, params, &r, err, errlen) == -1)
		return -1;
	snprintf(buf, len, "%s", PQntuples(r) > 0 && !PQgetisnull(r, 0, 0) ?
	    PQgetvalue(r, 0, 0) : "");
	PQclear(r);
	return 0;
}

static bool
rp_connected(struct rp *rp, struct rp_node *n)
{
	char err[256];

	if (n->conn != NULL && PQstatus(n->conn) == CONNECTION_OK)
		return true;
	if (n->conn != NULL) {
		PQfinish(n->conn);
		n->conn = NULL;
	}
	if (mono_ns() < n->next_connect)
		return false;
	n->next_connect = mono_ns() + 250000000LL;
	n->conn = lab_connect(rp->cfg, n->node, "labsup replication", err,
	    sizeof(err));
	if (n->conn == NULL) {
		snprintf(n->detail, sizeof(n->detail), "waiting for %s: %s",
		    n->node->name, err);
		return false;
	}
	return true;
}

/* A failed statement on a dead connection: drop it so we reconnect. */
static void
rp_check_conn(struct rp_node *n)
{
	if (n->conn != NULL && PQstatus(n->conn) != CONNECTION_OK) {
		PQfinish(n->conn);
		n->conn = NULL;
	}
}

/* ---- publisher ------------------------------------------------------ */

static bool
rp_schema_present(PGconn *c)
{
	char sql[2048] = "SELECT count(*) FROM unnest(ARRAY[";
	PGresult *r;
	bool ok;

	/* the lab tables, pgbench's or the schema file's (issue 15) */
	for (int t = 0; t < SCHEMA_NTABLES; t++) {
		size_t n = strlen(sql);
		snprintf(sql + n, sizeof(sql) - n, "%s'%s'", t ? "," : "",
		    schema_tables[t]);
	}
	strlcat(sql, "]) t WHERE to_regclass('public.' || t) IS NOT NULL",
	    sizeof(sql));
	r = PQexec(c, sql);
	ok = PQresultStatus(r) == PGRES_TUPLES_OK &&
	    atoi(PQgetvalue(r, 0, 0)) == SCHEMA_NTABLES;
	PQclear(r);
	return ok;
}

/* COPY rows produced by row(i, buf) for i in [1, n]. */
static int
rp_copy(PGconn *c, const char *sql, int n, int scale_div,
    int (*row)(char *, size_t, int, int), char *err, size_t errlen)
{
	char *buf = malloc(RP_COPY_CHUNK + 256);
	size_t used = 0;
	PGresult *r = PQexec(c, sql);
	int rc = -1;

	if (buf == NULL || PQresultStatus(r) != PGRES_COPY_IN) {
		snprintf(err, errlen, "%s", buf == NULL ? strerror(errno) :
		    PQresultErrorMessage(r));
		PQclear(r);
		free(buf);
		return -1;
	}
	PQclear(r);
	for (int i = 1; i <= n; i++) {
		used += (size_t)row(buf + used, 256, i, scale_div);
		if (used >= RP_COPY_CHUNK || i == n) {
			if (PQputCopyData(c, buf, (int)used) != 1)
				break;
			used = 0;
		}
	}
	if (PQputCopyEnd(c, NULL) == 1) {
		r = PQgetResult(c);
		if (PQresultStatus(r) == PGRES_COMMAND_OK)
			rc = 0;
		else
			snprintf(err, errlen, "%s", PQresultErrorMessage(r));
		PQclear(r);
		while ((r = PQgetResult(c)) != NULL)
			PQclear(r);
	} else {
		snprintf(err, errlen, "%s", PQerrorMessage(c));
	}
	free(buf);
	err[strcspn(err, "\n")] = '\0';
	return rc;
}

/* pgbench's initial data: filler NULL for branches/tellers, '' accounts. */
static int
rp_row_branch(char *p, size_t len, int i, int div)
{
	(void)div;
	return snprintf(p, len, "%d\t0\t\\N\n", i);
}

static int
rp_row_teller(char *p, size_t len, int i, int div)
{
	return snprintf(p, len, "%d\t%d\t0\t\\N\n", i, (i - 1) / div + 1);
}

static int
rp_row_account(char *p, size_t len, int i, int div)
{
	return snprintf(p, len, "%d\t%d\t0\t\n", i, (i - 1) / div + 1);
}

/* Load the tables at cfg scale in one transaction, once: all or nothing. */
static int
rp_load(struct rp *rp, PGconn *c, char *err, size_t errlen)
{
	int s = rp->cfg->replication.scale;
	char have[16];
	bool loaded;

	/* issue 15: your own schema: your data, or none */
	if (!schema_is_pgbench(rp->cfg)) {
		if (schema_load_data(rp->cfg, c, &loaded, err, errlen) == -1)
			return -1;
		if (loaded)
			log_info("loaded %s", rp->cfg->replication.data);
		return 0;
	}

	/*
	 * Look before locking: this runs every pass, and the lock below would
	 * stall the hum and wait behind every initial table sync.
	 */
	if (rp_value(c, "SELECT EXISTS (SELECT 1 FROM branches)", NULL, have,
	    sizeof(have), err, errlen) == -1)
		return -1;
	if (!strcmp(have, "t"))
		return 0;
	if (rp_exec(c, "BEGIN", 0, NULL, NULL, err, errlen) == -1)
		return -1;
	/* in the order a tpcb transaction takes them: no deadlock with it */
	if (rp_exec(c, "LOCK TABLE accounts, tellers, branches, history IN "
	    "ACCESS EXCLUSIVE MODE", 0, NULL, NULL, err, errlen) == -1 ||
	    rp_value(c, "SELECT EXISTS (SELECT 1 FROM branches)", NULL, have,
	    sizeof(have), err, errlen) == -1)
		goto fail;
	if (!strcmp(have, "t"))
		return rp_exec(c, "COMMIT", 0, NULL, NULL, err, errlen);
	status_set(rp->ctx->slot, WS_STARTING, "loading the lab tables (scale "
	    "%d)", s);
	log_info("loading the lab tables at scale %d", s);
	/*
	 * Like pgbench: building the big table's index after the rows is
	 * about twice as fast as keeping it up during COPY.  Autovacuum
	 * analyzes the fresh tables on its own.
	 */
	if (rp_copy(c, "COPY branches (bid, bbalance, filler) FROM STDIN", s,
	    1, rp_row_branch, err, errlen) == -1 ||
	    rp_copy(c, "COPY tellers (tid, bid, tbalance, filler) FROM STDIN",
	    10 * s, 10, rp_row_teller, err, errlen) == -1 ||
	    rp_exec(c, "ALTER TABLE accounts DROP CONSTRAINT IF EXISTS "
	    "accounts_pkey", 0, NULL, NULL, err, errlen) == -1 ||
	    rp_copy(c, "COPY accounts (aid, bid, abalance, filler) FROM STDIN",
	    100000 * s, 100000, rp_row_account, err, errlen) == -1 ||
	    rp_exec(c, "ALTER TABLE accounts ADD PRIMARY KEY (aid)", 0, NULL,
	    NULL, err, errlen) == -1)
		goto fail;
	return rp_exec(c, "COMMIT", 0, NULL, NULL, err, errlen);
fail:
	PQclear(PQexec(c, "ROLLBACK"));
	return -1;
}

/*
 * The table list of a publication as the config wants it ("t1 WHERE (f),
 * t2"), node NULL for the lab's publication (every table, unfiltered),
 * leaving out the tables in skip (a mask over schema_tables).  It doubles
 * as the publication's spec: labsup keeps it as the publication's comment,
 * so a pass can tell a changed filter from one PostgreSQL rewrote.
 */
static int
rp_pub_list(PGconn *c, const struct node_cfg *node, unsigned skip,
    char *out, size_t len)
{
	char filter[CFG_STR * 2], *tq;
	size_t off = 0;
	int added = 0;

	out[0] = '\0';
	for (int t = 0; t < SCHEMA_NTABLES; t++) {
		if (skip & (1u << t))
			continue;
		if (node != NULL && !schema_node_table(node, schema_tables[t],
		    filter, sizeof(filter)))
			continue;
		if (node == NULL)
			filter[0] = '\0';
		tq = PQescapeIdentifier(c, schema_tables[t],
		    strlen(schema_tables[t]));
		if (tq == NULL)
			return -1;
		/* a row filter is SQL from the config file, by design */
		off += (size_t)snprintf(out + off, len - off, "%s%s%s%s%s",
		    added++ ? ", " : "", tq, filter[0] ? " WHERE (" : "", filter,
		    filter[0] ? ")" : "");
		PQfreemem(tq);
		if (off >= len)
			return -1;
	}
	return 0;
}

/*
 * Make publication name publish exactly what the config wants of it (minus
 * the tables in skip): created, or set (ALTER PUBLICATION ... SET TABLE)
 * when its spec changed, unless create_only (a subscriber's own
 * publication changes only in step with its subscription: rp_follow).
 * Idempotent.
 */
static int
rp_publication(PGconn *c, const char *name, const struct node_cfg *node,
    unsigned skip, bool create_only, char *err, size_t errlen)
{
	char list[1536], sql[2048], *q, *lit;
	const char *params[1] = { name };
	PGresult *r;
	bool exists, same;
	int rc;

	if (rp_pub_list(c, node, skip, list, sizeof(list)) == -1) {
		snprintf(err, errlen, "publication %s: row filters too long",
		    name);
		return -1;
	}
	if (rp_exec(c, "SELECT coalesce(obj_description(oid, 'pg_publication'), "
	    "'') FROM pg_publication WHERE pubname = $1", 1, params, &r, err,
	    errlen) == -1)
		return -1;
	exists = PQntuples(r) > 0;
	same = exists && !strcmp(PQgetvalue(r, 0, 0), list);
	PQclear(r);
	if (same || (exists && create_only))
		return 0;
	q = PQescapeIdentifier(c, name, strlen(name));
	lit = PQescapeLiteral(c, list, strlen(list));
	if (q == NULL || lit == NULL) {
		snprintf(err, errlen, "%s", PQerrorMessage(c));
		PQfreemem(q);
		PQfreemem(lit);
		return -1;
	}
	log_info("%s publication %s: %s", exists ? "setting" : "creating", name,
	    list);
	snprintf(sql, sizeof(sql), "%s PUBLICATION %s %s TABLE %s", exists ?
	    "ALTER" : "CREATE", q, exists ? "SET" : "FOR", list);
	rc = rp_exec(c, sql, 0, NULL, NULL, err, errlen);
	if (rc == 0) {
		snprintf(sql, sizeof(sql), "COMMENT ON PUBLICATION %s IS %s", q,
		    lit);
		rc = rp_exec(c, sql, 0, NULL, NULL, err, errlen);
	}
	PQfreemem(q);
	PQfreemem(lit);
	return rc;
}

/* Is name the subscription (slot) or own publication of a configured node? */
static bool
rp_configured(const struct rp *rp, const char *name, bool slot)
{
	char own[64];

	for (int i = 0; i < rp->nsubs; i++) {
		schema_node_pubname(rp->subs[i].node, own, sizeof(own));
		if (!strcmp(name, slot ? rp->subs[i].subname : own))
			return true;
	}
	return false;
}

/*
 * A subscriber a reload removed leaves a slot on the publisher, which would
 * hold WAL for ever, and maybe its own publication: drop both once its
 * walsender is gone (the container worker stops its server).  A pass that
 * finds nothing left ends the sweeping: a reload that removes a node
 * restarts this worker, which sweeps again.
 */
static void
rp_sweep(struct rp *rp, PGconn *c)
{
	char err[256], sql[256];
	PGresult *r;
	int left = 0;

	if (rp_exec(c, "SELECT slot_name, active FROM pg_replication_slots "
	    "WHERE slot_type = 'logical' AND slot_name LIKE 'sub\\_%' AND "
	    "database = current_database()", 0, NULL, &r, err,
	    sizeof(err)) == -1)
		return;
	for (int i = 0; i < PQntuples(r); i++) {
		const char *slot = PQgetvalue(r, i, 0);
		const char *params[1] = { slot };
		if (rp_configured(rp, slot, true))
			continue;
		if (!strcmp(PQgetvalue(r, i, 1), "t")) {
			left++;	/* its server still runs: next pass */
			continue;
		}
		log_info("dropping slot %s on %s: its subscriber is no longer in "
		    "the config", slot, rp->pub.node->name);
		if (rp_exec(c, "SELECT pg_drop_replication_slot($1)", 1, params,
		    NULL, err, sizeof(err)) == 0)
			worker_event(rp->ctx, "replication", "slot %s dropped: its "
			    "node left the config", slot);
		else
			left++;
	}
	PQclear(r);
	if (rp_exec(c, "SELECT pubname FROM pg_publication WHERE pubname LIKE "
	    "'pub\\_%' AND pubname <> $1", 1,
	    (const char *const[]){ rp->cfg->replication.publication }, &r, err,
	    sizeof(err)) == 0) {
		for (int i = 0; i < PQntuples(r); i++) {
			const char *pub = PQgetvalue(r, i, 0);
			if (rp_configured(rp, pub, false))
				continue;
			char *q = PQescapeIdentifier(c, pub, strlen(pub));
			if (q == NULL)
				continue;
			snprintf(sql, sizeof(sql), "DROP PUBLICATION IF EXISTS %s",
			    q);
			PQfreemem(q);
			log_info("dropping publication %s: its subscriber is no "
			    "longer in the config", pub);
			if (rp_exec(c, sql, 0, NULL, NULL, err, sizeof(err)) == -1)
				left++;
		}
		PQclear(r);
	} else
		left++;
	rp->swept = left == 0;
}

static void
rp_publisher(struct rp *rp)
{
	struct rp_node *n = &rp->pub;
	char err[512];

	rp->pub_ready = false;
	if (!rp_connected(rp, n)) {
		snprintf(rp->pub_detail, sizeof(rp->pub_detail), "%s", n->detail);
		return;
	}
	if (!rp_schema_present(n->conn) &&
	    schema_create(n->conn, err, sizeof(err)) == -1)
		goto fail;
	if (rp_load(rp, n->conn, err, sizeof(err)) == -1 ||
	    rp_exec(n->conn, "INSERT INTO heartbeat (id, ts, seq) VALUES "
	    "(1, now(), 0) ON CONFLICT (id) DO NOTHING", 0, NULL, NULL, err,
	    sizeof(err)) == -1 ||
	    rp_publication(n->conn, rp->cfg->replication.publication, NULL, 0,
	    false, err, sizeof(err)) == -1)
		goto fail;
	for (int i = 0; i < rp->nsubs; i++) {
		const struct node_cfg *sn = rp->subs[i].node;
		if (strcmp(rp->subs[i].pubname,
		    rp->cfg->replication.publication) != 0 &&
		    rp_publication(n->conn, rp->subs[i].pubname, sn, 0, true,
		    err, sizeof(err)) == -1)
			goto fail;
	}
	if (!rp->swept)
		rp_sweep(rp, n->conn);
	rp->pub_ready = true;
	return;
fail:
	snprintf(rp->pub_detail, sizeof(rp->pub_detail), "publisher %s: %s",
	    n->node->name, err);
	log_warnx("%s", rp->pub_detail);
	rp_check_conn(n);
}

/* ---- subscribers ---------------------------------------------------- */

/* A conninfo value in single quotes, \ and ' escaped. */
static size_t
rp_ci_value(char *p, size_t len, const char *key, const char *v)
{
	size_t o = (size_t)snprintf(p, len, "%s='", key);

	for (; *v != '\0' && o + 3 < len; v++) {
		if (*v == '\\' || *v == '\'')
			p[o++] = '\\';
		p[o++] = *v;
	}
	if (o + 2 < len) {
		p[o++] = '\'';
		p[o++] = ' ';
	}
	p[o] = '\0';
	return o;
}

/*
 * How a subscriber's server reaches the publisher: through its link
 * (workers/link.c), at the address the link recorded, or straight (peer_addr)
 * when its link is bypassed.  The server reads the
 * lab's 0600 passfile at <state_dir>/pg/.pgpass (the local backend writes
 * it for the server user; the docker backend copies it into each container
 * at the same path), so pg_subscription never holds a password.
 */
static int
rp_sub_conninfo(struct rp *rp, const struct rp_node *s, char *buf,
    size_t len, char *err, size_t errlen)
{
	const struct config *cfg = rp->cfg;
	char host[128], sport[16], path[CFG_PATH + 32];
	int port;
	size_t o = 0;

	if (s->node->link.bypass) {
		if (rp->be->peer_addr(cfg, rp->pub.node, host, sizeof(host),
		    &port) == -1) {
			snprintf(err, errlen, "no address for the publisher");
			return -1;
		}
	} else if (link_addr_read(cfg, s->node->name, host, sizeof(host),
	    &port) == -1) {
		snprintf(err, errlen, "waiting for link %s to listen",
		    s->node->name);
		return -1;
	}
	snprintf(sport, sizeof(sport), "%d", port);
	o += rp_ci_value(buf + o, len - o, "host", host);
	o += rp_ci_value(buf + o, len - o, "port", sport);
	o += rp_ci_value(buf + o, len - o, "dbname", cfg->lab.database);
	o += rp_ci_value(buf + o, len - o, "user", cfg->lab.user);
	o += rp_ci_value(buf + o, len - o, "application_name", s->subname);
	snprintf(path, sizeof(path), "%s/pg/.pgpass", cfg->lab.state_dir);
	rp_ci_value(buf + o, len - o, "passfile", path);
	return 0;
}

static void rp_sub_spec(const struct rp_node *s, char *out, size_t len);
static int rp_sub_comment(struct rp_node *s, const char *spec, char *err,
    size_t errlen);

/* A subscription is missing: clear what is in its way, then create it. */
static int
rp_create_sub(struct rp *rp, struct rp_node *s, char *err, size_t errlen)
{
	const char *params[1] = { s->subname };
	char ci[1024], sql[1400], active[8], *ciq, *sq, *pq;
	PGresult *r;
	bool repair = s->seen;
	int rc;

	/* a slot left by a subscriber that was wiped or dropped its sub */
	if (rp_value(rp->pub.conn, "SELECT active FROM pg_replication_slots "
	    "WHERE slot_name = $1", s->subname, active, sizeof(active), err,
	    errlen) == -1)
		return -1;
	if (!strcmp(active, "t")) {
		snprintf(err, errlen, "waiting for the old slot %s to be "
		    "released", s->subname);
		return -1;
	}
	if (!strcmp(active, "f")) {
		repair = true;
		log_info("%s: dropping the stale slot %s on %s", s->node->name,
		    s->subname, rp->pub.node->name);
		if (rp_exec(rp->pub.conn, "SELECT pg_drop_replication_slot($1)",
		    1, params, NULL, err, errlen) == -1)
			return -1;
	}
	/*
	 * The initial copy brings everything: old rows would collide.  The
	 * lab tables: pgbench's or the schema file's (issue 15).
	 */
	{
		char any[2048] = "SELECT false", trunc[1024] = "TRUNCATE ";
		for (int t = 0; t < SCHEMA_NTABLES; t++) {
			size_t n = strlen(any), m = strlen(trunc);
			if (t < SCHEMA_NTABLES - 1)
				snprintf(any + n, sizeof(any) - n, " OR EXISTS "
				    "(SELECT 1 FROM %s)", schema_tables[t]);
			snprintf(trunc + m, sizeof(trunc) - m, "%s%s",
			    t ? ", " : "", schema_tables[t]);
		}
		if (rp_exec(s->conn, any, 0, NULL, &r, err, errlen) == -1)
			return -1;
		if (!strcmp(PQgetvalue(r, 0, 0), "t"))
			repair = true;
		PQclear(r);
		if (rp_exec(s->conn, trunc, 0, NULL, NULL, err, errlen) == -1)
			return -1;
	}
	if (rp_sub_conninfo(rp, s, ci, sizeof(ci), err, errlen) == -1)
		return -1;
	ciq = PQescapeLiteral(s->conn, ci, strlen(ci));
	sq = PQescapeIdentifier(s->conn, s->subname, strlen(s->subname));
	pq = PQescapeIdentifier(s->conn, s->pubname, strlen(s->pubname));
	explicit_bzero(ci, sizeof(ci));
	if (ciq == NULL || sq == NULL || pq == NULL) {
		snprintf(err, errlen, "%s", PQerrorMessage(s->conn));
		rc = -1;
	} else {
		snprintf(sql, sizeof(sql), "CREATE SUBSCRIPTION %s CONNECTION %s "
		    "PUBLICATION %s", sq, ciq, pq);
		log_info("%s: %s subscription %s to %s", s->node->name,
		    repair ? "repairing:" : "creating", s->subname, s->pubname);
		rc = rp_exec(s->conn, sql, 0, NULL, NULL, err, errlen);
		explicit_bzero(sql, sizeof(sql));
	}
	PQfreemem(ciq);
	PQfreemem(sq);
	PQfreemem(pq);
	if (rc == 0) {
		/* what it takes, so a reload that changes it is noticed */
		char spec[1024];
		rp_sub_spec(s, spec, sizeof(spec));
		rc = rp_sub_comment(s, spec, err, errlen);
	}
	if (rc == 0 && repair) {
		status_counter_add(rp->ctx->slot, RC_REPAIRS, 1);
		worker_event(rp->ctx, "repair", "%s: subscription %s recreated",
		    s->node->name, s->subname);
	}
	return rc;
}

/* The publisher lost the slot (it was wiped): drop the orphan sub. */
static int
rp_drop_sub(struct rp_node *s, char *err, size_t errlen)
{
	log_warnx("%s: slot %s is gone from the publisher; recreating the "
	    "subscription", s->node->name, s->subname);
	if (rp_exec_ident(s->conn, "ALTER SUBSCRIPTION %s DISABLE", s->subname,
	    err, errlen) == -1 ||
	    rp_exec_ident(s->conn, "ALTER SUBSCRIPTION %s SET (slot_name = "
	    "NONE)", s->subname, err, errlen) == -1)
		return -1;
	return rp_exec_ident(s->conn, "DROP SUBSCRIPTION %s", s->subname, err,
	    errlen);
}

/*
 * What a subscriber takes, as kept in its subscription's comment: the
 * publication, then "table<TAB>filter" for every table it takes.  A reload
 * that changes tables or row_filter is told from it.
 */
static void
rp_sub_spec(const struct rp_node *s, char *out, size_t len)
{
	char filter[CFG_STR * 2];
	size_t off = (size_t)snprintf(out, len, "labsup pub=%s\n", s->pubname);

	for (int t = 0; t < SCHEMA_NTABLES && off < len; t++)
		if (schema_node_table(s->node, schema_tables[t], filter,
		    sizeof(filter)))
			off += (size_t)snprintf(out + off, len - off, "%s\t%s\n",
			    schema_tables[t], filter);
}

/* In a spec: does it take table, and with which filter?  NULL: not taken. */
static const char *
rp_spec_table(const char *spec, const char *table, char *filter, size_t len)
{
	size_t tl = strlen(table);

	for (const char *l = spec; l != NULL && *l; l = strchr(l, '\n') ?
	    strchr(l, '\n') + 1 : NULL) {
		if (!strncmp(l, table, tl) && l[tl] == '\t') {
			const char *e = strchr(l + tl + 1, '\n');
			snprintf(filter, len, "%.*s", e ? (int)(e - l - tl - 1) :
			    (int)strlen(l + tl + 1), l + tl + 1);
			return filter;
		}
	}
	return NULL;
}

/* Keep spec as the subscription's comment (what it takes, rp_sub_spec). */
static int
rp_sub_comment(struct rp_node *s, const char *spec, char *err, size_t errlen)
{
	char sql[1400];
	char *sq = PQescapeIdentifier(s->conn, s->subname, strlen(s->subname));
	char *lit = PQescapeLiteral(s->conn, spec, strlen(spec));
	int rc = -1;

	if (sq != NULL && lit != NULL) {
		snprintf(sql, sizeof(sql), "COMMENT ON SUBSCRIPTION %s IS %s", sq,
		    lit);
		rc = rp_exec(s->conn, sql, 0, NULL, NULL, err, errlen);
	} else
		snprintf(err, errlen, "%s", PQerrorMessage(s->conn));
	PQfreemem(sq);
	PQfreemem(lit);
	return rc;
}

static int
rp_sub_alter(struct rp_node *s, const char *what, const char *pubname,
    bool copy, char *err, size_t errlen)
{
	char sql[512], *sq = PQescapeIdentifier(s->conn, s->subname,
	    strlen(s->subname)), *pq = PQescapeIdentifier(s->conn, pubname,
	    strlen(pubname));
	int rc = -1;

	if (sq != NULL && pq != NULL) {
		if (!strcmp(what, "set"))
			snprintf(sql, sizeof(sql), "ALTER SUBSCRIPTION %s SET "
			    "PUBLICATION %s WITH (refresh = true, copy_data = %s)",
			    sq, pq, copy ? "true" : "false");
		else
			snprintf(sql, sizeof(sql), "ALTER SUBSCRIPTION %s REFRESH "
			    "PUBLICATION WITH (copy_data = %s)", sq,
			    copy ? "true" : "false");
		rc = rp_exec(s->conn, sql, 0, NULL, NULL, err, errlen);
	} else
		snprintf(err, errlen, "%s", PQerrorMessage(s->conn));
	PQfreemem(sq);
	PQfreemem(pq);
	return rc;
}

/*
 * Make an existing subscription take what the config says now.  Tables
 * whose filter changed, or that were added or removed, are synced again
 * from scratch: the subscription is first moved to the node's own
 * publication without them (so it lets them go), they are emptied, then the
 * subscription moves to its final publication with copy_data, and the
 * initial sync brings exactly the rows the new filter admits.  The spec in
 * the subscription's comment says when it is done.  0 when nothing had to
 * change, 1 when it moved or resynced something, -1 with err.
 */
static int
rp_follow(struct rp *rp, struct rp_node *s, const char *curpub,
    const char *curspec, char *err, size_t errlen)
{
	char want[1024], stage[64], fa[CFG_STR * 2], fb[CFG_STR * 2];
	char trunc[256] = "", sql[1400];
	unsigned changed = 0;
	size_t off = 0;
	bool known = curspec[0] != '\0', moved = false;

	rp_sub_spec(s, want, sizeof(want));
	if (!strcmp(want, curspec))
		return 0;
	if (!known && !strcmp(curpub, rp->cfg->replication.publication) &&
	    !strcmp(curpub, s->pubname)) {
		/* made before specs were kept, on the shared publication */
		known = true;
		changed = 0;
	} else {
		/* the heartbeat is always taken whole: it never changes */
		for (int t = 0; t < SCHEMA_NTABLES - 1; t++) {
			const char *a = known ? rp_spec_table(curspec,
			    schema_tables[t], fa, sizeof(fa)) : NULL;
			const char *b = rp_spec_table(want, schema_tables[t], fb,
			    sizeof(fb));
			if (!known || (a == NULL) != (b == NULL) ||
			    (a != NULL && strcmp(a, b) != 0))
				changed |= 1u << t;
		}
	}
	if (changed != 0 || strcmp(curpub, s->pubname) != 0) {
		for (int t = 0; t < SCHEMA_NTABLES; t++)
			if (changed & (1u << t))
				off += (size_t)snprintf(trunc + off,
				    sizeof(trunc) - off, "%s%s", off ? ", " : "",
				    schema_tables[t]);
		log_info("%s: following the config: subscription %s to %s%s%s",
		    s->node->name, s->subname, s->pubname, changed ?
		    ", syncing again: " : "", trunc);
		worker_event(rp->ctx, "replication", "%s: subscription %s now "
		    "takes %s%s%s", s->node->name, s->subname, s->pubname,
		    changed ? "; syncing again: " : "", trunc);
		schema_node_pubname(s->node, stage, sizeof(stage));
		/* 1. onto the node's own publication, without those tables */
		if (rp_publication(rp->pub.conn, stage, s->node, changed, false,
		    err, errlen) == -1 ||
		    rp_sub_alter(s, strcmp(curpub, stage) ? "set" : "refresh",
		    stage, false, err, errlen) == -1)
			return -1;
		/* 2. empty them: the initial copy brings them back */
		if (changed != 0) {
			snprintf(sql, sizeof(sql), "TRUNCATE %s", trunc);
			if (rp_exec(s->conn, sql, 0, NULL, NULL, err, errlen) == -1)
				return -1;
		}
		/* 3. the final publication, whole, with the initial copy */
		if (strcmp(s->pubname, stage) == 0 &&
		    rp_publication(rp->pub.conn, stage, s->node, 0, false, err,
		    errlen) == -1)
			return -1;
		if (rp_sub_alter(s, strcmp(s->pubname, stage) ? "set" :
		    "refresh", s->pubname, true, err, errlen) == -1)
			return -1;
		if (strcmp(s->pubname, stage) != 0) {
			char *q = PQescapeIdentifier(rp->pub.conn, stage,
			    strlen(stage));
			snprintf(sql, sizeof(sql), "DROP PUBLICATION IF EXISTS %s",
			    q ? q : "\"\"");
			PQfreemem(q);
			(void)rp_exec(rp->pub.conn, sql, 0, NULL, NULL, err,
			    errlen);
		}
		status_counter_add(rp->ctx->slot, RC_REPAIRS, 1);
		moved = true;
	}
	/* done: remember what it takes */
	int rc = rp_sub_comment(s, want, err, errlen);
	return rc == -1 ? -1 : moved ? 1 : 0;
}

/*
 * Point an existing subscription at where its link listens now (links
 * came to a lab made without them, or a link moved): ALTER SUBSCRIPTION
 * ... CONNECTION keeps the slot, so nothing replicated is lost.  0 when it
 * was right, 1 when moved, -1 with err.
 */
static int
rp_sub_reroute(struct rp *rp, struct rp_node *s, const char *cur, char *err,
    size_t errlen)
{
	char ci[1024], sql[1400], *ciq, *sq;
	int rc = -1;

	if (rp_sub_conninfo(rp, s, ci, sizeof(ci), err, errlen) == -1)
		return -1;
	if (!strcmp(ci, cur)) {
		explicit_bzero(ci, sizeof(ci));
		return 0;
	}
	ciq = PQescapeLiteral(s->conn, ci, strlen(ci));
	sq = PQescapeIdentifier(s->conn, s->subname, strlen(s->subname));
	explicit_bzero(ci, sizeof(ci));
	if (ciq != NULL && sq != NULL) {
		snprintf(sql, sizeof(sql), "ALTER SUBSCRIPTION %s CONNECTION %s",
		    sq, ciq);
		log_info("%s: subscription %s now goes %s", s->node->name,
		    s->subname, s->node->link.bypass ? "straight to the "
		    "publisher (link bypassed)" : "through its link");
		rc = rp_exec(s->conn, sql, 0, NULL, NULL, err, errlen);
		explicit_bzero(sql, sizeof(sql));
		if (rc == 0) {
			rc = 1;
			worker_event(rp->ctx, "replication", "%s: subscription "
			    "%s %s", s->node->name, s->subname,
			    s->node->link.bypass ? "straight to the publisher" :
			    "through its link");
		}
	} else
		snprintf(err, errlen, "%s", PQerrorMessage(s->conn));
	PQfreemem(ciq);
	PQfreemem(sq);
	return rc;
}

static void
rp_subscriber(struct rp *rp, struct rp_node *s)
{
	const char *params[1] = { s->subname };
	char err[512], slot[8], curpub[128], curspec[1024];
	PGresult *r;
	int total, waiting;

	s->ready = false;
	if (!rp_connected(rp, s))
		return;
	if (!rp_schema_present(s->conn) &&
	    schema_create(s->conn, err, sizeof(err)) == -1)
		goto fail;
	if (rp_exec(s->conn, "SELECT s.subenabled, (SELECT count(*) FROM "
	    "pg_subscription_rel r WHERE r.srsubid = s.oid), (SELECT count(*) "
	    "FROM pg_subscription_rel r WHERE r.srsubid = s.oid AND "
	    "r.srsubstate <> 'r'), array_to_string(s.subpublications, ','), "
	    "coalesce(obj_description(s.oid, 'pg_subscription'), ''), "
	    "s.subconninfo FROM pg_subscription s WHERE s.subname = $1 "
	    "AND s.subdbid = (SELECT oid FROM pg_database WHERE datname = "
	    "current_database())", 1, params, &r, err, sizeof(err)) == -1)
		goto fail;
	if (PQntuples(r) == 0) {
		PQclear(r);
		snprintf(s->detail, sizeof(s->detail), "creating subscription "
		    "on %s", s->node->name);
		status_set(rp->ctx->slot, WS_STARTING, "%s", s->detail);
		if (rp_create_sub(rp, s, err, sizeof(err)) == -1)
			goto fail;
		s->seen = true;
		snprintf(s->detail, sizeof(s->detail), "%s: initial sync",
		    s->node->name);
		return;
	}
	bool enabled = !strcmp(PQgetvalue(r, 0, 0), "t");
	total = atoi(PQgetvalue(r, 0, 1));
	waiting = atoi(PQgetvalue(r, 0, 2));
	snprintf(curpub, sizeof(curpub), "%s", PQgetvalue(r, 0, 3));
	snprintf(curspec, sizeof(curspec), "%s", PQgetvalue(r, 0, 4));
	int moved = rp_sub_reroute(rp, s, PQgetvalue(r, 0, 5), err,
	    sizeof(err));
	PQclear(r);
	if (moved == -1)
		goto fail;
	s->seen = true;
	if (rp_value(rp->pub.conn, "SELECT 1 FROM pg_replication_slots WHERE "
	    "slot_name = $1", s->subname, slot, sizeof(slot), err,
	    sizeof(err)) == -1) {
		rp_check_conn(&rp->pub);
		goto fail;
	}
	if (slot[0] == '\0') {
		if (rp_drop_sub(s, err, sizeof(err)) == -1)
			goto fail;
		snprintf(s->detail, sizeof(s->detail), "%s: recreating "
		    "subscription", s->node->name);
		return;
	}
	if (lab_sub_paused(rp->cfg, s->node->name)) {
		/* paused on purpose: keep it so, it is not broken */
		if (enabled && rp_exec_ident(s->conn, "ALTER SUBSCRIPTION %s "
		    "DISABLE", s->subname, err, sizeof(err)) == -1)
			goto fail;
		s->ready = true;
		snprintf(s->detail, sizeof(s->detail), "%s: paused (labsup sub "
		    "resume %s)", s->node->name, s->node->name);
		return;
	}
	if (!enabled) {
		log_info("%s: enabling subscription %s", s->node->name,
		    s->subname);
		if (rp_exec_ident(s->conn, "ALTER SUBSCRIPTION %s ENABLE",
		    s->subname, err, sizeof(err)) == -1)
			goto fail;
		status_counter_add(rp->ctx->slot, RC_REPAIRS, 1);
	}
	/* a reload may have changed what it takes */
	switch (rp_follow(rp, s, curpub, curspec, err, sizeof(err))) {
	case -1:
		goto fail;
	case 1:
		snprintf(s->detail, sizeof(s->detail), "%s: syncing again what "
		    "the new config adds", s->node->name);
		return;
	}
	if (total == 0 || waiting > 0) {
		snprintf(s->detail, sizeof(s->detail), "%s: initial sync, %d of "
		    "%d tables ready", s->node->name, total - waiting, total);
		return;
	}
	s->ready = true;
	s->detail[0] = '\0';
	return;
fail:
	snprintf(s->detail, sizeof(s->detail), "%s: %s", s->node->name, err);
	log_warnx("%s", s->detail);
	rp_check_conn(s);
}

/* ---- heartbeat and lag ---------------------------------------------- */

static void
rp_heartbeat(struct rp *rp)
{
	PGresult *r;

	if (rp->pub.conn == NULL || PQstatus(rp->pub.conn) != CONNECTION_OK)
		return;
	r = PQexec(rp->pub.conn, "UPDATE heartbeat SET ts = now(), "
	    "seq = seq + 1 WHERE id = 1");
	if (PQresultStatus(r) == PGRES_COMMAND_OK) {
		rp->heartbeats++;
		status_counter_set(rp->ctx->slot, RC_HEARTBEATS, rp->heartbeats);
	}
	PQclear(r);
	rp_check_conn(&rp->pub);
}

static void
rp_lag(struct rp *rp)
{
	struct record rec;
	PGresult *r;
	char err[256];

	if (rp->pub.conn == NULL || PQstatus(rp->pub.conn) != CONNECTION_OK)
		return;
	if (rp_exec(rp->pub.conn, "SELECT slot_name, pg_wal_lsn_diff("
	    "pg_current_wal_lsn(), confirmed_flush_lsn)::bigint FROM "
	    "pg_replication_slots WHERE slot_type = 'logical' AND "
	    "confirmed_flush_lsn IS NOT NULL", 0, NULL, &r, err,
	    sizeof(err)) == -1) {
		rp_check_conn(&rp->pub);
		return;
	}
	for (int i = 0; i < PQntuples(r); i++) {
		for (int j = 0; j < rp->nsubs; j++) {
			struct rp_node *s = &rp->subs[j];
			if (strcmp(PQgetvalue(r, i, 0), s->subname) != 0)
				continue;
			memset(&rec, 0, sizeof(rec));
			rec.kind = REC_REPLICATION;
			snprintf(rec.u.replication.node,
			    sizeof(rec.u.replication.node), "%s",
			    s->node->name);
			snprintf(rec.u.replication.subscription,
			    sizeof(rec.u.replication.subscription), "%s",
			    s->subname);
			rec.u.replication.lag_bytes =
			    strtoll(PQgetvalue(r, i, 1), NULL, 10);
			/* the sampler measures apply lag on the subscriber */
			rec.u.replication.apply_lag_ms = NAN;
			worker_emit(rp->ctx, &rec);
		}
	}
	PQclear(r);
}

/* issue 16: subscription health, once a second (subhealth.h) */
_Static_assert(SLOT_SUBS >= CFG_MAX_NODES - 1, "a slot_sub per subscriber");

static void
rp_health(struct rp *rp)
{
	const char *subs[CFG_MAX_NODES];
	union slot_extra x;

	/* what top shows: unknown (-1) until a read says otherwise */
	memset(&x, 0, sizeof(x));
	for (int i = 0; i < rp->nsubs && i < SLOT_SUBS; i++) {
		struct slot_sub *o = &x.subs[i];
		snprintf(o->node, sizeof(o->node), "%s", rp->subs[i].node->name);
		o->apply_errors = o->sync_errors = -1;
		o->received_lsn = o->reported_lsn = o->retained_bytes = -1;
		o->tables_not_ready = -1;
	}
	for (int i = 0; i < rp->nsubs && !worker_stop; i++) {
		struct rp_node *s = &rp->subs[i];
		subs[i] = s->subname;
		if (s->conn != NULL && PQstatus(s->conn) == CONNECTION_OK &&
		    subhealth_subscriber(rp->ctx, s->conn, s->node->name,
		    s->subname, i < SLOT_SUBS ? &x.subs[i] : NULL) == -1)
			rp_check_conn(s);
	}
	if (rp->pub.conn != NULL && PQstatus(rp->pub.conn) == CONNECTION_OK &&
	    subhealth_publisher(rp->ctx, rp->pub.conn, rp->pub.node->name,
	    subs, rp->nsubs < SLOT_SUBS ? rp->nsubs : SLOT_SUBS, x.subs) == -1)
		rp_check_conn(&rp->pub);
	status_extra_set(rp->ctx->slot, &x, NULL, 0, 0);
}

static void
rp_emit_self(struct rp *rp, int ready)
{
	struct record r;

	worker_labsup_init(rp->ctx, &r);
	r.u.labsup.value = ready;
	worker_emit(rp->ctx, &r);
}

/* ---- main ----------------------------------------------------------- */

/* One reconcile pass; returns how many subscriptions are ready. */
static int
rp_pass(struct rp *rp)
{
	int ready = 0;
	struct rp_node *wait = NULL;

	rp_publisher(rp);
	if (!rp->pub_ready) {
		status_set(rp->ctx->slot, WS_STARTING, "%s", rp->pub_detail);
		return 0;
	}
	for (int i = 0; i < rp->nsubs && !worker_stop; i++) {
		rp_subscriber(rp, &rp->subs[i]);
		if (rp->subs[i].ready)
			ready++;
		else if (wait == NULL)
			wait = &rp->subs[i];
	}
	status_counter_set(rp->ctx->slot, RC_SUBS_READY, ready);
	if (wait != NULL)
		status_set(rp->ctx->slot, WS_STARTING, "%s", wait->detail);
	else
		status_set(rp->ctx->slot, WS_RUNNING, "%d subscriptions ready",
		    ready);
	return ready;
}

int
replication_main(struct worker_ctx *ctx)
{
	const struct config *cfg = ctx->cfg;
	const struct node_cfg *pub = config_publisher(cfg);
	struct rp rp;
	int64_t next_pass = 0, next_hb = 0, next_lag = 0, now;
	int ready = 0;

	memset(&rp, 0, sizeof(rp));
	rp.ctx = ctx;
	rp.cfg = cfg;
	/* issue 15: the tables of [replication] schema = FILE */
	{
		char err[512];
		if (schema_load(cfg, err, sizeof(err)) == -1) {
			log_warnx("%s", err);
			status_set(ctx->slot, WS_FAILED, "%s", err);
			return EXIT_NORESPAWN;
		}
	}
	if (pub == NULL) {
		status_set(ctx->slot, WS_FAILED, "no publisher node in the "
		    "config (add a [node NAME] with role = publisher)");
		return EXIT_NORESPAWN;
	}
	rp.pub.node = pub;
	for (int i = 0; i < cfg->nnodes; i++) {
		if (cfg->nodes[i].role != NODE_SUBSCRIBER)
			continue;
		struct rp_node *s = &rp.subs[rp.nsubs++];
		s->node = &cfg->nodes[i];
		schema_subname(s->node, s->subname, sizeof(s->subname));
		schema_pubname(cfg, s->node, s->pubname, sizeof(s->pubname));
	}
	status_set(ctx->slot, WS_STARTING, "waiting for the container worker");
	while (!worker_stop && (rp.be = worker_backend(ctx->seg)) == NULL) {
		status_heartbeat(ctx->slot);
		worker_sleep_ms(100);
	}
	if (rp.be != NULL && rp.be->peer_addr == NULL) {
		status_set(ctx->slot, WS_FAILED, "backend %s cannot give the "
		    "publisher's address in this build", rp.be->name);
		return EXIT_NORESPAWN;
	}

	while (!worker_stop) {
		now = mono_ns();
		status_heartbeat(ctx->slot);
		if (now >= next_pass) {
			ready = rp_pass(&rp);
			next_pass = mono_ns() + (int64_t)(ready == rp.nsubs &&
			    rp.pub_ready ? RP_CHECK_MS : RP_CHECK_FAST_MS) *
			    1000000;
		}
		if (rp.pub_ready && now >= next_hb) {
			rp_heartbeat(&rp);
			next_hb = now + (int64_t)cfg->replication.heartbeat_ms *
			    1000000;
		}
		if (now >= next_lag) {
			rp_lag(&rp);
			rp_health(&rp);
			rp_emit_self(&rp, ready);
			next_lag = now + (int64_t)RP_LAG_MS * 1000000;
		}
		int64_t wake = next_pass;
		if (rp.pub_ready && next_hb < wake)
			wake = next_hb;
		if (next_lag < wake)
			wake = next_lag;
		int ms = (int)((wake - mono_ns()) / 1000000);
		worker_sleep_ms(ms < 1 ? 1 : ms > 100 ? 100 : ms);
	}
	PQfinish(rp.pub.conn);
	for (int i = 0; i < rp.nsubs; i++)
		PQfinish(rp.subs[i].conn);
	return 0;
}
