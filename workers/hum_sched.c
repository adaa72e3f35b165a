/*
 * hum_sched.c: when the hum worker's transactions start (the stratified
 * Poisson schedule) and how their latencies are kept and summed up (the
 * reservoir and nearest-rank percentiles).  Pure: state is the caller's.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "hum.h"

void
hum_sched_init(struct hum_sched *s, struct hum_rng *rng)
{
	s->rng = rng;
	s->pos = HUM_STRATA;
}

double
hum_sched_gap(struct hum_sched *s, double rate)
{
	double u;

	if (s->pos == HUM_STRATA) {
		for (int i = 0; i < HUM_STRATA; i++)
			s->u[i] = (i + hum_rng_double(s->rng)) / HUM_STRATA;
		/* Fisher-Yates: the strata come in random order */
		for (int i = HUM_STRATA - 1; i > 0; i--) {
			int j = (int)hum_rng_range(s->rng, 0, i);
			double t = s->u[i];
			s->u[i] = s->u[j];
			s->u[j] = t;
		}
		s->pos = 0;
	}
	u = s->u[s->pos++];
	/* 1 - u is in (0, 1]: log never sees 0 */
	return -log(1.0 - u) / rate;
}

/*
 * Pulse: the pulse is the last pulse_s of each period, so a group starts
 * at its base rate.  Ramp: low to peak over period_s, then peak.  Sine:
 * low at 0, peak at half the period, low again at its end.
 */
double
hum_curve_factor(const struct hum_curve *p, double t, int *phase)
{
	double pos = p->period_s > 0 ? fmod(t < 0 ? 0 : t, p->period_s) : 0;

	*phase = 0;
	switch (p->kind) {
	case 1:	/* pulse */
		if (pos >= p->period_s - p->pulse_s) {
			*phase = 1;
			return p->peak;
		}
		return 1;
	case 2:	/* ramp */
		if (t >= p->period_s) {
			*phase = 1;
			return p->peak;
		}
		return p->low + (p->peak - p->low) * (t < 0 ? 0 : t) /
		    p->period_s;
	case 3:	/* sine */
		*phase = pos >= p->period_s / 2;
		return p->low + (p->peak - p->low) *
		    (1 - cos(2 * M_PI * pos / p->period_s)) / 2;
	default:
		return 1;
	}
}

static int
hum_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

double
hum_percentile(double *v, size_t n, double p)
{
	size_t rank;

	if (n == 0)
		return 0;
	qsort(v, n, sizeof(*v), hum_cmp_double);
	rank = (size_t)ceil(p / 100.0 * (double)n);
	if (rank < 1)
		rank = 1;
	if (rank > n)
		rank = n;
	return v[rank - 1];
}

void
hum_lat_reset(struct hum_lat *l)
{
	l->n = 0;
	l->seen = 0;
	l->max = 0;
}

void
hum_lat_add(struct hum_lat *l, double ms, struct hum_rng *rng)
{
	l->seen++;
	if (ms > l->max)
		l->max = ms;
	if (l->n < HUM_LAT_MAX) {
		l->v[l->n++] = ms;
		return;
	}
	/* reservoir sampling (Algorithm R) */
	uint64_t j = hum_rng_next(rng) % l->seen;
	if (j < HUM_LAT_MAX)
		l->v[j] = ms;
}
