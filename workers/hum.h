/*
 * hum.h: the hum worker's pure parts, exported for the unit tests: the
 * random source, the Poisson schedule, latency percentiles and the script
 * parser.  Nothing here talks to a server or the segment.
 */
#ifndef LABSUP_HUM_H
#define LABSUP_HUM_H

#include <stddef.h>
#include <stdint.h>

/* xoshiro256**: fast, good enough for load generation, seedable. */
struct hum_rng {
	uint64_t s[4];
};

void hum_rng_seed(struct hum_rng *r, uint64_t seed);
/*
 * splitmix64: advances *x and returns a well-mixed 64-bit value.  It seeds
 * the generator, and hum.c hashes a chaos slot with it.
 */
uint64_t hum_splitmix(uint64_t *x);
uint64_t hum_rng_next(struct hum_rng *r);
double hum_rng_double(struct hum_rng *r);	/* [0, 1) */
int64_t hum_rng_range(struct hum_rng *r, int64_t lo, int64_t hi); /* [lo, hi] */

/*
 * Poisson arrivals: exponential gaps, drawn by stratified sampling (each
 * block of HUM_STRATA gaps takes one uniform from each of HUM_STRATA equal
 * strata, in random order).  Every gap is still exponential, so bursts and
 * lulls look Poisson, but the count over a few seconds is pinned to the
 * rate instead of wandering by 1/sqrt(n): a configured rate can be checked.
 */
#define HUM_STRATA 64
struct hum_sched {
	struct hum_rng *rng;
	double u[HUM_STRATA];
	int pos;
};

void hum_sched_init(struct hum_sched *s, struct hum_rng *rng);
/* The next gap in seconds at rate (> 0) per second. */
double hum_sched_gap(struct hum_sched *s, double rate);

/*
 * Load profiles (issue 15): the factor of the base rate at t seconds into
 * the profile, and its phase (0 or 1: between pulses / in one, ramping /
 * topped out, sine rising / falling); a new phase is an event.
 * kind is enum hum_profile (lib/config.h): 0 flat, 1 pulse, 2 ramp, 3 sine.
 */
struct hum_curve {
	int kind;
	double period_s, pulse_s, low, peak;
};

double hum_curve_factor(const struct hum_curve *p, double t, int *phase);

/*
 * Percentile p (0..100) of v[0..n) by nearest rank; sorts v in place.
 * Returns 0 when n is 0.
 */
double hum_percentile(double *v, size_t n, double p);

/*
 * Latency samples of one 100 ms interval.  Past HUM_LAT_MAX samples it
 * keeps a uniform reservoir, so percentiles stay unbiased at any rate.
 */
#define HUM_LAT_MAX 4096
struct hum_lat {
	double v[HUM_LAT_MAX];
	size_t n;	/* kept */
	uint64_t seen;	/* added since reset */
	double max;
};

void hum_lat_reset(struct hum_lat *l);
void hum_lat_add(struct hum_lat *l, double ms, struct hum_rng *rng);

/*
 * Script workload: SQL statements split on ';' with ":name" parameters,
 * and pgbench's meta-commands \set NAME EXPR and \sleep N [us|ms|s]
 * (issue 15), so a pgbench script runs as it is.  Variables 0..HV_MAX-1
 * are built in, drawn afresh every transaction (aid, bid, tid, delta as
 * the tpcb workload draws them); \set may override them.
 */
enum hum_var {
	HV_AID = 0,	/* 1 .. 100000 * scale */
	HV_BID,		/* 1 .. scale */
	HV_TID,		/* 1 .. 10 * scale */
	HV_DELTA,	/* -5000 .. 5000 */
	HV_SCALE,
	HV_CLIENT,	/* the client index, from 1 */
	HV_CLIENT_ID,	/* pgbench's: from 0 */
	HV_MAX
};

#define HUM_SCRIPT_MAX 64	/* statements */
#define HUM_CMD_MAX 192		/* statements, \set and \sleep */
#define HUM_PARAM_MAX 16	/* distinct parameters per statement */
#define HUM_VARS_MAX 64
#define HUM_VAR_NAME 32
#define HUM_EXPR_ARGS 8

/* A value of a pgbench expression; a bool is in i. */
enum hum_vtype { HUM_INT = 0, HUM_DOUBLE, HUM_BOOL };
struct hum_value {
	int type;
	int64_t i;
	double d;
};

/* One node of an expression; children are indexes into the script's. */
struct hum_expr {
	int op;
	int nargs;
	int arg[HUM_EXPR_ARGS];
	int var;		/* a :variable */
	struct hum_value lit;
};

struct hum_stmt {
	char *sql;		/* with $1..$n in place of :name */
	int nparams;
	int var[HUM_PARAM_MAX];	/* the variables of $1..$n */
};

enum hum_cmd_kind { HUM_SQL = 0, HUM_SET, HUM_SLEEP };
struct hum_cmd {
	int kind;
	int stmt;		/* HUM_SQL: index into stmt[] */
	int var;		/* HUM_SET: the variable; HUM_SLEEP: or -1 */
	int expr;		/* HUM_SET: the root node */
	int64_t sleep_us;	/* HUM_SLEEP: times the variable, if any */
	int line;
};

struct hum_script {
	struct hum_stmt stmt[HUM_SCRIPT_MAX];
	int nstmt;
	struct hum_cmd cmd[HUM_CMD_MAX];	/* in script order */
	int ncmd;
	char var[HUM_VARS_MAX][HUM_VAR_NAME];
	int nvars;
	struct hum_expr *expr;
	int nexpr, expr_cap;
};

/*
 * Parse text into *s.  Returns 0, or -1 with "LINE: reason" in err (the
 * caller puts the file name before it).  hum_script_free() releases it.
 */
int hum_script_parse(const char *text, struct hum_script *s, char *err,
    size_t errlen);
void hum_script_free(struct hum_script *s);
const char *hum_var_name(int var);
/* The index of variable name[0..len), or -1. */
int hum_var_find(const struct hum_script *s, const char *name, size_t len);

/*
 * pgbench expressions (hum_expr.c): parse text (all of it) into s's nodes,
 * *root the top one; evaluate one with the variables' values.  Both
 * return 0, or -1 with a reason in err.
 */
int hum_expr_parse(struct hum_script *s, const char *text, int *root,
    char *err, size_t errlen);
int hum_expr_eval(const struct hum_script *s, int root,
    const struct hum_value *vars, struct hum_rng *rng, struct hum_value *out,
    char *err, size_t errlen);
/*
 * Read and parse a script file (hum.c, not pure): -1 with
 * "path:LINE: reason" in err.  hum_scripts_check does it for every group
 * with workload = script (config check, start).
 */
int hum_script_load(const char *path, struct hum_script *s, char *err,
    size_t errlen);
struct config;
int hum_scripts_check(const struct config *cfg, char *err, size_t errlen);

/* v as a statement parameter: "42", "0.5", "true". */
int hum_value_text(const struct hum_value *v, char *buf, size_t len);

#endif
