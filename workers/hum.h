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

/* Script workload: statements split on ';', ":name" parameters. */
enum hum_var {
	HV_AID = 0,	/* 1 .. 100000 * scale */
	HV_BID,		/* 1 .. scale */
	HV_TID,		/* 1 .. 10 * scale */
	HV_DELTA,	/* -5000 .. 5000 */
	HV_SCALE,
	HV_CLIENT,	/* the client index */
	HV_MAX
};

#define HUM_SCRIPT_MAX 64	/* statements */
#define HUM_PARAM_MAX 16	/* distinct parameters per statement */

struct hum_stmt {
	char *sql;		/* with $1..$n in place of :name */
	int nparams;
	int var[HUM_PARAM_MAX];	/* enum hum_var of $1..$n */
};

struct hum_script {
	struct hum_stmt stmt[HUM_SCRIPT_MAX];
	int nstmt;
};

/*
 * Parse text into *s.  Returns 0, or -1 with a one-line reason in err
 * (statement number and what to fix).  hum_script_free() releases it.
 */
int hum_script_parse(const char *text, struct hum_script *s, char *err,
    size_t errlen);
void hum_script_free(struct hum_script *s);
const char *hum_var_name(int var);

#endif
