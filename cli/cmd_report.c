/*
 * cmd_report.c: `labsup report [--since D | --from T [--to T] | --scenario
 * RUN] [-o FILE]`: the lab's measurements of a time range as one HTML page
 * that opens from disk (workers/report.c does the work).  --scenario
 * takes the range, marks and windows from a run `labsup scenario run`
 * saved under <state_dir>/scenarios/.  The page is written to a temporary
 * file beside FILE and renamed, so a failed report leaves no half page;
 * "-o -" writes it to stdout.
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../workers/report.h"
#include "cli.h"

/* A saved scenario run into rs: 0, or -1 having said why. */
static int
report_load_scenario(const struct config *cfg, const char *run,
    struct report_scenario *rs)
{
	char dir[CFG_PATH + 16], path[CFG_PATH + 700], err[CFG_PATH + 800];
	json_error_t je;
	json_t *j;
	int rc;

	snprintf(dir, sizeof(dir), "%s/scenarios", cfg->lab.state_dir);
	if (report_scenario_find(dir, run, path, sizeof(path), err,
	    sizeof(err)) == -1) {
		fprintf(stderr, "labsup: report: %s\n", err);
		return -1;
	}
	if ((j = json_load_file(path, 0, &je)) == NULL) {
		fprintf(stderr, "labsup: report: %s:%d: %s\n", path, je.line,
		    je.text);
		return -1;
	}
	if ((rc = report_scenario(j, rs, err, sizeof(err))) == -1)
		fprintf(stderr, "labsup: report: %s: %s\n", path, err);
	json_decref(j);
	return rc;
}

int
cmd_report(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "since", required_argument, NULL, 's' },
		{ "from", required_argument, NULL, 'f' },
		{ "to", required_argument, NULL, 't' },
		{ "scenario", required_argument, NULL, 'S' },
		{ NULL, 0, NULL, 0 },
	};
	const char *since = NULL, *from = NULL, *to = NULL, *path = NULL;
	const char *scenario = NULL;
	struct report_scenario rs = { 0 };
	struct report_opts ro = { 0 };
	struct config *cfg;
	char err[700], def[128];
	int ch;

	while ((ch = getopt_long(argc, argv, "o:", opts, NULL)) != -1) {
		switch (ch) {
		case 's': since = optarg; break;
		case 'f': from = optarg; break;
		case 't': to = optarg; break;
		case 'S': scenario = optarg; break;
		case 'o': path = optarg; break;
		default:
			cli_usage_error("report: unknown option or missing "
			    "value \"%s\" (try --since 15m or -o FILE)",
			    argv[optind - 1]);
		}
	}
	if (optind < argc)
		cli_usage_error("report: unexpected argument \"%s\"",
		    argv[optind]);
	if (scenario != NULL && (since || from || to))
		cli_usage_error("report: --scenario takes its range from the "
		    "run: no --since, --from or --to with it");
	if (scenario == NULL && report_range(since, from, to, now_ns(),
	    &ro.from_ns, &ro.to_ns, err, sizeof(err)) == -1)
		cli_usage_error("report: %s", err);
	if (path != NULL && *path == '\0')
		cli_usage_error("report: -o needs a file name (or - for "
		    "stdout)");
	cfg = cli_cfg();
	if (scenario != NULL) {
		if (report_load_scenario(cfg, scenario, &rs) == -1)
			return 1;
		ro = rs.o;
	}
	if (path == NULL) {
		time_t t = (time_t)(ro.to_ns / 1000000000LL);
		struct tm tm;
		char when[32];

		gmtime_r(&t, &tm);
		strftime(when, sizeof(when), "%Y%m%dT%H%M%SZ", &tm);
		snprintf(def, sizeof(def), "labsup-report-%s-%s.html",
		    cfg->lab.name, when);
		path = def;
	}
	if (strcmp(path, "-") == 0) {
		if (report_write(cfg, &ro, stdout, err, sizeof(err)) == -1) {
			fprintf(stderr, "labsup: report: %s\n", err);
			report_scenario_free(&rs);
			return 1;
		}
		report_scenario_free(&rs);
		return 0;
	}
	if (report_write_file(cfg, &ro, path, err, sizeof(err)) == -1) {
		fprintf(stderr, "labsup: report: %s\n", err);
		report_scenario_free(&rs);
		return 1;
	}
	report_scenario_free(&rs);
	printf("%s\n", path);
	return 0;
}
