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

	cr_assert_eq(hum_script_parse("SELECT 1;\nSELECT :nope", &s, err,
	    sizeof(err)), -1);
	cr_assert(!strncmp(err, "2: ", 3) && strstr(err, ":nope") &&
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

/* issue 15: pgbench scripts.  pgbench's built-in tpcb-like, verbatim. */
static const char tpcb_like[] =
    "-- tpcb-like\n"
    "\\set aid random(1, 100000 * :scale)\n"
    "\\set bid random(1, 1 * :scale)\n"
    "\\set tid random(1, 10 * :scale)\n"
    "\\set delta random(-5000, 5000)\n"
    "BEGIN;\n"
    "UPDATE pgbench_accounts SET abalance = abalance + :delta WHERE aid = :aid;\n"
    "SELECT abalance FROM pgbench_accounts WHERE aid = :aid;\n"
    "UPDATE pgbench_tellers SET tbalance = tbalance + :delta WHERE tid = :tid;\n"
    "UPDATE pgbench_branches SET bbalance = bbalance + :delta WHERE bid = :bid;\n"
    "INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES (:tid, :bid, :aid, :delta, CURRENT_TIMESTAMP);\n"
    "END;\n";

Test(hum_pgbench, the_builtin_tpcb_like_script_parses)
{
	static struct hum_script s;
	struct hum_value v[HUM_VARS_MAX] = { 0 };
	char err[200];

	cr_assert_eq(hum_script_parse(tpcb_like, &s, err, sizeof(err)), 0,
	    "%s", err);
	cr_assert_eq(s.nstmt, 7);
	cr_assert_eq(s.ncmd, 11);
	cr_assert_eq(s.cmd[0].kind, HUM_SET);
	cr_assert_eq(s.cmd[0].var, HV_AID);
	cr_assert_eq(s.cmd[0].line, 2);
	cr_assert_eq(s.cmd[4].kind, HUM_SQL);
	cr_assert_str_eq(s.stmt[0].sql, "BEGIN");
	cr_assert_str_eq(s.stmt[1].sql, "UPDATE pgbench_accounts SET abalance "
	    "= abalance + $1 WHERE aid = $2");
	cr_assert_eq(s.stmt[1].var[0], HV_DELTA);
	cr_assert_str_eq(s.stmt[6].sql, "END");
	/* the draws are pgbench's ranges */
	hum_rng_seed(&rng, 15);
	v[HV_SCALE].i = 3;
	for (int i = 0; i < 2000; i++) {
		struct hum_value out;
		cr_assert_eq(hum_expr_eval(&s, s.cmd[0].expr, v, &rng, &out,
		    err, sizeof(err)), 0, "%s", err);
		cr_assert(out.type == HUM_INT && out.i >= 1 &&
		    out.i <= 300000, "aid %lld", (long long)out.i);
		cr_assert_eq(hum_expr_eval(&s, s.cmd[3].expr, v, &rng, &out,
		    err, sizeof(err)), 0, "%s", err);
		cr_assert(out.i >= -5000 && out.i <= 5000);
	}
	hum_script_free(&s);
}

/* Evaluate one expression; variable x is 7, y is 2.5. */
static int
ev(const char *expr, struct hum_value *out, char *err, size_t len)
{
	static struct hum_script s;
	char text[512];
	struct hum_value v[HUM_VARS_MAX] = { 0 };
	int rc;

	snprintf(text, sizeof(text), "\\set x 7\n\\set y 2.5\n\\set r %s\n"
	    "SELECT :r", expr);
	if (hum_script_parse(text, &s, err, len) == -1)
		return -2;
	v[HV_SCALE].i = 10;
	for (int c = 0; c < s.ncmd && s.cmd[c].kind == HUM_SET; c++)
		if ((rc = hum_expr_eval(&s, s.cmd[c].expr, v, &rng,
		    &v[s.cmd[c].var], err, len)) != 0) {
			hum_script_free(&s);
			return rc;
		}
	*out = v[s.cmd[2].var];
	hum_script_free(&s);
	return 0;
}

static void
expect_int(const char *expr, int64_t want)
{
	struct hum_value v;
	char err[200];

	cr_assert_eq(ev(expr, &v, err, sizeof(err)), 0, "%s: %s", expr, err);
	cr_assert(v.type == HUM_INT || v.type == HUM_BOOL, "%s: type %d", expr,
	    v.type);
	cr_assert_eq(v.i, want, "%s = %lld, not %lld", expr, (long long)v.i,
	    (long long)want);
}

static void
expect_double(const char *expr, double want)
{
	struct hum_value v;
	char err[200];

	cr_assert_eq(ev(expr, &v, err, sizeof(err)), 0, "%s: %s", expr, err);
	cr_assert_eq(v.type, HUM_DOUBLE, "%s: not a double", expr);
	cr_assert_float_eq(v.d, want, 1e-9, "%s = %g, not %g", expr, v.d, want);
}

static void
expect_eval_error(const char *expr, int rc, const char *reason)
{
	struct hum_value v;
	char err[200];

	cr_assert_eq(ev(expr, &v, err, sizeof(err)), rc, "%s: accepted",
	    expr);
	cr_assert(strstr(err, reason) != NULL, "%s: \"%s\" lacks \"%s\"", expr,
	    err, reason);
}

Test(hum_pgbench, arithmetic_as_pgbench)
{
	expect_int("1 + 2 * 3", 7);
	expect_int("(1 + 2) * 3", 9);
	expect_int("-:x + 10", 3);
	expect_int("100000 * :scale", 1000000);
	expect_int(":x / 2", 3);		/* integer division */
	expect_int("-7 / 2", -3);		/* truncates toward zero */
	expect_int(":x % 4", 3);
	expect_int("mod(-7, 3)", -1);
	expect_double(":x / 2.0", 3.5);
	expect_double(":y * 2", 5);
	expect_double("1.5e2", 150);
	expect_int("abs(-5)", 5);
	expect_double("abs(-2.5)", 2.5);
	expect_int("least(5, :x, 3)", 3);
	expect_int("greatest(5, :x, 3)", 7);
	expect_double("greatest(1, 2.5)", 2.5);
	expect_int("int(:y * 3)", 7);
	expect_double("double(:x)", 7);
	expect_double("pi()", M_PI);
	expect_double("sqrt(16)", 4);
	expect_double("pow(2, 10)", 1024);
	expect_double("power(:x, 0)", 1);
	expect_double("ln(exp(2))", 2);
	expect_int(":x > 5 and :x < 8", 1);
	expect_int(":x = 7 or 1 / 0 = 1", 1);	/* short-circuit */
	expect_int("not (:x <> 7)", 1);
	expect_int(":x >= 8", 0);
	expect_int("true", 1);
	expect_int("9223372036854775807", INT64_MAX);
}

Test(hum_pgbench, random_functions_keep_their_bounds)
{
	struct hum_value v;
	char err[200];
	int ones = 0, n = 2000;

	hum_rng_seed(&rng, 15);
	for (int i = 0; i < n; i++) {
		cr_assert_eq(ev("random(-3, 3)", &v, err, sizeof(err)), 0);
		cr_assert(v.i >= -3 && v.i <= 3);
		cr_assert_eq(ev("random_exponential(1, 100, 5)", &v, err,
		    sizeof(err)), 0, "%s", err);
		cr_assert(v.i >= 1 && v.i <= 100);
		cr_assert_eq(ev("random_gaussian(1, 100, 2.5)", &v, err,
		    sizeof(err)), 0, "%s", err);
		cr_assert(v.i >= 1 && v.i <= 100);
		cr_assert_eq(ev("random_zipfian(1, 1000, 1.5)", &v, err,
		    sizeof(err)), 0, "%s", err);
		cr_assert(v.i >= 1 && v.i <= 1000);
		ones += v.i == 1;
	}
	/* zipfian s = 1.5 over 1000: P(1) = 1/H(1000, 1.5) = 0.39 */
	cr_assert(ones > n * 0.33 && ones < n * 0.45, "P(1) = %g",
	    (double)ones / n);
	expect_int("random(5, 5)", 5);
}

Test(hum_pgbench, evaluation_errors)
{
	expect_eval_error(":x / 0", -1, "division by zero");
	expect_eval_error(":x % 0", -1, "division by zero");
	expect_eval_error("9223372036854775807 + 1", -1, "bigint out of range");
	expect_eval_error("random(5, 1)", -1, "lower bound is above");
	expect_eval_error("random_exponential(1, 10, 0)", -1, "above 0");
	expect_eval_error("random_gaussian(1, 10, 1.5)", -1, "at least 2");
	expect_eval_error("random_zipfian(1, 10, 1)", -1, "1.001..1000");
}

Test(hum_pgbench, syntax_errors_name_the_line)
{
	static const struct {
		const char *text, *want;
	} bad[] = {
		{ "SELECT 1;\n\\set x random(1,\nSELECT 2",
		    "2: \\set x: the expression ends too early" },
		{ "\\set x 1 +* 2\nSELECT :x", "1: \\set x: unexpected \"*\"" },
		{ "\n\n\\setshell x echo 1\nSELECT 1",
		    "3: \\setshell is not supported by the hum" },
		{ "\\set x hash(1)\nSELECT 1", "1: \\set x: function hash() is "
		    "not supported" },
		{ "\\set x nosuch(1)\nSELECT 1", "unknown function nosuch()" },
		{ "\\set x 1 & 2\nSELECT 1", "bitwise operator & is not supported" },
		{ "\\set x 1 << 2\nSELECT 1", "bitwise operator << is not" },
		{ "\\set x case when 1 then 2 end\nSELECT 1", "CASE is not "
		    "supported" },
		{ "\\set x :y + 1\nSELECT 1", "variable :y is not set before" },
		{ "\\set x random(1)\nSELECT 1", "random() takes 2 arguments" },
		{ "\\set x\nSELECT 1", "1: \\set needs a variable name" },
		{ "\\set x 12abc\nSELECT 1", "\"12abc\" is not a number" },
		{ "SELECT 1;\n\\sleep 10 hours\n", "2: \\sleep: unit \"hours\"" },
		{ "SELECT 1;\n\\sleep :t ms\n", "2: \\sleep :t: no such variable" },
		{ "SELECT 1 \\gset\n", "1: a \\ command inside an SQL statement" },
		{ "SELECT\n  1,\n  :zz", "3: unknown variable :zz" },
		{ "SELECT 1;\nSELECT 'open\n", "2: unterminated ' quote" },
		{ "\\set x 1\n", "no SQL statements" },
	};
	static struct hum_script s;
	char err[200];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(hum_script_parse(bad[i].text, &s, err,
		    sizeof(err)), -1, "accepted: %s", bad[i].text);
		cr_assert(strstr(err, bad[i].want) != NULL, "%s: \"%s\" lacks "
		    "\"%s\"", bad[i].text, err, bad[i].want);
	}
}

Test(hum_pgbench, sleep_and_variables_in_order)
{
	static struct hum_script s;
	char err[200];

	cr_assert_eq(hum_script_parse("\\set t 5\n\\sleep 10 ms\n"
	    "SELECT :t;\n\\sleep :t us\n\\sleep 2\n\\set t :t * 2\n"
	    "SELECT :t, :client_id", &s, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(s.ncmd, 7);
	cr_assert_eq(s.cmd[1].kind, HUM_SLEEP);
	cr_assert_eq(s.cmd[1].sleep_us, 10000);
	cr_assert_eq(s.cmd[1].var, -1);
	cr_assert_eq(s.cmd[3].sleep_us, 1);
	cr_assert_eq(s.cmd[3].var, s.cmd[0].var);
	cr_assert_eq(s.cmd[4].sleep_us, 2000000);
	cr_assert_eq(s.stmt[1].var[1], HV_CLIENT_ID);
	hum_script_free(&s);
}
