/*
 * test_duration.c: the one duration syntax of every command and scenario
 * (lib/duration.h), what each used to take kept working.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "../../lib/duration.h"

#define S 1000000000LL

static int64_t
dur(const char *s)
{
	int64_t ns = 0;

	return duration_parse(s, &ns) == 0 ? ns : -1;
}

Test(duration, forms)
{
	/* what logs, waits, report and scenarios documented */
	cr_assert_eq(dur("500ms"), S / 2);
	cr_assert_eq(dur("10s"), 10 * S);
	cr_assert_eq(dur("5m"), 300 * S);
	cr_assert_eq(dur("2min"), 120 * S);
	cr_assert_eq(dur("2h"), 7200 * S);
	cr_assert_eq(dur("1d"), 86400 * S);
	cr_assert_eq(dur("1w"), 7 * 86400 * S);
	cr_assert_eq(dur("1.5s"), 3 * S / 2);
	cr_assert_eq(dur("1.5h"), 5400 * S);
	cr_assert_eq(dur("1h30m"), 5400 * S);
	cr_assert_eq(dur("1m500ms"), 60 * S + S / 2);
	cr_assert_eq(dur("30"), 30 * S, "a bare number is seconds");
	cr_assert_eq(dur("1.5"), 3 * S / 2);
	cr_assert_eq(dur("0s"), 0);
	cr_assert_eq(dur("0.25ms"), 250000);
	cr_assert_eq(dur("0.333333333333s"), 333333333, "cut at the ns");
	cr_assert_eq(dur("366d"), DURATION_MAX_NS);
}

Test(duration, refused)
{
	const char *bad[] = { "", "m", "15x", "-5m", "+5m", " 5m", "5m ",
	    "15 m", "1h-", "15mm", "1e3s", "5.s", ".5s", "1h30", "0h30",
	    "367d", "53w", "99999999999999999999s", "5M", "5S",
	    "5sec", "1,5s" };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(dur(bad[i]), -1, "\"%s\" was taken", bad[i]);
	cr_assert_eq(duration_parse(NULL, &(int64_t){ 0 }), -1);
}

Test(duration, one_message)
{
	char err[300];
	int64_t ns = 0;

	cr_assert_eq(duration_arg("logs: --since", "10x", 1, DURATION_MAX_NS,
	    &ns, err, sizeof(err)), -1);
	cr_assert_str_eq(err, "logs: --since: expected " DURATION_FORMS
	    ", not \"10x\"");
	cr_assert_eq(duration_arg("sleep", "0s", 1, DURATION_MAX_NS, &ns, err,
	    sizeof(err)), -1);
	cr_assert_str_eq(err, "sleep: \"0s\" is too short: more than 0");
	cr_assert_eq(duration_arg("sleep", "25h", 0, 86400 * S, &ns, err,
	    sizeof(err)), -1);
	cr_assert_str_eq(err, "sleep: \"25h\" is too long: 1d at most");
	cr_assert_eq(duration_arg("sleep", "1h30m", 0, 86400 * S, &ns, err,
	    sizeof(err)), 0);
	cr_assert_eq(ns, 5400 * S);
}

Test(duration, format_parses_back)
{
	const int64_t v[] = { 1000000, S / 2, 90 * S, 5400 * S, 86400 * S,
	    86400 * S + 61 * S + 1000000, 500 };
	char buf[48];

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		duration_format(v[i], buf, sizeof(buf));
		cr_assert_eq(dur(buf), v[i], "%lld as \"%s\"", (long long)v[i],
		    buf);
	}
	duration_format(5400 * S, buf, sizeof(buf));
	cr_assert_str_eq(buf, "1h30m");
}
