/*
 * test_hum.c: the hum worker's pure logic: the Poisson schedule keeps its
 * rate and exponential gaps, percentiles by nearest rank, the latency
 * reservoir, and the script parser with its parameters and quoting.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../workers/hum.h"

static struct hum_rng rng;

Test(hum_sched, rate_holds_over_a_few_seconds)
{
	struct hum_sched s;
	double rate = 100, t = 0;
	int n = 0;

	hum_rng_seed(&rng, 42);
	hum_sched_init(&s, &rng);
	/* 10 s at 100/s: a pure Poisson count would wander by ~3 % */
	while ((t += hum_sched_gap(&s, rate)) < 10.0)
		n++;
	cr_assert(abs(n - 1000) <= 10, "1000 arrivals expected in 10 s, "
	    "got %d", n);
}

Test(hum_sched, gaps_are_exponential)
{
	struct hum_sched s;
	double rate = 50, sum = 0, sum2 = 0, below_mean = 0;
	int n = 64 * 1000;

	hum_rng_seed(&rng, 7);
	hum_sched_init(&s, &rng);
	for (int i = 0; i < n; i++) {
		double g = hum_sched_gap(&s, rate);
		cr_assert(g >= 0);
		sum += g;
		sum2 += g * g;
		if (g < 1 / rate)
			below_mean++;
	}
	double mean = sum / n, sd = sqrt(sum2 / n - mean * mean);
	cr_assert(fabs(mean * rate - 1) < 0.01, "mean gap %g", mean);
	/* exponential: sd equals the mean, P(gap < mean) = 1 - 1/e */
	cr_assert(fabs(sd / mean - 1) < 0.03, "cv %g", sd / mean);
	cr_assert(fabs(below_mean / n - (1 - exp(-1))) < 0.01);
}

Test(hum_sched, order_is_random_within_a_block)
{
	struct hum_sched s;
	double g[HUM_STRATA];
	int ascending = 0;

	hum_rng_seed(&rng, 3);
	hum_sched_init(&s, &rng);
	for (int i = 0; i < HUM_STRATA; i++)
		g[i] = hum_sched_gap(&s, 1);
	for (int i = 1; i < HUM_STRATA; i++)
		ascending += g[i] > g[i - 1];
	/* no ramp: bursts and lulls come in any order */
	cr_assert(ascending > 16 && ascending < 48, "%d rises", ascending);
}

Test(hum_percentile, nearest_rank)
{
	double v[] = { 5, 1, 4, 2, 3, 10, 9, 8, 7, 6 };

	cr_assert_float_eq(hum_percentile(v, 10, 50), 5, 1e-9);
	cr_assert_float_eq(hum_percentile(v, 10, 99), 10, 1e-9);
	cr_assert_float_eq(hum_percentile(v, 10, 0), 1, 1e-9);
	cr_assert_float_eq(hum_percentile(v, 1, 99), 1, 1e-9);
	cr_assert_float_eq(hum_percentile(v, 0, 50), 0, 1e-9);
}

Test(hum_percentile, p99_of_a_thousand)
{
	static double v[1000];

	for (int i = 0; i < 1000; i++)
		v[i] = 1000 - i;	/* 1..1000, reversed */
	cr_assert_float_eq(hum_percentile(v, 1000, 99), 990, 1e-9);
	cr_assert_float_eq(hum_percentile(v, 1000, 50), 500, 1e-9);
}

Test(hum_lat, reservoir_keeps_max_and_is_unbiased)
{
	static struct hum_lat l;

	hum_rng_seed(&rng, 11);
	hum_lat_reset(&l);
	/* 40000 samples, uniform 0..100 ms, one outlier */
	for (int i = 0; i < 40000; i++)
		hum_lat_add(&l, (i * 7919) % 10001 / 100.0, &rng);
	hum_lat_add(&l, 5000, &rng);
	cr_assert_eq(l.n, HUM_LAT_MAX);
	cr_assert_eq(l.seen, 40001);
	cr_assert_float_eq(l.max, 5000, 1e-9);
	double p50 = hum_percentile(l.v, l.n, 50);
	cr_assert(fabs(p50 - 50) < 3, "p50 %g", p50);
}

Test(hum_script, splits_and_numbers_parameters)
{
	struct hum_script s;
	char err[200];
	const char *text =
	    "-- a transfer; with a comment\n"
	    "UPDATE accounts SET abalance = abalance + :delta WHERE aid = :aid;\n"
	    "SELECT abalance FROM accounts WHERE aid = :aid ;\n"
	    "  ;  \n"
	    "INSERT INTO history (tid, bid, aid, delta) "
	    "VALUES (:tid, :bid, :aid, :delta)";

	cr_assert_eq(hum_script_parse(text, &s, err, sizeof(err)), 0, "%s",
	    err);
	cr_assert_eq(s.nstmt, 3);
	cr_assert_str_eq(s.stmt[0].sql,
	    "UPDATE accounts SET abalance = abalance + $1 WHERE aid = $2");
	cr_assert_eq(s.stmt[0].nparams, 2);
	cr_assert_eq(s.stmt[0].var[0], HV_DELTA);
	cr_assert_eq(s.stmt[0].var[1], HV_AID);
	cr_assert_str_eq(s.stmt[1].sql,
	    "SELECT abalance FROM accounts WHERE aid = $1");
	cr_assert_str_eq(s.stmt[2].sql, "INSERT INTO history (tid, bid, aid, "
	    "delta) VALUES ($1, $2, $3, $4)");
	cr_assert_eq(s.stmt[2].var[2], HV_AID);
	hum_script_free(&s);
}

Test(hum_script, quotes_casts_and_dollar_bodies_are_left_alone)
{
	struct hum_script s;
	char err[200];
	const char *text =
	    "SELECT ':aid;', \"a;b\"::text, :scale::int;"
	    "DO $x$ BEGIN PERFORM 1; END $x$;"
	    "SELECT 'it''s; fine' /* ; :bid */";

	cr_assert_eq(hum_script_parse(text, &s, err, sizeof(err)), 0, "%s",
	    err);
	cr_assert_eq(s.nstmt, 3);
	cr_assert_str_eq(s.stmt[0].sql, "SELECT ':aid;', \"a;b\"::text, "
	    "$1::int");
	cr_assert_eq(s.stmt[0].var[0], HV_SCALE);
	cr_assert_str_eq(s.stmt[1].sql, "DO $x$ BEGIN PERFORM 1; END $x$");
	cr_assert_eq(s.stmt[1].nparams, 0);
	cr_assert_str_eq(s.stmt[2].sql, "SELECT 'it''s; fine'");
	hum_script_free(&s);
}

Test(hum_script, errors_say_what_to_fix)
{
	struct hum_script s;
	char err[200];

	cr_assert_eq(hum_script_parse("SELECT 1; SELECT :nope", &s, err,
	    sizeof(err)), -1);
	cr_assert(strstr(err, "statement 2") && strstr(err, ":nope") &&
	    strstr(err, ":aid"), "%s", err);
	cr_assert_eq(hum_script_parse("SELECT 'open", &s, err,
	    sizeof(err)), -1);
	cr_assert(strstr(err, "unterminated"), "%s", err);
	cr_assert_eq(hum_script_parse(" -- only a comment\n ;", &s, err,
	    sizeof(err)), -1);
	cr_assert(strstr(err, "no SQL"), "%s", err);
}

/* issue 15: the load profiles' factors and phases. */
Test(hum_curve, pulse_is_the_last_pulse_s_of_each_period)
{
	struct hum_curve c = { 1, 20, 5, 1, 4 };
	int ph;

	cr_assert_float_eq(hum_curve_factor(&c, 0, &ph), 1, 1e-12);
	cr_assert_eq(ph, 0);
	cr_assert_float_eq(hum_curve_factor(&c, 14.9, &ph), 1, 1e-12);
	cr_assert_float_eq(hum_curve_factor(&c, 15, &ph), 4, 1e-12);
	cr_assert_eq(ph, 1);
	cr_assert_float_eq(hum_curve_factor(&c, 19.9, &ph), 4, 1e-12);
	cr_assert_float_eq(hum_curve_factor(&c, 20, &ph), 1, 1e-12);
	cr_assert_eq(ph, 0);
	/* wall-clock times: the same every period */
	cr_assert_float_eq(hum_curve_factor(&c, 1.7e9 + 16, &ph), 4, 1e-12);
}

Test(hum_curve, ramp_rises_then_holds)
{
	struct hum_curve c = { 2, 60, 10, 0.5, 2.5 };
	int ph;

	cr_assert_float_eq(hum_curve_factor(&c, 0, &ph), 0.5, 1e-12);
	cr_assert_eq(ph, 0);
	cr_assert_float_eq(hum_curve_factor(&c, 30, &ph), 1.5, 1e-12);
	cr_assert_float_eq(hum_curve_factor(&c, 60, &ph), 2.5, 1e-12);
	cr_assert_eq(ph, 1);
	cr_assert_float_eq(hum_curve_factor(&c, 6000, &ph), 2.5, 1e-12);
	cr_assert_eq(ph, 1);
}

Test(hum_curve, sine_between_low_and_peak)
{
	struct hum_curve c = { 3, 40, 10, 1, 3 };
	double lo = 1e9, hi = 0, sum = 0;
	int ph, n = 4000;

	cr_assert_float_eq(hum_curve_factor(&c, 0, &ph), 1, 1e-12);
	cr_assert_eq(ph, 0);
	cr_assert_float_eq(hum_curve_factor(&c, 10, &ph), 2, 1e-9);
	cr_assert_float_eq(hum_curve_factor(&c, 20, &ph), 3, 1e-12);
	cr_assert_eq(ph, 1);
	cr_assert_float_eq(hum_curve_factor(&c, 30, &ph), 2, 1e-9);
	for (int i = 0; i < n; i++) {
		double f = hum_curve_factor(&c, 40.0 * i / n, &ph);
		lo = f < lo ? f : lo;
		hi = f > hi ? f : hi;
		sum += f;
	}
	cr_assert(lo >= 1 && hi <= 3);
	/* the mean rate is the midpoint */
	cr_assert_float_eq(sum / n, 2, 1e-6);
}

Test(hum_curve, flat_is_one)
{
	struct hum_curve c = { 0, 60, 10, 0.1, 9 };
	int ph;

	cr_assert_float_eq(hum_curve_factor(&c, 123, &ph), 1, 1e-12);
	cr_assert_eq(ph, 0);
}
