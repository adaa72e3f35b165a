/*
 * writer_harness.c: drive the writer without a lab, for tests and the
 * benchmark.  It makes a segment, fills a lane with records, forks
 * writer_main() the way the supervisor does and can restart it.
 *
 * usage:
 *   writer_harness create SEG [NSLOTS [LANE_RECORDS]]
 *       slot 0 is "writer", slot 1 "harness" (the lane fill pushes into)
 *   writer_harness destroy SEG
 *   writer_harness fill SEG STREAM N      N labsup_test records, n = 0..N-1;
 *                                         waits (never drops) when full
 *   writer_harness fill-all SEG           one record of every kind
 *   writer_harness run SEG CONF [PIDFILE] run the writer in slot 0, restart
 *                                         it when it is killed; SIGTERM
 *                                         stops it and returns its status
 *   writer_harness counters SEG           slot 0's counters, name=value
 *   writer_harness bench CONF N [STREAM]  throughput: N pre-filled points
 *   writer_harness format N BATCH DIR [STREAM]
 *                                         the same points as line protocol
 *                                         files of BATCH points, for curl
 *   writer_harness latency CONF SECONDS RATE
 *                                         sample-to-readable latency
 */
#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../workers/worker.h"
#include "../workers/lineproto.h"

static volatile sig_atomic_t harness_stop;

static void
harness_on_term(int sig)
{
	(void)sig;
	harness_stop = 1;
	worker_stop = 1;
}

/* No SA_RESTART: waitpid() must return EINTR so we can pass SIGTERM on. */
static void
harness_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = harness_on_term;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
}

static int
usage(void)
{
	fprintf(stderr, "usage: writer_harness create|destroy|fill|fill-all|"
	    "run|counters|bench|format|latency ... (see the source)\n");
	return EXIT_USAGE;
}

static void
harness_open(struct seg *s, const char *name)
{
	char err[256];

	if (seg_open(s, name, true, err, sizeof(err)) == -1) {
		fprintf(stderr, "writer_harness: %s\n", err);
		exit(1);
	}
}

static void
harness_name_slot(struct seg *s, uint32_t i, const char *name, int kind)
{
	struct slot *sl = seg_slot(s, i);

	seq_write_begin(&sl->sup_lock);
	snprintf(sl->sup.name, sizeof(sl->sup.name), "%s", name);
	sl->sup.kind = (uint8_t)kind;
	seq_write_end(&sl->sup_lock);
}

static int
harness_create(struct seg *s, const char *name, uint32_t nslots,
    uint64_t lane_records)
{
	char err[256];

	if (seg_create(s, name, nslots, 0, lane_records, err,
	    sizeof(err)) == -1) {
		fprintf(stderr, "writer_harness: %s\n", err);
		return -1;
	}
	harness_name_slot(s, 0, "writer", WK_WRITER);
	harness_name_slot(s, 1, "harness", WK_SUPERVISOR);
	return 0;
}

/* Push, waiting for room: tests want exact counts, not ring drops. */
static void
harness_push(struct lane *l, struct record *r)
{
	struct timespec ts = { 0, 500000 };

	/* we are the lane's only producer: room seen now stays there */
	while (lane_produced(l) - lane_committed(l) >= l->size) {
		nanosleep(&ts, NULL);
		if (harness_stop)
			exit(1);
	}
	lane_push(l, r);
}

static void
harness_test_rec(struct record *r, const char *stream, int64_t n, int64_t ts)
{
	memset(r, 0, sizeof(*r));
	r->kind = REC_TEST;
	r->ts = ts;
	snprintf(r->u.test.stream, sizeof(r->u.test.stream), "%s", stream);
	r->u.test.n = n;
}

/* Unique, increasing timestamps: one point per series and time. */
static int64_t
harness_ts(void)
{
	static int64_t last;
	int64_t t = now_ns();

	if (t <= last)
		t = last + 1;
	return last = t;
}

static int
harness_fill(const char *segname, const char *stream, long n)
{
	struct seg s;
	struct record r;

	harness_open(&s, segname);
	for (long i = 0; i < n; i++) {
		harness_test_rec(&r, stream, i, harness_ts());
		harness_push(seg_lane(&s, 1), &r);
	}
	seg_close(&s);
	return 0;
}

/* Known values for every kind; the integration test reads them back. */
static int
harness_fill_all(const char *segname)
{
	struct seg s;
	struct record r[REC_KIND_MAX];
	int k;

	memset(r, 0, sizeof(r));
	k = 0;
	r[k].kind = REC_LOCKS;
	strcpy(r[k].u.locks.node, "pub");
	strcpy(r[k].u.locks.locktype, "relation");
	strcpy(r[k].u.locks.mode, "AccessShareLock");
	r[k].u.locks.granted = 1;
	r[k++].u.locks.count = 3;
	r[k].kind = REC_ACTIVITY;
	strcpy(r[k].u.activity.node, "pub");
	strcpy(r[k].u.activity.state, "idle in transaction");
	strcpy(r[k].u.activity.wait_event_type, "Client");
	strcpy(r[k].u.activity.wait_event, "ClientRead");
	r[k++].u.activity.count = 2;
	r[k].kind = REC_BLOCKING;
	strcpy(r[k].u.blocking.node, "pub");
	r[k].u.blocking.waiting = 1;
	r[k].u.blocking.pairs = 2;
	r[k].u.blocking.longest_wait_ms = 12.5;
	r[k++].u.blocking.deadlocks = 4;
	r[k].kind = REC_REPLICATION;
	strcpy(r[k].u.replication.node, "sub1");
	strcpy(r[k].u.replication.subscription, "sub_sub1");
	strcpy(r[k].u.replication.state, "streaming");
	r[k].u.replication.lag_bytes = 1234;
	r[k++].u.replication.apply_lag_ms = 5.5;
	r[k].kind = REC_HUM;
	strcpy(r[k].u.hum.node, "pub");
	strcpy(r[k].u.hum.client, "0");
	r[k].u.hum.tx = 10;
	r[k].u.hum.err_serialization = 1;
	r[k].u.hum.err_deadlock = 2;
	r[k].u.hum.err_other = 3;
	r[k].u.hum.latency_p50_ms = 0.5;
	r[k].u.hum.latency_p99_ms = 1.5;
	r[k].u.hum.latency_max_ms = 2.5;
	r[k].u.hum.schedule_lag_ms = 0.25;
	r[k++].u.hum.reconnects = 1;
	r[k].kind = REC_SERVICE;
	strcpy(r[k].u.service.service, "pub");
	r[k].u.service.cpu_pct = 12.5;
	r[k].u.service.mem_bytes = 1048576;
	r[k].u.service.net_rx_bytes = 100;
	r[k].u.service.net_tx_bytes = 200;
	r[k++].u.service.up = 1;
	r[k].kind = REC_LABSUP;
	strcpy(r[k].u.labsup.worker, "hum 0");
	r[k].u.labsup.ring_drops = 1;
	r[k].u.labsup.spool_bytes = 2;
	r[k].u.labsup.deadline_misses = 3;
	r[k].u.labsup.restarts = 4;
	r[k].u.labsup.points_written = 5;
	r[k].u.labsup.errors = 6;
	r[k++].u.labsup.value = 7;
	r[k].kind = REC_EVENT;
	strcpy(r[k].u.event.kind, "chaos");
	strcpy(r[k].u.event.text, "rate x2 \"burst\", a=b\\c");
	k++;
	r[k].kind = REC_TEST;
	strcpy(r[k].u.test.stream, "we,ird= na\\me");
	r[k++].u.test.n = 42;

	harness_open(&s, segname);
	for (int i = 0; i < k; i++) {
		r[i].ts = harness_ts();
		harness_push(seg_lane(&s, 1), &r[i]);
	}
	seg_close(&s);
	return 0;
}

static void
harness_load(struct config *cfg, const char *path)
{
	char err[512];

	if (config_load(cfg, path, err, sizeof(err)) == -1) {
		fprintf(stderr, "writer_harness: %s\n", err);
		exit(1);
	}
}

/* Fork the writer in slot 0 through worker_run(), as the supervisor does. */
static pid_t
harness_spawn(struct seg *s, const struct config *cfg)
{
	struct worker_start ws = {
		.seg = s, .slot = 0, .kind = WK_WRITER, .arg = "",
		.name = "writer", .cfg = cfg, .parent = getpid(),
	};
	pid_t pid;

	if ((pid = fork()) != 0)
		return pid;
	log_init("writer", true);
	_exit(worker_run(&ws));
}

static int
harness_run(const char *segname, const char *conf, const char *pidfile)
{
	struct config cfg;
	struct seg s;
	pid_t pid;
	int st;

	harness_load(&cfg, conf);
	harness_open(&s, segname);
	harness_signals();
	for (;;) {
		pid = harness_spawn(&s, &cfg);
		if (pidfile != NULL) {
			FILE *fp = fopen(pidfile, "w");
			if (fp != NULL) {
				fprintf(fp, "%d\n", (int)pid);
				fclose(fp);
			}
		}
		while (waitpid(pid, &st, 0) == -1) {
			if (errno != EINTR)
				return 1;
			if (harness_stop)
				kill(pid, SIGTERM);
		}
		if (harness_stop || !WIFSIGNALED(st))
			break;
		fprintf(stderr, "writer_harness: writer %d killed by signal "
		    "%d: restarting it\n", (int)pid, WTERMSIG(st));
		usleep(100000);
	}
	seg_close(&s);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static int
harness_counters(const char *segname)
{
	static const char *const names[] = {
		"points", "batches", "bytes", "last_flush", "spool_bytes",
		"spooled", "retries", "errors", "rejected", "spool_dropped",
		"replayed", "influx_up", "torn",
	};
	struct slot_own own;
	uint64_t produced, committed, dropped;
	struct seg s;

	harness_open(&s, segname);
	if (status_read_own(seg_slot(&s, 0), &own) == -1)
		return 1;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		printf("%s=%" PRId64 "\n", names[i], own.counters[i]);
	printf("state=%s\ndetail=%s\n", worker_state_name(own.state),
	    own.detail);
	seg_ring_totals(&s, &produced, &committed, &dropped);
	printf("harness_produced=%" PRIu64 "\nharness_committed=%" PRIu64
	    "\n", lane_produced(seg_lane(&s, 1)),
	    lane_committed(seg_lane(&s, 1)));
	printf("ring_produced=%" PRIu64 "\nring_committed=%" PRIu64
	    "\nring_dropped=%" PRIu64 "\n", produced, committed, dropped);
	seg_close(&s);
	return 0;
}

static double
cpu_s(const struct rusage *ru)
{
	return ru->ru_utime.tv_sec + ru->ru_stime.tv_sec +
	    (ru->ru_utime.tv_usec + ru->ru_stime.tv_usec) / 1e6;
}

static uint64_t
pow2_at_least(uint64_t n)
{
	uint64_t p = 64;

	while (p < n)
		p <<= 1;
	return p;
}

/* The bench records: stream "bench", 1 us apart, from a fixed base. */
static void
harness_bench_rec(struct record *r, const char *stream, long i)
{
	harness_test_rec(r, stream, i, 1700000000000000000LL + i * 1000);
	r->seq = (uint64_t)i;
}

static int
harness_bench(const char *conf, long n, const char *stream)
{
	struct config cfg;
	struct record r;
	struct rusage ru;
	struct seg s;
	char name[64];
	int64_t t0, t1;
	pid_t pid;
	int st;

	harness_load(&cfg, conf);
	snprintf(name, sizeof(name), "/labsup-wbench.%d", (int)getpid());
	if (harness_create(&s, name, 2, pow2_at_least((uint64_t)n + 64)) ==
	    -1)
		return 1;
	for (long i = 0; i < n; i++) {
		harness_bench_rec(&r, stream, i);
		harness_push(seg_lane(&s, 1), &r);
	}
	t0 = mono_ns();
	pid = harness_spawn(&s, &cfg);
	while (lane_committed(seg_lane(&s, 1)) < (uint64_t)n &&
	    !harness_stop)
		usleep(1000);
	t1 = mono_ns();
	kill(pid, SIGTERM);
	wait4(pid, &st, 0, &ru);
	seg_unlink(name);
	struct slot_own own;
	status_read_own(seg_slot(&s, 0), &own);
	printf("points=%ld seconds=%.3f kpoints_per_s=%.1f cpu_s=%.3f "
	    "cpu_us_per_point=%.3f bytes=%" PRId64 " spooled=%" PRId64 "\n",
	    n, (t1 - t0) / 1e9, n / ((t1 - t0) / 1e9) / 1000, cpu_s(&ru),
	    cpu_s(&ru) * 1e6 / n, own.counters[WC_BYTES],
	    own.counters[WC_SPOOLED]);
	seg_close(&s);
	return own.counters[WC_POINTS] >= n ? 0 : 1;
}

/* The bench points as files of batch lines each; format CPU per point. */
static int
harness_format(long n, long batch, const char *dir, const char *stream)
{
	struct lp_buf b = { 0 };
	struct record r;
	struct timespec c0, c1;
	double ns = 0;
	long files = 0;

	for (long i = 0; i < n; i += batch) {
		char path[512];
		FILE *fp;

		b.len = 0;
		clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0);
		for (long j = i; j < n && j < i + batch; j++) {
			harness_bench_rec(&r, stream, j);
			if (lp_format(&b, &r) != 0)
				return 1;
		}
		clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1);
		ns += (c1.tv_sec - c0.tv_sec) * 1e9 + (c1.tv_nsec - c0.tv_nsec);
		snprintf(path, sizeof(path), "%s/batch.%06ld", dir, files++);
		if ((fp = fopen(path, "w")) == NULL ||
		    fwrite(b.data, 1, b.len, fp) != b.len || fclose(fp) != 0) {
			fprintf(stderr, "writer_harness: cannot write %s: %s\n",
			    path, strerror(errno));
			return 1;
		}
	}
	printf("files=%ld format_ns_per_point=%.1f\n", files, ns / n);
	lp_free(&b);
	return 0;
}

struct harness_body {
	char buf[4096];
	size_t len;
};

static size_t
harness_on_body(char *p, size_t size, size_t nmemb, void *arg)
{
	struct harness_body *hb = arg;
	size_t n = size * nmemb, room = sizeof(hb->buf) - 1 - hb->len;

	if (n < room)
		room = n;
	memcpy(hb->buf + hb->len, p, room);
	hb->len += room;
	hb->buf[hb->len] = '\0';
	return n;
}

/* max(n) of the stream so far, -1 when none or on error. */
static long
harness_max_n(CURL *c, const char *url)
{
	struct harness_body hb = { .len = 0 };
	const char *p;

	hb.buf[0] = '\0';
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, harness_on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &hb);
	if (curl_easy_perform(c) != CURLE_OK)
		return -1;
	/* {"results":[{"series":[{...,"values":[["time",N]]}]}]} */
	if ((p = strstr(hb.buf, "\"values\":[[")) == NULL ||
	    (p = strchr(p, ',')) == NULL)
		return -1;
	return strtol(p + 1, NULL, 10);
}

static int
cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * Push RATE samples a second for SECONDS; poll InfluxDB every 10 ms for
 * the highest n readable; a sample's latency is the first poll that sees
 * it minus its timestamp.
 */
static int
harness_latency(const char *conf, int secs, int rate)
{
	struct config cfg;
	struct record r;
	struct seg s;
	char name[64], url[1024], q[256], stream[32], *e;
	long total = (long)secs * rate, pushed = 0, seen = -1;
	int64_t *ts, *lat, t0, deadline;
	CURL *c;
	pid_t pid;
	int st;

	harness_load(&cfg, conf);
	snprintf(name, sizeof(name), "/labsup-wlat.%d", (int)getpid());
	snprintf(stream, sizeof(stream), "lat%d", (int)getpid());
	if (harness_create(&s, name, 2, 4096) == -1)
		return 1;
	ts = calloc((size_t)total, sizeof(*ts));
	lat = calloc((size_t)total, sizeof(*lat));
	c = curl_easy_init();
	if (ts == NULL || lat == NULL || c == NULL)
		return 1;
	snprintf(q, sizeof(q), "SELECT max(n) FROM labsup_test WHERE "
	    "stream='%s'", stream);
	e = curl_easy_escape(c, q, 0);
	snprintf(url, sizeof(url), "%s/query?db=%s&q=%s", cfg.influx.url,
	    cfg.influx.database, e);
	curl_free(e);
	pid = harness_spawn(&s, &cfg);
	t0 = mono_ns();
	deadline = t0 + (secs + 30) * 1000000000LL;
	while (seen < total - 1 && mono_ns() < deadline && !harness_stop) {
		int64_t due = t0 + pushed * 1000000000LL / rate;
		long m;

		while (pushed < total && mono_ns() >= due) {
			ts[pushed] = now_ns();
			harness_test_rec(&r, stream, pushed, ts[pushed]);
			harness_push(seg_lane(&s, 1), &r);
			pushed++;
			due = t0 + pushed * 1000000000LL / rate;
		}
		m = harness_max_n(c, url);
		if (m > seen) {
			int64_t now = now_ns();
			for (long i = seen + 1; i <= m && i < total; i++)
				lat[i] = now - ts[i];
			seen = m;
		}
		usleep(10000);
	}
	kill(pid, SIGTERM);
	waitpid(pid, &st, 0);
	seg_unlink(name);
	seg_close(&s);
	curl_easy_cleanup(c);
	if (seen < total - 1) {
		fprintf(stderr, "writer_harness: only %ld of %ld samples came "
		    "back\n", seen + 1, total);
		return 1;
	}
	qsort(lat, (size_t)total, sizeof(*lat), cmp_i64);
	printf("samples=%ld p50_ms=%.1f p99_ms=%.1f max_ms=%.1f\n", total,
	    lat[total / 2] / 1e6, lat[(total * 99) / 100] / 1e6,
	    lat[total - 1] / 1e6);
	free(ts);
	free(lat);
	return 0;
}

int
main(int argc, char **argv)
{
	struct seg s;

	if (argc < 2)
		return usage();
	harness_signals();
	if (!strcmp(argv[1], "create") && argc >= 3) {
		uint32_t nslots = argc > 3 ? (uint32_t)atoi(argv[3]) : 4;
		uint64_t recs = argc > 4 ? strtoull(argv[4], NULL, 10) : 4096;
		if (nslots < 2 || harness_create(&s, argv[2], nslots, recs) ==
		    -1)
			return 1;
		seg_close(&s);
		return 0;
	}
	if (!strcmp(argv[1], "destroy") && argc == 3)
		return seg_unlink(argv[2]) == 0 ? 0 : 1;
	if (!strcmp(argv[1], "fill") && argc == 5)
		return harness_fill(argv[2], argv[3], atol(argv[4]));
	if (!strcmp(argv[1], "fill-all") && argc == 3)
		return harness_fill_all(argv[2]);
	if (!strcmp(argv[1], "run") && (argc == 4 || argc == 5))
		return harness_run(argv[2], argv[3], argc == 5 ? argv[4] :
		    NULL);
	if (!strcmp(argv[1], "counters") && argc == 3)
		return harness_counters(argv[2]);
	if (!strcmp(argv[1], "bench") && (argc == 4 || argc == 5))
		return harness_bench(argv[2], atol(argv[3]), argc == 5 ?
		    argv[4] : "writer");
	if (!strcmp(argv[1], "format") && (argc == 5 || argc == 6))
		return harness_format(atol(argv[2]), atol(argv[3]), argv[4],
		    argc == 6 ? argv[5] : "curl");
	if (!strcmp(argv[1], "latency") && argc == 5)
		return harness_latency(argv[2], atoi(argv[3]), atoi(argv[4]));
	return usage();
}
