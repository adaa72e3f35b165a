/*
 * cmd_scenario.c: `labsup scenario list | show NAME | run NAME|FILE
 * [--repeat N] [--json] [--keep-going] [--seed N] [--report FILE]`.
 * Every run is kept as <state_dir>/scenarios/<name>-<UTC start>.json with
 * its HTML report beside it (or at --report FILE); a report that cannot be
 * written (InfluxDB down) is a warning, never the exit code.  Exit 0 when every
 * step ran and every expectation held, 1 naming the first that did not
 * (with the value measured), 2 for a bad file (file:line: reason) or a
 * bad command line, 3 when the lab does not run.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../workers/report.h"
#include "cli.h"
#include "scenario.h"

static int
scn_name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
scenario_list(void)
{
	const char *dir = scn_library_dir();
	char *names[256], path[CFG_PATH + 300], err[600];
	struct scenario *scn = malloc(sizeof(*scn));
	struct dirent *d;
	DIR *dp = opendir(dir);
	int n = 0;

	if (dp == NULL || scn == NULL) {
		fprintf(stderr, "labsup: scenario list: cannot read %s (set "
		    "LABSUP_SCENARIOS to the scenarios folder)\n", dir);
		free(scn);
		if (dp)
			closedir(dp);
		return 1;
	}
	while ((d = readdir(dp)) != NULL && n < 256) {
		size_t len = strlen(d->d_name);
		if (len > 4 && !strcmp(d->d_name + len - 4, ".scn"))
			names[n++] = strdup(d->d_name);
	}
	closedir(dp);
	qsort(names, (size_t)n, sizeof(names[0]), scn_name_cmp);
	for (int i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if (scn_load(scn, path, err, sizeof(err)) == 0)
			printf("%-20s %s\n", scn->name, scn->summary);
		else
			printf("%-20.*s (does not parse: %s)\n",
			    (int)strlen(names[i]) - 4, names[i], err);
		free(names[i]);
	}
	free(scn);
	return 0;
}

static int
scenario_show(const char *what)
{
	char path[CFG_PATH + 300], buf[4096];
	FILE *fp;
	size_t n;

	if (scn_find(what, path, sizeof(path)) == -1 ||
	    (fp = fopen(path, "r")) == NULL) {
		fprintf(stderr, "labsup: scenario show: no scenario \"%s\" "
		    "(labsup scenario list names them)\n", what);
		return EXIT_USAGE;
	}
	while ((n = fread(buf, 1, sizeof(buf), fp)) > 0)
		fwrite(buf, 1, n, stdout);
	fclose(fp);
	return 0;
}

static void
scenario_fail_line(const struct scn_result *res)
{
	const struct scenario *scn = res->scn;

	if (res->failed_step >= 0) {
		const struct scn_step *st = &scn->steps[res->failed_step];
		char text[SCN_MAX_LINE + 64];
		scn_step_text(st, text, sizeof(text));
		fprintf(stderr, "labsup: scenario %s: step %s%s(%s:%d) failed: "
		    "%.80s: %s\n", scn->name, st->label, st->label[0] ? " " : "",
		    scn->path, st->line, text,
		    res->steps[res->failed_step].detail);
		return;
	}
	if (res->failed_expect >= 0) {
		const struct scn_expect *e = &scn->expects[res->failed_expect];
		const struct scn_expect_result *r =
		    &res->expects[res->failed_expect];
		char val[64] = "nothing";
		if (r->measured)
			snprintf(val, sizeof(val), "%.6g", r->value);
		fprintf(stderr, "labsup: scenario %s: expectation at %s:%d did "
		    "not hold: %s (measured %s%s%s)\n", scn->name, scn->path,
		    e->line, e->text, e->kind == SE_METRIC ? e->func : "",
		    e->kind == SE_METRIC ? " " : "", val);
		if (r->detail[0])
			fprintf(stderr, "labsup: scenario %s: %s\n", scn->name,
			    r->detail);
		return;
	}
	fprintf(stderr, "labsup: scenario %s: interrupted\n", scn->name);
}

static uint64_t
scenario_seed(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ((uint64_t)ts.tv_nsec ^ (uint64_t)getpid() * 2654435761u) %
	    1000000;
}

/*
 * --report FILE for run k of repeat: FILE itself for one run, else
 * FILE with "-k" before its extension.
 */
static void
scenario_report_path(const char *file, int k, int repeat, char *buf,
    size_t len)
{
	const char *dot = strrchr(file, '.'), *slash = strrchr(file, '/');

	if (repeat == 1)
		snprintf(buf, len, "%s", file);
	else if (dot != NULL && (slash == NULL || dot > slash + 1))
		snprintf(buf, len, "%.*s-%d%s", (int)(dot - file), file, k + 1,
		    dot);
	else
		snprintf(buf, len, "%s-%d", file, k + 1);
}

/*
 * Keep run k's JSON result as <state_dir>/scenarios/<name>-<UTC start>.json
 * (what `labsup report --scenario` reads) and write its report beside it
 * (or to --report FILE), naming both in out (text) or the run's JSON
 * object.  Neither can fail the run: a problem is a warning line.
 */
static void
scenario_save(const struct config *cfg, const struct scn_result *res,
    json_t *run, const char *report, int k, int repeat, bool json)
{
	const char *name = res->scn->name;
	char dir[CFG_PATH + 16], base[CFG_PATH + 200], saved[sizeof(base) + 8];
	char html[CFG_PATH + 320], err[CFG_PATH + 800], when[32];
	struct report_scenario rs;
	time_t t = (time_t)(res->start_ns / 1000000000LL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y%m%dT%H%M%SZ", &tm);
	snprintf(dir, sizeof(dir), "%s/scenarios", cfg->lab.state_dir);
	if (mkdir(dir, 0755) == -1 && errno != EEXIST) {
		fprintf(stderr, "labsup: scenario %s: warning: cannot create "
		    "%s: %s: the run is not saved and has no report\n", name,
		    dir, strerror(errno));
		return;
	}
	/* runs of one second (--repeat): -2, -3... */
	snprintf(base, sizeof(base), "%s/%s-%s", dir, name, when);
	snprintf(saved, sizeof(saved), "%s.json", base);
	for (int n = 2; access(saved, F_OK) == 0 && n < 1000; n++)
		snprintf(saved, sizeof(saved), "%s-%d.json", base, n);
	if (json_dump_file(run, saved, JSON_INDENT(2)) == -1) {
		fprintf(stderr, "labsup: scenario %s: warning: cannot write "
		    "%s: %s\n", name, saved, strerror(errno));
		saved[0] = '\0';
	}
	if (report != NULL)
		scenario_report_path(report, k, repeat, html, sizeof(html));
	else if (saved[0] != '\0')
		snprintf(html, sizeof(html), "%.*s.html",
		    (int)(strlen(saved) - 5), saved);
	else
		snprintf(html, sizeof(html), "%s.html", base);
	if (report_scenario(run, &rs, err, sizeof(err)) == -1 ||
	    report_write_file(cfg, &rs.o, html, err, sizeof(err)) == -1) {
		fprintf(stderr, "labsup: scenario %s: warning: no report: "
		    "%s\n", name, err);
		html[0] = '\0';
	}
	report_scenario_free(&rs);
	if (json) {
		if (saved[0] != '\0')
			json_object_set_new(run, "saved", json_string(saved));
		if (html[0] != '\0')
			json_object_set_new(run, "report", json_string(html));
		return;
	}
	if (saved[0] != '\0')
		printf("saved: %s\n", saved);
	if (html[0] != '\0')
		printf("report: %s\n", html);
}

static int
scenario_run_in(struct scenario *scn, struct scenario *drawn,
    struct scn_result *res, json_t *runs, const char *what, int repeat,
    bool json, bool keep_going, bool have_seed, uint64_t seed,
    const char *report)
{
	struct config *cfg;
	char path[CFG_PATH + 300], err[700], text[SCN_MAX_LINE + 64];
	json_t *run;
	bool has_random = false;
	int passed = 0, rc = 0;
	struct seg seg;

	if (scn_find(what, path, sizeof(path)) == -1) {
		fprintf(stderr, "labsup: scenario run: no scenario \"%s\": give "
		    "a built-in name (labsup scenario list) or a file\n", what);
		return EXIT_USAGE;
	}
	if (scn_load(scn, path, err, sizeof(err)) == -1) {
		fprintf(stderr, "labsup: %s\n", err);
		return EXIT_USAGE;
	}
	cfg = cli_cfg();
	if (scn_validate(scn, cfg, err, sizeof(err)) == -1) {
		fprintf(stderr, "labsup: %s\n", err);
		return EXIT_USAGE;
	}
	for (int i = 0; i < scn->nsteps; i++)
		has_random |= scn->steps[i].kind == SK_RANDOM;
	if (cli_require_running(cfg, &seg, stderr) == -1)
		return EXIT_NOT_RUNNING;
	seg_close(&seg);
	for (int k = 0; k < repeat; k++) {
		uint64_t s = have_seed ? seed + (uint64_t)k : scenario_seed();
		*drawn = *scn;
		if (has_random) {
			if (scn_draw(drawn, cfg, s, err, sizeof(err)) == -1) {
				fprintf(stderr, "labsup: %s\n", err);
				return EXIT_USAGE;
			}
			fprintf(stderr, "labsup: scenario %s: seed %" PRIu64
			    " (--seed %" PRIu64 " replays it) draws:\n",
			    drawn->name, s, s);
			for (int i = 0; i < drawn->nsteps; i++) {
				scn_step_text(&drawn->steps[i], text,
				    sizeof(text));
				fprintf(stderr, "  %s\n", text);
			}
		}
		if (scn_run(drawn, cfg, keep_going, false, res) == -1 &&
		    res->start_ns == 0)
			return 1;
		res->seeded = has_random;
		res->seed = s;
		run = scn_report_json(res);
		if (!json)
			scn_report_text(res, stdout);
		if (run != NULL)
			scenario_save(cfg, res, run, report, k, repeat, json);
		if (json)
			json_array_append_new(runs, run);
		else
			json_decref(run);
		fflush(stdout);
		if (res->passed)
			passed++;
		else {
			scenario_fail_line(res);
			rc = 1;
		}
		if (!res->passed && res->failed_step < 0 &&
		    res->failed_expect < 0)
			break;	/* interrupted */
	}
	if (json) {
		json_t *out = repeat == 1 ? json_incref(json_array_get(runs, 0)) :
		    json_pack("{s:o, s:i, s:i}", "runs", json_incref(runs),
		    "passed", passed, "total", repeat);
		json_dumpf(out, stdout, JSON_INDENT(2));
		putchar('\n');
		json_decref(out);
	} else if (repeat > 1)
		printf("scenario %s: passed %d of %d\n", scn->name, passed,
		    repeat);
	return rc;
}

/* scenario_run_in with its memory, freed whichever way it returns */
static int
scenario_run(const char *what, int repeat, bool json, bool keep_going,
    bool have_seed, uint64_t seed, const char *report)
{
	struct scenario *scn = malloc(sizeof(*scn));
	struct scenario *drawn = malloc(sizeof(*drawn));
	struct scn_result *res = malloc(sizeof(*res));
	json_t *runs = json ? json_array() : NULL;
	int rc = 1;

	if (scn == NULL || drawn == NULL || res == NULL || (json &&
	    runs == NULL))
		fprintf(stderr, "labsup: scenario: out of memory\n");
	else
		rc = scenario_run_in(scn, drawn, res, runs, what, repeat, json,
		    keep_going, have_seed, seed, report);
	json_decref(runs);
	free(scn);
	free(drawn);
	free(res);
	return rc;
}

int
cmd_scenario(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "repeat", required_argument, NULL, 'r' },
		{ "json", no_argument, NULL, 'j' },
		{ "keep-going", no_argument, NULL, 'k' },
		{ "seed", required_argument, NULL, 's' },
		{ "report", required_argument, NULL, 'R' },
		{ NULL, 0, NULL, 0 },
	};
	const char *what = argc >= 2 ? argv[1] : "", *report = NULL;
	bool json = false, keep_going = false, have_seed = false;
	uint64_t seed = 0;
	long repeat = 1;
	char *end;
	int ch;

	if (strcmp(what, "list") && strcmp(what, "show") && strcmp(what, "run"))
		cli_usage_error("scenario: expected `scenario list`, `scenario "
		    "show NAME` or `scenario run NAME|FILE`");
	/* options may follow the name: `scenario run row-lock --json` */
	optind = 2;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (strcmp(what, "run") != 0)
			cli_usage_error("scenario %s: unknown option \"%s\"",
			    what, argv[optind - 1]);
		switch (ch) {
		case 'r':
			repeat = strtol(optarg, &end, 10);
			if (*end != '\0' || repeat < 1 || repeat > 1000)
				cli_usage_error("scenario run: --repeat takes a "
				    "count, 1 to 1000, not \"%s\"", optarg);
			break;
		case 'j':
			json = true;
			break;
		case 'k':
			keep_going = true;
			break;
		case 's':
			seed = strtoull(optarg, &end, 10);
			if (*end != '\0' || optarg[0] == '-' || optarg[0] == '\0')
				cli_usage_error("scenario run: --seed takes a "
				    "whole number, not \"%s\"", optarg);
			have_seed = true;
			break;
		case 'R':
			if (*optarg == '\0')
				cli_usage_error("scenario run: --report needs a "
				    "file name");
			report = optarg;
			break;
		default:
			cli_usage_error("scenario run: unknown option or missing "
			    "value \"%s\"", argv[optind - 1]);
		}
	}
	if (!strcmp(what, "list")) {
		if (optind != argc)
			cli_usage_error("scenario list: unexpected argument "
			    "\"%s\"", argv[optind]);
		return scenario_list();
	}
	if (optind + 1 != argc)
		cli_usage_error(optind == argc ? "scenario %s: which scenario? "
		    "(labsup scenario list)" : "scenario %s: one scenario at a "
		    "time", what);
	if (!strcmp(what, "show"))
		return scenario_show(argv[optind]);
	return scenario_run(argv[optind], (int)repeat, json, keep_going,
	    have_seed, seed, report);
}
