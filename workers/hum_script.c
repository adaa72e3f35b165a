/*
 * hum_script.c: the parser of hum's script workload.  It splits a file on
 * ';' (outside quotes and comments), turns ":name" parameters into $n, and
 * reads pgbench's \set and \sleep meta-commands (issue 15; expressions
 * in hum_expr.c); pure: it reads only its text and allocates only what it
 * keeps.  Errors start with the line: "12: reason".
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hum.h"

static const char *const hum_var_names[HV_MAX] = {
	[HV_AID] = "aid",
	[HV_BID] = "bid",
	[HV_TID] = "tid",
	[HV_DELTA] = "delta",
	[HV_SCALE] = "scale",
	[HV_CLIENT] = "client",
	[HV_CLIENT_ID] = "client_id",
};

const char *
hum_var_name(int var)
{
	return var >= 0 && var < HV_MAX ? hum_var_names[var] : "?";
}

int
hum_var_find(const struct hum_script *s, const char *name, size_t len)
{
	for (int i = 0; i < s->nvars; i++)
		if (strlen(s->var[i]) == len && !strncmp(s->var[i], name, len))
			return i;
	return -1;
}

/* The line of p in text, from 1. */
static int
hum_line(const char *text, const char *p)
{
	int line = 1;

	for (; text < p; text++)
		line += *text == '\n';
	return line;
}

/* A growing string for the rewritten statement. */
struct hum_buf {
	char *p;
	size_t len, cap;
};

static int
hum_buf_add(struct hum_buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 256;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *p = realloc(b->p, cap);
		if (p == NULL)
			return -1;
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

static bool
hum_ident_start(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool
hum_ident_char(int c)
{
	return hum_ident_start(c) || (c >= '0' && c <= '9');
}

/* Length of a dollar-quote tag ("$$", "$tag$") at s, or 0. */
static size_t
hum_dollar_tag(const char *s)
{
	size_t n = 1;

	if (s[0] != '$')
		return 0;
	if (s[1] == '$')
		return 2;
	if (!hum_ident_start((unsigned char)s[1]))
		return 0;
	while (hum_ident_char((unsigned char)s[n]))
		n++;
	return s[n] == '$' ? n + 1 : 0;
}

/* Close the statement in b: trim, store if it has content. */
static int
hum_script_end(struct hum_script *s, struct hum_buf *b, struct hum_stmt *cur,
    bool content, char *err, size_t errlen)
{
	size_t start = 0;

	if (!content) {
		free(b->p);
		*b = (struct hum_buf){ 0 };
		cur->nparams = 0;
		return 0;
	}
	if (s->nstmt == HUM_SCRIPT_MAX) {
		snprintf(err, errlen, "more than %d statements (split the "
		    "script)", HUM_SCRIPT_MAX);
		return -1;
	}
	while (start < b->len && strchr(" \t\r\n", b->p[start]) != NULL)
		start++;
	while (b->len > start && strchr(" \t\r\n", b->p[b->len - 1]) != NULL)
		b->p[--b->len] = '\0';
	if (start > 0)
		memmove(b->p, b->p + start, b->len - start + 1);
	if (s->ncmd == HUM_CMD_MAX) {
		snprintf(err, errlen, "more than %d commands (split the "
		    "script)", HUM_CMD_MAX);
		return -1;
	}
	cur->sql = b->p;
	s->cmd[s->ncmd++] = (struct hum_cmd){ .kind = HUM_SQL,
	    .stmt = s->nstmt, .var = -1 };
	s->stmt[s->nstmt++] = *cur;
	*b = (struct hum_buf){ 0 };
	memset(cur, 0, sizeof(*cur));
	return 0;
}

/* Add parameter var to cur, returning its $n (same name, same $n). */
static int
hum_script_param(struct hum_stmt *cur, int var)
{
	for (int i = 0; i < cur->nparams; i++)
		if (cur->var[i] == var)
			return i + 1;
	if (cur->nparams == HUM_PARAM_MAX)
		return -1;
	cur->var[cur->nparams++] = var;
	return cur->nparams;
}

/* Read one meta-command line at p (after the '\'), joining "\<newline>". */
static const char *
hum_meta_line(const char *p, char *line, size_t len)
{
	size_t n = 0;

	while (*p != '\0' && *p != '\n') {
		if (p[0] == '\\' && (p[1] == '\n' || (p[1] == '\r' &&
		    p[2] == '\n'))) {
			p += p[1] == '\n' ? 2 : 3;
			continue;
		}
		if (n + 1 < len)
			line[n++] = *p;
		p++;
	}
	while (n > 0 && strchr(" \t\r", line[n - 1]) != NULL)
		n--;
	line[n] = '\0';
	return p;
}

static bool
hum_var_name_ok(const char *v, size_t n)
{
	if (n == 0 || n >= HUM_VAR_NAME)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!hum_ident_char((unsigned char)v[i]))
			return false;
	return true;
}

/* \set NAME EXPR */
static int
hum_meta_set(struct hum_script *s, char *args, int line, char *err,
    size_t errlen)
{
	char xerr[160];
	size_t n = strcspn(args, " \t");
	int var, root;

	if (!hum_var_name_ok(args, n) || args[n] == '\0') {
		snprintf(err, errlen, "%d: \\set needs a variable name "
		    "([A-Za-z0-9_], under %d characters) and an expression",
		    line, HUM_VAR_NAME);
		return -1;
	}
	args[n] = '\0';
	if (hum_expr_parse(s, args + n + 1, &root, xerr, sizeof(xerr)) == -1) {
		snprintf(err, errlen, "%d: \\set %s: %s", line, args, xerr);
		return -1;
	}
	/* after the expression: \set x :x + 1 must not read itself unset */
	if ((var = hum_var_find(s, args, n)) == -1) {
		if (s->nvars == HUM_VARS_MAX) {
			snprintf(err, errlen, "%d: more than %d variables",
			    line, HUM_VARS_MAX);
			return -1;
		}
		var = s->nvars++;
		memcpy(s->var[var], args, n + 1);
	}
	s->cmd[s->ncmd++] = (struct hum_cmd){ .kind = HUM_SET, .var = var,
	    .expr = root, .line = line };
	return 0;
}

/* \sleep N [us|ms|s], N a number or :variable */
static int
hum_meta_sleep(struct hum_script *s, char *args, int line, char *err,
    size_t errlen)
{
	struct hum_cmd c = { .kind = HUM_SLEEP, .var = -1, .line = line };
	char *unit, *end;
	int64_t mult = 1000000;

	if (args[0] == ':') {
		size_t n = 1;
		while (hum_ident_char((unsigned char)args[n]))
			n++;
		if ((c.var = hum_var_find(s, args + 1, n - 1)) == -1) {
			snprintf(err, errlen, "%d: \\sleep %.*s: no such "
			    "variable (\\set it earlier)", line, (int)(n > 32 ?
			    32 : n), args);
			return -1;
		}
		c.sleep_us = 1;
		end = args + n;
	} else {
		long long v = strtoll(args, &end, 10);
		if (end == args || v < 0) {
			snprintf(err, errlen, "%d: \\sleep needs a whole number "
			    "of us, ms or s (or a :variable)", line);
			return -1;
		}
		c.sleep_us = v;
	}
	unit = end + strspn(end, " \t");
	if (!strcmp(unit, "us"))
		mult = 1;
	else if (!strcmp(unit, "ms"))
		mult = 1000;
	else if (unit[0] != '\0' && strcmp(unit, "s") != 0) {
		snprintf(err, errlen, "%d: \\sleep: unit \"%.16s\" is not us, "
		    "ms or s", line, unit);
		return -1;
	}
	if (c.sleep_us > INT64_MAX / mult) {
		snprintf(err, errlen, "%d: \\sleep: too long", line);
		return -1;
	}
	c.sleep_us *= mult;
	s->cmd[s->ncmd++] = c;
	return 0;
}

/* A meta-command at p (its '\'); returns where its line ends, or NULL. */
static const char *
hum_meta(struct hum_script *s, const char *text, const char *p, char *err,
    size_t errlen)
{
	char line[1024], *args;
	int ln = hum_line(text, p);
	size_t n;
	int rc;

	p = hum_meta_line(p + 1, line, sizeof(line));
	n = strcspn(line, " \t");
	args = line + n + strspn(line + n, " \t");
	if (s->ncmd == HUM_CMD_MAX) {
		snprintf(err, errlen, "%d: more than %d commands (split the "
		    "script)", ln, HUM_CMD_MAX);
		return NULL;
	}
	line[n] = '\0';
	if (!strcmp(line, "set"))
		rc = hum_meta_set(s, args, ln, err, errlen);
	else if (!strcmp(line, "sleep"))
		rc = hum_meta_sleep(s, args, ln, err, errlen);
	else {
		snprintf(err, errlen, "%d: \\%.32s is not supported by the hum "
		    "(\\set and \\sleep are)", ln, line);
		rc = -1;
	}
	return rc == 0 ? p : NULL;
}

int
hum_script_parse(const char *text, struct hum_script *s, char *err,
    size_t errlen)
{
	struct hum_buf b = { 0 };
	struct hum_stmt cur = { 0 };
	bool content = false;
	const char *p = text;

	memset(s, 0, sizeof(*s));
	for (int i = 0; i < HV_MAX; i++)
		snprintf(s->var[i], sizeof(s->var[i]), "%s", hum_var_names[i]);
	s->nvars = HV_MAX;
	while (*p != '\0') {
		const char *q = p;
		size_t tag;

		if (*p == ';') {
			if (hum_script_end(s, &b, &cur, content, err,
			    errlen) == -1)
				goto fail_line;
			content = false;
			p++;
			continue;
		}
		if (*p == '\\') {
			if (content) {
				snprintf(err, errlen, "%d: a \\ command inside "
				    "an SQL statement (end the statement with "
				    ";%s)", hum_line(text, p),
				    !strncmp(p, "\\gset", 5) ||
				    !strncmp(p, "\\aset", 5) ? "; \\gset and "
				    "\\aset are not supported" : "");
				goto fail;
			}
			if ((p = hum_meta(s, text, p, err, errlen)) == NULL)
				goto fail;
			continue;
		}
		if (p[0] == '-' && p[1] == '-') {
			/* comments are dropped: they carry no ';' or ':' */
			while (*p != '\0' && *p != '\n')
				p++;
			continue;
		}
		if (p[0] == '/' && p[1] == '*') {
			const char *e = strstr(p + 2, "*/");
			if (e == NULL) {
				snprintf(err, errlen, "%d: unterminated /* "
				    "comment", hum_line(text, p));
				goto fail;
			}
			p = e + 2;
			if (hum_buf_add(&b, " ", 1) == -1)
				goto nomem;
			continue;
		}
		if (*p == '\'' || *p == '"') {
			/* '' and "" inside simply close and reopen */
			const char *e = strchr(p + 1, *p);
			if (e == NULL) {
				snprintf(err, errlen, "%d: unterminated %c "
				    "quote", hum_line(text, p), *p);
				goto fail;
			}
			q = e + 1;
		} else if ((tag = hum_dollar_tag(p)) > 0) {
			const char *e = p + tag;
			for (;;) {
				e = strstr(e, "$");
				if (e == NULL) {
					snprintf(err, errlen, "%d: "
					    "unterminated dollar quote",
					    hum_line(text, p));
					goto fail;
				}
				if (!strncmp(e, p, tag))
					break;
				e++;
			}
			q = e + tag;
		} else if (p[0] == ':' && p[1] == ':') {
			q = p + 2;	/* a cast, not a parameter */
		} else if (p[0] == ':' && hum_ident_start((unsigned char)p[1])) {
			size_t n = 1;
			char ref[16];
			int var, num;

			while (hum_ident_char((unsigned char)p[n]))
				n++;
			var = hum_var_find(s, p + 1, n - 1);
			if (var == -1) {
				snprintf(err, errlen, "%d: unknown variable "
				    ":%.*s (\\set it first, or use :aid, :bid, "
				    ":tid, :delta, :scale, :client_id)",
				    hum_line(text, p), (int)(n - 1 > 32 ? 32 :
				    n - 1), p + 1);
				goto fail;
			}
			num = hum_script_param(&cur, var);
			if (num == -1) {
				snprintf(err, errlen, "%d: more than %d "
				    "parameters in one statement",
				    hum_line(text, p), HUM_PARAM_MAX);
				goto fail;
			}
			snprintf(ref, sizeof(ref), "$%d", num);
			if (hum_buf_add(&b, ref, strlen(ref)) == -1)
				goto nomem;
			content = true;
			p += n;
			continue;
		} else {
			q = p + 1;
		}
		if (strchr(" \t\r\n", *p) == NULL)
			content = true;
		if (hum_buf_add(&b, p, (size_t)(q - p)) == -1)
			goto nomem;
		p = q;
	}
	if (hum_script_end(s, &b, &cur, content, err, errlen) == -1)
		goto fail_line;
	if (s->nstmt == 0) {
		snprintf(err, errlen, "%d: no SQL statements in the script",
		    hum_line(text, p));
		goto fail;
	}
	return 0;
nomem:
	snprintf(err, errlen, "out of memory");
	goto fail;
fail_line: {
	/* hum_script_end's messages: put the line in front */
	char tmp[200];
	snprintf(tmp, sizeof(tmp), "%s", err);
	snprintf(err, errlen, "%d: %s", hum_line(text, p), tmp);
}
fail:
	free(b.p);
	hum_script_free(s);
	return -1;
}

void
hum_script_free(struct hum_script *s)
{
	for (int i = 0; i < s->nstmt; i++)
		free(s->stmt[i].sql);
	s->nstmt = 0;
	s->ncmd = 0;
	free(s->expr);
	s->expr = NULL;
	s->nexpr = s->expr_cap = 0;
}
