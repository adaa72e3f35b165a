/*
 * hum_expr.c: pgbench's \set expressions for hum scripts (issue 15): a
 * recursive-descent parser into a node array of the script, and their
 * evaluation with pgbench's rules (integer arithmetic unless a double is
 * involved, overflow and division by zero are errors, the random
 * functions draw as pgbench draws).  Pure: the script and the caller's
 * random source are all it touches.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hum.h"

enum hum_xop {
	X_LIT = 0, X_VAR, X_NEG, X_NOT,
	X_ADD, X_SUB, X_MUL, X_DIV, X_MOD,
	X_EQ, X_NE, X_LT, X_LE, X_GT, X_GE, X_AND, X_OR,
	/* functions */
	F_ABS, F_LEAST, F_GREATEST, F_INT, F_DOUBLE, F_PI, F_SQRT, F_EXP,
	F_LN, F_POW, F_MOD, F_RANDOM, F_REXP, F_RGAUSS, F_RZIPF,
};

static const struct {
	const char *name;
	int op, min, max;
} hum_funcs[] = {
	{ "abs", F_ABS, 1, 1 },
	{ "least", F_LEAST, 1, HUM_EXPR_ARGS },
	{ "greatest", F_GREATEST, 1, HUM_EXPR_ARGS },
	{ "int", F_INT, 1, 1 },
	{ "double", F_DOUBLE, 1, 1 },
	{ "pi", F_PI, 0, 0 },
	{ "sqrt", F_SQRT, 1, 1 },
	{ "exp", F_EXP, 1, 1 },
	{ "ln", F_LN, 1, 1 },
	{ "pow", F_POW, 2, 2 },
	{ "power", F_POW, 2, 2 },
	{ "mod", F_MOD, 2, 2 },
	{ "random", F_RANDOM, 2, 2 },
	{ "random_exponential", F_REXP, 3, 3 },
	{ "random_gaussian", F_RGAUSS, 3, 3 },
	{ "random_zipfian", F_RZIPF, 3, 3 },
};

/* pgbench has these; the hum does not (refused by name, not "unknown") */
static const char *const hum_unsupported[] = { "hash", "hash_fnv1a",
	"hash_murmur2", "permute", "debug", NULL };

#define MIN_GAUSSIAN_PARAM 2.0	/* pgbench's bounds */
#define MIN_ZIPFIAN_PARAM 1.001
#define MAX_ZIPFIAN_PARAM 1000.0

struct xparse {
	struct hum_script *s;
	const char *p;
	char *err;
	size_t errlen;
	int depth;
};

static int xp_or(struct xparse *x);

static int
xp_fail(struct xparse *x, const char *fmt, const char *a)
{
	if (x->err[0] == '\0')
		snprintf(x->err, x->errlen, fmt, a);
	return -1;
}

static int
xp_node(struct xparse *x, int op)
{
	struct hum_script *s = x->s;

	if (s->nexpr == s->expr_cap) {
		int cap = s->expr_cap ? s->expr_cap * 2 : 32;
		struct hum_expr *n = realloc(s->expr, (size_t)cap * sizeof(*n));
		if (n == NULL)
			return xp_fail(x, "%s", "out of memory");
		s->expr = n;
		s->expr_cap = cap;
	}
	memset(&s->expr[s->nexpr], 0, sizeof(s->expr[0]));
	s->expr[s->nexpr].op = op;
	return s->nexpr++;
}

static int
xp_binary(struct xparse *x, int op, int a, int b)
{
	int n;

	if (a < 0 || b < 0 || (n = xp_node(x, op)) < 0)
		return -1;
	x->s->expr[n].nargs = 2;
	x->s->expr[n].arg[0] = a;
	x->s->expr[n].arg[1] = b;
	return n;
}

static void
xp_space(struct xparse *x)
{
	while (isspace((unsigned char)*x->p))
		x->p++;
}

/* Is the next token the keyword kw (case-insensitive, whole word)? */
static bool
xp_keyword(struct xparse *x, const char *kw)
{
	size_t n = strlen(kw);

	xp_space(x);
	if (strncasecmp(x->p, kw, n) != 0 ||
	    isalnum((unsigned char)x->p[n]) || x->p[n] == '_')
		return false;
	x->p += n;
	return true;
}

static bool
xp_punct(struct xparse *x, const char *tok)
{
	xp_space(x);
	if (strncmp(x->p, tok, strlen(tok)) != 0)
		return false;
	x->p += strlen(tok);
	return true;
}

static int
xp_number(struct xparse *x)
{
	const char *start = x->p;
	char *end;
	int n = xp_node(x, X_LIT);
	bool dbl = false;

	if (n < 0)
		return -1;
	for (const char *q = x->p; isalnum((unsigned char)*q) || *q == '.';
	    q++)
		if (*q == '.' || *q == 'e' || *q == 'E')
			dbl = true;
	if (dbl) {
		x->s->expr[n].lit.type = HUM_DOUBLE;
		x->s->expr[n].lit.d = strtod(start, &end);
	} else {
		errno = 0;
		x->s->expr[n].lit.type = HUM_INT;
		x->s->expr[n].lit.i = strtoll(start, &end, 10);
		if (errno == ERANGE)
			return xp_fail(x, "%s", "integer constant out of range");
	}
	if (end == start || isalnum((unsigned char)*end) || *end == '_') {
		char tok[24];
		snprintf(tok, sizeof(tok), "%.*s", (int)strcspn(start,
		    " \t()+-*/%,"), start);
		return xp_fail(x, "\"%s\" is not a number", tok);
	}
	x->p = end;
	return n;
}

static int
xp_call(struct xparse *x, const char *name, size_t len)
{
	char fn[40];
	int f = -1, n, nargs = 0, args[HUM_EXPR_ARGS];

	snprintf(fn, sizeof(fn), "%.*s", (int)(len < 39 ? len : 39), name);
	for (size_t i = 0; i < sizeof(hum_funcs) / sizeof(hum_funcs[0]); i++)
		if (!strcasecmp(hum_funcs[i].name, fn))
			f = (int)i;
	if (f == -1) {
		for (int i = 0; hum_unsupported[i] != NULL; i++)
			if (!strcasecmp(hum_unsupported[i], fn))
				return xp_fail(x, "function %s() is not "
				    "supported by the hum (abs, least, greatest, "
				    "int, double, pi, sqrt, exp, ln, pow, mod, "
				    "random, random_exponential, random_gaussian, "
				    "random_zipfian are)", fn);
		return xp_fail(x, "unknown function %s()", fn);
	}
	if (!xp_punct(x, ")")) {
		do {
			if (nargs == HUM_EXPR_ARGS)
				return xp_fail(x, "%s(): too many arguments",
				    fn);
			if ((args[nargs++] = xp_or(x)) < 0)
				return -1;
		} while (xp_punct(x, ","));
		if (!xp_punct(x, ")"))
			return xp_fail(x, "%s(: expected , or )", fn);
	}
	if (nargs < hum_funcs[f].min || nargs > hum_funcs[f].max) {
		char want[64];
		if (hum_funcs[f].min == hum_funcs[f].max)
			snprintf(want, sizeof(want), "%s() takes %d "
			    "argument%s", hum_funcs[f].name, hum_funcs[f].min,
			    hum_funcs[f].min == 1 ? "" : "s");
		else
			snprintf(want, sizeof(want), "%s() takes 1 to %d "
			    "arguments", hum_funcs[f].name, hum_funcs[f].max);
		return xp_fail(x, "%s", want);
	}
	if ((n = xp_node(x, hum_funcs[f].op)) < 0)
		return -1;
	x->s->expr[n].nargs = nargs;
	memcpy(x->s->expr[n].arg, args, sizeof(args[0]) * (size_t)nargs);
	return n;
}

static int
xp_primary(struct xparse *x)
{
	const char *q;
	int n;

	xp_space(x);
	q = x->p;
	if (isdigit((unsigned char)*q) || (*q == '.' &&
	    isdigit((unsigned char)q[1])))
		return xp_number(x);
	if (*q == ':') {
		size_t len = 0;
		int var;
		while (isalnum((unsigned char)q[1 + len]) || q[1 + len] == '_')
			len++;
		if (len == 0)
			return xp_fail(x, "%s", "\":\" without a variable name");
		var = hum_var_find(x->s, q + 1, len);
		if (var == -1) {
			char name[HUM_VAR_NAME];
			snprintf(name, sizeof(name), "%.*s", (int)(len <
			    HUM_VAR_NAME - 1 ? len : HUM_VAR_NAME - 1), q + 1);
			return xp_fail(x, "variable :%s is not set before it "
			    "is used (\\set it earlier)", name);
		}
		if ((n = xp_node(x, X_VAR)) < 0)
			return -1;
		x->s->expr[n].var = var;
		x->p = q + 1 + len;
		return n;
	}
	if (*q == '(') {
		x->p++;
		if (++x->depth > 64)
			return xp_fail(x, "%s", "expression nested too deep");
		n = xp_or(x);
		x->depth--;
		if (n < 0)
			return -1;
		if (!xp_punct(x, ")"))
			return xp_fail(x, "%s", "expected )");
		return n;
	}
	if (isalpha((unsigned char)*q) || *q == '_') {
		size_t len = 0;
		while (isalnum((unsigned char)q[len]) || q[len] == '_')
			len++;
		x->p = q + len;
		if (len == 4 && !strncasecmp(q, "true", 4)) {
			if ((n = xp_node(x, X_LIT)) >= 0) {
				x->s->expr[n].lit.type = HUM_BOOL;
				x->s->expr[n].lit.i = 1;
			}
			return n;
		}
		if (len == 5 && !strncasecmp(q, "false", 5)) {
			if ((n = xp_node(x, X_LIT)) >= 0)
				x->s->expr[n].lit.type = HUM_BOOL;
			return n;
		}
		if (len == 4 && !strncasecmp(q, "case", 4))
			return xp_fail(x, "%s", "CASE is not supported by the "
			    "hum");
		if (len == 4 && !strncasecmp(q, "null", 4))
			return xp_fail(x, "%s", "NULL is not supported by the "
			    "hum");
		if (!xp_punct(x, "(")) {
			char w[40];
			snprintf(w, sizeof(w), "%.*s", (int)(len < 39 ? len :
			    39), q);
			return xp_fail(x, "unexpected word \"%s\" (a variable "
			    "is :name, a function name(...))", w);
		}
		return xp_call(x, q, len);
	}
	if (*q == '\0')
		return xp_fail(x, "%s", "the expression ends too early");
	{
		char tok[4] = { *q, '\0' };
		if (strchr("&|#~", *q) != NULL || !strncmp(q, "<<", 2) ||
		    !strncmp(q, ">>", 2))
			return xp_fail(x, "bitwise operator %s is not "
			    "supported by the hum", tok);
		return xp_fail(x, "unexpected \"%s\"", tok);
	}
}

static int
xp_unary(struct xparse *x)
{
	int a, n;

	if (xp_punct(x, "-")) {
		if ((a = xp_unary(x)) < 0 || (n = xp_node(x, X_NEG)) < 0)
			return -1;
		x->s->expr[n].nargs = 1;
		x->s->expr[n].arg[0] = a;
		return n;
	}
	if (xp_punct(x, "+"))
		return xp_unary(x);
	return xp_primary(x);
}

static int
xp_mul(struct xparse *x)
{
	int a = xp_unary(x);

	while (a >= 0) {
		if (xp_punct(x, "*"))
			a = xp_binary(x, X_MUL, a, xp_unary(x));
		else if (xp_punct(x, "/"))
			a = xp_binary(x, X_DIV, a, xp_unary(x));
		else if (xp_punct(x, "%"))
			a = xp_binary(x, X_MOD, a, xp_unary(x));
		else
			break;
	}
	return a;
}

static int
xp_add(struct xparse *x)
{
	int a = xp_mul(x);

	while (a >= 0) {
		if (xp_punct(x, "+"))
			a = xp_binary(x, X_ADD, a, xp_mul(x));
		else if (xp_punct(x, "-"))
			a = xp_binary(x, X_SUB, a, xp_mul(x));
		else
			break;
	}
	return a;
}

static int
xp_cmp(struct xparse *x)
{
	static const struct {
		const char *tok;
		int op;
	} ops[] = { { "<>", X_NE }, { "!=", X_NE }, { "<=", X_LE },
	    { ">=", X_GE }, { "=", X_EQ }, { "<", X_LT }, { ">", X_GT } };
	int a = xp_add(x);

	if (a < 0)
		return -1;
	xp_space(x);
	if (!strncmp(x->p, "<<", 2) || !strncmp(x->p, ">>", 2))
		return xp_fail(x, "bitwise operator %.2s is not supported by "
		    "the hum", x->p);
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (xp_punct(x, ops[i].tok))
			return xp_binary(x, ops[i].op, a, xp_add(x));
	return a;
}

static int
xp_not(struct xparse *x)
{
	int a, n;

	if (xp_keyword(x, "not")) {
		if ((a = xp_not(x)) < 0 || (n = xp_node(x, X_NOT)) < 0)
			return -1;
		x->s->expr[n].nargs = 1;
		x->s->expr[n].arg[0] = a;
		return n;
	}
	return xp_cmp(x);
}

static int
xp_and(struct xparse *x)
{
	int a = xp_not(x);

	while (a >= 0 && xp_keyword(x, "and"))
		a = xp_binary(x, X_AND, a, xp_not(x));
	return a;
}

static int
xp_or(struct xparse *x)
{
	int a = xp_and(x);

	while (a >= 0 && xp_keyword(x, "or"))
		a = xp_binary(x, X_OR, a, xp_and(x));
	return a;
}

int
hum_expr_parse(struct hum_script *s, const char *text, int *root, char *err,
    size_t errlen)
{
	struct xparse x = { s, text, err, errlen, 0 };

	err[0] = '\0';
	*root = xp_or(&x);
	if (*root < 0)
		return -1;
	xp_space(&x);
	if (*x.p != '\0') {
		char tok[24];
		snprintf(tok, sizeof(tok), "%s", x.p);
		if (strchr("&|#~", *x.p) != NULL)
			snprintf(err, errlen, "bitwise operator %c is not "
			    "supported by the hum", *x.p);
		else
			snprintf(err, errlen, "unexpected \"%s\" after the "
			    "expression", tok);
		return -1;
	}
	return 0;
}

/* ---- evaluation ---------------------------------------------------------- */

struct xeval {
	const struct hum_script *s;
	const struct hum_value *vars;
	struct hum_rng *rng;
	char *err;
	size_t errlen;
};

static int
xe_fail(struct xeval *e, const char *msg)
{
	snprintf(e->err, e->errlen, "%s", msg);
	return -1;
}

static bool
xe_isdouble(const struct hum_value *v)
{
	return v->type == HUM_DOUBLE;
}

static double
xe_double(const struct hum_value *v)
{
	return v->type == HUM_DOUBLE ? v->d : (double)v->i;
}

static int
xe_int(struct xeval *e, const struct hum_value *v, int64_t *out)
{
	if (v->type != HUM_DOUBLE) {
		*out = v->i;
		return 0;
	}
	/* pgbench: rint(), and it must fit */
	if (isnan(v->d) || v->d < -9.2233720368547758e18 ||
	    v->d >= 9.2233720368547758e18)
		return xe_fail(e, "double to integer out of range");
	*out = (int64_t)rint(v->d);
	return 0;
}

static bool
xe_bool(const struct hum_value *v)
{
	return v->type == HUM_DOUBLE ? v->d != 0 : v->i != 0;
}

static void
set_int(struct hum_value *v, int64_t i)
{
	v->type = HUM_INT;
	v->i = i;
}

static void
set_double(struct hum_value *v, double d)
{
	v->type = HUM_DOUBLE;
	v->d = d;
}

static void
set_bool(struct hum_value *v, bool b)
{
	v->type = HUM_BOOL;
	v->i = b;
}

static int xe_eval(struct xeval *e, int n, struct hum_value *out);

/* pgbench's getExponentialRand, getGaussianRand, computeIterativeZipfian */
static int64_t
xe_exponential(struct hum_rng *r, int64_t lo, int64_t hi, double param)
{
	double cut = exp(-param), u = 1.0 - hum_rng_double(r);
	double rand = -log(cut + (1.0 - cut) * u) / param;

	return lo + (int64_t)((double)(hi - lo + 1) * rand);
}

static int64_t
xe_gaussian(struct hum_rng *r, int64_t lo, int64_t hi, double param)
{
	double stdev, rand;

	do {
		double r1 = 1.0 - hum_rng_double(r), r2 = hum_rng_double(r);
		stdev = sqrt(-2.0 * log(r1)) * sin(2.0 * M_PI * r2);
	} while (stdev < -param || stdev >= param);
	rand = (stdev + param) / (param * 2.0);
	return lo + (int64_t)((double)(hi - lo + 1) * rand);
}

static int64_t
xe_zipfian(struct hum_rng *r, int64_t n, double s)
{
	double b = pow(2.0, s - 1.0), x, t, u, v;

	if (n <= 1)
		return 1;
	for (;;) {
		u = hum_rng_double(r);
		v = hum_rng_double(r);
		x = floor(pow(u, -1.0 / (s - 1.0)));
		t = pow(1.0 + 1.0 / x, s - 1.0);
		if (v * x * (t - 1.0) / (b - 1.0) <= t / b && x <= (double)n)
			return (int64_t)x;
	}
}

static int
xe_random(struct xeval *e, const struct hum_expr *x, struct hum_value *a,
    struct hum_value *out)
{
	int64_t lo, hi;
	double param = 0;

	if (xe_int(e, &a[0], &lo) == -1 || xe_int(e, &a[1], &hi) == -1)
		return -1;
	if (lo > hi)
		return xe_fail(e, "random: the lower bound is above the upper");
	if (hi - lo < 0 || hi - lo == INT64_MAX)
		return xe_fail(e, "random: the range is too large");
	if (x->nargs == 3)
		param = xe_double(&a[2]);
	switch (x->op) {
	case F_REXP:
		if (param <= 0)
			return xe_fail(e, "random_exponential: the parameter "
			    "must be above 0");
		set_int(out, xe_exponential(e->rng, lo, hi, param));
		return 0;
	case F_RGAUSS:
		if (param < MIN_GAUSSIAN_PARAM)
			return xe_fail(e, "random_gaussian: the parameter must "
			    "be at least 2");
		set_int(out, xe_gaussian(e->rng, lo, hi, param));
		return 0;
	case F_RZIPF:
		if (param < MIN_ZIPFIAN_PARAM || param > MAX_ZIPFIAN_PARAM)
			return xe_fail(e, "random_zipfian: the parameter must "
			    "be in 1.001..1000");
		set_int(out, lo + xe_zipfian(e->rng, hi - lo + 1, param) - 1);
		return 0;
	default:
		set_int(out, hum_rng_range(e->rng, lo, hi));
		return 0;
	}
}

static int
xe_arith(struct xeval *e, int op, struct hum_value *a, struct hum_value *b,
    struct hum_value *out)
{
	int64_t r;

	if (op == X_MOD) {
		int64_t x, y;
		if (xe_int(e, a, &x) == -1 || xe_int(e, b, &y) == -1)
			return -1;
		if (y == 0)
			return xe_fail(e, "division by zero");
		/* INT64_MIN % -1 traps in C: it is 0 */
		set_int(out, y == -1 ? 0 : x % y);
		return 0;
	}
	if (xe_isdouble(a) || xe_isdouble(b)) {
		double x = xe_double(a), y = xe_double(b);
		switch (op) {
		case X_ADD: set_double(out, x + y); break;
		case X_SUB: set_double(out, x - y); break;
		case X_MUL: set_double(out, x * y); break;
		default:
			if (y == 0)
				return xe_fail(e, "division by zero");
			set_double(out, x / y);
		}
		return 0;
	}
	switch (op) {
	case X_ADD:
		if (__builtin_add_overflow(a->i, b->i, &r))
			return xe_fail(e, "bigint out of range");
		break;
	case X_SUB:
		if (__builtin_sub_overflow(a->i, b->i, &r))
			return xe_fail(e, "bigint out of range");
		break;
	case X_MUL:
		if (__builtin_mul_overflow(a->i, b->i, &r))
			return xe_fail(e, "bigint out of range");
		break;
	default:
		if (b->i == 0)
			return xe_fail(e, "division by zero");
		if (b->i == -1) {
			if (a->i == INT64_MIN)
				return xe_fail(e, "bigint out of range");
			r = -a->i;
		} else
			r = a->i / b->i;
	}
	set_int(out, r);
	return 0;
}

static int
xe_compare(int op, struct hum_value *a, struct hum_value *b,
    struct hum_value *out)
{
	int c;

	if (xe_isdouble(a) || xe_isdouble(b)) {
		double x = xe_double(a), y = xe_double(b);
		c = (x > y) - (x < y);
	} else
		c = (a->i > b->i) - (a->i < b->i);
	switch (op) {
	case X_EQ: set_bool(out, c == 0); break;
	case X_NE: set_bool(out, c != 0); break;
	case X_LT: set_bool(out, c < 0); break;
	case X_LE: set_bool(out, c <= 0); break;
	case X_GT: set_bool(out, c > 0); break;
	default: set_bool(out, c >= 0); break;
	}
	return 0;
}

static int
xe_func(struct xeval *e, const struct hum_expr *x, struct hum_value *a,
    struct hum_value *out)
{
	int64_t i;

	switch (x->op) {
	case F_ABS:
		if (xe_isdouble(&a[0]))
			set_double(out, fabs(a[0].d));
		else if (a[0].i == INT64_MIN)
			return xe_fail(e, "bigint out of range");
		else
			set_int(out, a[0].i < 0 ? -a[0].i : a[0].i);
		return 0;
	case F_LEAST:
	case F_GREATEST: {
		bool dbl = false;
		for (int k = 0; k < x->nargs; k++)
			dbl |= xe_isdouble(&a[k]);
		*out = a[0];
		for (int k = 1; k < x->nargs; k++) {
			bool less = dbl ? xe_double(&a[k]) < xe_double(out) :
			    a[k].i < out->i;
			bool more = dbl ? xe_double(&a[k]) > xe_double(out) :
			    a[k].i > out->i;
			if ((x->op == F_LEAST && less) ||
			    (x->op == F_GREATEST && more))
				*out = a[k];
		}
		if (dbl)
			set_double(out, xe_double(out));
		else if (out->type == HUM_BOOL)
			set_int(out, out->i);
		return 0;
	}
	case F_INT:
		if (xe_int(e, &a[0], &i) == -1)
			return -1;
		/* pgbench's int() truncates toward zero */
		set_int(out, xe_isdouble(&a[0]) ? (int64_t)a[0].d : i);
		return 0;
	case F_DOUBLE:
		set_double(out, xe_double(&a[0]));
		return 0;
	case F_PI:
		set_double(out, M_PI);
		return 0;
	case F_SQRT:
		set_double(out, sqrt(xe_double(&a[0])));
		return 0;
	case F_EXP:
		set_double(out, exp(xe_double(&a[0])));
		return 0;
	case F_LN:
		set_double(out, log(xe_double(&a[0])));
		return 0;
	case F_POW:
		set_double(out, pow(xe_double(&a[0]), xe_double(&a[1])));
		return 0;
	case F_MOD:
		return xe_arith(e, X_MOD, &a[0], &a[1], out);
	default:
		return xe_random(e, x, a, out);
	}
}

static int
xe_eval(struct xeval *e, int n, struct hum_value *out)
{
	const struct hum_expr *x = &e->s->expr[n];
	struct hum_value a[HUM_EXPR_ARGS];

	switch (x->op) {
	case X_LIT:
		*out = x->lit;
		return 0;
	case X_VAR:
		*out = e->vars[x->var];
		return 0;
	case X_AND:
	case X_OR:
		/* short-circuit, as pgbench */
		if (xe_eval(e, x->arg[0], &a[0]) == -1)
			return -1;
		if (xe_bool(&a[0]) == (x->op == X_OR)) {
			set_bool(out, x->op == X_OR);
			return 0;
		}
		if (xe_eval(e, x->arg[1], &a[1]) == -1)
			return -1;
		set_bool(out, xe_bool(&a[1]));
		return 0;
	default:
		break;
	}
	for (int k = 0; k < x->nargs; k++)
		if (xe_eval(e, x->arg[k], &a[k]) == -1)
			return -1;
	switch (x->op) {
	case X_NEG:
		if (xe_isdouble(&a[0]))
			set_double(out, -a[0].d);
		else if (a[0].i == INT64_MIN)
			return xe_fail(e, "bigint out of range");
		else
			set_int(out, -a[0].i);
		return 0;
	case X_NOT:
		set_bool(out, !xe_bool(&a[0]));
		return 0;
	case X_ADD:
	case X_SUB:
	case X_MUL:
	case X_DIV:
	case X_MOD:
		return xe_arith(e, x->op, &a[0], &a[1], out);
	case X_EQ:
	case X_NE:
	case X_LT:
	case X_LE:
	case X_GT:
	case X_GE:
		return xe_compare(x->op, &a[0], &a[1], out);
	default:
		return xe_func(e, x, a, out);
	}
}

int
hum_expr_eval(const struct hum_script *s, int root,
    const struct hum_value *vars, struct hum_rng *rng, struct hum_value *out,
    char *err, size_t errlen)
{
	struct xeval e = { s, vars, rng, err, errlen };

	return xe_eval(&e, root, out);
}

int
hum_value_text(const struct hum_value *v, char *buf, size_t len)
{
	switch (v->type) {
	case HUM_DOUBLE:
		return snprintf(buf, len, "%.15g", v->d);
	case HUM_BOOL:
		return snprintf(buf, len, "%s", v->i ? "true" : "false");
	default:
		return snprintf(buf, len, "%lld", (long long)v->i);
	}
}
