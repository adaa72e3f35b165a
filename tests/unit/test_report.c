/*
 * test_report.c: the pure parts of `labsup report`: durations, points in
 * time and ranges as the command line spells them, the downsampling
 * bucket, InfluxDB's JSON answer into the page's series (one time axis,
 * nulls where a series has no point, labels from tags), and escaping: a
 * config value or event text can neither become HTML nor end the data's
 * <script> element.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../../workers/influx.h"
#include "../../lib/duration.h"
#include "../../workers/report.h"

#define S 1000000000LL
/* 2026-12-01T11:00:00Z */
#define T0 1796122800LL

static int64_t
when(const char *s)
{
	int64_t ns = 0;

	return report_parse_time(s, (T0 + 3600) * S, &ns) == 0 ? ns : -1;
}

/* report's durations are lib/duration.h's (test_duration.c); here the
 * forms it documented before it shared them */
Test(report, durations_are_the_common_ones)
{
	int64_t a = 0, b = 0, now = (T0 + 3600) * S;
	char err[400];

	cr_assert_eq(report_range("1h30m", NULL, NULL, now, &a, &b, err,
	    sizeof(err)), 0);
	cr_assert_eq(b - a, 5400 * S);
	cr_assert_eq(report_range("500ms", NULL, NULL, now, &a, &b, err,
	    sizeof(err)), 0);
	cr_assert_eq(b - a, S / 2);
	cr_assert_eq(report_range("2d", NULL, NULL, now, &a, &b, err,
	    sizeof(err)), 0);
	cr_assert_eq(b - a, 2 * 86400 * S);
	cr_assert_eq(report_range("0s", NULL, NULL, now, &a, &b, err,
	    sizeof(err)), -1);
	cr_assert_eq(report_range("400d", NULL, NULL, now, &a, &b, err,
	    sizeof(err)), -1);
	cr_assert_eq(when("now-90"), now - 90 * S, "a bare number: seconds");
	cr_assert_eq(when("now-0s"), -1);
}

Test(report, times)
{
	cr_assert_eq(when("2026-12-01T11:00:00Z"), T0 * S);
	cr_assert_eq(when("2026-12-01 11:00:00"), T0 * S);
	cr_assert_eq(when("2026-12-01t11:00z"), T0 * S);
	cr_assert_eq(when("2026-12-01T11:00:00.25Z"), T0 * S + S / 4);
	cr_assert_eq(when("2026-12-01T12:00:00+01:00"), T0 * S);
	cr_assert_eq(when("2026-12-01T10:30:00-00:30"), T0 * S);
	cr_assert_eq(when("2026-12-01"), (T0 - 11 * 3600) * S);
	cr_assert_eq(when("1796122800"), T0 * S);
	cr_assert_eq(when("@1796122800.5"), T0 * S + S / 2);
	cr_assert_eq(when("now"), (T0 + 3600) * S);
	cr_assert_eq(when("now-1h"), T0 * S);
	cr_assert_eq(when("now-90s"), (T0 + 3600 - 90) * S);
}

Test(report, bad_times)
{
	const char *bad[] = { "", "yesterday", "2026-13-01", "2026-02-30",
	    "2026-12-01T25:00", "2026-12-01T11:00:00+1", "2026-12-01T11",
	    "2026-12-01T11:00:00Zjunk", "now-", "now-x", "now+1h", "12",
	    "1796122800000", "@", "@x", "1969-12-31", "2026-12-01T11:00:00." };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(when(bad[i]), -1, "\"%s\" was taken", bad[i]);
}

Test(report, ranges)
{
	int64_t now = (T0 + 3600) * S, a = 0, b = 0;
	char err[200];

	cr_assert_eq(report_range(NULL, NULL, NULL, now, &a, &b, err,
	    sizeof(err)), 0);
	cr_assert_eq(b - a, 15 * 60 * S, "the default is the last 15 minutes");
	cr_assert_eq(b, now);
	cr_assert_eq(report_range("1h", NULL, NULL, now, &a, &b, err,
	    sizeof(err)), 0);
	cr_assert_eq(a, T0 * S);
	cr_assert_eq(report_range(NULL, "now-30m", NULL, now, &a, &b, err,
	    sizeof(err)), 0);
	cr_assert(a == now - 1800 * S && b == now, "--to defaults to now");
	cr_assert_eq(report_range(NULL, "2026-12-01T11:00:00Z",
	    "2026-12-01T11:05:00Z", now, &a, &b, err, sizeof(err)), 0);
	cr_assert(a == T0 * S && b == (T0 + 300) * S);
}

Test(report, bad_ranges_say_why)
{
	int64_t now = (T0 + 3600) * S, a, b;
	char err[200];

	cr_assert_eq(report_range("1h", "now-2h", NULL, now, &a, &b, err,
	    sizeof(err)), -1);
	cr_assert(strstr(err, "--since excludes") != NULL, "%s", err);
	cr_assert_eq(report_range(NULL, NULL, "now", now, &a, &b, err,
	    sizeof(err)), -1);
	cr_assert(strstr(err, "--to needs --from") != NULL, "%s", err);
	cr_assert_eq(report_range(NULL, "now", "now-1h", now, &a, &b, err,
	    sizeof(err)), -1);
	cr_assert(strstr(err, "later") != NULL, "%s", err);
	cr_assert_eq(report_range("soon", NULL, NULL, now, &a, &b, err,
	    sizeof(err)), -1);
	cr_assert_str_eq(err, "--since: expected " DURATION_FORMS ", not "
	    "\"soon\"");
	cr_assert_eq(report_range(NULL, "tuesday", NULL, now, &a, &b, err,
	    sizeof(err)), -1);
	cr_assert(strstr(err, "--from \"tuesday\"") != NULL, "%s", err);
}

Test(report, buckets_keep_a_day_small)
{
	char buf[16];

	cr_assert_eq(report_bucket_ns(20 * S), S, "1 s at least");
	cr_assert_eq(report_bucket_ns(15 * 60 * S), 2 * S);
	cr_assert_eq(report_bucket_ns(3600 * S), 10 * S);
	/* a day of 100 Hz samples: 288 points a series */
	cr_assert_eq(report_bucket_ns(86400 * S), 300 * S);
	cr_assert_leq(86400 * S / report_bucket_ns(86400 * S), 600);
	cr_assert_leq(30 * 86400 * S / report_bucket_ns(30 * 86400 * S), 600);
	cr_assert_str_eq(report_bucket_text(300 * S, buf, sizeof(buf)), "5m");
	cr_assert_str_eq(report_bucket_text(15 * S, buf, sizeof(buf)), "15s");
	cr_assert_str_eq(report_bucket_text(7200 * S, buf, sizeof(buf)), "2h");
	cr_assert_str_eq(report_bucket_text(86400 * S, buf, sizeof(buf)), "1d");
	cr_assert_str_eq(report_bucket_text(S / 2, buf, sizeof(buf)), "500ms");
}

static json_t *
series_of(const char *answer, char *err, size_t errlen)
{
	json_error_t je;
	json_t *a = json_loads(answer, 0, &je), *s;

	cr_assert_not_null(a, "test JSON: %s", je.text);
	s = report_series(a, err, errlen);
	json_decref(a);
	return s;
}

/* The page's series object as compact JSON, for exact comparison. */
static char *
dump(const json_t *v)
{
	char *s = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS |
	    JSON_REAL_PRECISION(10));

	cr_assert_not_null(s);
	return s;
}

Test(report, series_share_one_time_axis)
{
	char err[200] = "", *got;
	/* InfluxDB 1.x, GROUP BY time(1s), "node": sub2 lacks a bucket */
	json_t *s = series_of("{\"results\":[{\"statement_id\":0,\"series\":["
	    "{\"name\":\"replication\",\"tags\":{\"node\":\"sub1\"},"
	    "\"columns\":[\"time\",\"apply_lag\"],"
	    "\"values\":[[1000,5],[2000,null],[3000,7.5]]},"
	    "{\"name\":\"replication\",\"tags\":{\"node\":\"sub2\"},"
	    "\"columns\":[\"time\",\"apply_lag\"],"
	    "\"values\":[[1000,1],[4000,2]]}]}]}", err, sizeof(err));

	cr_assert_not_null(s, "%s", err);
	got = dump(s);
	cr_assert_str_eq(got, "{\"dropped\":0,\"series\":["
	    "{\"label\":\"sub1\",\"v\":[5,null,7.5,null]},"
	    "{\"label\":\"sub2\",\"v\":[1,null,null,2]}],"
	    "\"t\":[1.0,2.0,3.0,4.0]}");
	free(got);
	json_decref(s);
}

Test(report, several_columns_and_tags_label_both)
{
	char err[200] = "", *got;
	json_t *s = series_of("{\"results\":[{\"series\":["
	    "{\"name\":\"pg_activity\",\"tags\":{\"wait_event_type\":\"Lock\","
	    "\"wait_event\":\"\"},\"columns\":[\"time\",\"pairs\",\"waiting\"],"
	    "\"values\":[[1500,1,2]]}]}]}", err, sizeof(err));

	cr_assert_not_null(s, "%s", err);
	got = dump(s);
	cr_assert_str_eq(got, "{\"dropped\":0,\"series\":["
	    "{\"label\":\"pairs Lock (none)\",\"v\":[1]},"
	    "{\"label\":\"waiting Lock (none)\",\"v\":[2]}],\"t\":[1.5]}");
	free(got);
	json_decref(s);
}

Test(report, no_series_is_no_data_not_an_error)
{
	char err[200] = "", *got;
	json_t *s = series_of("{\"results\":[{\"statement_id\":0}]}", err,
	    sizeof(err));

	cr_assert_not_null(s, "%s", err);
	got = dump(s);
	cr_assert_str_eq(got, "{\"dropped\":0,\"series\":[],\"t\":[]}");
	free(got);
	json_decref(s);
}

Test(report, too_many_series_are_counted)
{
	char err[200] = "";
	char *buf = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&buf, &len);
	json_t *s;

	fputs("{\"results\":[{\"series\":[", fp);
	for (int i = 0; i < 30; i++)
		fprintf(fp, "%s{\"tags\":{\"worker\":\"w%d\"},\"columns\":"
		    "[\"time\",\"drops\"],\"values\":[[1000,%d]]}",
		    i ? "," : "", i, i);
	fputs("]}]}", fp);
	fclose(fp);
	s = series_of(buf, err, sizeof(err));
	free(buf);
	cr_assert_not_null(s, "%s", err);
	cr_assert_eq(json_array_size(json_object_get(s, "series")), 24);
	cr_assert_eq(json_integer_value(json_object_get(s, "dropped")), 6);
	json_decref(s);
}

Test(report, bad_answers_say_what)
{
	char err[200] = "";

	cr_assert_null(series_of("{\"results\":[{\"statement_id\":0,\"error\":"
	    "\"undefined function foo()\"}]}", err, sizeof(err)));
	cr_assert_str_eq(err, "InfluxDB: undefined function foo()");
	cr_assert_null(series_of("{\"error\":\"database not found: x\"}", err,
	    sizeof(err)));
	cr_assert_str_eq(err, "InfluxDB: database not found: x");
	cr_assert_null(series_of("{\"results\":[{\"series\":[{\"columns\":"
	    "[\"time\",\"v\"],\"values\":[[\"2026-12-01T11:00:00Z\",1]]}]}]}",
	    err, sizeof(err)));
	cr_assert(strstr(err, "epoch ms") != NULL, "%s", err);
	cr_assert_null(series_of("{\"results\":[{\"series\":{}}]}", err,
	    sizeof(err)));
	cr_assert_null(series_of("[1,2]", err, sizeof(err)));
	cr_assert(strstr(err, "no results") != NULL, "%s", err);
}

static char *
capture_html(const char *s)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&buf, &len);

	report_html_text(fp, s);
	fclose(fp);
	return buf;
}

Test(report, html_text_escapes_markup_and_quotes)
{
	char *got = capture_html("a<b>&\"c'</pre><script>x</script>");

	cr_assert_str_eq(got, "a&lt;b&gt;&amp;&quot;c&#39;&lt;/pre&gt;"
	    "&lt;script&gt;x&lt;/script&gt;");
	free(got);
	got = capture_html("state_dir = /tmp/x y");
	cr_assert_str_eq(got, "state_dir = /tmp/x y", "plain text unchanged");
	free(got);
}

Test(report, json_in_script_cannot_end_the_element)
{
	const char *hostile = "</script><script>alert(1)</script><!-- & "
	    "\xe2\x80\xa8 </SCRIPT >";
	json_t *v = json_pack("{s:[{s:s}]}", "events", "text", hostile), *back;
	char *buf = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&buf, &len);
	json_error_t je;

	cr_assert_eq(report_json_script(fp, v), 0);
	fclose(fp);
	cr_assert_null(strpbrk(buf, "<>&"), "markup in %s", buf);
	for (const char *p = buf; *p; p++)
		cr_assert((unsigned char)*p < 0x80, "non-ASCII (U+2028) kept");
	/* and the page reads back exactly the text the lab stored */
	back = json_loads(buf, 0, &je);
	cr_assert_not_null(back, "%s", je.text);
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(
	    json_object_get(back, "events"), 0), "text")), hostile);
	json_decref(back);
	json_decref(v);
	free(buf);
}

Test(report, chart_table_rows_are_whole)
{
	for (size_t i = 0; i < report_ncharts; i++) {
		const struct report_chart *c = &report_charts[i];

		cr_assert(c->id && c->title && c->select && c->from && c->unit,
		    "row %zu misses a column", i);
		cr_assert_eq(strspn(c->id, "abcdefghijklmnopqrstuvwxyz_"),
		    strlen(c->id), "id \"%s\" is not [a-z_]", c->id);
		for (size_t j = 0; j < i; j++)
			cr_assert_str_neq(c->id, report_charts[j].id,
			    "two charts are \"%s\"", c->id);
	}
}

Test(report, header_values)
{
	char v[32];

	cr_assert(influx_header_value("X-Influxdb-Version: 1.6.7~rc0\r\n", 31,
	    "x-influxdb-version", v, sizeof(v)));
	cr_assert_str_eq(v, "1.6.7~rc0");
	cr_assert(influx_header_value("Retry-After:3\r\n", 15, "retry-after", v,
	    sizeof(v)));
	cr_assert_str_eq(v, "3");
	cr_assert_not(influx_header_value("Retry-After-X: 3\r\n", 18,
	    "retry-after", v, sizeof(v)), "a longer name is another header");
	cr_assert_not(influx_header_value("Retry", 5, "retry-after", v,
	    sizeof(v)));
	cr_assert(influx_header_value("A: 0123456789012345678901234567890123"
	    "\r\n", 39, "a", v, 8));
	cr_assert_str_eq(v, "0123456", "cut to the buffer");
}

/*
 * A saved scenario run (scn_report_json's shape, as `scenario run` keeps
 * it): marks at each step's start and end (label, else the step's text),
 * a skipped step none, each expectation a window with its verdict and
 * value, one without a window of its own spanning the run.
 */
static const char scn_run_json[] =
	"{\"scenario\": \"deadlock\", \"file\": \"scenarios/deadlock.scn\","
	" \"passed\": false, \"seed\": 42,"
	" \"start_ns\": 1796122800000000000, \"end_ns\": 1796122805000000000,"
	" \"steps\": ["
	"  {\"name\": \"a1\", \"line\": 3, \"step\": \"sql pub a BEGIN\","
	"   \"status\": \"ok\", \"start_ns\": 1796122800100000000,"
	"   \"end_ns\": 1796122800200000000, \"detail\": \"\"},"
	"  {\"name\": \"#2\", \"line\": 4, \"step\": \"sleep 300ms\","
	"   \"status\": \"failed\", \"start_ns\": 1796122801000000000,"
	"   \"end_ns\": 1796122801300000000, \"detail\": \"<boom>\"},"
	"  {\"name\": \"#3\", \"line\": 5, \"step\": \"sleep 1s\","
	"   \"status\": \"skipped\", \"start_ns\": 0, \"end_ns\": 0,"
	"   \"detail\": \"\"}],"
	" \"expectations\": ["
	"  {\"line\": 9, \"expect\": \"max(replication.apply_lag_ms) < 2000\","
	"   \"status\": \"ok\", \"measured\": 840.5,"
	"   \"from_ns\": 1796122802000000000, \"to_ns\": 1796122804000000000,"
	"   \"detail\": \"\"},"
	"  {\"line\": 10, \"expect\": \"session_errors == 1\","
	"   \"status\": \"failed\", \"measured\": null, \"detail\": \"\"}]}";

Test(report, scenario_run_to_marks_and_windows)
{
	struct report_scenario rs;
	json_error_t je;
	json_t *j = json_loads(scn_run_json, 0, &je);
	char err[256] = "";

	cr_assert_not_null(j, "%s", je.text);
	cr_assert_eq(report_scenario(j, &rs, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(rs.o.from_ns, (T0 - 10) * S);
	cr_assert_eq(rs.o.to_ns, (T0 + 5 + 10) * S);
	cr_assert_str_eq(rs.o.title, "labsup scenario deadlock: FAILED "
	    "(seed 42)");
	cr_assert_eq(rs.o.nmarks, 4, "a skipped step has no marks");
	cr_assert_eq(rs.o.marks[0].ts_ns, T0 * S + 100000000);
	cr_assert_str_eq(rs.o.marks[0].label, "a1");
	cr_assert_eq(rs.o.marks[1].ts_ns, T0 * S + 200000000);
	cr_assert_str_eq(rs.o.marks[1].label, "a1: end");
	cr_assert_str_eq(rs.o.marks[2].label, "sleep 300ms");
	cr_assert_str_eq(rs.o.marks[3].label, "sleep 300ms: end, failed: "
	    "<boom>");
	cr_assert_eq(rs.o.nwindows, 2);
	cr_assert_eq(rs.o.windows[0].from_ns, (T0 + 2) * S);
	cr_assert_eq(rs.o.windows[0].to_ns, (T0 + 4) * S);
	cr_assert_eq(rs.o.windows[0].verdict, REPORT_PASS);
	cr_assert_str_eq(rs.o.windows[0].label,
	    "max(replication.apply_lag_ms) < 2000: 840.5");
	cr_assert_eq(rs.o.windows[1].from_ns, T0 * S, "the run's span");
	cr_assert_eq(rs.o.windows[1].to_ns, (T0 + 5) * S);
	cr_assert_eq(rs.o.windows[1].verdict, REPORT_FAIL);
	cr_assert_str_eq(rs.o.windows[1].label,
	    "session_errors == 1: nothing measured");
	report_scenario_free(&rs);
	json_decref(j);
}

Test(report, not_a_scenario_run_says_so)
{
	static const char *const bad[] = { "[]", "{}",
	    "{\"runs\": [], \"passed\": 1, \"total\": 2}",
	    "{\"scenario\": \"x\", \"start_ns\": 5, \"end_ns\": 1, "
	    "\"steps\": [], \"expectations\": []}",
	    "{\"scenario\": \"x\", \"start_ns\": 1, \"end_ns\": 2, "
	    "\"steps\": {}, \"expectations\": []}" };
	struct report_scenario rs;
	char err[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_t *j = json_loads(bad[i], 0, NULL);
		err[0] = '\0';
		cr_assert_eq(report_scenario(j, &rs, err, sizeof(err)), -1,
		    "%s", bad[i]);
		cr_assert(strstr(err, "not a scenario run") != NULL, "%s", err);
		json_decref(j);
	}
}

static void
touch(const char *dir, const char *name, long mtime)
{
	char p[512];
	FILE *fp;
	struct timespec ts[2] = { { mtime, 0 }, { mtime, 0 } };

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	cr_assert_not_null(fp = fopen(p, "w"), "%s", p);
	fputs("{}\n", fp);
	fclose(fp);
	cr_assert_eq(utimensat(AT_FDCWD, p, ts, 0), 0);
}

Test(report, scenario_find_names_last_and_paths)
{
	char dir[] = "/tmp/labsup-test-report-XXXXXX", path[600], want[600];
	char err[600];

	cr_assert_not_null(mkdtemp(dir));
	cr_assert_eq(report_scenario_find(dir, "last", path, sizeof(path),
	    err, sizeof(err)), -1);
	cr_assert(strstr(err, "no saved scenario run in") != NULL, "%s", err);
	touch(dir, "deadlock-20261201T110000Z.json", 1000);
	touch(dir, "deadlock-20261201T120000Z.json", 2000);
	touch(dir, "row-lock-20261201T113000Z.json", 3000);
	touch(dir, "deadlock-20261201T120000Z.html", 4000);

	cr_assert_eq(report_scenario_find(dir, "last", path, sizeof(path),
	    err, sizeof(err)), 0, "%s", err);
	snprintf(want, sizeof(want), "%s/row-lock-20261201T113000Z.json", dir);
	cr_assert_str_eq(path, want, "the newest .json, not the .html");
	cr_assert_eq(report_scenario_find(dir, "deadlock", path, sizeof(path),
	    err, sizeof(err)), 0, "%s", err);
	snprintf(want, sizeof(want), "%s/deadlock-20261201T120000Z.json", dir);
	cr_assert_str_eq(path, want, "a scenario's newest run");
	cr_assert_eq(report_scenario_find(dir, "deadlock-20261201T110000Z",
	    path, sizeof(path), err, sizeof(err)), 0, "%s", err);
	snprintf(want, sizeof(want), "%s/deadlock-20261201T110000Z.json", dir);
	cr_assert_str_eq(path, want, "a name without .json");
	cr_assert_eq(report_scenario_find("/nonexistent", want, path,
	    sizeof(path), err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(path, want, "a path as given");
	cr_assert_eq(report_scenario_find(dir, "hot-row", path, sizeof(path),
	    err, sizeof(err)), -1);
	cr_assert(strstr(err, "no saved scenario run \"hot-row\"") != NULL,
	    "%s", err);
	cr_assert_eq(report_scenario_find(dir, "/nonexistent/x.json", path,
	    sizeof(path), err, sizeof(err)), -1);
	cr_assert(strstr(err, "no such file") != NULL, "%s", err);
	snprintf(path, sizeof(path), "rm -rf '%s'", dir);
	cr_assert_eq(system(path), 0);
}
