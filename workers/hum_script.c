/*
 * hum_script.c: the parser of hum's script workload.  It splits a file on
 * ';' (outside quotes and comments) and turns ":name" parameters into $n;
 * pure: it reads only its text and allocates only the statements it keeps.
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
};

const char *
hum_var_name(int var)
{
	return var >= 0 && var < HV_MAX ? hum_var_names[var] : "?";
}

static int
hum_var_lookup(const char *name, size_t len)
{
	for (int i = 0; i < HV_MAX; i++)
		if (strlen(hum_var_names[i]) == len &&
		    !strncmp(hum_var_names[i], name, len))
			return i;
	return -1;
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
	cur->sql = b->p;
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

int
hum_script_parse(const char *text, struct hum_script *s, char *err,
    size_t errlen)
{
	struct hum_buf b = { 0 };
	struct hum_stmt cur = { 0 };
	bool content = false;
	const char *p = text;

	memset(s, 0, sizeof(*s));
	while (*p != '\0') {
		const char *q = p;
		size_t tag;

		if (*p == ';') {
			if (hum_script_end(s, &b, &cur, content, err,
			    errlen) == -1)
				goto fail;
			content = false;
			p++;
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
				snprintf(err, errlen, "statement %d: "
				    "unterminated /* comment", s->nstmt + 1);
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
				snprintf(err, errlen, "statement %d: "
				    "unterminated %c quote", s->nstmt + 1, *p);
				goto fail;
			}
			q = e + 1;
		} else if ((tag = hum_dollar_tag(p)) > 0) {
			const char *e = p + tag;
			for (;;) {
				e = strstr(e, "$");
				if (e == NULL) {
					snprintf(err, errlen, "statement %d: "
					    "unterminated dollar quote",
					    s->nstmt + 1);
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
			var = hum_var_lookup(p + 1, n - 1);
			if (var == -1) {
				snprintf(err, errlen, "statement %d: unknown "
				    "parameter :%.*s (use :aid, :bid, :tid, "
				    ":delta, :scale or :client)", s->nstmt + 1,
				    (int)(n - 1 > 32 ? 32 : n - 1), p + 1);
				goto fail;
			}
			num = hum_script_param(&cur, var);
			if (num == -1) {
				snprintf(err, errlen, "statement %d: more "
				    "than %d parameters", s->nstmt + 1,
				    HUM_PARAM_MAX);
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
		goto fail;
	if (s->nstmt == 0) {
		snprintf(err, errlen, "no SQL statements in the script");
		goto fail;
	}
	return 0;
nomem:
	snprintf(err, errlen, "out of memory");
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
}
