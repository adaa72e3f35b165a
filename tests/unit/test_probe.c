/*
 * test_probe.c: issue 18, the in-server probe's labsup side: the source
 * key and its interval floor, the probe segment (created for an owner,
 * mode 0600, whole; reused when whole, replaced when not), and the lane
 * the sampler relays from.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../lib/config.h"
#include "../../shm/probe.h"

static char path[64], err[600];
static struct config cfg;

static int
load(const char *text)
{
	FILE *fp;
	int rc;

	snprintf(path, sizeof(path), "/tmp/labsup-probetest.%d.conf",
	    (int)getpid());
	fp = fopen(path, "w");
	cr_assert_not_null(fp);
	fputs(text, fp);
	fclose(fp);
	err[0] = '\0';
	rc = config_load(&cfg, path, err, sizeof(err));
	unlink(path);
	return rc;
}

#define NODES "[node pub]\nrole = publisher\nport = 6000\n"

Test(probe, source_defaults_to_auto)
{
	cr_assert_eq(load(NODES), 0, "%s", err);
	cr_assert_eq(cfg.sampler.source, SAMPLER_AUTO);
}

Test(probe, one_ms_only_with_the_probe)
{
	cr_assert_eq(load(NODES "[sampler]\nsource = probe\ninterval_ms = 1\n"
	    "locks_interval_ms = 10\n"), 0, "%s", err);
	cr_assert_eq(cfg.sampler.interval_ms, 1);
	cr_assert_eq(load(NODES "[sampler]\nsource = sql\ninterval_ms = 5\n"),
	    -1);
	cr_assert(strstr(err, ":6: ") != NULL && strstr(err,
	    "only source = probe") != NULL, "%s", err);
	/* auto may end up on SQL: it keeps SQL's floor */
	cr_assert_eq(load(NODES "[sampler]\ninterval_ms = 9\n"), -1);
	cr_assert(strstr(err, "below 10") != NULL, "%s", err);
	cr_assert_eq(load(NODES "[sampler]\nsource = rpc\n"), -1);
	cr_assert(strstr(err, "not auto, probe or sql") != NULL, "%s", err);
}

Test(probe, segment_created_reused_replaced)
{
	char name[128], dir[128], lab[64];
	struct probe_seg *p, *q;
	struct record r;
	struct stat sb;
	bool reused;
	int fd;

	/* a lab of this test process alone: parallel runs do not meet */
	snprintf(lab, sizeof(lab), "probetest%d", (int)getpid());
	probe_seg_dir(dir, sizeof(dir), lab);
	probe_seg_path(name, sizeof(name), lab, "n1");
	cr_assert(strncmp(name, dir, strlen(dir)) == 0 &&
	    strcmp(name + strlen(dir), "/n1") == 0, "%s", name);
	cr_assert_eq(probe_seg_mkdir(lab, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(probe_seg_mkdir(lab, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(lstat(dir, &sb), 0);
	cr_assert(S_ISDIR(sb.st_mode));
	cr_assert_eq(sb.st_mode & 0777, 0711);
	p = probe_seg_attach(name, getuid(), getgid(), &reused, err,
	    sizeof(err));
	cr_assert_not_null(p, "%s", err);
	cr_assert(!reused);
	cr_assert_eq(p->magic, PROBE_MAGIC);
	fd = open(name, O_RDONLY);
	cr_assert(fd != -1);
	cr_assert_eq(fstat(fd, &sb), 0);
	close(fd);
	cr_assert_eq(sb.st_mode & 0777, 0600);
	cr_assert_eq((uint64_t)sb.st_size, p->total_size);
	/* a record the probe pushed survives a new sampler's attach */
	memset(&r, 0, sizeof(r));
	r.kind = REC_BLOCKING;
	cr_assert_eq(lane_push(probe_lane(p), &r), 0);
	q = probe_seg_attach(name, getuid(), getgid(), &reused, err,
	    sizeof(err));
	cr_assert_not_null(q, "%s", err);
	cr_assert(reused);
	lane_rewind(probe_lane(q));
	cr_assert_not_null(lane_read(probe_lane(q)));
	cr_assert_null(lane_read(probe_lane(q)));
	probe_seg_detach(q);
	/* another layout under the name is replaced, not trusted */
	p->version = PROBE_VERSION + 1;
	probe_seg_detach(p);
	q = probe_seg_attach(name, getuid(), getgid(), &reused, err,
	    sizeof(err));
	cr_assert_not_null(q, "%s", err);
	cr_assert(!reused);
	cr_assert_eq(q->version, PROBE_VERSION);
	cr_assert_null(lane_read(probe_lane(q)));
	probe_seg_detach(q);
	cr_assert_eq(unlink(name), 0);
	cr_assert_eq(rmdir(dir), 0);
}

/* /dev/shm is everyone's: a link where the directory goes is refused. */
Test(probe, segment_dir_not_a_link)
{
	char dir[128], lab[64];

	snprintf(lab, sizeof(lab), "probetestln%d", (int)getpid());
	probe_seg_dir(dir, sizeof(dir), lab);
	cr_assert_eq(symlink("/tmp", dir), 0);
	cr_assert_eq(probe_seg_mkdir(lab, err, sizeof(err)), -1);
	cr_assert(strstr(err, "is not a directory of uid") != NULL, "%s", err);
	unlink(dir);
}

/*
 * issue 16/18: the probe's waiter records are the sampler's to turn into
 * episodes: never a point, whatever reaches the writer.
 */
#include "../../workers/lineproto.h"

Test(probe, wait_records_are_never_points)
{
	struct lp_buf b = { 0 };
	struct record r;

	memset(&r, 0, sizeof(r));
	r.ts = 1;
	r.kind = REC_PROBE_WAIT;
	r.u.probe_wait.pid = 42;
	cr_assert_null(rec_measurement(REC_PROBE_WAIT));
	cr_assert_null(rec_measurement(REC_PROBE_WAIT_TEXT));
	cr_assert_null(rec_measurement(REC_PROBE_TICK));
	cr_assert_eq(lp_format(&b, &r), 1);
	r.kind = REC_PROBE_WAIT_TEXT;
	strcpy(r.u.probe_wait_text.text, "SELECT 1");
	cr_assert_eq(lp_format(&b, &r), 1);
	r.kind = REC_PROBE_TICK;
	cr_assert_eq(lp_format(&b, &r), 1);
	cr_assert_eq(b.len, 0);
	lp_free(&b);
}
