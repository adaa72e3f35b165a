/*
 * scenario_parse.c: a scenario file (docs/labsup-scenario.5) into a
 * struct scenario.  Pure text work, no lab needed (unit-tested with good
 * and bad files); every refusal is "file:line: reason", as for the config.
 * One table of step kinds (scn_kinds[]): a new kind adds a row here and a
 * runner in scenario_run.c.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../lib/link.h"
#include "../lib/duration.h"
#include "scenario.h"

#define SCN_FIELDS	16

/* The measurements an expectation may read (README's table). */
static const struct scn_measurement {
	const char *name;
	const char *node_tag;	/* what `on NODE` matches, or NULL */
	const char *fields[SCN_FIELDS];
} scn_measurements[] = {
	{ "pg_locks", "node", { "count" } },
	{ "pg_activity", "node", { "count" } },
	{ "pg_blocking", "node", { "waiting", "pairs", "longest_wait_ms",
	    "deadlocks" } },
	{ "replication", "node", { "lag_bytes", "apply_lag_ms" } },
	{ "hum", "node", { "tx", "err_serialization", "err_deadlock",
	    "err_other", "latency_p50_ms", "latency_p99_ms", "latency_max_ms",
	    "schedule_lag_ms", "reconnects" } },
	{ "service", "service", { "cpu_pct", "mem_bytes", "net_rx_bytes",
	    "net_tx_bytes", "up" } },
	{ "labsup", "worker", { "ring_drops", "spool_bytes", "deadline_misses",
	    "restarts", "points_written", "errors", "value",
	    /* a link's (worker "link NODE", tag node=NODE) */
	    "link_bytes_down", "link_bytes_up", "link_refused",
	    "link_partitions", "link_delay_ms", "link_state",
	    "link_queued_bytes" } },
};

static const char *const scn_funcs[] = { "max", "min", "mean", "sum",
	"count", "first", "last", "spread", NULL };
static const char *const scn_ops[] = { "<", "<=", ">", ">=", "==", "!=" };

static int parse_sql(struct scn_step *, char *, char *, size_t);
static int parse_await(struct scn_step *, char *, char *, size_t);
static int parse_sleep(struct scn_step *, char *, char *, size_t);
static int parse_hum(struct scn_step *, char *, char *, size_t);
static int parse_node(struct scn_step *, char *, char *, size_t);
static int parse_wait(struct scn_step *, char *, char *, size_t);
static int parse_subscriber(struct scn_step *, char *, char *, size_t);
static int parse_random(struct scn_step *, char *, char *, size_t);
static int parse_link(struct scn_step *, char *, char *, size_t);

const struct scn_kind_def scn_kinds[SK_MAX] = {
	[SK_SQL] = { "sql", parse_sql },
	[SK_AWAIT] = { "await", parse_await },
	[SK_SLEEP] = { "sleep", parse_sleep },
	[SK_HUM] = { "hum", parse_hum },
	[SK_STOP] = { "stop", parse_node },
	[SK_KILL] = { "kill", parse_node },
	[SK_START] = { "start", parse_node },
	[SK_PAUSE] = { "pause", parse_node },
	[SK_RESUME] = { "resume", parse_node },
	[SK_WAIT] = { "wait", parse_wait },
	[SK_SUB_ADD] = { "subscriber", parse_subscriber },
	[SK_SUB_REMOVE] = { "subscriber", parse_subscriber },
	[SK_RANDOM] = { "random", parse_random },
	[SK_LINK] = { "link", parse_link },
};

static int
fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

/* The next whitespace-separated word of *s (NUL-terminated), or NULL. */
static char *
word(char **s)
{
	char *p = *s, *w;

	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '\0') {
		*s = p;
		return NULL;
	}
	w = p;
	while (*p != '\0' && *p != ' ' && *p != '\t')
		p++;
	if (*p != '\0')
		*p++ = '\0';
	*s = p;
	return w;
}

static char *
rest(char *s)
{
	size_t n;

	while (*s == ' ' || *s == '\t')
		s++;
	n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = '\0';
	return s;
}

static bool
ident(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n == 0 || n >= max || !(isalpha((unsigned char)s[0]) ||
	    s[0] == '_'))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '-')
			return false;
	return true;
}

/* A step's duration: lib/duration.h's syntax, up to SCN_MAX_MS. */
#define SCN_MAX_MS 86400000LL

int64_t
scn_duration(const char *s)
{
	int64_t ns;

	if (duration_parse(s, &ns) == -1 || ns / 1000000 > SCN_MAX_MS)
		return -1;
	return ns / 1000000;
}

static int
need_duration(const char *w, const char *what, int64_t *ms, char *err,
    size_t errlen)
{
	int64_t ns;

	if (duration_arg(what, w, 0, SCN_MAX_MS * 1000000, &ns, err,
	    errlen) == -1)
		return -1;
	*ms = ns / 1000000;
	return 0;
}

static int
need_name(const char *w, const char *what, char *dst, size_t len, char *err,
    size_t errlen)
{
	if (w == NULL || !ident(w, len))
		return fail(err, errlen, "%s: expected a name (letters, digits, "
		    "_ and -, starting with a letter), not \"%s\"", what,
		    w ? w : "");
	snprintf(dst, len, "%s", w);
	return 0;
}

static int
no_more(char *args, const char *what, char *err, size_t errlen)
{
	char *w = word(&args);

	if (w != NULL)
		return fail(err, errlen, "%s: unexpected \"%s\"", what, w);
	return 0;
}

static int
parse_sql(struct scn_step *st, char *args, char *err, size_t errlen)
{
	char *w, *sql;

	if (need_name(word(&args), "sql NODE SESSION STATEMENT: the node",
	    st->node, sizeof(st->node), err, errlen) == -1 ||
	    need_name(word(&args), "sql NODE SESSION STATEMENT: the session",
	    st->session, sizeof(st->session), err, errlen) == -1)
		return -1;
	for (;;) {
		char *save = args;
		if ((w = word(&args)) == NULL)
			break;
		if (!strcmp(w, "async"))
			st->async = true;
		else if (!strcmp(w, "fail-ok"))
			st->fail_ok = true;
		else {
			/* the statement: restore what word() cut */
			if (args != w + strlen(w))
				args[-1] = ' ';
			args = save;
			break;
		}
	}
	sql = rest(args);
	if (sql[0] == '\0')
		return fail(err, errlen, "sql %s %s: no statement", st->node,
		    st->session);
	snprintf(st->text, sizeof(st->text), "%s", sql);
	return 0;
}

static int
parse_await(struct scn_step *st, char *args, char *err, size_t errlen)
{
	char *w;

	if (need_name(word(&args), "await SESSION", st->session,
	    sizeof(st->session), err, errlen) == -1)
		return -1;
	if ((w = word(&args)) != NULL) {
		if (strcmp(w, "fail-ok") != 0)
			return fail(err, errlen, "await %s: unexpected \"%s\" "
			    "(only fail-ok may follow)", st->session, w);
		st->fail_ok = true;
	}
	return no_more(args, "await", err, errlen);
}

static int
parse_sleep(struct scn_step *st, char *args, char *err, size_t errlen)
{
	if (need_duration(word(&args), "sleep", &st->ms, err, errlen) == -1)
		return -1;
	return no_more(args, "sleep", err, errlen);
}

/* hum KEY=VALUE...: only [hum] keys, checked against the key table. */
static int
parse_hum(struct scn_step *st, char *args, char *err, size_t errlen)
{
	char *w, *eq, buf[SCN_MAX_LINE];
	size_t off = 0;

	while ((w = word(&args)) != NULL) {
		if (!strcmp(w, "reset") && off == 0 && word(&args) == NULL) {
			snprintf(st->text, sizeof(st->text), "reset");
			return 0;
		}
		if ((eq = strchr(w, '=')) == NULL || eq == w || eq[1] == '\0')
			return fail(err, errlen, "hum: expected KEY=VALUE (e.g. "
			    "rate=200) or `hum reset`, not \"%s\"", w);
		*eq = '\0';
		if (config_key("hum", w) == NULL || !strcmp(w, "script") ||
		    !strcmp(w, "node"))
			return fail(err, errlen, "hum: \"%s\" is not a key a "
			    "scenario can change (rate, clients, workload, "
			    "chaos, chaos_min, chaos_max)", w);
		off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%s%s=%s",
		    off ? " " : "", w, eq + 1);
		if (off >= sizeof(buf))
			return fail(err, errlen, "hum: too many settings");
	}
	if (off == 0)
		return fail(err, errlen, "hum: expected KEY=VALUE... or reset");
	snprintf(st->text, sizeof(st->text), "%s", buf);
	return 0;
}

static int
parse_node(struct scn_step *st, char *args, char *err, size_t errlen)
{
	const char *k = scn_kinds[st->kind].name;

	if (need_name(word(&args), k, st->node, sizeof(st->node), err,
	    errlen) == -1)
		return -1;
	return no_more(args, k, err, errlen);
}

static int
parse_wait(struct scn_step *st, char *args, char *err, size_t errlen)
{
	char *w;

	if (need_duration(word(&args), "wait DURATION until ...", &st->ms, err,
	    errlen) == -1)
		return -1;
	if ((w = word(&args)) == NULL || strcmp(w, "until") != 0)
		return fail(err, errlen, "wait: expected `until` after the limit");
	w = word(&args);
	if (w != NULL && !strcmp(w, "check")) {
		st->wait = SW_CHECK;
		return no_more(args, "wait until check", err, errlen);
	}
	if (w != NULL && !strcmp(w, "ready")) {
		st->wait = SW_READY;
		if (need_name(word(&args), "wait until ready NODE", st->node,
		    sizeof(st->node), err, errlen) == -1)
			return -1;
		return no_more(args, "wait until ready", err, errlen);
	}
	if (w == NULL || strcmp(w, "sql") != 0)
		return fail(err, errlen, "wait: expected `until sql NODE QUERY`, "
		    "`until check` or `until ready NODE`");
	st->wait = SW_SQL;
	if (need_name(word(&args), "wait until sql NODE QUERY", st->node,
	    sizeof(st->node), err, errlen) == -1)
		return -1;
	args = rest(args);
	if (args[0] == '\0')
		return fail(err, errlen, "wait until sql %s: no query", st->node);
	snprintf(st->text, sizeof(st->text), "%s", args);
	return 0;
}

static int
parse_subscriber(struct scn_step *st, char *args, char *err, size_t errlen)
{
	char *w = word(&args);

	if (w != NULL && !strcmp(w, "add"))
		st->kind = SK_SUB_ADD;
	else if (w != NULL && !strcmp(w, "remove"))
		st->kind = SK_SUB_REMOVE;
	else
		return fail(err, errlen, "subscriber: expected `subscriber add "
		    "NAME` or `subscriber remove NAME`");
	if (need_name(word(&args), "subscriber add|remove NAME", st->node,
	    sizeof(st->node), err, errlen) == -1)
		return -1;
	return no_more(args, "subscriber", err, errlen);
}

static int
parse_random(struct scn_step *st, char *args, char *err, size_t errlen)
{
	char *w = word(&args), *end;
	long n = w ? strtol(w, &end, 10) : 0;

	if (w == NULL || *end != '\0' || n < 1 || n > 20)
		return fail(err, errlen, "random: expected a count of faults, 1 "
		    "to 20 (random COUNT faults over DURATION)");
	st->count = (int)n;
	if ((w = word(&args)) == NULL || strcmp(w, "faults") != 0 ||
	    (w = word(&args)) == NULL || strcmp(w, "over") != 0)
		return fail(err, errlen, "random: expected `random %d faults "
		    "over DURATION`", st->count);
	if (need_duration(word(&args), "random ... over", &st->ms, err,
	    errlen) == -1)
		return -1;
	if (st->ms < 1000 * (int64_t)st->count)
		return fail(err, errlen, "random: %d faults need at least %ds",
		    st->count, st->count);
	return no_more(args, "random", err, errlen);
}

/*
 * link NODE WORDS...: the words of `labsup link`, checked here by the same
 * parser so a bad one is the file's line; kept as text (one space between
 * words), parsed again at run time over the settings then in force.
 */
static int
parse_link(struct scn_step *st, char *args, char *err, size_t errlen)
{
	char *argv[SCN_LINK_WORDS], why[300];
	struct link_settings s;
	size_t off = 0;
	bool clear;
	int argc;

	if (need_name(word(&args), "link NODE WORDS...: the node", st->node,
	    sizeof(st->node), err, errlen) == -1)
		return -1;
	if ((argc = scn_link_words(args, argv)) <= 0)
		return fail(err, errlen, "link %s: %s", st->node, argc < 0 ?
		    "too many words" : "what should the link do? (latency MS, "
		    "jitter MS, rate KBPS, direction both|down|up, stall, "
		    "partition, heal, clear, for SECONDS)");
	memset(&s, 0, sizeof(s));
	if (link_settings_parse(argc, argv, &s, &clear, why,
	    sizeof(why)) == -1)
		return fail(err, errlen, "link %s: %s", st->node, why);
	for (int i = 0; i < argc; i++)
		off += (size_t)snprintf(st->text + off, sizeof(st->text) - off,
		    "%s%s", i ? " " : "", argv[i]);
	return 0;
}

int
scn_link_words(char *text, char *argv[SCN_LINK_WORDS])
{
	char *w;
	int n = 0;

	while ((w = word(&text)) != NULL) {
		if (n == SCN_LINK_WORDS)
			return -1;
		argv[n++] = w;
	}
	return n;
}

static const struct scn_measurement *
measurement(const char *name)
{
	for (size_t i = 0; i < sizeof(scn_measurements) /
	    sizeof(scn_measurements[0]); i++)
		if (!strcmp(scn_measurements[i].name, name))
			return &scn_measurements[i];
	return NULL;
}

static int
parse_op(const char *w, int *op)
{
	for (int i = 0; i < 6; i++)
		if (w != NULL && !strcmp(w, scn_ops[i])) {
			*op = i;
			return 0;
		}
	return -1;
}

const char *
scn_op_name(int op)
{
	return op >= 0 && op < 6 ? scn_ops[op] : "?";
}

bool
scn_op_holds(int op, double m, double v)
{
	switch (op) {
	case SO_LT: return m < v;
	case SO_LE: return m <= v;
	case SO_GT: return m > v;
	case SO_GE: return m >= v;
	case SO_EQ: return m == v;
	default: return m != v;
	}
}

static int
parse_number(const char *w, double *v)
{
	char *end;

	if (w == NULL)
		return -1;
	errno = 0;
	*v = strtod(w, &end);
	return errno != 0 || end == w || *end != '\0' ? -1 : 0;
}

/* [FUNC(]MEASUREMENT.FIELD[)] */
static int
parse_metric(struct scn_expect *e, char *w, const struct scn_measurement **mp,
    char *err, size_t errlen)
{
	char *open = strchr(w, '('), *dot;
	const struct scn_measurement *m;

	if (open != NULL) {
		size_t n = strlen(w);
		*open = '\0';
		if (n == 0 || w[n - 1] != ')')
			return fail(err, errlen, "expect: \"%s(\" has no closing "
			    "parenthesis", w);
		w[n - 1] = '\0';
		bool known = false;
		for (int i = 0; scn_funcs[i]; i++)
			known |= !strcmp(scn_funcs[i], w);
		if (!known)
			return fail(err, errlen, "expect: unknown function "
			    "\"%s\" (max, min, mean, sum, count, first, last, "
			    "spread)", w);
		snprintf(e->func, sizeof(e->func), "%s", w);
		w = open + 1;
	}
	if ((dot = strchr(w, '.')) == NULL)
		return fail(err, errlen, "expect: expected MEASUREMENT.FIELD "
		    "(e.g. pg_blocking.waiting), `check passes`, `workers "
		    "running` or `session_errors`, not \"%s\"", w);
	*dot = '\0';
	if ((m = measurement(w)) == NULL)
		return fail(err, errlen, "expect: unknown measurement \"%s\" "
		    "(pg_locks, pg_activity, pg_blocking, replication, hum, "
		    "service, labsup)", w);
	bool known = false;
	for (int i = 0; i < SCN_FIELDS && m->fields[i]; i++)
		known |= !strcmp(m->fields[i], dot + 1);
	if (!known)
		return fail(err, errlen, "expect: %s has no field \"%s\" (see "
		    "the measurement table in README.md)", w, dot + 1);
	snprintf(e->measurement, sizeof(e->measurement), "%s", w);
	snprintf(e->field, sizeof(e->field), "%s", dot + 1);
	*mp = m;
	return 0;
}

/* where TAG=VALUE[,TAG=VALUE]: into InfluxQL conditions */
static int
parse_where(struct scn_expect *e, char *w, char *err, size_t errlen)
{
	size_t off = strlen(e->where);

	for (char *tok = strtok(w, ","); tok; tok = strtok(NULL, ",")) {
		char *eq = strchr(tok, '=');
		if (eq == NULL || eq == tok)
			return fail(err, errlen, "expect: where TAG=VALUE, not "
			    "\"%s\"", tok);
		*eq = '\0';
		if (!ident(tok, 64) || strpbrk(eq + 1, "'\\\"") != NULL)
			return fail(err, errlen, "expect: where %s: a tag name "
			    "and a plain value", tok);
		off += (size_t)snprintf(e->where + off, sizeof(e->where) - off,
		    " AND \"%s\" = '%s'", tok, eq + 1);
		if (off >= sizeof(e->where))
			return fail(err, errlen, "expect: where: too long");
	}
	return 0;
}

static int
parse_expect(struct scn_expect *e, char *args, char *err, size_t errlen)
{
	const struct scn_measurement *m = NULL;
	char *w = word(&args);

	snprintf(e->text, sizeof(e->text), "%s", "");
	if (w == NULL)
		return fail(err, errlen, "expect: what? (e.g. `expect "
		    "pg_blocking.waiting >= 3 on pub during step hold`)");
	if (!strcmp(w, "check")) {
		e->kind = SE_CHECK;
		e->ms = 60000;
		if ((w = word(&args)) == NULL || strcmp(w, "passes") != 0)
			return fail(err, errlen, "expect check: expected `check "
			    "passes [within DURATION]`");
		if ((w = word(&args)) != NULL) {
			if (strcmp(w, "within") != 0)
				return fail(err, errlen, "expect check passes: "
				    "unexpected \"%s\"", w);
			if (need_duration(word(&args), "check passes within",
			    &e->ms, err, errlen) == -1)
				return -1;
		}
		return no_more(args, "expect check passes", err, errlen);
	}
	if (!strcmp(w, "workers")) {
		e->kind = SE_WORKERS;
		if ((w = word(&args)) == NULL || strcmp(w, "running") != 0)
			return fail(err, errlen, "expect workers: expected "
			    "`workers running`");
		return no_more(args, "expect workers running", err, errlen);
	}
	if (!strcmp(w, "session_errors"))
		e->kind = SE_ERRORS;
	else {
		e->kind = SE_METRIC;
		if (parse_metric(e, w, &m, err, errlen) == -1)
			return -1;
	}
	if (parse_op(w = word(&args), &e->op) == -1)
		return fail(err, errlen, "expect: expected a comparison (<, <=, "
		    ">, >=, ==, !=), not \"%s\"", w ? w : "");
	if (parse_number(w = word(&args), &e->value) == -1)
		return fail(err, errlen, "expect: expected a number after %s, "
		    "not \"%s\"", scn_op_name(e->op), w ? w : "");
	if (e->func[0] == '\0')
		snprintf(e->func, sizeof(e->func), "%s", e->op == SO_GT ||
		    e->op == SO_GE ? "max" : e->op == SO_LT || e->op == SO_LE ?
		    "min" : "last");
	while ((w = word(&args)) != NULL) {
		if (!strcmp(w, "on") && m != NULL) {
			if (m->node_tag == NULL || e->node[0] != '\0')
				return fail(err, errlen, "expect: `on` twice, or "
				    "for a measurement without nodes");
			if (need_name(word(&args), "expect ... on NODE",
			    e->node, sizeof(e->node), err, errlen) == -1)
				return -1;
		} else if (!strcmp(w, "where") && m != NULL) {
			if ((w = word(&args)) == NULL ||
			    parse_where(e, w, err, errlen) == -1)
				return w ? -1 : fail(err, errlen, "expect: where "
				    "TAG=VALUE");
		} else if (!strcmp(w, "during") || !strcmp(w, "within")) {
			if (e->window != SWIN_RUN)
				return fail(err, errlen, "expect: two windows");
			if (!strcmp(w, "during"))
				e->window = SWIN_DURING;
			else {
				if (need_duration(word(&args), "within", &e->ms,
				    err, errlen) == -1)
					return -1;
				w = word(&args);
				if (w == NULL || (strcmp(w, "after") &&
				    strcmp(w, "of")))
					return fail(err, errlen, "expect: within "
					    "DURATION after|of step NAME");
				e->window = !strcmp(w, "after") ? SWIN_AFTER :
				    SWIN_OF;
			}
			if ((w = word(&args)) == NULL || strcmp(w, "step") != 0)
				return fail(err, errlen, "expect: expected `step "
				    "NAME` in the window");
			if (need_name(word(&args), "expect ... step", e->step,
			    sizeof(e->step), err, errlen) == -1)
				return -1;
		} else
			return fail(err, errlen, "expect: unexpected \"%s\" "
			    "(on NODE, where TAG=VALUE, during step S, within D "
			    "after|of step S)", w);
	}
	if (m != NULL && e->node[0] != '\0') {
		char cond[CFG_NAME + 64];
		snprintf(cond, sizeof(cond), " AND \"%s\" = '%s'", m->node_tag,
		    e->node);
		if (strlen(e->where) + strlen(cond) >= sizeof(e->where))
			return fail(err, errlen, "expect: where: too long");
		strcat(e->where, cond);
	}
	return 0;
}

static int
parse_step(struct scn_step *st, char *line, char *err, size_t errlen)
{
	char *w, *save = line, *colon;

	w = word(&line);
	colon = strchr(w, ':');
	if (colon != NULL && colon[1] == '\0') {
		*colon = '\0';
		if (need_name(w, "step label", st->label, sizeof(st->label),
		    err, errlen) == -1)
			return -1;
		if ((w = word(&line)) == NULL)
			return fail(err, errlen, "step %s: no step after the "
			    "label", st->label);
	}
	(void)save;
	for (int k = 0; k < SK_MAX; k++)
		if (!strcmp(scn_kinds[k].name, w)) {
			st->kind = k;
			return scn_kinds[k].parse(st, line, err, errlen);
		}
	return fail(err, errlen, "unknown step \"%s\" (sql, await, sleep, hum, "
	    "stop, kill, start, pause, resume, wait, subscriber, random, link, "
	    "expect)", w);
}

/* Label, session and step references that need the whole file. */
static int
scn_check_refs(struct scenario *scn, int *line, char *err, size_t errlen)
{
	for (int i = 0; i < scn->nsteps; i++) {
		struct scn_step *st = &scn->steps[i];
		*line = st->line;
		for (int j = 0; j < i && st->label[0]; j++)
			if (!strcmp(scn->steps[j].label, st->label))
				return fail(err, errlen, "step label \"%s\" is "
				    "used twice (line %d)", st->label,
				    scn->steps[j].line);
		if (st->kind != SK_SQL && st->kind != SK_AWAIT)
			continue;
		bool seen = false;
		for (int j = 0; j < i; j++) {
			const struct scn_step *o = &scn->steps[j];
			if (o->kind != SK_SQL || strcmp(o->session, st->session))
				continue;
			seen = true;
			if (st->kind == SK_SQL && strcmp(o->node, st->node))
				return fail(err, errlen, "session %s is on %s "
				    "(line %d), not %s: a session is on one node",
				    st->session, o->node, o->line, st->node);
		}
		if (st->kind == SK_AWAIT && !seen)
			return fail(err, errlen, "await %s: no sql step before "
			    "it uses that session", st->session);
	}
	for (int i = 0; i < scn->nexpect; i++) {
		struct scn_expect *e = &scn->expects[i];
		bool found = false;
		*line = e->line;
		if (e->window == SWIN_RUN)
			continue;
		for (int j = 0; j < scn->nsteps; j++)
			found |= !strcmp(scn->steps[j].label, e->step);
		if (!found)
			return fail(err, errlen, "expect: no step is labelled "
			    "\"%s\" (label a step with `%s: ...`)", e->step,
			    e->step);
	}
	return 0;
}

int
scn_parse(struct scenario *scn, const char *path, const char *text,
    size_t len, char *err, size_t errlen)
{
	const char *base = strrchr(path, '/');
	char line[SCN_MAX_LINE + 2], why[512];
	size_t off = 0;
	int lineno = 0;

	memset(scn, 0, sizeof(*scn));
	scn->finally_at = -1;
	snprintf(scn->path, sizeof(scn->path), "%s", path);
	snprintf(scn->name, sizeof(scn->name), "%s", base ? base + 1 : path);
	if (strlen(scn->name) > 4 &&
	    !strcmp(scn->name + strlen(scn->name) - 4, ".scn"))
		scn->name[strlen(scn->name) - 4] = '\0';
	if (memchr(text, '\0', len) != NULL)
		return fail(err, errlen, "%s:1: a NUL byte: this is not a "
		    "scenario file", path);
	while (off < len) {
		const char *nl = memchr(text + off, '\n', len - off);
		size_t n = nl ? (size_t)(nl - (text + off)) : len - off;
		char *p;

		lineno++;
		if (n > SCN_MAX_LINE)
			return fail(err, errlen, "%s:%d: line is longer than %d "
			    "characters", path, lineno, SCN_MAX_LINE);
		memcpy(line, text + off, n);
		line[n] = '\0';
		off += n + (nl != NULL);
		if (n > 0 && line[n - 1] == '\r')
			line[n - 1] = '\0';
		p = rest(line);
		if (p[0] == '#') {
			if (scn->summary[0] == '\0' && scn->nsteps == 0) {
				p++;
				p = rest(p);
				snprintf(scn->summary, sizeof(scn->summary), "%s",
				    p);
			}
			continue;
		}
		if (p[0] == '\0')
			continue;
		if (!strcmp(p, "finally")) {
			if (scn->finally_at >= 0)
				return fail(err, errlen, "%s:%d: `finally` "
				    "twice", path, lineno);
			scn->finally_at = scn->nsteps;
			continue;
		}
		why[0] = '\0';
		if (!strncmp(p, "expect", 6) && (p[6] == ' ' || p[6] == '\t' ||
		    p[6] == '\0')) {
			struct scn_expect *e;
			if (scn->nexpect >= SCN_MAX_EXPECT)
				return fail(err, errlen, "%s:%d: more than %d "
				    "expectations", path, lineno, SCN_MAX_EXPECT);
			e = &scn->expects[scn->nexpect];
			memset(e, 0, sizeof(*e));
			e->line = lineno;
			char copy[SCN_MAX_LINE + 2];
			snprintf(copy, sizeof(copy), "%s", rest(p + 6));
			if (parse_expect(e, p + 6, why, sizeof(why)) == -1)
				return fail(err, errlen, "%s:%d: %s", path,
				    lineno, why);
			snprintf(e->text, sizeof(e->text), "%s", copy);
			scn->nexpect++;
			continue;
		}
		if (scn->nsteps >= SCN_MAX_STEPS)
			return fail(err, errlen, "%s:%d: more than %d steps",
			    path, lineno, SCN_MAX_STEPS);
		struct scn_step *st = &scn->steps[scn->nsteps];
		memset(st, 0, sizeof(*st));
		st->line = lineno;
		if (parse_step(st, p, why, sizeof(why)) == -1)
			return fail(err, errlen, "%s:%d: %s", path, lineno, why);
		scn->nsteps++;
	}
	if (scn->nsteps == 0)
		return fail(err, errlen, "%s:%d: no steps: a scenario needs at "
		    "least one", path, lineno > 0 ? lineno : 1);
	if (scn_check_refs(scn, &lineno, why, sizeof(why)) == -1)
		return fail(err, errlen, "%s:%d: %s", path, lineno, why);
	return 0;
}

int
scn_load(struct scenario *scn, const char *path, char *err, size_t errlen)
{
	FILE *fp = fopen(path, "r");
	char *buf;
	size_t n;
	int rc;

	if (fp == NULL)
		return fail(err, errlen, "%s: cannot read: %s", path,
		    strerror(errno));
	if ((buf = malloc(SCN_MAX_FILE + 1)) == NULL) {
		fclose(fp);
		return fail(err, errlen, "%s: out of memory", path);
	}
	n = fread(buf, 1, SCN_MAX_FILE + 1, fp);
	if (ferror(fp) || n > SCN_MAX_FILE) {
		rc = fail(err, errlen, "%s: %s", path, ferror(fp) ?
		    "read error" : "larger than 256 kB: not a scenario");
	} else
		rc = scn_parse(scn, path, buf, n, err, errlen);
	fclose(fp);
	free(buf);
	return rc;
}

static int
node_ok(const struct config *cfg, const char *path, int line,
    const char *node, bool sub_only, char *err, size_t errlen)
{
	const struct node_cfg *n = config_node(cfg, node);

	if (n == NULL)
		return fail(err, errlen, "%s:%d: the lab has no node \"%s\" "
		    "(labsup config check lists them)", path, line, node);
	if (sub_only && n->role != NODE_SUBSCRIBER)
		return fail(err, errlen, "%s:%d: %s is not a subscriber", path,
		    line, node);
	return 0;
}

int
scn_validate(const struct scenario *scn, const struct config *cfg,
    char *err, size_t errlen)
{
	for (int i = 0; i < scn->nsteps; i++) {
		const struct scn_step *st = &scn->steps[i];
		bool sub = st->kind == SK_PAUSE || st->kind == SK_RESUME ||
		    st->kind == SK_LINK;
		bool added = false;

		/* a node a `subscriber add` before it brings */
		for (int j = 0; j < i; j++)
			added |= scn->steps[j].kind == SK_SUB_ADD &&
			    !strcmp(scn->steps[j].node, st->node);
		if (st->kind == SK_SUB_ADD) {
			if (config_node(cfg, st->node) != NULL)
				return fail(err, errlen, "%s:%d: subscriber add "
				    "%s: the lab already has that node",
				    scn->path, st->line, st->node);
			if (cfg->nnodes >= CFG_MAX_NODES)
				return fail(err, errlen, "%s:%d: the lab has "
				    "%d nodes already, the most it takes",
				    scn->path, st->line, cfg->nnodes);
			continue;
		}
		if (st->node[0] == '\0' || added)
			continue;
		if (node_ok(cfg, scn->path, st->line, st->node, sub, err,
		    errlen) == -1)
			return -1;
	}
	for (int i = 0; i < scn->nexpect; i++) {
		const struct scn_expect *e = &scn->expects[i];
		bool added = false;
		for (int j = 0; j < scn->nsteps; j++)
			added |= scn->steps[j].kind == SK_SUB_ADD &&
			    !strcmp(scn->steps[j].node, e->node);
		if (e->node[0] != '\0' && !added &&
		    strcmp(e->measurement, "service") != 0 &&
		    node_ok(cfg, scn->path, e->line, e->node, false, err,
		    errlen) == -1)
			return -1;
	}
	return 0;
}

/* splitmix64: small, and the same sequence everywhere for a seed */
static uint64_t
scn_rand(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void
drawn(struct scn_step *out, int kind, const char *node, int64_t ms,
    const char *text)
{
	memset(out, 0, sizeof(*out));
	out->kind = kind;
	if (node)
		snprintf(out->node, sizeof(out->node), "%s", node);
	out->ms = ms;
	if (text)
		snprintf(out->text, sizeof(out->text), "%s", text);
}

/*
 * A random step becomes COUNT faults spread over its span: each fault is
 * a kill -9 of a node, a node stopped for a while and started, or a hum
 * rate change for a while, then a pause; all drawn from seed, so the same
 * seed draws the same steps.
 */
int
scn_draw(struct scenario *scn, const struct config *cfg, uint64_t seed,
    char *err, size_t errlen)
{
	struct scn_step out[SCN_MAX_STEPS];
	int n = 0, finally_at = -1;
	uint64_t s = seed;

	for (int i = 0; i < scn->nsteps; i++) {
		const struct scn_step *st = &scn->steps[i];
		int64_t slot;

		if (i == scn->finally_at)
			finally_at = n;
		if (st->kind != SK_RANDOM) {
			if (n >= SCN_MAX_STEPS)
				goto full;
			out[n++] = *st;
			continue;
		}
		slot = st->ms / st->count;
		for (int f = 0; f < st->count; f++) {
			const struct node_cfg *node =
			    &cfg->nodes[scn_rand(&s) % (uint64_t)cfg->nnodes];
			int what = (int)(scn_rand(&s) % 3);
			int64_t hold = slot / 4 + (int64_t)(scn_rand(&s) %
			    (uint64_t)(slot / 4 + 1));
			char text[64];

			if (n + 3 > SCN_MAX_STEPS)
				goto full;
			if (what == 0) {
				drawn(&out[n++], SK_KILL, node->name, 0, NULL);
				drawn(&out[n++], SK_SLEEP, NULL, slot, NULL);
			} else if (what == 1) {
				drawn(&out[n++], SK_STOP, node->name, 0, NULL);
				drawn(&out[n++], SK_SLEEP, NULL, hold, NULL);
				drawn(&out[n++], SK_START, node->name, 0, NULL);
				drawn(&out[n++], SK_SLEEP, NULL, slot - hold,
				    NULL);
			} else {
				snprintf(text, sizeof(text), "rate=%d",
				    (int)(10 + scn_rand(&s) % 300));
				drawn(&out[n++], SK_HUM, NULL, 0, text);
				drawn(&out[n++], SK_SLEEP, NULL, hold, NULL);
				drawn(&out[n++], SK_HUM, NULL, 0, "reset");
				drawn(&out[n++], SK_SLEEP, NULL, slot - hold,
				    NULL);
			}
			if (f == 0)
				snprintf(out[n - (what == 0 ? 2 : 4)].label,
				    sizeof(out[0].label), "%s", st->label);
		}
	}
	memcpy(scn->steps, out, sizeof(out[0]) * (size_t)n);
	scn->nsteps = n;
	scn->finally_at = finally_at;
	return 0;
full:
	return fail(err, errlen, "%s: the drawn steps are more than %d",
	    scn->path, SCN_MAX_STEPS);
}

void
scn_step_text(const struct scn_step *st, char *buf, size_t len)
{
	const char *k = scn_kinds[st->kind].name;
	char lim[32];

	snprintf(lim, sizeof(lim), "%" PRId64 "ms", st->ms);
	if (st->ms % 1000 == 0)
		snprintf(lim, sizeof(lim), "%" PRId64 "s", st->ms / 1000);
	switch (st->kind) {
	case SK_SQL:
		snprintf(buf, len, "sql %s %s%s%s %s", st->node, st->session,
		    st->async ? " async" : "", st->fail_ok ? " fail-ok" : "",
		    st->text);
		break;
	case SK_AWAIT:
		snprintf(buf, len, "await %s%s", st->session, st->fail_ok ?
		    " fail-ok" : "");
		break;
	case SK_SLEEP:
		snprintf(buf, len, "sleep %s", lim);
		break;
	case SK_HUM:
		snprintf(buf, len, "hum %s", st->text);
		break;
	case SK_WAIT:
		snprintf(buf, len, "wait %s until %s%s%s%s", lim,
		    st->wait == SW_CHECK ? "check" : st->wait == SW_READY ?
		    "ready " : "sql ", st->node, st->wait == SW_SQL ? " " : "",
		    st->wait == SW_SQL ? st->text : "");
		break;
	case SK_SUB_ADD:
	case SK_SUB_REMOVE:
		snprintf(buf, len, "subscriber %s %s", st->kind == SK_SUB_ADD ?
		    "add" : "remove", st->node);
		break;
	case SK_RANDOM:
		snprintf(buf, len, "random %d faults over %s", st->count, lim);
		break;
	case SK_LINK:
		snprintf(buf, len, "link %s %s", st->node, st->text);
		break;
	default:
		snprintf(buf, len, "%s %s", k, st->node);
	}
}

/*
 * The built-in scenarios: scenarios/ beside the binary's directory (a
 * build tree: build/labsup -> ./scenarios), else installed as
 * <prefix>/share/labsup/scenarios, else the source tree the binary was
 * built from; $LABSUP_SCENARIOS first when set.
 */
const char *
scn_library_dir(void)
{
	static char dir[CFG_PATH];
	char exe[CFG_PATH], *slash;
	const char *env = getenv("LABSUP_SCENARIOS");
	struct stat sb;
	ssize_t n;

	if (env != NULL && env[0] != '\0')
		return env;
	if (dir[0] != '\0')
		return dir;
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		for (int up = 0; up < 2; up++) {
			if ((slash = strrchr(exe, '/')) == NULL)
				break;
			*slash = '\0';
			snprintf(dir, sizeof(dir), "%s/share/labsup/scenarios",
			    exe);
			if (stat(dir, &sb) == 0 && S_ISDIR(sb.st_mode))
				return dir;
			snprintf(dir, sizeof(dir), "%s/scenarios", exe);
			if (stat(dir, &sb) == 0 && S_ISDIR(sb.st_mode))
				return dir;
		}
	}
	snprintf(dir, sizeof(dir), "%s", LABSUP_SCENARIOS_DIR);
	return dir;
}

int
scn_find(const char *what, char *path, size_t len)
{
	if (strchr(what, '/') != NULL || (strlen(what) > 4 &&
	    !strcmp(what + strlen(what) - 4, ".scn") &&
	    access(what, F_OK) == 0)) {
		snprintf(path, len, "%s", what);
		return 0;
	}
	snprintf(path, len, "%s/%s.scn", scn_library_dir(), what);
	return access(path, F_OK) == 0 ? 0 : -1;
}
