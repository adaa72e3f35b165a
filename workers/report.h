/*
 * report.h: `labsup report`: one self-contained HTML page of a time range
 * of the lab's measurements, read back from InfluxDB (InfluxQL over HTTP,
 * downsampled by the server), with uPlot and the page's own script
 * inlined, so it opens from disk with no network and can be mailed.
 *
 * The charts are one table (report_charts[]): a chart is a row, and a row
 * whose measurement holds no points in the range draws "no data".  A
 * caller such as a scenario runner adds marks (instants) and windows
 * (spans judged pass or fail) of its own to every chart.
 */
#ifndef LABSUP_REPORT_H
#define LABSUP_REPORT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "../lib/config.h"

/* An instant drawn on every chart as a labelled line (a scenario step). */
struct report_mark {
	int64_t ts_ns;		/* Unix time, ns */
	const char *label;	/* plain text: the page escapes it */
};

enum report_verdict { REPORT_NONE = 0, REPORT_PASS, REPORT_FAIL };

/* A span shaded on every chart (an expectation's window and its result). */
struct report_window {
	int64_t from_ns, to_ns;
	const char *label;	/* "lag < 2 s: 840 ms", plain text */
	int verdict;		/* enum report_verdict: green, red, grey */
};

struct report_opts {
	int64_t from_ns, to_ns;	/* the range, Unix ns; from < to */
	const char *title;	/* NULL: "labsup report <lab>" */
	const struct report_mark *marks;
	size_t nmarks;
	const struct report_window *windows;
	size_t nwindows;
};

/*
 * A chart: its query is
 *   SELECT <select> FROM <from> WHERE $range [AND <where>]
 *   GROUP BY time($iv)[, <group_by>] fill(<fill>)
 * where $range, $iv (the bucket, "10s"), $ivs (the bucket in seconds) and
 * $tick (the sampler's interval, for a per-sample sum in a subquery) are
 * replaced in select, from and where.  Every (column, tag set) of the
 * answer is a series, labelled "column tag=value...".
 */
struct report_chart {
	const char *id;		/* the page's element id: [a-z_] */
	const char *title;
	const char *select;	/* `max("waiting") AS "waiting"` */
	const char *from;	/* a measurement or a subquery */
	const char *where;	/* NULL or an extra condition */
	const char *group_by;	/* NULL or tags: `"node", "state"` */
	const char *unit;	/* the y axis: "ms", "bytes", "locks" */
	/*
	 * NULL: a bucket without points is a gap.  "0" where a missing tag
	 * set means none (a sample lists only the lock modes it saw).
	 */
	const char *fill;
};

extern const struct report_chart report_charts[];
extern const size_t report_ncharts;

/*
 * Write the page for o to out.  InfluxDB must answer (its URL and
 * credentials come from cfg, as the writer's); PostgreSQL is asked for
 * its version only when it runs.  0, or -1 with one line in err.
 */
int report_write(const struct config *cfg, const struct report_opts *o,
    FILE *out, char *err, size_t errlen);

/*
 * Write the page to path through a temporary file beside it, renamed when
 * whole (a failed report leaves no half page), mode 0644 less the umask.
 */
int report_write_file(const struct config *cfg, const struct report_opts *o,
    const char *path, char *err, size_t errlen);

/*
 * A scenario run's page from its JSON result (`labsup scenario run`'s
 * object, as saved under <state_dir>/scenarios/): the run's range with 10 s
 * either side, each step's start and end as marks (its label, else its
 * text) and each expectation's window with its verdict and the value
 * measured.  rs owns the labels until report_scenario_free().
 */
#define REPORT_SCENARIO_MARGIN_NS (10 * 1000000000LL)
struct report_scenario {
	struct report_opts o;
	struct report_mark *marks;
	struct report_window *windows;
	char **labels;
	size_t nlabels;
	char title[200];
};
/* 0, or -1 with err when run is not a saved result's shape. */
int report_scenario(const json_t *run, struct report_scenario *rs,
    char *err, size_t errlen);
void report_scenario_free(struct report_scenario *rs);
/*
 * RUN of `report --scenario RUN` to a file: a path, a file name in dir
 * (with or without .json), a scenario's name (its newest run in dir) or
 * "last" (the newest run in dir).  0, or -1 with err.
 */
int report_scenario_find(const char *dir, const char *run, char *path,
    size_t len, char *err, size_t errlen);

/* ---- pure parts (unit tests) ------------------------------------------ */

/*
 * A point in time: "now", "now-15m" (any duration of lib/duration.h
 * but 0), Unix seconds ("1764590000", or
 * "@1764590000.5"), RFC 3339 "2026-12-01T11:00:00Z" (fraction and a
 * +hh:mm offset allowed; no zone means UTC; ' ' for 'T'), or a date
 * "2026-12-01" (midnight UTC).  ns, or -1.
 */
int report_parse_time(const char *s, int64_t now_ns, int64_t *ns);
/*
 * The range of `--since D` or `--from T [--to T]` (--to defaults to now;
 * none of them: the last 15 minutes).  0, or -1 with a usage message.
 */
int report_range(const char *since, const char *from, const char *to,
    int64_t now_ns, int64_t *from_ns, int64_t *to_ns, char *err,
    size_t errlen);
/* The GROUP BY time() bucket for a range: a round step, about 600 a chart. */
int64_t report_bucket_ns(int64_t range_ns);
/* "10s", "5m", "1h" for a bucket; returns buf. */
const char *report_bucket_text(int64_t ns, char *buf, size_t len);

/*
 * An InfluxDB /query answer (epoch=ms) to the page's series object
 * {"t": [seconds...], "series": [{"label": s, "v": [number|null...]}]},
 * the series on one time axis (the union of the answer's times).  An
 * answer without series gives empty arrays.  NULL with err when the
 * answer is an error or not InfluxDB's shape.
 */
json_t *report_series(const json_t *answer, char *err, size_t errlen);

/* Text into HTML (element content or a quoted attribute). */
void report_html_text(FILE *fp, const char *s);
/* A JSON value inside <script type="application/json">: no "<", ">", "&". */
int report_json_script(FILE *fp, const json_t *v);

#endif
