/*
 * cmd_report.c: `labsup report [--since D | --from T [--to T]] [-o FILE]`:
 * the lab's measurements of a time range as one HTML page that opens from
 * disk (workers/report.c does the work).  The page is written to a
 * temporary file beside FILE and renamed, so a failed report leaves no
 * half page; "-o -" writes it to stdout.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../workers/report.h"
#include "cli.h"

int
cmd_report(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "since", required_argument, NULL, 's' },
		{ "from", required_argument, NULL, 'f' },
		{ "to", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 },
	};
	const char *since = NULL, *from = NULL, *to = NULL, *path = NULL;
	struct report_opts ro = { 0 };
	struct config *cfg;
	char err[700], def[128], tmp[4200];
	FILE *fp;
	int ch, fd, rc;

	while ((ch = getopt_long(argc, argv, "o:", opts, NULL)) != -1) {
		switch (ch) {
		case 's': since = optarg; break;
		case 'f': from = optarg; break;
		case 't': to = optarg; break;
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
	if (report_range(since, from, to, now_ns(), &ro.from_ns, &ro.to_ns,
	    err, sizeof(err)) == -1)
		cli_usage_error("report: %s", err);
	if (path != NULL && *path == '\0')
		cli_usage_error("report: -o needs a file name (or - for "
		    "stdout)");
	cfg = cli_cfg();
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
			return 1;
		}
		return 0;
	}
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >=
	    sizeof(tmp))
		cli_usage_error("report: the file name is too long");
	if ((fd = mkstemp(tmp)) == -1 || (fp = fdopen(fd, "w")) == NULL) {
		fprintf(stderr, "labsup: report: cannot create %s: %s\n", path,
		    strerror(errno));
		return 1;
	}
	/* mkstemp's 0600 would hide a page meant to be passed around */
	fchmod(fd, 0644 & ~umask(umask(0)));
	rc = report_write(cfg, &ro, fp, err, sizeof(err));
	if (fclose(fp) == EOF && rc == 0) {
		snprintf(err, sizeof(err), "cannot write %s: %s", path,
		    strerror(errno));
		rc = -1;
	}
	if (rc == 0 && rename(tmp, path) == -1) {
		snprintf(err, sizeof(err), "cannot rename %s to %s: %s", tmp,
		    path, strerror(errno));
		rc = -1;
	}
	if (rc == -1) {
		unlink(tmp);
		fprintf(stderr, "labsup: report: %s\n", err);
		return 1;
	}
	printf("%s\n", path);
	return 0;
}
