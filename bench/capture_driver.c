/*
 * capture_driver.c: lock waits of known length for bench/capture.sh.  A
 * holder session takes a row FOR UPDATE; one of W waiter sessions (taken
 * in turn, so one pid waits again only after the others) asks for the same
 * row; once the holder sees it blocked (pg_blocking_pids, from inside its
 * own transaction: no extra session), the holder commits LEN ms later.
 * Lengths come in random order, after random gaps, so the waits fall at
 * random moments of any sampler's ticks.  One line a wait:
 *
 *   wait SENT_NS SEEN_NS END_NS LEN_MS WAITER_PID HOLDER_PID COMMIT_NS
 *
 * SENT is when the waiter's statement went out, SEEN when the holder saw
 * it blocked, COMMIT when the holder's COMMIT went out, END when it came
 * back (CLOCK_REALTIME ns): the wait began between SENT and SEEN and
 * lasted from then to (just before) END; from COMMIT on the holder lets
 * go, and the waiter, granted, waits to be scheduled.
 *
 * usage: capture_driver -d CONNINFO -n PER_LENGTH [-l 2,5,10] [-w 4]
 *     [-g MIN_MS,MAX_MS] [-s SEED]
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#define CD_MAX_LENGTHS 16
#define CD_MAX_WAITERS 16

static int64_t
cd_now(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void
cd_sleep_until(int64_t mono)
{
	struct timespec ts = { mono / 1000000000LL, mono % 1000000000LL };

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) != 0)
		;
}

static void
cd_exec(PGconn *c, const char *sql)
{
	PGresult *r = PQexec(c, sql);

	if (PQresultStatus(r) != PGRES_COMMAND_OK &&
	    PQresultStatus(r) != PGRES_TUPLES_OK) {
		fprintf(stderr, "capture_driver: %s: %s", sql,
		    PQerrorMessage(c));
		exit(1);
	}
	PQclear(r);
}

static PGconn *
cd_connect(const char *conninfo)
{
	PGconn *c = PQconnectdb(conninfo);

	if (PQstatus(c) != CONNECTION_OK) {
		fprintf(stderr, "capture_driver: cannot connect: %s",
		    PQerrorMessage(c));
		exit(1);
	}
	return c;
}

/* xorshift64*: the same seed, the same schedule */
static uint64_t cd_rng = 88172645463325252ULL;

static uint64_t
cd_rand(void)
{
	cd_rng ^= cd_rng >> 12;
	cd_rng ^= cd_rng << 25;
	cd_rng ^= cd_rng >> 27;
	return cd_rng * 2685821657736338717ULL;
}

int
main(int argc, char **argv)
{
	const char *conninfo = NULL, *lens = "2,5,10,20,50,100";
	int len[CD_MAX_LENGTHS], nlen = 0, per = 0, nw = 4, ch;
	int gmin = 30, gmax = 130;
	PGconn *h, *w[CD_MAX_WAITERS];
	char q[128];
	int *plan;
	int total;

	while ((ch = getopt(argc, argv, "d:n:l:w:g:s:")) != -1) {
		switch (ch) {
		case 'd': conninfo = optarg; break;
		case 'n': per = atoi(optarg); break;
		case 'l': lens = optarg; break;
		case 'w': nw = atoi(optarg); break;
		case 'g':
			if (sscanf(optarg, "%d,%d", &gmin, &gmax) != 2)
				gmin = -1;
			break;
		case 's': cd_rng = strtoull(optarg, NULL, 10) | 1; break;
		default: goto usage;
		}
	}
	for (const char *p = lens; *p; ) {
		if (nlen == CD_MAX_LENGTHS) {
			fprintf(stderr, "capture_driver: -l: at most %d "
			    "lengths (more of one: a larger -n)\n",
			    CD_MAX_LENGTHS);
			return 2;
		}
		len[nlen++] = atoi(p);
		p += strcspn(p, ",");
		p += *p == ',';
	}
	if (conninfo == NULL || per < 1 || nw < 1 || nw > CD_MAX_WAITERS ||
	    gmin < 0 || gmax < gmin || nlen == 0) {
usage:
		fprintf(stderr, "usage: capture_driver -d CONNINFO -n "
		    "PER_LENGTH [-l 2,5,10] [-w WAITERS] [-g MIN_MS,MAX_MS] "
		    "[-s SEED]\n");
		return 2;
	}
	h = cd_connect(conninfo);
	/*
	 * The row lock goes when the COMMIT is done; with the WAL flush in
	 * between, a wait would last an fsync longer than asked for.
	 */
	cd_exec(h, "SET application_name = 'capture-holder'");
	cd_exec(h, "SET synchronous_commit = off");
	cd_exec(h, "CREATE TABLE IF NOT EXISTS capture_rows (id int PRIMARY "
	    "KEY); INSERT INTO capture_rows VALUES (1) ON CONFLICT DO "
	    "NOTHING");
	for (int i = 0; i < nw; i++) {
		w[i] = cd_connect(conninfo);
		cd_exec(w[i], "SET application_name = 'capture-waiter'");
	}
	total = per * nlen;
	if ((plan = malloc(sizeof(int) * (size_t)total)) == NULL)
		return 1;
	for (int i = 0; i < total; i++)
		plan[i] = len[i % nlen];
	for (int i = total - 1; i > 0; i--) {	/* Fisher-Yates */
		int j = (int)(cd_rand() % (uint64_t)(i + 1)), t = plan[i];
		plan[i] = plan[j];
		plan[j] = t;
	}
	for (int i = 0; i < total; i++) {
		PGconn *c = w[i % nw];
		int64_t gap = (gmin + (int64_t)(cd_rand() % (uint64_t)(gmax -
		    gmin + 1))) * 1000000LL;
		int64_t sent, seen, end, seen_mono, commit;
		PGresult *r;
		bool blocked = false;

		cd_sleep_until(cd_now(CLOCK_MONOTONIC) + gap);
		cd_exec(h, "BEGIN");
		cd_exec(h, "SELECT id FROM capture_rows WHERE id = 1 FOR UPDATE");
		sent = cd_now(CLOCK_REALTIME);
		if (!PQsendQuery(c, "SELECT id FROM capture_rows WHERE id = 1 "
		    "FOR UPDATE")) {
			fprintf(stderr, "capture_driver: %s", PQerrorMessage(c));
			return 1;
		}
		snprintf(q, sizeof(q), "SELECT cardinality(pg_blocking_pids("
		    "%d)) > 0", PQbackendPID(c));
		for (int k = 0; k < 10000 && !blocked; k++) {
			r = PQexec(h, q);
			blocked = PQresultStatus(r) == PGRES_TUPLES_OK &&
			    PQgetvalue(r, 0, 0)[0] == 't';
			PQclear(r);
		}
		seen = cd_now(CLOCK_REALTIME);
		seen_mono = cd_now(CLOCK_MONOTONIC);
		cd_sleep_until(seen_mono + (int64_t)plan[i] * 1000000LL);
		commit = cd_now(CLOCK_REALTIME);
		cd_exec(h, "COMMIT");
		end = cd_now(CLOCK_REALTIME);
		while ((r = PQgetResult(c)) != NULL)
			PQclear(r);
		if (!blocked) {
			fprintf(stderr, "capture_driver: waiter %d never "
			    "blocked; wait %d left out\n", PQbackendPID(c), i);
			continue;
		}
		printf("wait %lld %lld %lld %d %d %d %lld\n", (long long)sent,
		    (long long)seen, (long long)end, plan[i], PQbackendPID(c),
		    PQbackendPID(h), (long long)commit);
		fflush(stdout);
	}
	for (int i = 0; i < nw; i++)
		PQfinish(w[i]);
	PQfinish(h);
	free(plan);
	return 0;
}
