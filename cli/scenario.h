/*
 * scenario.h: experiments (issue 14).  A scenario file is timed steps and
 * expectations (docs/labsup-scenario.5); scenario_parse.c reads it into a
 * struct scenario without touching the lab, scenario_run.c runs the steps
 * against the running lab and measures the expectations in InfluxDB, and
 * fills a struct scn_result that the text and JSON reports (and a report
 * writer) read.
 */
#ifndef LABSUP_SCENARIO_H
#define LABSUP_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "../lib/config.h"

#define SCN_MAX_STEPS	96
#define SCN_MAX_EXPECT	32
#define SCN_MAX_LINE	1024	/* longer lines are refused */
#define SCN_MAX_FILE	(256 * 1024)
#define SCN_NAME	32	/* step labels and session names */

/*
 * The step kinds, one row each in scn_kinds[] (scenario_parse.c): a new
 * kind is an enum value, a parser and a runner.
 */
enum scn_kind {
	SK_SQL,		/* sql NODE SESSION [async] [fail-ok] STATEMENT */
	SK_AWAIT,	/* await SESSION [fail-ok] */
	SK_SLEEP,	/* sleep DURATION */
	SK_HUM,		/* hum KEY=VALUE... | hum reset */
	SK_STOP,	/* stop NODE: held down until start */
	SK_KILL,	/* kill NODE: kill -9, the lab brings it back */
	SK_START,	/* start NODE */
	SK_PAUSE,	/* pause NODE (its subscription) */
	SK_RESUME,	/* resume NODE */
	SK_WAIT,	/* wait DURATION until sql NODE QUERY | check | ready NODE */
	SK_SUB_ADD,	/* subscriber add NAME */
	SK_SUB_REMOVE,	/* subscriber remove NAME */
	SK_RANDOM,	/* random COUNT faults over DURATION (drawn by seed) */
	SK_LINK,	/* link NODE WORDS... (lib/link.h): latency, partition.. */
	SK_MAX
};

enum scn_wait { SW_SQL, SW_CHECK, SW_READY };

struct scn_step {
	int kind;		/* enum scn_kind */
	int line;		/* in the file; 0 for a drawn step */
	char label[SCN_NAME];	/* "hold" in `hold: sql ...`, or "" */
	char node[CFG_NAME];
	char session[SCN_NAME];
	bool async;		/* sql: do not wait for the statement */
	bool fail_ok;		/* sql, await: an error is expected */
	int wait;		/* enum scn_wait */
	int count;		/* random: how many faults */
	int64_t ms;		/* sleep, wait limit, random span */
	char text[SCN_MAX_LINE]; /* SQL, hum settings, the wait's query,
				   the link's words */
};

enum scn_op { SO_LT, SO_LE, SO_GT, SO_GE, SO_EQ, SO_NE };

enum scn_window {
	SWIN_RUN,	/* the whole run (default) */
	SWIN_DURING,	/* during step S: its start to its end */
	SWIN_AFTER,	/* within D after step S: its end to end + D */
	SWIN_OF,	/* within D of step S: its start to its end + D */
};

enum scn_expect_kind {
	SE_METRIC,	/* [FUNC(]MEASUREMENT.FIELD[)] OP VALUE ... */
	SE_CHECK,	/* check passes [within D] */
	SE_WORKERS,	/* workers running */
	SE_ERRORS,	/* session_errors OP VALUE: failed fail-ok statements */
};

struct scn_expect {
	int kind;		/* enum scn_expect_kind */
	int line;
	char func[12];		/* max min mean sum count first last spread */
	char measurement[32];
	char field[48];
	char node[CFG_NAME];	/* "" for any */
	char where[256];	/* more tag conditions, already InfluxQL */
	int op;			/* enum scn_op */
	double value;
	int window;		/* enum scn_window */
	char step[SCN_NAME];	/* the step's label */
	int64_t ms;		/* D; check: its timeout */
	char text[SCN_MAX_LINE]; /* as written, for reports */
};

struct scenario {
	char path[CFG_PATH];
	char name[64];		/* the file's name without .scn */
	char summary[160];	/* the first comment line */
	int nsteps, nexpect;
	int finally_at;		/* steps from here run even after a failure
				   (the `finally` line), or -1 */
	struct scn_step steps[SCN_MAX_STEPS];
	struct scn_expect expects[SCN_MAX_EXPECT];
};

/* The outcome of one run: what a report shows. */
enum scn_status { SR_PENDING, SR_OK, SR_FAILED, SR_SKIPPED };

struct scn_step_result {
	int status;		/* enum scn_status */
	int64_t start_ns, end_ns; /* CLOCK_REALTIME */
	char detail[256];	/* error, or what happened (pid killed...) */
};

struct scn_expect_result {
	int status;		/* enum scn_status */
	int64_t from_ns, to_ns;	/* the window measured */
	bool measured;		/* value holds a figure (else no samples) */
	double value;
	char detail[256];	/* "no samples", check's complaint... */
};

struct scn_result {
	const struct scenario *scn;	/* with random steps drawn */
	uint64_t seed;
	bool seeded;		/* the scenario drew random steps */
	int64_t start_ns, end_ns;
	struct scn_step_result steps[SCN_MAX_STEPS];
	struct scn_expect_result expects[SCN_MAX_EXPECT];
	int failed_step;	/* the first, or -1 */
	int failed_expect;	/* the first, or -1 */
	int session_errors;	/* fail-ok statements that failed */
	bool passed;
};

struct scn_kind_def {
	const char *name;
	/* args: the rest of the line; 0, or -1 with a reason in err */
	int (*parse)(struct scn_step *st, char *args, char *err, size_t errlen);
};
extern const struct scn_kind_def scn_kinds[SK_MAX];

/* scenario_parse.c */
/* Parse text (len bytes) named path: 0, or -1 with "path:line: reason". */
int scn_parse(struct scenario *scn, const char *path, const char *text,
    size_t len, char *err, size_t errlen);
int scn_load(struct scenario *scn, const char *path, char *err,
    size_t errlen);
/* Nodes and sessions against the lab's config: 0, or -1 with file:line. */
int scn_validate(const struct scenario *scn, const struct config *cfg,
    char *err, size_t errlen);
/* Replace each random step with the steps seed draws (for cfg's nodes). */
int scn_draw(struct scenario *scn, const struct config *cfg, uint64_t seed,
    char *err, size_t errlen);
/* "1.5s", "200ms", "2m", "1h30m", "90" (lib/duration.h), up to 24 h:
 * milliseconds, or -1. */
int64_t scn_duration(const char *s);
/* One step as it would be written (for show, drawn steps, reports). */
void scn_step_text(const struct scn_step *st, char *buf, size_t len);
const char *scn_op_name(int op);
/* A link step's words (cut in text) into argv: how many, -1: too many. */
#define SCN_LINK_WORDS	32
int scn_link_words(char *text, char *argv[SCN_LINK_WORDS]);
bool scn_op_holds(int op, double measured, double value);
/* Where the built-in scenarios are: beside the binary, or installed. */
const char *scn_library_dir(void);
/* NAME (in the library) or a FILE path to a loadable path. */
int scn_find(const char *what, char *path, size_t len);

/* scenario_run.c */
int scn_run(const struct scenario *scn, const struct config *cfg,
    bool keep_going, bool quiet, struct scn_result *res);
void scn_report_text(const struct scn_result *res, FILE *fp);
/* A JSON object (jansson json_t *, as void * to keep jansson out). */
void *scn_report_json(const struct scn_result *res);

#endif
