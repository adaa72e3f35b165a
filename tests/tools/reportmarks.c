/*
 * reportmarks.c: calls report_write() as a scenario runner will, with
 * marks and windows of its own, so the integration test can open the page
 * and see them listed and drawn.
 *
 * usage: reportmarks CONFIG FROM_S TO_S OUT.html [T_S:LABEL]...
 *        [W:FROM_S:TO_S:pass|fail|none:LABEL]...
 * Times are Unix seconds.  Exit 0, 1 when report_write failed, 2 usage.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../workers/report.h"

#define RM_MAX 16

static int64_t
rm_ns(const char *s)
{
	return (int64_t)(strtod(s, NULL) * 1e9);
}

int
main(int argc, char **argv)
{
	struct report_mark marks[RM_MAX];
	struct report_window wins[RM_MAX];
	struct report_opts o = { 0 };
	struct config cfg;
	char err[700];
	FILE *fp;
	int rc;

	if (argc < 5) {
		fprintf(stderr, "usage: reportmarks CONFIG FROM_S TO_S OUT "
		    "[T:LABEL]... [W:FROM:TO:pass|fail|none:LABEL]...\n");
		return 2;
	}
	if (config_load(&cfg, argv[1], err, sizeof(err)) == -1) {
		fprintf(stderr, "reportmarks: %s\n", err);
		return 2;
	}
	o.from_ns = rm_ns(argv[2]);
	o.to_ns = rm_ns(argv[3]);
	o.title = "reportmarks: a <scenario> & its steps";
	o.marks = marks;
	o.windows = wins;
	for (int i = 5; i < argc; i++) {
		char *a = argv[i], *p, *q, *v;

		if (strncmp(a, "W:", 2) == 0 && o.nwindows < RM_MAX) {
			struct report_window *w = &wins[o.nwindows++];

			if ((p = strchr(a + 2, ':')) == NULL ||
			    (q = strchr(p + 1, ':')) == NULL ||
			    (v = strchr(q + 1, ':')) == NULL)
				return 2;
			w->from_ns = rm_ns(a + 2);
			w->to_ns = rm_ns(p + 1);
			*v = '\0';
			w->verdict = !strcmp(q + 1, "pass") ? REPORT_PASS :
			    !strcmp(q + 1, "fail") ? REPORT_FAIL : REPORT_NONE;
			w->label = v + 1;
		} else if ((p = strchr(a, ':')) != NULL && o.nmarks < RM_MAX) {
			marks[o.nmarks].ts_ns = rm_ns(a);
			marks[o.nmarks++].label = p + 1;
		} else
			return 2;
	}
	if ((fp = fopen(argv[4], "w")) == NULL) {
		perror(argv[4]);
		return 1;
	}
	rc = report_write(&cfg, &o, fp, err, sizeof(err));
	fclose(fp);
	if (rc == -1) {
		fprintf(stderr, "reportmarks: %s\n", err);
		return 1;
	}
	return 0;
}
