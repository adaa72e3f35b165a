/*
 * sampler_harness.c: run hum or sampler workers outside a lab, for tests
 * and benchmarks.  It makes a private segment, forks the workers the way
 * the supervisor does (worker_run), drains their lanes and prints every record as one
 * line of key=value fields, then stops them and prints their counters.
 *
 * usage: sampler_harness -c CONF -k hum|sampler [-a ARG] [-b] [-n N] -t SECONDS
 *   -a  the sampler's node (default pub) or the first hum client index
 *   -b  samplers tick back to back (no sleep between, pg_locks each time):
 *       their tick count over the run gives the round trip (their
 *       REC_LABSUP value is the server's time to take the snapshot, as
 *       always)
 *   -n  how many workers (hum clients ARG .. ARG+N-1, or one per -a node
 *       list "pub,sub1")
 *   -q  print only the closing summary lines
 *   -S  print the SQL of one tick with pg_locks and exit (-a OID, needed:
 *       the oid of the database it is for)
 * SIGINT or SIGTERM ends the run early, the same way -t does.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../workers/worker.h"
#include "../workers/sampler.h"

#define HARNESS_MAX 64

/* SIGINT or SIGTERM: stop the workers now, as at the end of -t */
static volatile sig_atomic_t harness_stop;

static void
harness_on_signal(int sig)
{
	(void)sig;
	harness_stop = 1;
}

static void
harness_print(const struct record *r)
{
	const char *m = rec_measurement(r->kind);

	switch (r->kind) {
	case REC_LOCKS:
		printf("%s ts=%" PRId64 " node=%s locktype=%s mode=%s "
		    "granted=%d count=%" PRId64 "\n", m, r->ts,
		    r->u.locks.node, r->u.locks.locktype, r->u.locks.mode,
		    r->u.locks.granted, r->u.locks.count);
		break;
	case REC_ACTIVITY:
		printf("%s ts=%" PRId64 " node=%s state=\"%s\" wtype=\"%s\" "
		    "wevent=\"%s\" count=%d\n", m, r->ts, r->u.activity.node,
		    r->u.activity.state, r->u.activity.wait_event_type,
		    r->u.activity.wait_event, r->u.activity.count);
		break;
	case REC_BLOCKING:
		printf("%s ts=%" PRId64 " node=%s waiting=%" PRId64
		    " pairs=%" PRId64 " longest_ms=%.3f deadlocks=%" PRId64
		    "\n", m, r->ts, r->u.blocking.node, r->u.blocking.waiting,
		    r->u.blocking.pairs, r->u.blocking.longest_wait_ms,
		    r->u.blocking.deadlocks);
		break;
	case REC_REPLICATION:
		printf("%s ts=%" PRId64 " node=%s sub=%s state=%s "
		    "lag_bytes=%" PRId64 " apply_lag_ms=%.3f\n", m, r->ts,
		    r->u.replication.node, r->u.replication.subscription,
		    r->u.replication.state, r->u.replication.lag_bytes,
		    r->u.replication.apply_lag_ms);
		break;
	case REC_HUM:
		printf("%s ts=%" PRId64 " node=%s client=%s tx=%" PRId64
		    " ser=%" PRId64 " deadlock=%" PRId64 " other=%" PRId64
		    " p50=%.3f p99=%.3f max=%.3f lag=%.3f reconnects=%"
		    PRId64 "\n", m, r->ts, r->u.hum.node, r->u.hum.client,
		    r->u.hum.tx, r->u.hum.err_serialization,
		    r->u.hum.err_deadlock, r->u.hum.err_other,
		    r->u.hum.latency_p50_ms, r->u.hum.latency_p99_ms,
		    r->u.hum.latency_max_ms, r->u.hum.schedule_lag_ms,
		    r->u.hum.reconnects);
		break;
	case REC_LABSUP:
		printf("%s ts=%" PRId64 " worker=\"%s\" drops=%" PRId64
		    " misses=%" PRId64 " errors=%" PRId64 " value=%" PRId64
		    "\n", m, r->ts, r->u.labsup.worker, r->u.labsup.ring_drops,
		    r->u.labsup.deadline_misses, r->u.labsup.errors,
		    r->u.labsup.value);
		break;
	case REC_EVENT:
		printf("%s ts=%" PRId64 " kind=%s text=\"%s\"\n", m, r->ts,
		    r->u.event.kind, r->u.event.text);
		break;
	case REC_LOCK_WAIT:
		printf("%s ts=%" PRId64 " node=%s pid=%d blocker=%d ended=%d "
		    "duration_ms=%.3f target=\"%s\"\n", m, r->ts,
		    r->u.lock_wait.node, r->u.lock_wait.pid,
		    r->u.lock_wait.blocker, r->u.lock_wait.ended,
		    r->u.lock_wait.duration_ms, r->u.lock_wait.target);
		break;
	case REC_LOCK_WAIT_TEXT:
		break;	/* the statements: nothing a benchmark counts */
	default:
		printf("kind%d ts=%" PRId64 "\n", r->kind, r->ts);
		break;
	}
}

/* Fork a worker through worker_run(), the start-up the supervisor uses. */
static pid_t
harness_fork(struct worker_start *ws)
{
	pid_t pid = fork();

	if (pid != 0)
		return pid;
	log_init(ws->name, true);
	_exit(worker_run(ws));
}

static int
harness_drain(struct seg *seg, int n, bool quiet)
{
	int got = 0;

	for (int i = 0; i < n; i++) {
		struct lane *l = seg_lane(seg, (uint32_t)i);
		const struct record *r;
		while ((r = lane_read(l)) != NULL) {
			if (!quiet)
				harness_print(r);
			got++;
		}
		lane_commit(l, lane_read_pos(l));
	}
	return got;
}

int
main(int argc, char **argv)
{
	static struct config cfg;
	const char *conf = NULL, *kind = "sampler", *arg = NULL;
	char err[600], name[SEG_NAME_MAX], args[HARNESS_MAX][32];
	char names[HARNESS_MAX][STATUS_NAME];
	struct worker_start ws[HARNESS_MAX];
	pid_t pids[HARNESS_MAX];
	double secs = 5;
	int n = 1, c, k, rc = 0;
	bool quiet = false, back_to_back = false, print_sql = false;
	struct seg seg;
	int64_t end, stop_at;

	while ((c = getopt(argc, argv, "a:bc:k:n:qSt:")) != -1) {
		switch (c) {
		case 'S': print_sql = true; break;
		case 'a': arg = optarg; break;
		case 'b': back_to_back = true; break;
		case 'c': conf = optarg; break;
		case 'k': kind = optarg; break;
		case 'n': n = atoi(optarg); break;
		case 'q': quiet = true; break;
		case 't': secs = atof(optarg); break;
		default:
			fprintf(stderr, "usage: sampler_harness -c CONF -k "
			    "hum|sampler [-a ARG] [-b] [-n N] [-q] -t SECONDS | "
			    "-S -a OID\n");
			return 2;
		}
	}
	if (print_sql) {	/* one tick's SQL, for a pgbench baseline */
		char sql[8192], *oid_end = NULL;
		unsigned long oid = arg ? strtoul(arg, &oid_end, 10) : 0;
		if (arg == NULL || *arg == '\0' || *oid_end != '\0' ||
		    oid == 0 || oid > 0xffffffffUL) {
			fprintf(stderr, "sampler_harness: -S needs -a OID, the "
			    "oid of the database the SQL is for\n");
			return 2;
		}
		sampler_sql(sql, sizeof(sql), true, false, (unsigned)oid,
		    false);
		printf("%s;\n", sql);
		return 0;
	}
	if (n < 1 || n > HARNESS_MAX) {
		fprintf(stderr, "sampler_harness: -n must be 1..%d\n",
		    HARNESS_MAX);
		return 2;
	}
	k = !strcmp(kind, "hum") ? WK_HUM : WK_SAMPLER;
	if (config_load(&cfg, conf, err, sizeof(err)) == -1) {
		fprintf(stderr, "sampler_harness: %s\n", err);
		return 1;
	}
	if (back_to_back)
		cfg.sampler.interval_ms = 0;
	snprintf(name, sizeof(name), "/labsup.%u.harness-%d",
	    (unsigned)getuid(), (int)getpid());
	if (seg_create(&seg, name, (uint32_t)n, 1, 1 << 16, err,
	    sizeof(err)) == -1) {
		fprintf(stderr, "sampler_harness: %s\n", err);
		return 1;
	}
	for (int i = 0; i < n; i++) {
		if (k == WK_HUM) {
			snprintf(args[i], sizeof(args[i]), "%d",
			    (arg ? atoi(arg) : 0) + i);
		} else {
			/* -a "pub,sub1": the i-th node of the list */
			const char *p = arg ? arg : "pub";
			for (int j = 0; j < i && p != NULL; j++)
				if ((p = strchr(p, ',')) != NULL)
					p++;
			snprintf(args[i], sizeof(args[i]), "%.*s",
			    p ? (int)strcspn(p, ",") : 0, p ? p : "");
		}
		snprintf(names[i], sizeof(names[i]), "%s %s",
		    worker_kind_name(k), args[i]);
		ws[i] = (struct worker_start){ .seg = &seg, .slot = (uint32_t)i,
		    .kind = k, .arg = args[i], .name = names[i], .cfg = &cfg,
		    .parent = getpid() };
		pids[i] = harness_fork(&ws[i]);
		if (pids[i] == -1) {
			perror("sampler_harness: fork");
			return 1;
		}
	}
	end = mono_ns() + (int64_t)(secs * 1e9);
	signal(SIGINT, harness_on_signal);
	signal(SIGTERM, harness_on_signal);
	while (mono_ns() < end && !harness_stop) {
		harness_drain(&seg, n, quiet);
		fflush(stdout);
		struct timespec ts = { 0, 10000000 };
		nanosleep(&ts, NULL);
	}
	stop_at = mono_ns();
	for (int i = 0; i < n; i++)
		kill(pids[i], SIGTERM);
	for (int i = 0; i < n; i++) {
		int st;
		while (waitpid(pids[i], &st, 0) == -1 && errno == EINTR)
			;
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			rc = 1;
		printf("exit worker=%s rc=%d stop_ms=%.1f\n", args[i],
		    WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st),
		    (mono_ns() - stop_at) / 1e6);
	}
	harness_drain(&seg, n, quiet);
	for (int i = 0; i < n; i++) {
		struct slot_own own;
		if (status_read_own(seg_slot(&seg, (uint32_t)i), &own) != 0)
			continue;
		printf("status worker=%s state=%s detail=\"%s\"", args[i],
		    worker_state_name(own.state), own.detail);
		for (int j = 0; j < NCOUNTERS; j++)
			printf(" c%d=%" PRId64, j, own.counters[j]);
		printf(" dropped=%" PRIu64 "\n",
		    lane_dropped(seg_lane(&seg, (uint32_t)i)));
	}
	seg_close(&seg);
	seg_unlink(name);
	return rc;
}
