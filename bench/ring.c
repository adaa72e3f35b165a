/*
 * ring.c: throughput of one lane (producer process -> consumer process,
 * 128-byte records, as the samplers and the writer use it) beside a pipe
 * carrying the same records one write() each, measured in the same run.
 * Prints: bench: ring_throughput = N Mrec/s (baseline pipe = N Mrec/s, ratio R)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../shm/ring.h"

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double
ring_run(uint64_t n)
{
	uint64_t size = 4096;
	struct lane *l = mmap(NULL, lane_bytes(size), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	double t0;
	pid_t pid;

	if (l == MAP_FAILED) {
		perror("mmap");
		exit(1);
	}
	lane_init(l, size, false);
	t0 = now_s();
	pid = fork();
	if (pid == 0) {
		struct record r;
		memset(&r, 0, sizeof(r));
		r.kind = REC_TEST;
		for (uint64_t i = 0; i < n; ) {
			r.u.test.n = (int64_t)i;
			if (lane_push(l, &r) == 0)
				i++;
		}
		_exit(0);
	}
	uint64_t got = 0, sum = 0;
	while (got < n) {
		const struct record *r = lane_read(l);
		if (r == NULL) {
			lane_relax();
			continue;
		}
		sum += (uint64_t)r->u.test.n;
		if ((++got & 255) == 0)
			lane_commit(l, lane_read_pos(l));
	}
	lane_commit(l, lane_read_pos(l));
	double dt = now_s() - t0;
	waitpid(pid, NULL, 0);
	if (sum != n * (n - 1) / 2) {
		fprintf(stderr, "ring: records corrupted\n");
		exit(1);
	}
	munmap(l, lane_bytes(size));
	return n / dt;
}

static double
pipe_run(uint64_t n)
{
	int fds[2];
	double t0;
	pid_t pid;

	if (pipe(fds) == -1) {
		perror("pipe");
		exit(1);
	}
	t0 = now_s();
	pid = fork();
	if (pid == 0) {
		struct record r;
		close(fds[0]);
		memset(&r, 0, sizeof(r));
		for (uint64_t i = 0; i < n; i++) {
			r.u.test.n = (int64_t)i;
			if (write(fds[1], &r, sizeof(r)) != sizeof(r))
				_exit(1);
		}
		_exit(0);
	}
	close(fds[1]);
	static struct record buf[512];
	uint64_t bytes = 0, want = n * sizeof(struct record);
	while (bytes < want) {
		ssize_t k = read(fds[0], buf, sizeof(buf));
		if (k <= 0)
			break;
		bytes += (uint64_t)k;
	}
	double dt = now_s() - t0;
	close(fds[0]);
	waitpid(pid, NULL, 0);
	return n / dt;
}

int
main(int argc, char **argv)
{
	uint64_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 50000000;
	double ring = 0, pipe_rate = 0;

	/* best of three, interleaved, so both see the same machine */
	for (int i = 0; i < 3; i++) {
		double r = ring_run(n), p = pipe_run(n / 20);
		if (r > ring)
			ring = r;
		if (p > pipe_rate)
			pipe_rate = p;
	}
	printf("bench: ring_throughput = %.1f Mrec/s (baseline pipe = %.2f "
	    "Mrec/s, ratio %.1f)\n", ring / 1e6, pipe_rate / 1e6,
	    ring / pipe_rate);
	return 0;
}
