/*
 * probe_toggle.c: switch the in-server probes of a lab on and off every
 * second through their control words (shm/probe.h), for bench/probe.sh:
 * the way labsup itself starts and stops their sampling, never a signal
 * to a server process (one stopped inside the lock manager would stall
 * the backends).  Prints "NS ON" at every switch, as bench/sampler.sh's
 * toggles file has them, and at the end, on stderr, what the probes' own
 * counters say of the run (their ticks, the mean tick and lock-manager
 * snapshot, in us): where their CPU went.
 *
 * usage: probe_toggle -i INTERVAL_MS -l LOCKS_EVERY -t SECONDS [-p PERIOD_MS]
 *     [-d] [-o 0|1] SEG...
 *   -p  switch every PERIOD_MS (1000), SECONDS * 1000 / PERIOD_MS times
 *   -d  switch nothing, print the same switches: the method's null run
 *   -o  do not toggle: leave the probes off (0) or on (1) and exit
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "../shm/probe.h"

#define TOGGLE_MAX 16

/* The probes' counters, summed over the segments. */
struct toggle_sum {
	uint64_t ticks, tick_ns, snaps, snap_ns, walks, walk_ns;
};

static void
toggle_sum(struct probe_seg *const *p, int n, struct toggle_sum *t)
{
	*t = (struct toggle_sum){ 0 };
	for (int i = 0; i < n; i++) {
		t->ticks += atomic_load(&p[i]->st.ticks);
		t->tick_ns += atomic_load(&p[i]->st.tick_ns);
		t->snaps += atomic_load(&p[i]->st.lock_snaps);
		t->snap_ns += atomic_load(&p[i]->st.lock_snap_ns);
		t->walks += atomic_load(&p[i]->st.wait_walks);
		t->walk_ns += atomic_load(&p[i]->st.wait_walk_ns);
	}
}

static long long
real_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int
main(int argc, char **argv)
{
	struct probe_seg *p[TOGGLE_MAX];
	struct toggle_sum t0, t1;
	int c, n = 0, iv = 10, every = 1, secs = 10, only = -1, on = 1;
	int period = 1000, dry = 0, switches;

	while ((c = getopt(argc, argv, "i:l:t:o:p:d")) != -1) {
		switch (c) {
		case 'i': iv = atoi(optarg); break;
		case 'l': every = atoi(optarg); break;
		case 't': secs = atoi(optarg); break;
		case 'o': only = atoi(optarg); break;
		case 'p': period = atoi(optarg); break;
		case 'd': dry = 1; break;
		default:
			fprintf(stderr, "usage: probe_toggle -i MS -l N -t SECS "
			    "[-p PERIOD_MS] [-d] [-o 0|1] SEG...\n");
			return 2;
		}
	}
	if (period < 100 || period > 60000) {
		fprintf(stderr, "probe_toggle: -p must be 100..60000 ms\n");
		return 2;
	}
	switches = (int)((long long)secs * 1000 / period);
	for (int i = optind; i < argc && n < TOGGLE_MAX; i++) {
		int fd = open(argv[i], O_RDWR | O_NOFOLLOW);
		void *m;

		if (fd == -1) {
			perror(argv[i]);
			return 1;
		}
		m = mmap(NULL, sizeof(struct probe_seg), PROT_READ | PROT_WRITE,
		    MAP_SHARED, fd, 0);
		close(fd);
		if (m == MAP_FAILED || ((struct probe_seg *)m)->magic !=
		    PROBE_MAGIC) {
			fprintf(stderr, "%s: not a probe segment\n", argv[i]);
			return 1;
		}
		p[n] = m;
		atomic_store(&p[n]->ctl.interval_ns, (int64_t)iv * 1000000);
		atomic_store(&p[n]->ctl.locks_every, every);
		n++;
	}
	if (only >= 0) {
		for (int i = 0; i < n; i++)
			atomic_store(&p[i]->ctl.run, (uint32_t)only);
		return 0;
	}
	toggle_sum(p, n, &t0);
	for (int s = 0; s <= switches; s++) {
		struct timespec d = { period / 1000,
		    (long)(period % 1000) * 1000000 };

		for (int i = 0; i < n && !dry; i++)
			atomic_store(&p[i]->ctl.run, (uint32_t)on);
		printf("%lld %d\n", real_ns(), on);
		fflush(stdout);
		if (s < switches)
			nanosleep(&d, NULL);
		on = !on;
	}
	toggle_sum(p, n, &t1);
	t1.ticks -= t0.ticks;
	t1.snaps -= t0.snaps;
	t1.walks -= t0.walks;
	fprintf(stderr, "probe ticks %llu, mean %.1f us; lock snapshots %llu "
	    "(%.0f %% of the ticks), mean %.1f us; waiter walks %llu (%.0f "
	    "%%), mean %.1f us\n",
	    (unsigned long long)t1.ticks, t1.ticks ? (double)(t1.tick_ns -
	    t0.tick_ns) / t1.ticks / 1e3 : 0, (unsigned long long)t1.snaps,
	    t1.ticks ? 100.0 * t1.snaps / t1.ticks : 0, t1.snaps ?
	    (double)(t1.snap_ns - t0.snap_ns) / t1.snaps / 1e3 : 0,
	    (unsigned long long)t1.walks, t1.ticks ? 100.0 * t1.walks /
	    t1.ticks : 0, t1.walks ? (double)(t1.walk_ns - t0.walk_ns) /
	    t1.walks / 1e3 : 0);
	for (int i = 0; i < n && !dry; i++)
		atomic_store(&p[i]->ctl.run, 1);
	return 0;
}
