/*
 * report.c: the HTML report (see report.h).  Every chart is one InfluxQL
 * query, downsampled by InfluxDB itself (GROUP BY time of a bucket chosen
 * from the range), so a day of 100 Hz samples is a few hundred points a
 * series.  The answers go into the page as one JSON object; the page's
 * script (report.js) draws them with uPlot.  Both scripts and uPlot's CSS
 * are in the binary (.incbin), so neither building nor reading the page
 * needs a network.
 */
#include <ctype.h>
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../lib/duration.h"
#include "../lib/labsup.h"
#include "influx.h"
#include "report.h"

/* Paths are from the top of the tree, where make runs the compiler. */
#define REPORT_INCBIN(sym, file)					\
	__asm__(".section .rodata\n"					\
	    ".global " #sym "\n" #sym ":\n"				\
	    ".incbin \"" file "\"\n"					\
	    ".global " #sym "_end\n" #sym "_end:\n"			\
	    ".byte 0\n"							\
	    ".previous\n");						\
	extern const char sym[], sym##_end[]

REPORT_INCBIN(report_uplot_js, "third_party/uplot/uPlot.iife.min.js");
REPORT_INCBIN(report_uplot_css, "third_party/uplot/uPlot.min.css");
REPORT_INCBIN(report_page_js, "workers/report.js");

/* ---- the charts: one row each ----------------------------------------- */

/* A per-sample total over nodes (and tags left out of the outer GROUP BY). */
#define PER_SAMPLE(field, m, cond, tags, tick)				\
	"(SELECT sum(\"" field "\") AS \"n\" FROM \"" m "\" WHERE $range " \
	cond " GROUP BY time(" tick ")" tags ")"

const struct report_chart report_charts[] = {
	{ "lock_waits", "Lock waits by mode (all nodes, peak)",
	  "max(\"n\") AS \"waiting\"",
	  PER_SAMPLE("count", "pg_locks", "AND \"granted\" = 'false'",
	  ", \"mode\"", "$ltick"), NULL, "\"mode\"", "locks", "0" },
	{ "locks_granted", "Granted locks by mode (all nodes, mean)",
	  "mean(\"n\") AS \"granted\"",
	  PER_SAMPLE("count", "pg_locks", "AND \"granted\" = 'true'",
	  ", \"mode\"", "$ltick"), NULL, "\"mode\"", "locks", "0" },
	{ "blocking", "Blocking pairs and waiting backends (peak)",
	  "max(\"pairs\") AS \"pairs\", max(\"waiting\") AS \"waiting\"",
	  "\"pg_blocking\"", NULL, "\"node\"", "backends" },
	{ "longest_wait", "Longest lock wait",
	  "max(\"longest_wait_ms\") AS \"longest\"", "\"pg_blocking\"", NULL,
	  "\"node\"", "ms" },
	{ "backends_state", "Backends by state (all nodes, mean)",
	  "mean(\"n\") AS \"backends\"",
	  PER_SAMPLE("count", "pg_activity", "", ", \"state\"", "$tick"),
	  NULL, "\"state\"", "backends", "0" },
	{ "backends_wait", "Backends by wait event (all nodes, mean)",
	  "mean(\"n\") AS \"backends\"",
	  PER_SAMPLE("count", "pg_activity", "AND \"wait_event_type\" != ''",
	  ", \"wait_event_type\", \"wait_event\"", "$tick"), NULL,
	  "\"wait_event_type\", \"wait_event\"", "backends", "0" },
	{ "apply_lag", "Replication apply lag per subscriber (peak)",
	  "max(\"apply_lag_ms\") AS \"apply_lag\"", "\"replication\"", NULL,
	  "\"node\"", "ms" },
	{ "slot_lag", "Replication slot lag per subscriber (peak)",
	  "max(\"lag_bytes\") AS \"slot_lag\"", "\"replication\"", NULL,
	  "\"node\"", "bytes" },
	{ "hum_tx", "Hum throughput", "sum(\"tx\") / $ivs AS \"tx/s\"",
	  "\"hum\"", NULL, "\"node\"", "tx/s" },
	{ "hum_latency", "Hum latency percentiles",
	  "mean(\"latency_p50_ms\") AS \"p50\", max(\"latency_p99_ms\") AS "
	  "\"p99\", max(\"latency_max_ms\") AS \"max\", "
	  "max(\"schedule_lag_ms\") AS \"schedule lag\"", "\"hum\"", NULL,
	  NULL, "ms" },
	{ "hum_errors", "Hum errors and reconnects",
	  "sum(\"err_serialization\") AS \"serialization\", "
	  "sum(\"err_deadlock\") AS \"deadlock\", sum(\"err_other\") AS "
	  "\"other\", sum(\"reconnects\") AS \"reconnects\"", "\"hum\"", NULL,
	  NULL, "per bucket" },
	{ "service_cpu", "Service CPU", "mean(\"cpu_pct\") AS \"cpu\"",
	  "\"service\"", NULL, "\"service\"", "%" },
	{ "service_mem", "Service memory", "max(\"mem_bytes\") AS \"mem\"",
	  "\"service\"", NULL, "\"service\"", "bytes" },
	{ "writer_points", "Writer: points stored per second",
	  "non_negative_derivative(max(\"points_written\"), 1s) AS "
	  "\"points/s\"", "\"labsup\"", "\"worker\" = 'writer'", NULL,
	  "points/s" },
	{ "writer_spool", "Writer: spool and errors",
	  "max(\"spool_bytes\") AS \"spool\", "
	  "non_negative_difference(max(\"errors\")) AS \"errors\"",
	  "\"labsup\"", "\"worker\" = 'writer'", NULL, "bytes / count" },
	{ "ring_drops", "Ring: records dropped per worker",
	  "non_negative_difference(max(\"ring_drops\")) AS \"drops\"",
	  "\"labsup\"", NULL, "\"worker\"", "per bucket" },
	{ "deadline_misses", "Missed sampler and hum deadlines",
	  "non_negative_difference(max(\"deadline_misses\")) AS \"misses\"",
	  "\"labsup\"", NULL, "\"worker\"", "per bucket" },
	/* lock-wait episodes as they end (stamped with their start) */
	{ "lock_wait", "Lock-wait episodes: longest (ms) and how many",
	  "max(\"duration_ms\") AS \"longest\", count(\"duration_ms\") AS "
	  "\"episodes\"", "\"lock_wait\"", "\"state\" = 'ended'",
	  "\"node\"", "ms / episodes" },
	{ "pg_log", "Server log: warnings and errors by severity",
	  "count(\"message\") AS \"lines\"", "\"pg_log\"",
	  "\"severity\" =~ /^(WARNING|ERROR|FATAL|PANIC)$/", "\"severity\"",
	  "lines" },
	/*
	 * More measurements: add a row here (a chart of a measurement that
	 * has no points in the range draws "no data").
	 */
};
const size_t report_ncharts = sizeof(report_charts) / sizeof(report_charts[0]);

/* The figures a reader wants first: one query each, no GROUP BY time. */
enum { FIG_MAX, FIG_SUM };
struct report_figure {
	const char *label;
	const char *query;	/* $range replaced; one value column */
	int combine;		/* over the tag sets: enum above */
	const char *unit;	/* "ms", "bytes" or "" */
};

static const struct report_figure report_figures[] = {
	{ "peak waiting backends", "SELECT max(\"waiting\") FROM "
	  "\"pg_blocking\" WHERE $range GROUP BY \"node\"", FIG_MAX, "" },
	{ "longest lock wait", "SELECT max(\"longest_wait_ms\") FROM "
	  "\"pg_blocking\" WHERE $range GROUP BY \"node\"", FIG_MAX, "ms" },
	{ "deadlocks", "SELECT spread(\"deadlocks\") FROM \"pg_blocking\" "
	  "WHERE $range GROUP BY \"node\"", FIG_SUM, "" },
	{ "worst apply lag", "SELECT max(\"apply_lag_ms\") FROM "
	  "\"replication\" WHERE $range GROUP BY \"node\"", FIG_MAX, "ms" },
	{ "worst slot lag", "SELECT max(\"lag_bytes\") FROM \"replication\" "
	  "WHERE $range GROUP BY \"node\"", FIG_MAX, "bytes" },
	{ "hum transactions", "SELECT sum(\"tx\") FROM \"hum\" WHERE $range",
	  FIG_SUM, "" },
	{ "hum errors", "SELECT sum(\"err_serialization\") + "
	  "sum(\"err_deadlock\") + sum(\"err_other\") FROM \"hum\" WHERE "
	  "$range", FIG_SUM, "" },
	{ "worst hum p99 latency", "SELECT max(\"latency_p99_ms\") FROM "
	  "\"hum\" WHERE $range GROUP BY \"node\"", FIG_MAX, "ms" },
	{ "ring drops", "SELECT spread(\"ring_drops\") FROM \"labsup\" WHERE "
	  "$range GROUP BY \"worker\"", FIG_SUM, "" },
	{ "writer errors", "SELECT spread(\"errors\") FROM \"labsup\" WHERE "
	  "$range AND \"worker\" = 'writer'", FIG_SUM, "" },
	{ "longest lock-wait episode", "SELECT max(\"duration_ms\") FROM "
	  "\"lock_wait\" WHERE $range AND \"state\" = 'ended' GROUP BY "
	  "\"node\"", FIG_MAX, "ms" },
	{ "server errors", "SELECT count(\"message\") FROM \"pg_log\" WHERE "
	  "$range AND \"severity\" =~ /^(ERROR|FATAL|PANIC)$/", FIG_SUM, "" },
	{ "events", "SELECT count(\"text\") FROM \"events\" WHERE $range",
	  FIG_SUM, "" },
};

/* Series a chart draws at most (by tag set); the rest are counted. */
#define REPORT_MAX_SERIES 24
/* Events drawn at most (the newest are dropped past it, and counted). */
#define REPORT_MAX_EVENTS 2000

/* ---- time ranges ------------------------------------------------------- */

/* Reads exactly n digits at *p into *v. */
static int
report_digits(const char **p, int n, int *v)
{
	*v = 0;
	for (int i = 0; i < n; i++, (*p)++) {
		if (!isdigit((unsigned char)**p))
			return -1;
		*v = *v * 10 + (**p - '0');
	}
	return 0;
}

static int
report_rfc3339(const char *s, int64_t *ns)
{
	struct tm tm = { 0 };
	int y, mo, d, h = 0, mi = 0, sec = 0, oh, om;
	int64_t frac = 0, scale = 100000000, off = 0;
	time_t t;

	if (report_digits(&s, 4, &y) || *s++ != '-' ||
	    report_digits(&s, 2, &mo) || *s++ != '-' ||
	    report_digits(&s, 2, &d))
		return -1;
	if (*s == 'T' || *s == 't' || *s == ' ') {
		s++;
		if (report_digits(&s, 2, &h) || *s++ != ':' ||
		    report_digits(&s, 2, &mi))
			return -1;
		if (*s == ':') {
			s++;
			if (report_digits(&s, 2, &sec))
				return -1;
			if (*s == '.') {
				if (!isdigit((unsigned char)*++s))
					return -1;
				for (; isdigit((unsigned char)*s); s++) {
					frac += (*s - '0') * scale;
					scale /= 10;
				}
			}
		}
		if (*s == 'Z' || *s == 'z')
			s++;
		else if (*s == '+' || *s == '-') {
			int sign = *s++ == '-' ? -1 : 1;

			if (report_digits(&s, 2, &oh) || *s++ != ':' ||
			    report_digits(&s, 2, &om) || oh > 23 || om > 59)
				return -1;
			off = sign * (oh * 3600LL + om * 60LL);
		}
	}
	if (*s != '\0' || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 ||
	    mi > 59 || sec > 60 || y < 1970)
		return -1;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	t = timegm(&tm);
	/* timegm normalises Feb 31 to Mar 3: refuse what it had to move */
	if (t == (time_t)-1 || tm.tm_mday != d || tm.tm_mon != mo - 1)
		return -1;
	*ns = ((int64_t)t - off) * 1000000000LL + frac;
	return 0;
}

int
report_parse_time(const char *s, int64_t now, int64_t *ns)
{
	int64_t d;
	char *end;
	double v;

	if (s == NULL || *s == '\0')
		return -1;
	if (strcmp(s, "now") == 0) {
		*ns = now;
		return 0;
	}
	if (strncmp(s, "now-", 4) == 0) {
		if (duration_parse(s + 4, &d) == -1 || d == 0)
			return -1;
		*ns = now - d;
		return 0;
	}
	if (*s == '@' || (strchr(s, '-') == NULL && strchr(s, ':') == NULL)) {
		const char *p = *s == '@' ? s + 1 : s;

		if (!isdigit((unsigned char)*p))
			return -1;
		errno = 0;
		v = strtod(p, &end);
		/* 2001 to 2100: seconds, not ms or a mistyped date */
		if (errno != 0 || *end != '\0' || v < 1e9 || v > 4.1e9)
			return -1;
		*ns = (int64_t)(v * 1e9);
		return 0;
	}
	return report_rfc3339(s, ns);
}

int
report_range(const char *since, const char *from, const char *to,
    int64_t now, int64_t *from_ns, int64_t *to_ns, char *err, size_t errlen)
{
	int64_t d;

	if (since != NULL && (from != NULL || to != NULL)) {
		snprintf(err, errlen, "--since excludes --from and --to");
		return -1;
	}
	if (to != NULL && from == NULL) {
		snprintf(err, errlen, "--to needs --from");
		return -1;
	}
	if (from == NULL) {
		if (duration_arg("--since", since ? since : "15m", 1,
		    DURATION_MAX_NS, &d, err, errlen) == -1)
			return -1;
		*to_ns = now;
		*from_ns = now - d;
		return 0;
	}
	if (report_parse_time(from, now, from_ns) == -1) {
		snprintf(err, errlen, "--from \"%s\": want a time such as "
		    "2026-12-01T11:00:00Z, now-1h or Unix seconds", from);
		return -1;
	}
	if (to == NULL)
		*to_ns = now;
	else if (report_parse_time(to, now, to_ns) == -1) {
		snprintf(err, errlen, "--to \"%s\": want a time such as "
		    "2026-12-01T11:15:00Z, now or Unix seconds", to);
		return -1;
	}
	if (*to_ns <= *from_ns) {
		snprintf(err, errlen, "--to must be later than --from");
		return -1;
	}
	return 0;
}

/* Round steps a bucket takes, in seconds. */
static const int64_t report_steps[] = {
	1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200,
	10800, 21600, 43200, 86400, 172800, 604800,
};

int64_t
report_bucket_ns(int64_t range_ns)
{
	size_t n = sizeof(report_steps) / sizeof(report_steps[0]);
	int64_t want = range_ns / 600;

	for (size_t i = 0; i < n; i++)
		if (report_steps[i] * 1000000000LL >= want)
			return report_steps[i] * 1000000000LL;
	return report_steps[n - 1] * 1000000000LL;
}

const char *
report_bucket_text(int64_t ns, char *buf, size_t len)
{
	int64_t s = ns / 1000000000LL;

	if (ns % 1000000000LL != 0)
		snprintf(buf, len, "%" PRId64 "ms", ns / 1000000);
	else if (s % 86400 == 0)
		snprintf(buf, len, "%" PRId64 "d", s / 86400);
	else if (s % 3600 == 0)
		snprintf(buf, len, "%" PRId64 "h", s / 3600);
	else if (s % 60 == 0)
		snprintf(buf, len, "%" PRId64 "m", s / 60);
	else
		snprintf(buf, len, "%" PRId64 "s", s);
	return buf;
}

/* ---- InfluxDB answers to series ---------------------------------------- */

static int
report_cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/* The label of column c of a series: "c" and/or its tag values. */
static char *
report_label(const json_t *series, const char *column, bool one_column)
{
	const json_t *tags = json_object_get(series, "tags");
	const char *k;
	json_t *v;
	char *buf = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&buf, &len);
	bool any = false;

	if (fp == NULL)
		return NULL;
	if (!one_column || !json_is_object(tags) || json_object_size(tags) == 0) {
		fputs(column, fp);
		any = true;
	}
	if (json_is_object(tags)) {
		json_object_foreach((json_t *)tags, k, v) {
			const char *s = json_string_value(v);

			fprintf(fp, "%s%s", any ? " " : "",
			    s && *s ? s : "(none)");
			any = true;
		}
	}
	fclose(fp);
	return buf;
}

json_t *
report_series(const json_t *answer, char *err, size_t errlen)
{
	const json_t *res, *list, *s, *row;
	size_t i, j, nt = 0, cap = 0;
	int64_t *ts = NULL;
	json_t *out = NULL, *t, *all;
	const char *e;

	res = json_array_get(json_object_get(answer, "results"), 0);
	if ((e = json_string_value(json_object_get(answer, "error"))) != NULL ||
	    (e = json_string_value(json_object_get(res, "error"))) != NULL) {
		snprintf(err, errlen, "InfluxDB: %s", e);
		return NULL;
	}
	if (!json_is_object(res)) {
		snprintf(err, errlen, "InfluxDB's answer has no results");
		return NULL;
	}
	list = json_object_get(res, "series");
	if (list != NULL && !json_is_array(list)) {
		snprintf(err, errlen, "InfluxDB's series is not a list");
		return NULL;
	}
	/* the time axis: the union of every series' times, sorted */
	json_array_foreach(list, i, s) {
		json_array_foreach(json_object_get(s, "values"), j, row) {
			json_t *tv = json_array_get(row, 0);

			if (!json_is_integer(tv)) {
				snprintf(err, errlen, "InfluxDB's answer has a "
				    "time that is not epoch ms");
				free(ts);
				return NULL;
			}
			if (nt == cap) {
				int64_t *p;

				cap = cap ? cap * 2 : 256;
				if ((p = realloc(ts, cap * sizeof(*ts))) == NULL)
					goto oom;
				ts = p;
			}
			ts[nt++] = json_integer_value(tv);
		}
	}
	if (nt > 0)
		qsort(ts, nt, sizeof(*ts), report_cmp_i64);
	for (i = j = 0; i < nt; i++)
		if (j == 0 || ts[j - 1] != ts[i])
			ts[j++] = ts[i];
	nt = j;

	out = json_pack("{s:[], s:[], s:i}", "t", "series", "dropped", 0);
	if (out == NULL)
		goto oom;
	t = json_object_get(out, "t");
	all = json_object_get(out, "series");
	for (i = 0; i < nt; i++)
		if (json_array_append_new(t, json_real(ts[i] / 1000.0)))
			goto oom;
	json_array_foreach(list, i, s) {
		const json_t *cols = json_object_get(s, "columns");
		const json_t *vals = json_object_get(s, "values");
		size_t ncol = json_array_size(cols);

		for (size_t c = 1; c < ncol; c++) {
			const char *name = json_string_value(
			    json_array_get(cols, c));
			json_t *v, *one;
			char *label;

			if (json_array_size(all) >= REPORT_MAX_SERIES) {
				json_object_set_new(out, "dropped",
				    json_integer(json_integer_value(
				    json_object_get(out, "dropped")) + 1));
				continue;
			}
			if ((v = json_array()) == NULL)
				goto oom;
			for (size_t k = 0; k < nt; k++)
				json_array_append_new(v, json_null());
			json_array_foreach(vals, j, row) {
				json_t *x = json_array_get(row, c);
				int64_t tm = json_integer_value(
				    json_array_get(row, 0));
				int64_t *at = bsearch(&tm, ts, nt, sizeof(*ts),
				    report_cmp_i64);

				if (at != NULL && json_is_number(x))
					json_array_set(v, (size_t)(at - ts), x);
			}
			label = report_label(s, name ? name : "value",
			    ncol == 2);
			one = json_pack("{s:s, s:o}", "label",
			    label ? label : "?", "v", v);
			free(label);
			if (one == NULL || json_array_append_new(all, one))
				goto oom;
		}
	}
	free(ts);
	return out;
oom:
	free(ts);
	json_decref(out);
	snprintf(err, errlen, "out of memory");
	return NULL;
}

/* ---- escaping ----------------------------------------------------------- */

void
report_html_text(FILE *fp, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '<': fputs("&lt;", fp); break;
		case '>': fputs("&gt;", fp); break;
		case '&': fputs("&amp;", fp); break;
		case '"': fputs("&quot;", fp); break;
		case '\'': fputs("&#39;", fp); break;
		default: fputc(*s, fp);
		}
	}
}

int
report_json_script(FILE *fp, const json_t *v)
{
	char *s = json_dumps(v, JSON_COMPACT | JSON_ENSURE_ASCII);

	if (s == NULL)
		return -1;
	/*
	 * "<", ">" and "&" occur only inside strings, where \u escapes mean
	 * the same: so no "</script>" or "<!--" can end or bend the element.
	 * JSON_ENSURE_ASCII has already escaped U+2028 and U+2029.
	 */
	for (const char *p = s; *p; p++) {
		if (*p == '<')
			fputs("\\u003c", fp);
		else if (*p == '>')
			fputs("\\u003e", fp);
		else if (*p == '&')
			fputs("\\u0026", fp);
		else
			fputc(*p, fp);
	}
	free(s);
	return 0;
}

/* ---- InfluxDB over HTTP ------------------------------------------------- */

struct report_http {
	struct influx ix;	/* URL and credentials, as the writer's */
	const struct config *cfg;
	char *body;		/* the last answer's body (open_memstream) */
	size_t len;
	char version[64];	/* X-Influxdb-Version of the last answer */
};

static size_t
report_on_header(char *p, size_t size, size_t nmemb, void *arg)
{
	struct report_http *h = arg;

	influx_header_value(p, size * nmemb, "x-influxdb-version", h->version,
	    sizeof(h->version));
	return size * nmemb;
}

static int
report_http_init(struct report_http *h, const struct config *cfg, char *err,
    size_t errlen)
{
	CURL *c;

	memset(h, 0, sizeof(*h));
	h->cfg = cfg;
	if (influx_init(&h->ix, cfg, err, errlen) == -1)
		return -1;
	c = h->ix.curl;
	/* libcurl's own fwrite, into a memory stream per request */
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, NULL);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, report_on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, h);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER,
	    (struct curl_slist *)h->ix.headers);
	curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
	curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
	/* a subquery over a day of samples takes the server a while */
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 120000L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 3000L);
	return 0;
}

static void
report_http_free(struct report_http *h)
{
	influx_free(&h->ix);
	free(h->body);
	memset(h, 0, sizeof(*h));
}

/* GET url; 0 with the body in h->body (h->len bytes), or -1 with err. */
static int
report_get(struct report_http *h, const char *url, long *status, char *err,
    size_t errlen)
{
	char errbuf[CURL_ERROR_SIZE] = "";
	CURL *c = h->ix.curl;
	CURLcode rc;
	FILE *fp;

	free(h->body);
	h->body = NULL;
	h->len = 0;
	if ((fp = open_memstream(&h->body, &h->len)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	curl_easy_setopt(c, CURLOPT_WRITEDATA, fp);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	rc = curl_easy_perform(c);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, NULL);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, NULL);
	if (fclose(fp) == EOF && rc == CURLE_OK)
		rc = CURLE_OUT_OF_MEMORY;
	if (rc != CURLE_OK) {
		snprintf(err, errlen, "cannot query InfluxDB at %s: %s (is the "
		    "lab running? labsup start)", h->cfg->influx.url,
		    errbuf[0] ? errbuf : curl_easy_strerror(rc));
		return -1;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
	return 0;
}

/*
 * Run one InfluxQL statement: the parsed answer, or NULL with err (an
 * unreachable server sets *fatal: no other query will do better).
 */
static json_t *
report_query(struct report_http *h, const char *q, bool *fatal, char *err,
    size_t errlen)
{
	const struct config *cfg = h->cfg;
	char *eq, *edb, *erp, *url;
	json_error_t je;
	json_t *ans;
	long status = 0;
	int rc;

	*fatal = false;
	eq = curl_easy_escape(h->ix.curl, q, 0);
	edb = curl_easy_escape(h->ix.curl, cfg->influx.database, 0);
	erp = curl_easy_escape(h->ix.curl, cfg->influx.retention_policy, 0);
	if (eq == NULL || edb == NULL || erp == NULL ||
	    asprintf(&url, "%s?db=%s%s%s&epoch=ms&q=%s", h->ix.query_url, edb,
	    erp[0] ? "&rp=" : "", erp, eq) == -1) {
		curl_free(eq), curl_free(edb), curl_free(erp);
		*fatal = true;
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	curl_free(eq), curl_free(edb), curl_free(erp);
	rc = report_get(h, url, &status, err, errlen);
	free(url);
	if (rc == -1) {
		*fatal = true;
		return NULL;
	}
	ans = h->len > 0 ? json_loadb(h->body, h->len, 0, &je) : NULL;
	if (status == 401 || status == 403) {
		*fatal = true;
		snprintf(err, errlen, "InfluxDB refused the query (HTTP %ld): "
		    "check user/password_file or token in [influxdb]", status);
		json_decref(ans);
		return NULL;
	}
	if (ans == NULL) {
		snprintf(err, errlen, "InfluxDB answered HTTP %ld with %s",
		    status, h->len ? "something that is not JSON" :
		    "an empty body");
		*fatal = status != 200;
		return NULL;
	}
	return ans;
}

/* s with every $name of vars replaced (vars: name, value, ..., NULL). */
static char *
report_subst(const char *s, const char *const *vars)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&buf, &len);

	if (fp == NULL)
		return NULL;
	while (*s) {
		const char *const *v = NULL;

		if (*s == '$')
			for (v = vars; *v != NULL; v += 2)
				if (strncmp(s + 1, v[0], strlen(v[0])) == 0 &&
				    !isalnum((unsigned char)s[1 + strlen(v[0])]))
					break;
		if (v != NULL && *v != NULL) {
			fputs(v[1], fp);
			s += 1 + strlen(v[0]);
		} else
			fputc(*s++, fp);
	}
	fclose(fp);
	return buf;
}

/* ---- the page ------------------------------------------------------------ */

struct report_ctx {
	struct report_http http;
	const struct config *cfg;
	const struct report_opts *o;
	const char *vars[16];
	char range[128], iv[16], ivs[16], tick[16], ltick[16];
};

static json_t *
report_chart_data(struct report_ctx *x, const struct report_chart *c,
    bool *fatal, char *err, size_t errlen)
{
	char *q = NULL, *sel, *from, *where = NULL;
	json_t *ans, *data, *o;
	char msg[600] = "";

	sel = report_subst(c->select, x->vars);
	from = report_subst(c->from, x->vars);
	if (c->where != NULL)
		where = report_subst(c->where, x->vars);
	if (sel == NULL || from == NULL || (c->where && where == NULL) ||
	    asprintf(&q, "SELECT %s FROM %s WHERE %s%s%s GROUP BY time(%s)%s%s "
	    "fill(%s)", sel, from, x->range, where ? " AND " : "",
	    where ? where : "", x->iv, c->group_by ? ", " : "",
	    c->group_by ? c->group_by : "", c->fill ? c->fill : "null") == -1)
		q = NULL;
	free(sel), free(from), free(where);
	if (q == NULL) {
		*fatal = true;
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	data = NULL;
	if ((ans = report_query(&x->http, q, fatal, msg, sizeof(msg))) != NULL) {
		data = report_series(ans, msg, sizeof(msg));
		json_decref(ans);
	}
	if (*fatal) {
		snprintf(err, errlen, "%s", msg);
		free(q);
		return NULL;
	}
	if (data == NULL)	/* this chart's problem: the page says so */
		data = json_pack("{s:[], s:[], s:s}", "t", "series", "error",
		    msg);
	o = json_pack("{s:s, s:s, s:s, s:s%}", "id", c->id, "title", c->title,
	    "unit", c->unit, "query", q, strlen(q));
	free(q);
	if (o == NULL || data == NULL || json_object_update(o, data) == -1) {
		json_decref(o), json_decref(data);
		*fatal = true;
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	json_decref(data);
	return o;
}

static json_t *
report_events(struct report_ctx *x, bool *fatal, char *err, size_t errlen)
{
	char q[256];
	json_t *ans, *out, *res, *s, *row;
	size_t i;

	snprintf(q, sizeof(q), "SELECT \"text\", \"kind\" FROM \"events\" "
	    "WHERE %s ORDER BY time LIMIT %d", x->range, REPORT_MAX_EVENTS);
	if ((ans = report_query(&x->http, q, fatal, err, errlen)) == NULL)
		return NULL;
	out = json_array();
	res = json_array_get(json_object_get(ans, "results"), 0);
	s = json_array_get(json_object_get(res, "series"), 0);
	json_array_foreach(json_object_get(s, "values"), i, row) {
		json_t *e = json_pack("{s:f, s:s, s:s}", "t",
		    json_integer_value(json_array_get(row, 0)) / 1000.0,
		    "text", json_string_value(json_array_get(row, 1)) ?
		    json_string_value(json_array_get(row, 1)) : "",
		    "kind", json_string_value(json_array_get(row, 2)) ?
		    json_string_value(json_array_get(row, 2)) : "");
		if (e != NULL)
			json_array_append_new(out, e);
	}
	json_decref(ans);
	return out;
}

static void
report_fig_value(FILE *fp, double v, const char *unit)
{
	if (strcmp(unit, "ms") == 0 && v >= 10000)
		fprintf(fp, "%.1f s", v / 1000);
	else if (strcmp(unit, "ms") == 0)
		fprintf(fp, "%.1f ms", v);
	else if (strcmp(unit, "bytes") == 0 && v >= 1 << 20)
		fprintf(fp, "%.1f MB", v / (1 << 20));
	else if (strcmp(unit, "bytes") == 0 && v >= 1 << 10)
		fprintf(fp, "%.1f kB", v / (1 << 10));
	else if (strcmp(unit, "bytes") == 0)
		fprintf(fp, "%.0f bytes", v);
	else
		fprintf(fp, "%.15g", v);
}

/* The figures table: <tr><th>label</th><td>value (where)</td></tr>. */
static int
report_figures_html(struct report_ctx *x, FILE *fp, char *err, size_t errlen)
{
	fputs("<table class=\"figures\">\n", fp);
	for (size_t i = 0; i < sizeof(report_figures) /
	    sizeof(report_figures[0]); i++) {
		const struct report_figure *f = &report_figures[i];
		char *q = report_subst(f->query, x->vars), msg[600];
		const json_t *res, *s;
		const char *where = NULL;
		json_t *ans;
		double best = 0;
		bool fatal, any = false;
		size_t j;

		if (q == NULL) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		ans = report_query(&x->http, q, &fatal, msg, sizeof(msg));
		free(q);
		if (fatal) {
			snprintf(err, errlen, "%s", msg);
			return -1;
		}
		res = json_array_get(json_object_get(ans, "results"), 0);
		json_array_foreach(json_object_get(res, "series"), j, s) {
			const json_t *v = json_array_get(json_array_get(
			    json_object_get(s, "values"), 0), 1);
			const char *k;
			json_t *tv;

			if (!json_is_number(v))
				continue;
			if (f->combine == FIG_SUM)
				best += json_number_value(v);
			else if (!any || json_number_value(v) > best) {
				best = json_number_value(v);
				where = NULL;
				json_object_foreach(json_object_get(s, "tags"),
				    k, tv)
					where = json_string_value(tv);
			}
			any = true;
		}
		fputs("<tr><th>", fp);
		report_html_text(fp, f->label);
		fputs("</th><td>", fp);
		if (ans == NULL || json_string_value(json_object_get(res,
		    "error"))) {
			fputs("<span class=\"err\">query failed: ", fp);
			report_html_text(fp, ans ? json_string_value(
			    json_object_get(res, "error")) : msg);
			fputs("</span>", fp);
		} else if (!any)
			fputs("<span class=\"none\">no data</span>", fp);
		else {
			report_fig_value(fp, best, f->unit);
			if (where != NULL && *where) {
				fputs(" <span class=\"where\">(", fp);
				report_html_text(fp, where);
				fputs(")</span>", fp);
			}
		}
		fputs("</td></tr>\n", fp);
		json_decref(ans);
	}
	fputs("</table>\n", fp);
	return 0;
}

static void
report_time_text(int64_t ns, char *buf, size_t len)
{
	time_t t = (time_t)(ns / 1000000000LL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%d %H:%M:%S UTC", &tm);
}

/* PostgreSQL's version from the publisher, when it answers. */
static void
report_pg_version(const struct config *cfg, char *buf, size_t len)
{
	const struct node_cfg *pub = config_publisher(cfg);
	char err[256];
	PGconn *c;
	PGresult *r;

	snprintf(buf, len, "not reachable");
	if (pub == NULL || (c = lab_connect(cfg, pub, "labsup report", err,
	    sizeof(err))) == NULL)
		return;
	r = PQexec(c, "SELECT version()");
	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
		snprintf(buf, len, "%s", PQgetvalue(r, 0, 0));
	PQclear(r);
	PQfinish(c);
}

static void
report_header(struct report_ctx *x, FILE *fp, const char *title)
{
	const struct config *cfg = x->cfg;
	char a[64], b[64], pgv[256], url[700], perr[256], *conf = NULL;
	size_t conflen = 0;
	FILE *cf;
	long status;

	report_time_text(x->o->from_ns, a, sizeof(a));
	report_time_text(x->o->to_ns, b, sizeof(b));
	report_pg_version(cfg, pgv, sizeof(pgv));
	snprintf(url, sizeof(url), "%s/ping", cfg->influx.url);
	if (report_get(&x->http, url, &status, perr, sizeof(perr)) == -1)
		x->http.version[0] = '\0';
	fputs("<header>\n<h1>", fp);
	report_html_text(fp, title);
	fputs("</h1>\n<p class=\"range\">", fp);
	report_html_text(fp, a);
	fputs(" &ndash; ", fp);
	report_html_text(fp, b);
	fprintf(fp, " (%.0f s; one point per %s)</p>\n",
	    (double)(x->o->to_ns - x->o->from_ns) / 1e9, x->iv);
	fputs("<p class=\"versions\">labsup " LABSUP_VERSION " &middot; ", fp);
	report_html_text(fp, pgv);
	fputs(" &middot; InfluxDB ", fp);
	report_html_text(fp, x->http.version[0] ? x->http.version :
	    "(version unknown)");
	fputs(" &middot; lab ", fp);
	report_html_text(fp, cfg->lab.name);
	fputs(", backend ", fp);
	report_html_text(fp, backend_name(cfg->lab.backend));
	fputs("</p>\n", fp);
	if ((cf = open_memstream(&conf, &conflen)) != NULL) {
		config_print(cfg, cf);
		fclose(cf);
		fputs("<details><summary>The lab's config</summary><pre "
		    "class=\"config\">", fp);
		report_html_text(fp, conf ? conf : "");
		fputs("</pre></details>\n", fp);
		free(conf);
	}
}

static const char report_css[] =
	"body{font:14px/1.4 system-ui,sans-serif;margin:1em 2em;color:#222}"
	"h1{font-size:1.5em;margin:.2em 0}h2{font-size:1.15em;margin:.3em 0}"
	".range,.versions{margin:.2em 0;color:#444}"
	"table.figures{border-collapse:collapse;margin:.6em 0}"
	"table.figures th{text-align:left;font-weight:normal;color:#555;"
	"padding:1px 1.2em 1px 0}table.figures td{font-weight:bold}"
	".none{color:#999;font-weight:normal}.err{color:#b00}"
	"pre.config{background:#f6f6f6;padding:.5em;font-size:12px;"
	"max-height:30em;overflow:auto}"
	"#charts{display:grid;grid-template-columns:repeat(auto-fill,"
	"minmax(560px,1fr));gap:1em 2em;margin-top:1em}"
	".chart{min-height:80px}.chart .nodata{color:#999;padding:2em 0}"
	".chart .q{display:none}"
	"#events ol{font-size:12px;max-height:14em;overflow:auto;"
	"margin:.3em 0}"
	"#events .k{color:#777}.marks li{color:#1f4fb0}"
	"ol.windows li.pass{color:#1a7f37}ol.windows li.fail{color:#b00}\n";

int
report_write(const struct config *cfg, const struct report_opts *o,
    FILE *out, char *err, size_t errlen)
{
	struct report_ctx x;
	json_t *data = NULL, *charts, *events, *marks, *wins;
	char title[160];
	bool fatal = false;
	int rc = -1;

	if (o->to_ns <= o->from_ns) {
		snprintf(err, errlen, "the report's range is empty");
		return -1;
	}
	memset(&x, 0, sizeof(x));
	x.cfg = cfg;
	x.o = o;
	if (report_http_init(&x.http, cfg, err, errlen) == -1)
		return -1;
	snprintf(x.range, sizeof(x.range), "time >= %" PRId64 " AND time < %"
	    PRId64, o->from_ns, o->to_ns);
	report_bucket_text(report_bucket_ns(o->to_ns - o->from_ns), x.iv,
	    sizeof(x.iv));
	snprintf(x.ivs, sizeof(x.ivs), "%" PRId64,
	    (int64_t)(report_bucket_ns(o->to_ns - o->from_ns) / 1000000000));
	snprintf(x.tick, sizeof(x.tick), "%dms", cfg->sampler.interval_ms);
	snprintf(x.ltick, sizeof(x.ltick), "%dms",
	    cfg->sampler.locks_interval_ms);
	{
		const char *v[] = { "range", x.range, "ivs", x.ivs, "iv", x.iv,
		    "tick", x.tick, "ltick", x.ltick, NULL };
		memcpy(x.vars, v, sizeof(v));
	}
	if (o->title != NULL)
		snprintf(title, sizeof(title), "%s", o->title);
	else
		snprintf(title, sizeof(title), "labsup report: lab %s",
		    cfg->lab.name);

	/* every query first: a dead InfluxDB leaves no half page behind */
	charts = json_array();
	data = json_pack("{s:s, s:f, s:f, s:s, s:o}", "title", title,
	    "from", o->from_ns / 1e9, "to", o->to_ns / 1e9, "bucket", x.iv,
	    "charts", charts);
	if (data == NULL)
		goto oom;
	for (size_t i = 0; i < report_ncharts; i++) {
		json_t *c = report_chart_data(&x, &report_charts[i], &fatal,
		    err, errlen);

		if (c == NULL)
			goto out;
		json_array_append_new(charts, c);
	}
	if ((events = report_events(&x, &fatal, err, errlen)) == NULL) {
		if (fatal)
			goto out;
		events = json_array();	/* no events measurement yet */
	}
	json_object_set_new(data, "events", events);
	marks = json_array();
	for (size_t i = 0; i < o->nmarks; i++)
		json_array_append_new(marks, json_pack("{s:f, s:s}", "t",
		    o->marks[i].ts_ns / 1e9, "label", o->marks[i].label ?
		    o->marks[i].label : ""));
	json_object_set_new(data, "marks", marks);
	wins = json_array();
	for (size_t i = 0; i < o->nwindows; i++) {
		const struct report_window *w = &o->windows[i];

		json_array_append_new(wins, json_pack("{s:f, s:f, s:s, s:s}",
		    "from", w->from_ns / 1e9, "to", w->to_ns / 1e9, "label",
		    w->label ? w->label : "", "verdict",
		    w->verdict == REPORT_PASS ? "pass" :
		    w->verdict == REPORT_FAIL ? "fail" : "none"));
	}
	json_object_set_new(data, "windows", wins);

	fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta "
	    "charset=\"utf-8\">\n<meta name=\"generator\" content=\"labsup "
	    LABSUP_VERSION "\">\n<title>", out);
	report_html_text(out, title);
	fputs("</title>\n<style>\n", out);
	fwrite(report_uplot_css, 1, (size_t)(report_uplot_css_end -
	    report_uplot_css), out);
	fputs(report_css, out);
	fputs("</style>\n</head>\n<body data-state=\"loading\">\n", out);
	report_header(&x, out, title);
	if (report_figures_html(&x, out, err, errlen) == -1)
		goto out;
	fputs("</header>\n<section id=\"events\"></section>\n"
	    "<main id=\"charts\"></main>\n"
	    "<script type=\"application/json\" id=\"report-data\">", out);
	if (report_json_script(out, data) == -1)
		goto oom;
	fputs("</script>\n<script>\n", out);
	fwrite(report_uplot_js, 1, (size_t)(report_uplot_js_end -
	    report_uplot_js), out);
	fputs("\n</script>\n<script>\n", out);
	fwrite(report_page_js, 1, (size_t)(report_page_js_end -
	    report_page_js), out);
	fputs("</script>\n</body>\n</html>\n", out);
	if (fflush(out) == EOF || ferror(out)) {
		snprintf(err, errlen, "cannot write the report: %s",
		    strerror(errno));
		goto out;
	}
	rc = 0;
	goto out;
oom:
	snprintf(err, errlen, "out of memory");
out:
	json_decref(data);
	report_http_free(&x.http);
	return rc;
}

int
report_write_file(const struct config *cfg, const struct report_opts *o,
    const char *path, char *err, size_t errlen)
{
	char tmp[CFG_PATH + 400];
	FILE *fp;
	int fd, rc;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >=
	    sizeof(tmp)) {
		snprintf(err, errlen, "the file name %.60s... is too long",
		    path);
		return -1;
	}
	if ((fd = mkstemp(tmp)) == -1 || (fp = fdopen(fd, "w")) == NULL) {
		snprintf(err, errlen, "cannot create %s: %s", path,
		    strerror(errno));
		if (fd != -1)
			close(fd), unlink(tmp);
		return -1;
	}
	/* mkstemp's 0600 would hide a page meant to be passed around */
	fchmod(fd, 0644 & ~umask(umask(0)));
	rc = report_write(cfg, o, fp, err, errlen);
	if (fclose(fp) == EOF && rc == 0) {
		snprintf(err, errlen, "cannot write %s: %s", path,
		    strerror(errno));
		rc = -1;
	}
	if (rc == 0 && rename(tmp, path) == -1) {
		snprintf(err, errlen, "cannot rename %s to %s: %s", tmp, path,
		    strerror(errno));
		rc = -1;
	}
	if (rc == -1)
		unlink(tmp);
	return rc;
}

/* ---- a scenario run's page -------------------------------------------- */

static const char *
report_scenario_label(struct report_scenario *rs, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* A label rs keeps (NULL when out of memory). */
static const char *
report_scenario_label(struct report_scenario *rs, const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) == -1)
		s = NULL;
	va_end(ap);
	if (s != NULL)
		rs->labels[rs->nlabels++] = s;
	return s;
}

static int64_t
report_json_ns(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	return json_is_integer(v) ? (int64_t)json_integer_value(v) : 0;
}

static const char *
report_json_str(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s != NULL ? s : "";
}

int
report_scenario(const json_t *run, struct report_scenario *rs, char *err,
    size_t errlen)
{
	const json_t *steps = json_object_get(run, "steps");
	const json_t *ex = json_object_get(run, "expectations");
	const json_t *v;
	int64_t start = report_json_ns(run, "start_ns");
	int64_t end = report_json_ns(run, "end_ns");
	size_t i, nsteps, nex;

	memset(rs, 0, sizeof(*rs));
	if (!json_is_object(run) || !json_is_string(json_object_get(run,
	    "scenario")) || !json_is_array(steps) || !json_is_array(ex) ||
	    start <= 0 || end < start) {
		snprintf(err, errlen, "not a scenario run's result (want the "
		    "JSON object of one `labsup scenario run`, with scenario, "
		    "start_ns, end_ns, steps and expectations)");
		return -1;
	}
	nsteps = json_array_size(steps);
	nex = json_array_size(ex);
	rs->marks = calloc(2 * nsteps + 1, sizeof(*rs->marks));
	rs->windows = calloc(nex + 1, sizeof(*rs->windows));
	rs->labels = calloc(2 * nsteps + nex + 1, sizeof(*rs->labels));
	if (rs->marks == NULL || rs->windows == NULL || rs->labels == NULL)
		goto oom;
	json_array_foreach(steps, i, v) {
		const char *name = report_json_str(v, "name");
		const char *what = name[0] != '\0' && name[0] != '#' ? name :
		    report_json_str(v, "step");
		int64_t s = report_json_ns(v, "start_ns");
		int64_t e = report_json_ns(v, "end_ns");
		struct report_mark *m = &rs->marks[rs->o.nmarks];

		if (s <= 0)	/* skipped: it never ran */
			continue;
		m[0].ts_ns = s;
		if ((m[0].label = report_scenario_label(rs, "%s", what)) ==
		    NULL)
			goto oom;
		m[1].ts_ns = e > s ? e : s;
		if (strcmp(report_json_str(v, "status"), "failed") == 0)
			m[1].label = report_scenario_label(rs, "%s: end, "
			    "failed: %s", what, report_json_str(v, "detail"));
		else
			m[1].label = report_scenario_label(rs, "%s: end", what);
		if (m[1].label == NULL)
			goto oom;
		rs->o.nmarks += 2;
	}
	json_array_foreach(ex, i, v) {
		struct report_window *w = &rs->windows[rs->o.nwindows++];
		const char *st = report_json_str(v, "status");
		const json_t *val = json_object_get(v, "measured");
		char m[64] = "nothing measured";

		/* no window of its own: the whole run is what it judged */
		w->from_ns = report_json_ns(v, "from_ns");
		w->to_ns = report_json_ns(v, "to_ns");
		if (w->to_ns <= 0 || w->to_ns < w->from_ns)
			w->from_ns = start, w->to_ns = end;
		w->verdict = strcmp(st, "ok") == 0 ? REPORT_PASS :
		    strcmp(st, "failed") == 0 ? REPORT_FAIL : REPORT_NONE;
		if (json_is_number(val))
			snprintf(m, sizeof(m), "%.6g", json_number_value(val));
		if ((w->label = report_scenario_label(rs, "%s: %s%s%s",
		    report_json_str(v, "expect"), m, report_json_str(v,
		    "detail")[0] ? "; " : "", report_json_str(v, "detail"))) ==
		    NULL)
			goto oom;
	}
	snprintf(rs->title, sizeof(rs->title), "labsup scenario %s: %s",
	    report_json_str(run, "scenario"), json_is_true(json_object_get(run,
	    "passed")) ? "passed" : "FAILED");
	if (json_is_integer(json_object_get(run, "seed")))
		snprintf(rs->title + strlen(rs->title), sizeof(rs->title) -
		    strlen(rs->title), " (seed %" PRId64 ")", (int64_t)
		    json_integer_value(json_object_get(run, "seed")));
	rs->o.from_ns = start - REPORT_SCENARIO_MARGIN_NS;
	rs->o.to_ns = end + REPORT_SCENARIO_MARGIN_NS;
	rs->o.title = rs->title;
	rs->o.marks = rs->marks;
	rs->o.windows = rs->windows;
	return 0;
oom:
	report_scenario_free(rs);
	snprintf(err, errlen, "out of memory");
	return -1;
}

void
report_scenario_free(struct report_scenario *rs)
{
	for (size_t i = 0; i < rs->nlabels; i++)
		free(rs->labels[i]);
	free(rs->labels);
	free(rs->marks);
	free(rs->windows);
	memset(rs, 0, sizeof(*rs));
}

static bool
report_is_file(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* The newest <prefix>*.json in dir (prefix "" for any): 0, or -1. */
static int
report_newest(const char *dir, const char *prefix, char *path, size_t len)
{
	DIR *dp = opendir(dir);
	struct dirent *d;
	struct stat st;
	char p[CFG_PATH + 600], best[sizeof(p)] = "";
	int64_t best_t = -1;
	size_t pl = strlen(prefix);

	if (dp == NULL)
		return -1;
	while ((d = readdir(dp)) != NULL) {
		size_t n = strlen(d->d_name);
		int64_t t;

		if (n < 5 || strcmp(d->d_name + n - 5, ".json") != 0 ||
		    strncmp(d->d_name, prefix, pl) != 0)
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, d->d_name);
		if (stat(p, &st) == -1 || !S_ISREG(st.st_mode))
			continue;
		t = (int64_t)st.st_mtim.tv_sec * 1000000000LL +
		    st.st_mtim.tv_nsec;
		/* the same instant: the later name (its time is in it) */
		if (t > best_t || (t == best_t && strcmp(p, best) > 0)) {
			best_t = t;
			snprintf(best, sizeof(best), "%s", p);
		}
	}
	closedir(dp);
	if (best_t < 0)
		return -1;
	snprintf(path, len, "%s", best);
	return 0;
}

int
report_scenario_find(const char *dir, const char *run, char *path,
    size_t len, char *err, size_t errlen)
{
	char p[CFG_PATH + 600];

	if (strcmp(run, "last") == 0) {
		if (report_newest(dir, "", path, len) == 0)
			return 0;
		snprintf(err, errlen, "no saved scenario run in %s yet (labsup "
		    "scenario run NAME saves one)", dir);
		return -1;
	}
	if (strchr(run, '/') != NULL || report_is_file(run)) {
		if (report_is_file(run)) {
			snprintf(path, len, "%s", run);
			return 0;
		}
		snprintf(err, errlen, "no such file %s", run);
		return -1;
	}
	snprintf(p, sizeof(p), "%s/%s", dir, run);
	if (report_is_file(p)) {
		snprintf(path, len, "%s", p);
		return 0;
	}
	snprintf(p, sizeof(p), "%s/%s.json", dir, run);
	if (report_is_file(p)) {
		snprintf(path, len, "%s", p);
		return 0;
	}
	snprintf(p, sizeof(p), "%s-", run);	/* a scenario's newest run */
	if (report_newest(dir, p, path, len) == 0)
		return 0;
	snprintf(err, errlen, "no saved scenario run \"%s\" in %s (give a "
	    "file, a name there, a scenario's name or last)", run, dir);
	return -1;
}
