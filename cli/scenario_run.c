/*
 * scenario_run.c: run a parsed scenario against the running lab, then
 * measure its expectations.  Steps run one after another in this process:
 * SQL in named sessions (libpq, kept open across steps), nodes through the
 * backend layer, pause/resume/reload/check through this same binary (so
 * they behave exactly as the commands do).  Each step's start and end go
 * straight to InfluxDB's `events` (one HTTP write each, not through the
 * ring: the CLI has no lane, and the lab's own samples keep their lanes
 * and sequence numbers untouched).  Whatever a run changed (a held node,
 * a paused subscription, a link's settings, the overlay) it undoes at the
 * end, failed or not.
 */
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../backend/backend.h"
#include "../lib/link.h"
#include "../workers/influx.h"
#include "../workers/lineproto.h"
#include "cli.h"
#include "scenario.h"

#define SCN_MAX_SESSIONS 16
#define SCN_SQL_LIMIT_MS 60000	/* a statement that is not async */
#define SCN_START_LIMIT_MS 120000	/* a node started again */

struct scn_session {
	char name[SCN_NAME];
	const struct node_cfg *node;
	PGconn *conn;
	int pending;		/* the step whose statement runs, or -1 */
};

struct scn_ctx {
	const struct scenario *scn;
	struct scn_result *res;
	struct config *cfg;	/* reloaded when the overlay changes */
	const struct backend_ops *be;
	struct scn_session sess[SCN_MAX_SESSIONS];
	int nsess;
	struct influx ix;
	bool ix_ok, ix_warned, quiet;
	/* the overlay: hum settings and added subscribers */
	char hum[SCN_MAX_LINE];
	char added[CFG_MAX_NODES][CFG_NAME];
	int added_port[CFG_MAX_NODES];
	int nadded;
	bool overlay;
	struct node_cfg gone;	/* a session's node the overlay removed */
	/* what to undo at the end */
	bool held[CFG_MAX_NODES * 2];
	char held_name[CFG_MAX_NODES * 2][CFG_NAME];
	bool paused[CFG_MAX_NODES * 2];
	char paused_name[CFG_MAX_NODES * 2][CFG_NAME];
	bool linked[CFG_MAX_NODES * 2];
	char linked_name[CFG_MAX_NODES * 2][CFG_NAME];
};

static volatile sig_atomic_t scn_stop;

static void
scn_on_signal(int sig)
{
	(void)sig;
	scn_stop = 1;
}

/* Sleep ms, in short naps so ^C is seen; false when interrupted. */
static bool
scn_nap(int64_t ms)
{
	int64_t end = mono_ns() + ms * 1000000;

	while (!scn_stop) {
		int64_t left = (end - mono_ns()) / 1000000;
		if (left <= 0)
			return true;
		struct timespec ts = { 0, (left > 100 ? 100 : left) * 1000000 };
		nanosleep(&ts, NULL);
	}
	return false;
}

static void
scn_detail(struct scn_step_result *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
scn_detail(struct scn_step_result *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->detail, sizeof(r->detail), fmt, ap);
	va_end(ap);
	r->detail[strcspn(r->detail, "\n")] = '\0';
}

/*
 * This binary with args (and -c the lab's file): its exit status, the
 * last line it printed in out.
 */
static int
scn_self(const struct scn_ctx *x, char *out, size_t outlen, const char *a1,
    const char *a2, const char *a3, const char *a4)
{
	char buf[4096];
	const char *argv[10];
	int fd[2], n = 0, st;
	size_t len = 0;
	ssize_t got;
	pid_t pid;

	out[0] = '\0';
	if (pipe(fd) == -1) {
		snprintf(out, outlen, "cannot run labsup: %s", strerror(errno));
		return -1;
	}
	argv[n++] = "labsup";
	argv[n++] = a1;
	if (x->cfg->path[0] != '\0') {
		argv[n++] = "-c";
		argv[n++] = x->cfg->path;
	}
	if (a2)
		argv[n++] = a2;
	if (a3)
		argv[n++] = a3;
	if (a4)
		argv[n++] = a4;
	argv[n] = NULL;
	fflush(stdout);
	fflush(stderr);
	if ((pid = fork()) == -1) {
		snprintf(out, outlen, "fork: %s", strerror(errno));
		close(fd[0]);
		close(fd[1]);
		return -1;
	}
	if (pid == 0) {
		dup2(fd[1], 1);
		dup2(fd[1], 2);
		close(fd[0]);
		close(fd[1]);
		/* this very binary, even if a rebuild replaced the file */
		execv("/proc/self/exe", (char *const *)argv);
		dprintf(2, "labsup: cannot run /proc/self/exe: %s\n",
		    strerror(errno));
		_exit(127);
	}
	close(fd[1]);
	while ((got = read(fd[0], buf + len, sizeof(buf) - 1 - len)) != 0) {
		if (got < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		len += (size_t)got;
		if (len >= sizeof(buf) - 1) {
			/* keep the end: the verdict is the last line */
			memmove(buf, buf + len / 2, len - len / 2);
			len -= len / 2;
		}
	}
	close(fd[0]);
	buf[len] = '\0';
	while (len > 0 && buf[len - 1] == '\n')
		buf[--len] = '\0';
	char *last = strrchr(buf, '\n');
	snprintf(out, outlen, "%s", last ? last + 1 : buf);
	while (waitpid(pid, &st, 0) == -1 && errno == EINTR)
		;
	n = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	if (out[0] == '\0' && n != 0)
		snprintf(out, outlen, "labsup %s exited %d", a1, n);
	return n;
}

/* One point in `events`: "SCENARIO: STEP started|ended ...". */
static void
scn_event(struct scn_ctx *x, int64_t ts, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
scn_event(struct scn_ctx *x, int64_t ts, const char *fmt, ...)
{
	char text[400], line[1000];
	size_t n;
	va_list ap;

	if (!x->ix_ok)
		return;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	n = (size_t)snprintf(line, sizeof(line), "events,kind=scenario "
	    "text=\"");
	n += lp_escape(line + n, text, strlen(text), LP_STRING);
	snprintf(line + n, sizeof(line) - n, "\" %" PRId64 "\n", ts);
	if (influx_write(&x->ix, line, strlen(line), false, 5000) != INFLUX_OK &&
	    !x->ix_warned) {
		x->ix_warned = true;
		fprintf(stderr, "labsup: scenario: cannot write the steps to "
		    "InfluxDB's events: %s (the run goes on)\n", x->ix.message);
	}
}

static struct scn_session *
scn_session(struct scn_ctx *x, const char *name)
{
	for (int i = 0; i < x->nsess; i++)
		if (!strcmp(x->sess[i].name, name))
			return &x->sess[i];
	return NULL;
}

/*
 * Collect the session's statement: wait (up to limit_ms) and read every
 * result.  0 when it succeeded, 1 when it failed (message in why), -1 when
 * it did not finish in time (then cancelled).
 */
static int
scn_collect(struct scn_session *s, int64_t limit_ms, char *why, size_t len)
{
	int64_t end = mono_ns() + limit_ms * 1000000;
	PGresult *r;
	int rc = 0;

	why[0] = '\0';
	while (PQisBusy(s->conn)) {
		struct pollfd pfd = { PQsocket(s->conn), POLLIN, 0 };
		if (scn_stop || mono_ns() > end) {
			PGcancel *c = PQgetCancel(s->conn);
			char e[256];
			if (c != NULL) {
				PQcancel(c, e, sizeof(e));
				PQfreeCancel(c);
			}
			snprintf(why, len, "%s", scn_stop ? "interrupted" :
			    "did not finish in time (cancelled)");
			rc = -1;
			break;
		}
		if (poll(&pfd, 1, 100) > 0 && !PQconsumeInput(s->conn)) {
			snprintf(why, len, "%s", PQerrorMessage(s->conn));
			rc = 1;
			break;
		}
	}
	while ((r = PQgetResult(s->conn)) != NULL) {
		ExecStatusType t = PQresultStatus(r);
		if ((t == PGRES_FATAL_ERROR || t == PGRES_BAD_RESPONSE) &&
		    rc == 0) {
			snprintf(why, len, "%s", PQresultErrorMessage(r));
			rc = 1;
		}
		PQclear(r);
	}
	why[strcspn(why, "\n")] = '\0';
	s->pending = -1;
	return rc;
}

/* A collected statement into its step's result (fail-ok counts errors). */
static int
scn_settle(struct scn_ctx *x, struct scn_session *s, bool fail_ok,
    struct scn_step_result *r, int64_t limit_ms)
{
	char why[256];
	int rc = scn_collect(s, limit_ms, why, sizeof(why));

	if (rc == 0)
		return 0;
	if (rc == 1 && fail_ok) {
		x->res->session_errors++;
		scn_detail(r, "failed as allowed: %s", why);
		return 0;
	}
	scn_detail(r, "session %s on %s: %s", s->name, s->node->name, why);
	return -1;
}

static int
run_sql(struct scn_ctx *x, int i, struct scn_step_result *r)
{
	const struct scn_step *st = &x->scn->steps[i];
	struct scn_session *s = scn_session(x, st->session);
	char err[512];

	if (s == NULL) {
		if (x->nsess >= SCN_MAX_SESSIONS) {
			scn_detail(r, "more than %d sessions", SCN_MAX_SESSIONS);
			return -1;
		}
		s = &x->sess[x->nsess];
		memset(s, 0, sizeof(*s));
		snprintf(s->name, sizeof(s->name), "%s", st->session);
		s->node = config_node(x->cfg, st->node);
		s->pending = -1;
		if (s->node == NULL) {
			scn_detail(r, "the lab has no node %s", st->node);
			return -1;
		}
		s->conn = lab_connect(x->cfg, s->node, "labsup scenario", err,
		    sizeof(err));
		if (s->conn == NULL) {
			scn_detail(r, "cannot connect to %s: %s", st->node, err);
			return -1;
		}
		x->nsess++;
	}
	if (s->pending >= 0 && scn_settle(x, s, x->scn->steps[s->pending].
	    fail_ok, r, SCN_SQL_LIMIT_MS) == -1)
		return -1;
	if (!PQsendQuery(s->conn, st->text)) {
		scn_detail(r, "session %s: %s", s->name, PQerrorMessage(s->conn));
		return -1;
	}
	s->pending = i;
	if (st->async) {
		scn_detail(r, "sent (async)");
		return 0;
	}
	return scn_settle(x, s, st->fail_ok, r, SCN_SQL_LIMIT_MS);
}

static int
run_await(struct scn_ctx *x, int i, struct scn_step_result *r)
{
	const struct scn_step *st = &x->scn->steps[i];
	struct scn_session *s = scn_session(x, st->session);

	if (s == NULL || s->pending < 0) {
		scn_detail(r, "nothing runs in session %s", st->session);
		return 0;
	}
	return scn_settle(x, s, st->fail_ok ||
	    x->scn->steps[s->pending].fail_ok, r, SCN_SQL_LIMIT_MS);
}

/* The lab's config again (the overlay changed it). */
static int
scn_reconfig(struct scn_ctx *x, char *err, size_t errlen)
{
	struct config *c = malloc(sizeof(*c));

	if (c == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (config_load(c, x->cfg->path[0] ? x->cfg->path : NULL, err,
	    errlen) == -1) {
		free(c);
		return -1;
	}
	/* sessions point into the old config's nodes */
	for (int i = 0; i < x->nsess; i++) {
		const struct node_cfg *n = config_node(c,
		    x->sess[i].node->name);
		if (n == NULL) {
			/* removed: keep a copy for the messages */
			x->gone = *x->sess[i].node;
			n = &x->gone;
		}
		x->sess[i].node = n;
	}
	free(x->cfg);
	x->cfg = c;
	return 0;
}

/* Write (or remove, when empty) the overlay, then reload the lab. */
static int
scn_overlay_apply(struct scn_ctx *x, struct scn_step_result *r)
{
	char path[CFG_PATH + 32], body[4096], out[512], err[600];
	size_t n = 0;

	if (lab_path(x->cfg, LAB_OVERLAY, path, sizeof(path)) == -1) {
		scn_detail(r, "the state directory's path is too long");
		return -1;
	}
	n += (size_t)snprintf(body + n, sizeof(body) - n, "# written by "
	    "`labsup scenario run %s`; removed when it ends\n", x->scn->name);
	if (x->hum[0] != '\0') {
		char tmp[SCN_MAX_LINE], *save, *kv;
		snprintf(tmp, sizeof(tmp), "%s", x->hum);
		n += (size_t)snprintf(body + n, sizeof(body) - n, "[hum]\n");
		for (kv = strtok_r(tmp, " ", &save); kv;
		    kv = strtok_r(NULL, " ", &save)) {
			char *eq = strchr(kv, '=');
			*eq = '\0';
			n += (size_t)snprintf(body + n, sizeof(body) - n,
			    "%s = %s\n", kv, eq + 1);
		}
	}
	for (int i = 0; i < x->nadded && n < sizeof(body); i++)
		n += (size_t)snprintf(body + n, sizeof(body) - n, "[node %s]\n"
		    "role = subscriber\nport = %d\n", x->added[i],
		    x->added_port[i]);
	if (n >= sizeof(body)) {
		scn_detail(r, "the overlay is too long");
		return -1;
	}
	if (x->hum[0] == '\0' && x->nadded == 0) {
		if (unlink(path) == -1 && errno != ENOENT) {
			scn_detail(r, "cannot remove %s: %s", path,
			    strerror(errno));
			return -1;
		}
		x->overlay = false;
	} else {
		if (file_write_atomic(path, body, n, 0644, (uid_t)-1,
		    (gid_t)-1) == -1) {
			scn_detail(r, "cannot write %s: %s", path,
			    strerror(errno));
			return -1;
		}
		x->overlay = true;
	}
	if (scn_self(x, out, sizeof(out), "reload", NULL, NULL, NULL) != 0) {
		scn_detail(r, "reload: %s", out);
		return -1;
	}
	if (scn_reconfig(x, err, sizeof(err)) == -1) {
		scn_detail(r, "%s", err);
		return -1;
	}
	scn_detail(r, "%s", out);
	return 0;
}

/* key=value pairs: later ones replace earlier ones of the same key */
static void
scn_hum_merge(char *cur, size_t len, const char *more)
{
	char out[SCN_MAX_LINE] = "", tmp[SCN_MAX_LINE], *save, *kv;
	size_t n = 0;

	snprintf(tmp, sizeof(tmp), "%s", cur);
	for (kv = strtok_r(tmp, " ", &save); kv; kv = strtok_r(NULL, " ",
	    &save)) {
		size_t k = strcspn(kv, "=") + 1;
		char pat[80];
		snprintf(pat, sizeof(pat), " %.*s", (int)k, kv);
		char spaced[SCN_MAX_LINE + 2];
		snprintf(spaced, sizeof(spaced), " %s", more);
		if (strstr(spaced, pat) != NULL)
			continue;
		n += (size_t)snprintf(out + n, sizeof(out) - n, "%s%s",
		    n ? " " : "", kv);
	}
	snprintf(out + n, sizeof(out) - n, "%s%s", n ? " " : "", more);
	snprintf(cur, len, "%s", out);
}

static int
run_hum(struct scn_ctx *x, int i, struct scn_step_result *r)
{
	const struct scn_step *st = &x->scn->steps[i];

	if (!strcmp(st->text, "reset"))
		x->hum[0] = '\0';
	else
		scn_hum_merge(x->hum, sizeof(x->hum), st->text);
	return scn_overlay_apply(x, r);
}

static const struct service_def *
scn_service(struct scn_ctx *x, const char *node, struct service_def *defs,
    int *n)
{
	*n = backend_services(x->cfg, defs, CFG_MAX_NODES + 2);
	for (int i = 0; i < *n; i++)
		if (!strcmp(defs[i].name, node) && defs[i].node != NULL)
			return &defs[i];
	return NULL;
}

static bool
scn_mark(char names[][CFG_NAME], bool *on, const char *node, bool set)
{
	int free_i = -1;

	for (int i = 0; i < CFG_MAX_NODES * 2; i++) {
		if (on[i] && !strcmp(names[i], node)) {
			on[i] = set;
			return true;
		}
		if (!on[i] && free_i < 0)
			free_i = i;
	}
	if (set && free_i >= 0) {
		on[free_i] = true;
		snprintf(names[free_i], CFG_NAME, "%s", node);
	}
	return false;
}

static int
run_stop(struct scn_ctx *x, int i, struct scn_step_result *r)
{
	const struct scn_step *st = &x->scn->steps[i];
	struct service_def defs[CFG_MAX_NODES + 2];
	const struct service_def *d;
	char path[CFG_PATH + 32], err[256] = "";
	int n;

	if ((d = scn_service(x, st->node, defs, &n)) == NULL ||
	    x->be->stop == NULL) {
		scn_detail(r, "the lab has no node %s to stop", st->node);
		return -1;
	}
	/* the mark first, or the container worker starts it again */
	if (lab_node_held_path(x->cfg, st->node, path, sizeof(path)) == -1 ||
	    file_write_atomic(path, "held\n", 5, 0644, (uid_t)-1,
	    (gid_t)-1) == -1) {
		scn_detail(r, "cannot write %s: %s", path, strerror(errno));
		return -1;
	}
	scn_mark(x->held_name, x->held, st->node, true);
	if (x->be->stop(x->cfg, d, false, err, sizeof(err)) == -1) {
		scn_detail(r, "stop %s: %s", st->node, err);
		return -1;
	}
	scn_detail(r, "%s stopped (held down until start)", st->node);
	return 0;
}

static int
run_kill(struct scn_ctx *x, int i, struct scn_step_result *r)
{
	const struct scn_step *st = &x->scn->steps[i];
	struct service_def defs[CFG_MAX_NODES + 2];
	const struct service_def *d;
	struct service_obs obs;
	int n;

	memset(&obs, 0, sizeof(obs));
	if ((d = scn_service(x, st->node, defs, &n)) == NULL ||
	    x->be->stats == NULL || x->be->stats(x->cfg, d, &obs) == -1 ||
	    obs.pid <= 0) {
		scn_detail(r, "%s: no running server to kill", st->node);
		return lab_node_held(x->cfg, st->node) ? 0 : -1;
	}
	if (kill((pid_t)obs.pid, SIGKILL) == -1) {
		scn_detail(r, "kill -9 %d (%s): %s", (int)obs.pid, st->node,
		    strerror(errno));
		return -1;
	}
	scn_detail(r, "kill -9 %d (%s's server)", (int)obs.pid, st->node);
	return 0;
}

/* Until the node takes connections (limit_ms): 0, or -1 with why. */
static int
scn_ready(struct scn_ctx *x, const char *node, int64_t limit_ms, char *why,
    size_t len)
{
	int64_t end = mono_ns() + limit_ms * 1000000;
	const struct node_cfg *n;

	for (;;) {
		char err[512] = "no such node";
		PGconn *c = NULL;

		if ((n = config_node(x->cfg, node)) != NULL)
			c = lab_connect(x->cfg, n, "labsup scenario", err,
			    sizeof(err));
		if (c != NULL) {
			PQfinish(c);
			return 0;
		}
		if (mono_ns() > end || !scn_nap(200)) {
			snprintf(why, len, "%s is not up: %s", node, err);
			why[strcspn(why, "\n")] = '\0';
			return -1;
		}
	}
}

static int
run_start(struct scn_ctx *x, int i, struct scn_step_result *r)
{
	const struct scn_step *st = &x->scn->steps[i];
	char path[CFG_PATH + 32], why[600];
	int64_t t0 = mono_ns();

	/* the container worker brings it back once the mark is gone */
	if (lab_node_held_path(x->cfg, st->node, path, sizeof(path)) == 0 &&
	    unlink(path) == -1 && errno != ENOENT) {
		scn_detail(r, "cannot remove %s: %s", path, strerror(errno));
		return -1;
	}
	scn_mark(x->held_name, x->held, st->node, false);
	if (scn_ready(x, st->node, SCN_START_LIMIT_MS, why, sizeof(why)) ==
	    -1) {
		scn_detail(r, "%s", why);
		return -1;
	}
	scn_detail(r, "%s up again after %.1f s", st->node,
	    (double)(mono_ns() - t0) / 1e9);
	return 0;
}

static int
run_sub(struct scn_ctx *x, int i, struct scn_step_result *r)
{
	const struct scn_step *st = &x->scn->steps[i];
	bool pause = st->kind == SK_PAUSE;
	char out[512];

	if (scn_self(x, out, sizeof(out), "sub", pause ? "pause" : "resume",
	    st->node, NULL) != 0) {
		scn_detail(r, "%s", out);
		return -1;
	}
	scn_mark(x->paused_name, x->paused, st->node, pause);
	scn_detail(r, "%s", out);
	return 0;
}

/* The first column of the query's first row is true (t, or non-zero). */
static bool
scn_sql_true(struct scn_ctx *x, const char *node, const char *sql, char *why,
    size_t len)
{
	const struct node_cfg *n = config_node(x->cfg, node);
	char err[512];
	PGconn *c;
	PGresult *res;
	bool ok = false;

	if (n == NULL || (c = lab_connect(x->cfg, n, "labsup scenario", err,
	    sizeof(err))) == NULL) {
		snprintf(why, len, "%s: %s", node, n ? err : "no such node");
		return false;
	}
	res = PQexec(c, sql);
	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) > 0 &&
	    !PQgetisnull(res, 0, 0)) {
		const char *v = PQgetvalue(res, 0, 0);
		ok = !strcmp(v, "t") || (strtod(v, NULL) != 0);
		snprintf(why, len, "last answer: %s", v);
	} else
		snprintf(why, len, "%s", PQresultStatus(res) ==
		    PGRES_TUPLES_OK ? "no rows" : PQresultErrorMessage(res));
	why[strcspn(why, "\n")] = '\0';
	PQclear(res);
	PQfinish(c);
	return ok;
}

static int
run_wait(struct scn_ctx *x, int i, struct scn_step_result *r)
{
	const struct scn_step *st = &x->scn->steps[i];
	int64_t t0 = mono_ns(), end = t0 + st->ms * 1000000;
	char why[600] = "", secs[16];

	if (st->wait == SW_READY) {
		if (scn_ready(x, st->node, st->ms, why, sizeof(why)) == -1) {
			scn_detail(r, "%s", why);
			return -1;
		}
	} else if (st->wait == SW_CHECK) {
		snprintf(secs, sizeof(secs), "%" PRId64,
		    st->ms / 1000 > 0 ? st->ms / 1000 : 1);
		if (scn_self(x, why, sizeof(why), "check", "--timeout", secs,
		    NULL) != 0) {
			scn_detail(r, "check: %s", why);
			return -1;
		}
	} else {
		while (!scn_sql_true(x, st->node, st->text, why, sizeof(why))) {
			if (mono_ns() > end || !scn_nap(200)) {
				scn_detail(r, "not true within the limit (%s)",
				    why);
				return -1;
			}
		}
	}
	scn_detail(r, "held after %.1f s", (double)(mono_ns() - t0) / 1e9);
	return 0;
}

/* A TCP port nothing listens on, for an added subscriber. */
static int
scn_free_port(void)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

	if (fd == -1)
		return -1;
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &len) == 0)
		port = ntohs(a.sin_port);
	close(fd);
	return port;
}

static int
run_subscriber(struct scn_ctx *x, int i, struct scn_step_result *r)
{
	const struct scn_step *st = &x->scn->steps[i];

	if (st->kind == SK_SUB_ADD) {
		int port = scn_free_port();
		if (port <= 0 || x->nadded >= CFG_MAX_NODES) {
			scn_detail(r, "no free port for %s", st->node);
			return -1;
		}
		snprintf(x->added[x->nadded], CFG_NAME, "%s", st->node);
		x->added_port[x->nadded++] = port;
	} else {
		bool found = false;
		for (int j = 0; j < x->nadded; j++) {
			if (strcmp(x->added[j], st->node) != 0)
				continue;
			found = true;
			memmove(&x->added[j], &x->added[j + 1],
			    sizeof(x->added[0]) * (size_t)(x->nadded - j - 1));
			memmove(&x->added_port[j], &x->added_port[j + 1],
			    sizeof(int) * (size_t)(x->nadded - j - 1));
			x->nadded--;
			break;
		}
		if (!found) {
			scn_detail(r, "%s was not added by this scenario",
			    st->node);
			return -1;
		}
	}
	return scn_overlay_apply(x, r);
}

static int
run_sleep(struct scn_ctx *x, int i, struct scn_step_result *r)
{
	if (!scn_nap(x->scn->steps[i].ms)) {
		scn_detail(r, "interrupted");
		return -1;
	}
	return 0;
}

static int
run_random(struct scn_ctx *x, int i, struct scn_step_result *r)
{
	(void)x;
	(void)i;
	scn_detail(r, "internal: random steps are drawn before the run");
	return -1;
}

/*
 * link NODE WORDS...: as `labsup link` does it, the words over what is in
 * force (clear: over the config's), written with link_apply; the link
 * worker takes it within about 100 ms.  The run clears it at the end.
 */
static int
run_link(struct scn_ctx *x, int i, struct scn_step_result *r)
{
	const struct scn_step *st = &x->scn->steps[i];
	char words[SCN_MAX_LINE], *argv[SCN_LINK_WORDS], err[300], text[160];
	struct link_settings s;
	int64_t until;
	bool clear;
	int argc;

	snprintf(words, sizeof(words), "%s", st->text);
	argc = scn_link_words(words, argv);
	memset(&s, 0, sizeof(s));
	if (argc <= 0 || link_settings_parse(argc, argv, &s, &clear, err,
	    sizeof(err)) == -1) {
		scn_detail(r, "link %s: %s", st->node, argc <= 0 ? "no words" :
		    err);
		return -1;
	}
	if (clear)
		s = *config_link(x->cfg, st->node);
	else
		link_effective(x->cfg, st->node, &s, &until);
	s.for_s = 0;
	link_settings_parse(argc, argv, &s, &clear, err, sizeof(err));
	link_settings_text(&s, text, sizeof(text));
	if (clear && argc == 1) {
		if (link_clear(x->cfg, st->node, err, sizeof(err)) == -1) {
			scn_detail(r, "link %s: %s", st->node, err);
			return -1;
		}
		scn_mark(x->linked_name, x->linked, st->node, false);
		scn_detail(r, "%s's link back to the config: %s", st->node,
		    text);
		return 0;
	}
	/* the mark first: a half-written change is cleared all the same */
	scn_mark(x->linked_name, x->linked, st->node, true);
	if (link_apply(x->cfg, st->node, &s, err, sizeof(err)) == -1) {
		scn_detail(r, "link %s: %s", st->node, err);
		return -1;
	}
	if (s.for_s > 0)
		scn_detail(r, "%s's link: %s for %d s", st->node, text, s.for_s);
	else
		scn_detail(r, "%s's link: %s", st->node, text);
	return 0;
}

typedef int (*scn_runner)(struct scn_ctx *, int, struct scn_step_result *);

/* The runners, in the order of enum scn_kind (parsers: scn_kinds[]). */
static const scn_runner scn_runners[SK_MAX] = {
	[SK_SQL] = run_sql,
	[SK_AWAIT] = run_await,
	[SK_SLEEP] = run_sleep,
	[SK_HUM] = run_hum,
	[SK_STOP] = run_stop,
	[SK_KILL] = run_kill,
	[SK_START] = run_start,
	[SK_PAUSE] = run_sub,
	[SK_RESUME] = run_sub,
	[SK_WAIT] = run_wait,
	[SK_SUB_ADD] = run_subscriber,
	[SK_SUB_REMOVE] = run_subscriber,
	[SK_RANDOM] = run_random,
	[SK_LINK] = run_link,
};

static void
scn_step_name(const struct scenario *scn, int i, char *buf, size_t len)
{
	if (scn->steps[i].label[0] != '\0')
		snprintf(buf, len, "%s", scn->steps[i].label);
	else
		snprintf(buf, len, "#%d", i + 1);
}

/* Undo what the run changed, whatever happened. */
static void
scn_cleanup(struct scn_ctx *x)
{
	struct scn_step_result r;
	char path[CFG_PATH + 32], out[512];

	for (int i = 0; i < x->nsess; i++)
		PQfinish(x->sess[i].conn);	/* open transactions roll back */
	x->nsess = 0;
	for (int i = 0; i < CFG_MAX_NODES * 2; i++) {
		if (x->held[i] && lab_node_held_path(x->cfg, x->held_name[i],
		    path, sizeof(path)) == 0)
			unlink(path);
		if (x->paused[i])
			scn_self(x, out, sizeof(out), "sub", "resume",
			    x->paused_name[i], NULL);
		if (x->linked[i] && link_clear(x->cfg, x->linked_name[i], out,
		    sizeof(out)) == -1)
			fprintf(stderr, "labsup: scenario: putting %s's link "
			    "back: %s\n", x->linked_name[i], out);
		x->linked[i] = false;
	}
	if (x->overlay) {
		memset(&r, 0, sizeof(r));
		x->hum[0] = '\0';
		x->nadded = 0;
		if (scn_overlay_apply(x, &r) == -1)
			fprintf(stderr, "labsup: scenario: putting the lab's own "
			    "settings back: %s\n", r.detail);
	}
	for (int i = 0; i < CFG_MAX_NODES * 2; i++) {
		if (x->held[i]) {
			char why[600];
			if (scn_ready(x, x->held_name[i], SCN_START_LIMIT_MS,
			    why, sizeof(why)) == -1)
				fprintf(stderr, "labsup: scenario: %s\n", why);
			x->held[i] = false;
		}
	}
}

/* InfluxQL: the expectation's figure over [from, to]. */
static int
scn_query(struct scn_ctx *x, const char *q, bool *found, double *v,
    char *why, size_t len)
{
	CURL *c = x->ix.curl;
	char *e, url[2048];
	json_t *j, *val;
	json_error_t je;
	CURLcode rc;

	*found = false;
	if ((e = curl_easy_escape(c, q, 0)) == NULL) {
		snprintf(why, len, "out of memory");
		return -1;
	}
	char *db = curl_easy_escape(c, x->cfg->influx.database, 0);
	snprintf(url, sizeof(url), "%s?db=%s&epoch=ns&q=%s", x->ix.query_url,
	    db ? db : "", e);
	curl_free(db);
	curl_free(e);
	x->ix.body_len = 0;
	x->ix.body[0] = '\0';
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, x->ix.headers);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
	rc = curl_easy_perform(c);
	if (rc != CURLE_OK) {
		snprintf(why, len, "InfluxDB at %s: %s", x->cfg->influx.url,
		    curl_easy_strerror(rc));
		return -1;
	}
	if ((j = json_loads(x->ix.body, 0, &je)) == NULL) {
		snprintf(why, len, "InfluxDB's answer is not JSON: %.80s",
		    x->ix.body);
		return -1;
	}
	json_t *r0 = json_array_get(json_object_get(j, "results"), 0);
	json_t *err = json_object_get(r0 ? r0 : j, "error");
	if (err != NULL) {
		snprintf(why, len, "InfluxDB: %s", json_string_value(err));
		json_decref(j);
		return -1;
	}
	val = json_array_get(json_array_get(json_object_get(json_array_get(
	    json_object_get(r0, "series"), 0), "values"), 0), 1);
	if (json_is_number(val)) {
		*found = true;
		*v = json_number_value(val);
	}
	json_decref(j);
	return 0;
}

static int64_t
scn_window(struct scn_ctx *x, const struct scn_expect *e, int64_t *from,
    int64_t *to)
{
	const struct scn_result *res = x->res;

	*from = res->start_ns;
	*to = res->end_ns;
	if (e->window == SWIN_RUN)
		return 0;
	for (int i = 0; i < x->scn->nsteps; i++) {
		const struct scn_step_result *s = &res->steps[i];
		if (strcmp(x->scn->steps[i].label, e->step) != 0)
			continue;
		if (s->status != SR_OK && s->status != SR_FAILED)
			return -1;
		*from = e->window == SWIN_AFTER ? s->end_ns : s->start_ns;
		*to = s->end_ns + (e->window == SWIN_DURING ? 0 :
		    e->ms * 1000000);
		return 0;
	}
	return -1;
}

/*
 * The samples up to t reached InfluxDB: the writer's own once-a-second
 * point after t is there (it drains every lane before it writes it).
 */
static void
scn_delivered(struct scn_ctx *x, int64_t t)
{
	char q[256], why[256];
	int64_t end = mono_ns() + 30 * 1000000000LL;
	bool found;
	double v;

	if (!scn_nap(t / 1000000 - now_ns() / 1000000))
		return;
	snprintf(q, sizeof(q), "SELECT count(\"points_written\") FROM "
	    "\"labsup\" WHERE time > %" PRId64, t + (int64_t)1000000000);
	while (mono_ns() < end) {
		if (scn_query(x, q, &found, &v, why, sizeof(why)) == 0 &&
		    found && v > 0)
			return;
		if (!scn_nap(500))
			return;
	}
}

static int
scn_workers(struct scn_ctx *x, double *bad, char *why, size_t len)
{
	int64_t end = mono_ns() + 60 * 1000000000LL;
	struct snapshot *snap = malloc(sizeof(*snap));
	struct seg seg;

	if (snap == NULL || cli_open_seg(x->cfg, &seg, false, true) == -1) {
		free(snap);
		snprintf(why, len, "the lab's segment cannot be opened");
		return -1;
	}
	for (;;) {
		const char *first = "";
		cli_snapshot(&seg, snap);
		*bad = 0;
		/* slot 0 is the supervisor itself, as in status */
		for (uint32_t i = 1; i < snap->nslots; i++) {
			const struct snap_worker *w = &snap->workers[i];
			if (w->state == WS_EMPTY || w->state == WS_RUNNING ||
			    w->state == WS_STOPPED)
				continue;
			if (*bad == 0)
				first = w->sup.name;
			(*bad)++;
		}
		snprintf(why, len, "%s%s", *bad ? "not running: " : "", first);
		if (*bad == 0 || mono_ns() > end || !scn_nap(500))
			break;
	}
	seg_close(&seg);
	free(snap);
	return 0;
}

static void
scn_measure(struct scn_ctx *x, int i)
{
	const struct scn_expect *e = &x->scn->expects[i];
	struct scn_expect_result *r = &x->res->expects[i];
	char q[800], secs[16];
	int rc;

	r->status = SR_FAILED;
	switch (e->kind) {
	case SE_CHECK:
		snprintf(secs, sizeof(secs), "%" PRId64, e->ms / 1000 > 0 ?
		    e->ms / 1000 : 1);
		rc = scn_self(x, r->detail, sizeof(r->detail), "check",
		    "--timeout", secs, NULL);
		r->measured = true;
		r->value = rc;
		if (rc == 0)
			r->status = SR_OK;
		return;
	case SE_WORKERS:
		if (scn_workers(x, &r->value, r->detail, sizeof(r->detail)) ==
		    0) {
			r->measured = true;
			r->status = r->value == 0 ? SR_OK : SR_FAILED;
		}
		return;
	case SE_ERRORS:
		r->measured = true;
		r->value = x->res->session_errors;
		break;
	default:
		if (scn_window(x, e, &r->from_ns, &r->to_ns) == -1) {
			r->status = SR_SKIPPED;
			snprintf(r->detail, sizeof(r->detail), "step %s did not "
			    "run", e->step);
			return;
		}
		snprintf(q, sizeof(q), "SELECT %s(\"%s\") FROM \"%s\" WHERE "
		    "time >= %" PRId64 " AND time <= %" PRId64 "%s", e->func,
		    e->field, e->measurement, r->from_ns, r->to_ns, e->where);
		if (scn_query(x, q, &r->measured, &r->value, r->detail,
		    sizeof(r->detail)) == -1)
			return;
		if (!r->measured && !strcmp(e->func, "count")) {
			r->measured = true;
			r->value = 0;
		}
		if (!r->measured) {
			snprintf(r->detail, sizeof(r->detail), "no samples in "
			    "the window");
			return;
		}
	}
	if (scn_op_holds(e->op, r->value, e->value))
		r->status = SR_OK;
}

/*
 * What a run that did not finish (killed) left: held nodes and the overlay
 * would keep the lab changed for good.  Paused subscriptions stay: `sub
 * pause` by hand makes the same mark.
 */
static void
scn_leftovers(struct scn_ctx *x)
{
	char path[CFG_PATH + 300], out[512], err[600];
	struct dirent *de;
	DIR *d = opendir(x->cfg->lab.state_dir);

	while (d != NULL && (de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, "node-held.", 10) != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", x->cfg->lab.state_dir,
		    de->d_name);
		if (unlink(path) == 0)
			fprintf(stderr, "labsup: scenario: %s was still held down "
			    "by an earlier run that did not finish: released\n",
			    de->d_name + 10);
	}
	if (d != NULL)
		closedir(d);
	if (lab_path(x->cfg, LAB_OVERLAY, path, sizeof(path)) == 0 &&
	    unlink(path) == 0) {
		fprintf(stderr, "labsup: scenario: %s was left by an earlier run "
		    "that did not finish: removed\n", path);
		if (scn_self(x, out, sizeof(out), "reload", NULL, NULL, NULL) != 0)
			fprintf(stderr, "labsup: scenario: reload: %s\n", out);
		if (scn_reconfig(x, err, sizeof(err)) == -1)
			fprintf(stderr, "labsup: scenario: %s\n", err);
	}
}

/* One run at a time on a lab: 0 with the lock's fd in *fd, or -1. */
static int
scn_lock(const struct config *cfg, int *fd)
{
	char path[CFG_PATH + 32];

	if (lab_path(cfg, "scenario.lock", path, sizeof(path)) == -1 ||
	    (*fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644)) == -1) {
		fprintf(stderr, "labsup: scenario: cannot open %s: %s\n", path,
		    strerror(errno));
		return -1;
	}
	if (flock(*fd, LOCK_EX | LOCK_NB) == -1) {
		fprintf(stderr, "labsup: scenario: another scenario runs on lab "
		    "%s (%s is locked); wait for it or stop it\n",
		    cfg->lab.name, path);
		close(*fd);
		return -1;
	}
	return 0;
}

int
scn_run(const struct scenario *scn, const struct config *cfg,
    bool keep_going, bool quiet, struct scn_result *res)
{
	struct scn_ctx *x = calloc(1, sizeof(*x));
	struct sigaction sa, old_int, old_term;
	char err[600], name[SCN_NAME + 8], text[SCN_MAX_LINE + 64];
	int64_t last = 0;

	int lockfd;

	memset(res, 0, sizeof(*res));
	res->scn = scn;
	res->failed_step = res->failed_expect = -1;
	if (scn_lock(cfg, &lockfd) == -1) {
		free(x);
		return -1;
	}
	if (x == NULL || (x->cfg = malloc(sizeof(*x->cfg))) == NULL) {
		fprintf(stderr, "labsup: scenario: out of memory\n");
		free(x);
		close(lockfd);
		return -1;
	}
	memcpy(x->cfg, cfg, sizeof(*cfg));
	x->scn = scn;
	x->res = res;
	x->quiet = quiet;
	x->be = backend_recorded(cfg);
	if (influx_init(&x->ix, cfg, err, sizeof(err)) == 0)
		x->ix_ok = true;
	else
		fprintf(stderr, "labsup: scenario: InfluxDB: %s (no events, "
		    "no measured expectations)\n", err);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = scn_on_signal;
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	scn_stop = 0;
	scn_leftovers(x);

	res->start_ns = now_ns();
	scn_event(x, res->start_ns, "%s: started", scn->name);
	for (int i = 0; i < scn->nsteps; i++) {
		struct scn_step_result *r = &res->steps[i];
		if ((res->failed_step >= 0 && !keep_going &&
		    (scn->finally_at < 0 || i < scn->finally_at)) || scn_stop) {
			r->status = SR_SKIPPED;
			continue;
		}
		scn_step_name(scn, i, name, sizeof(name));
		scn_step_text(&scn->steps[i], text, sizeof(text));
		if (!quiet)
			fprintf(stderr, "labsup: scenario %s: +%.1fs %s: %s\n",
			    scn->name, (double)(now_ns() - res->start_ns) / 1e9,
			    name, text);
		r->start_ns = now_ns();
		scn_event(x, r->start_ns, "%s: %s started: %.200s", scn->name,
		    name, text);
		int rc = scn_runners[scn->steps[i].kind](x, i, r);
		r->end_ns = now_ns();
		r->status = rc == 0 ? SR_OK : SR_FAILED;
		if (rc != 0 && res->failed_step < 0)
			res->failed_step = i;
		scn_event(x, r->end_ns, "%s: %s ended (%s, %.1f s)%s%.150s",
		    scn->name, name, rc == 0 ? "ok" : "failed",
		    (double)(r->end_ns - r->start_ns) / 1e9, r->detail[0] ?
		    ": " : "", r->detail);
	}
	res->end_ns = now_ns();
	scn_cleanup(x);
	scn_event(x, now_ns(), "%s: steps done", scn->name);

	/* the windows must be over, and their samples in InfluxDB */
	for (int i = 0; i < scn->nexpect; i++) {
		int64_t from, to;
		if (scn->expects[i].kind == SE_METRIC &&
		    scn_window(x, &scn->expects[i], &from, &to) == 0 &&
		    to > last)
			last = to;
	}
	if (last > 0 && x->ix_ok)
		scn_delivered(x, last);
	for (int i = 0; i < scn->nexpect; i++) {
		if (scn_stop) {
			res->expects[i].status = SR_SKIPPED;
			snprintf(res->expects[i].detail,
			    sizeof(res->expects[i].detail), "interrupted");
		} else if (scn->expects[i].kind == SE_METRIC && !x->ix_ok) {
			res->expects[i].status = SR_FAILED;
			snprintf(res->expects[i].detail,
			    sizeof(res->expects[i].detail), "no InfluxDB");
		} else
			scn_measure(x, i);
		if (res->expects[i].status != SR_OK && res->failed_expect < 0)
			res->failed_expect = i;
	}
	res->passed = res->failed_step < 0 && res->failed_expect < 0 &&
	    !scn_stop;
	scn_event(x, now_ns(), "%s: %s", scn->name, res->passed ? "passed" :
	    "failed");
	if (x->ix_ok)
		influx_free(&x->ix);
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	free(x->cfg);
	free(x);
	close(lockfd);
	return scn_stop ? -1 : 0;
}

static const char *const scn_status_names[] = { "pending", "ok", "FAILED",
	"skipped" };

static void
scn_expect_line(const struct scn_result *res, int i, char *buf, size_t len)
{
	const struct scn_expect *e = &res->scn->expects[i];
	const struct scn_expect_result *r = &res->expects[i];
	char val[64] = "-";

	if (r->measured)
		snprintf(val, sizeof(val), "%.6g", r->value);
	if (e->kind == SE_METRIC)
		snprintf(buf, len, "%s(%s.%s) = %s%s%s", e->func,
		    e->measurement, e->field, val, r->detail[0] ? ": " : "",
		    r->detail);
	else if (e->kind == SE_ERRORS)
		snprintf(buf, len, "session_errors = %s", val);
	else
		snprintf(buf, len, "%s", r->detail[0] ? r->detail :
		    r->status == SR_OK ? "yes" : "no");
}

void
scn_report_text(const struct scn_result *res, FILE *fp)
{
	const struct scenario *scn = res->scn;
	char name[SCN_NAME + 8], text[SCN_MAX_LINE + 64], what[600];

	fprintf(fp, "scenario %s (%s)", scn->name, scn->path);
	if (res->seeded)
		fprintf(fp, " seed %" PRIu64, res->seed);
	fprintf(fp, "\n  %-8s %-8s %-8s %-8s %s\n", "STEP", "START", "TOOK",
	    "RESULT", "WHAT");
	for (int i = 0; i < scn->nsteps; i++) {
		const struct scn_step_result *r = &res->steps[i];
		scn_step_name(scn, i, name, sizeof(name));
		scn_step_text(&scn->steps[i], text, sizeof(text));
		if (r->status == SR_SKIPPED)
			fprintf(fp, "  %-8s %-8s %-8s %-8s %.60s\n", name, "-",
			    "-", "skipped", text);
		else
			fprintf(fp, "  %-8s +%-7.1f %-8.1f %-8s %.60s%s%s\n",
			    name, (double)(r->start_ns - res->start_ns) / 1e9,
			    (double)(r->end_ns - r->start_ns) / 1e9,
			    scn_status_names[r->status], text, r->detail[0] ?
			    " -> " : "", r->detail);
	}
	fprintf(fp, "  %-6s %-8s %s\n", "LINE", "RESULT", "EXPECTATION: "
	    "MEASURED");
	for (int i = 0; i < scn->nexpect; i++) {
		scn_expect_line(res, i, what, sizeof(what));
		fprintf(fp, "  %-6d %-8s %s: %s\n", scn->expects[i].line,
		    scn_status_names[res->expects[i].status],
		    scn->expects[i].text, what);
	}
	fprintf(fp, "result: %s (%d steps, %d expectations, %.1f s)\n",
	    res->passed ? "passed" : "FAILED", scn->nsteps, scn->nexpect,
	    (double)(res->end_ns - res->start_ns) / 1e9);
}

void *
scn_report_json(const struct scn_result *res)
{
	const struct scenario *scn = res->scn;
	json_t *o = json_object(), *steps = json_array(), *ex = json_array();
	char text[SCN_MAX_LINE + 64], name[SCN_NAME + 8];

	json_object_set_new(o, "scenario", json_string(scn->name));
	json_object_set_new(o, "file", json_string(scn->path));
	json_object_set_new(o, "passed", json_boolean(res->passed));
	if (res->seeded)
		json_object_set_new(o, "seed", json_integer((json_int_t)
		    res->seed));
	json_object_set_new(o, "start_ns", json_integer(res->start_ns));
	json_object_set_new(o, "end_ns", json_integer(res->end_ns));
	for (int i = 0; i < scn->nsteps; i++) {
		const struct scn_step_result *r = &res->steps[i];
		json_t *s = json_object();
		scn_step_name(scn, i, name, sizeof(name));
		scn_step_text(&scn->steps[i], text, sizeof(text));
		json_object_set_new(s, "name", json_string(name));
		json_object_set_new(s, "line", json_integer(scn->steps[i].line));
		json_object_set_new(s, "step", json_string(text));
		json_object_set_new(s, "status", json_string(
		    r->status == SR_OK ? "ok" : r->status == SR_FAILED ?
		    "failed" : "skipped"));
		json_object_set_new(s, "start_ns", json_integer(r->start_ns));
		json_object_set_new(s, "end_ns", json_integer(r->end_ns));
		json_object_set_new(s, "detail", json_string(r->detail));
		json_array_append_new(steps, s);
	}
	for (int i = 0; i < scn->nexpect; i++) {
		const struct scn_expect_result *r = &res->expects[i];
		json_t *e = json_object();
		json_object_set_new(e, "line", json_integer(scn->expects[i].line));
		json_object_set_new(e, "expect", json_string(
		    scn->expects[i].text));
		json_object_set_new(e, "status", json_string(
		    r->status == SR_OK ? "ok" : r->status == SR_FAILED ?
		    "failed" : "skipped"));
		json_object_set_new(e, "measured", r->measured ?
		    json_real(r->value) : json_null());
		if (r->to_ns > 0) {
			json_object_set_new(e, "from_ns", json_integer(
			    r->from_ns));
			json_object_set_new(e, "to_ns", json_integer(r->to_ns));
		}
		json_object_set_new(e, "detail", json_string(r->detail));
		json_array_append_new(ex, e);
	}
	json_object_set_new(o, "steps", steps);
	json_object_set_new(o, "expectations", ex);
	return o;
}
