/*
 * test_probe.c: issue 18, the in-server probe's labsup side: the source
 * key and its interval floor, the probe segment (created for an owner,
 * mode 0600, whole; reused when whole, replaced when not), and the lane
 * the sampler relays from.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
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

/*
 * A sampler killed in the middle of a batch has put some of the probe's
 * records into its own lane without freeing them in the probe's: its
 * successor goes on after the newest it relayed, not again from the
 * probe lane's tail (which had InfluxDB fold the copies into one point
 * and lose the first copies' seqs: 50_kill_workers).  Positions start just
 * below 2^32, so the 32-bit origin wraps in the middle of the batch.
 */
static struct lane *
lane_at(uint64_t nrecs, uint64_t pos)
{
	struct lane *l = calloc(1, lane_bytes(nrecs));

	cr_assert_not_null(l);
	atomic_store(&l->head, pos);
	atomic_store(&l->tail, pos);
	lane_init(l, nrecs, true);
	return l;
}

static void
relay(struct lane *probe, struct lane *own, int n, uint16_t seg)
{
	for (int i = 0; i < n; i++) {
		uint64_t pos = lane_read_pos(probe);
		const struct record *r = lane_read(probe);
		struct record c;

		cr_assert_not_null(r);
		c = *r;
		c.relayed = 1;
		c.origin = (uint32_t)pos;
		c.origin_seg = seg;
		cr_assert_eq(lane_push(own, &c), 0);
	}
}

Test(probe, relay_resumes_after_the_last_relayed)
{
	const uint64_t base = (1ULL << 32) - 3;
	struct lane *probe = lane_at(16, base), *own = lane_at(16, 40);
	const struct record *r;
	struct record rec;

	/* nothing relayed yet: nothing skipped */
	cr_assert_eq(probe_relay_resume(probe, own, 7), 0);
	memset(&rec, 0, sizeof(rec));
	rec.kind = REC_BLOCKING;
	for (int i = 0; i < 10; i++) {
		rec.u.blocking.waiting = i;
		cr_assert_eq(lane_push(probe, &rec), 0);
	}
	/* the first sampler relays 5 (past 2^32), then a record of its own */
	relay(probe, own, 5, 7);
	memset(&rec, 0, sizeof(rec));
	rec.kind = REC_LABSUP;
	cr_assert_eq(lane_push(own, &rec), 0);
	/* ... and is killed before it frees them: its successor */
	lane_rewind(probe);
	cr_assert_eq(lane_read_pos(probe), base);
	cr_assert_eq(probe_relay_resume(probe, own, 7), 5);
	cr_assert_eq(lane_committed(probe), base + 5);
	r = lane_read(probe);
	cr_assert_not_null(r);
	cr_assert_eq(r->u.blocking.waiting, 5, "read on from %lld",
	    (long long)r->u.blocking.waiting);
	/* it relays the rest and frees them: a third goes on from the head */
	lane_rewind(probe);
	relay(probe, own, 5, 7);
	lane_commit(probe, lane_read_pos(probe));
	lane_rewind(probe);
	cr_assert_eq(probe_relay_resume(probe, own, 7), 0);
	cr_assert_eq(lane_read_pos(probe), base + 10);
	cr_assert_null(lane_read(probe));
	/* a record relayed long ago (freed since) moves nothing */
	memset(&rec, 0, sizeof(rec));
	rec.kind = REC_BLOCKING;
	cr_assert_eq(lane_push(probe, &rec), 0);
	cr_assert_eq(probe_relay_resume(probe, own, 7), 0);
	cr_assert_eq(lane_committed(probe), base + 10);
	cr_assert_not_null(lane_read(probe));
	/*
	 * The segment replaced (another inode): the newest relayed record is
	 * of the old one, whose positions mean nothing here, even where they
	 * fall among the new lane's unfreed ones.
	 */
	free(probe);
	probe = lane_at(16, 0);
	memset(&rec, 0, sizeof(rec));
	rec.kind = REC_BLOCKING;
	for (int i = 0; i < 12; i++)
		cr_assert_eq(lane_push(probe, &rec), 0);
	rec.relayed = 1;
	rec.origin = 3;
	rec.origin_seg = 7;
	cr_assert_eq(lane_push(own, &rec), 0);
	cr_assert_eq(probe_relay_resume(probe, own, 8), 0);
	cr_assert_eq(lane_committed(probe), 0);
	/* ... where the same position in the same segment skips 4 */
	cr_assert_eq(probe_relay_resume(probe, own, 7), 4);
	free(own);
	free(probe);
}
