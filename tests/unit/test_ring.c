/*
 * test_ring.c: the SPSC lane: wrap-around, a full lane, read vs commit,
 * a producer and a consumer in two processes, and a producer killed with
 * SIGKILL mid-stream.  Also home of fork_tied(), the fork of every unit
 * test that forks.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../shm/ring.h"

/*
 * fork() for a test.  The child gets SIGKILL when the test process ends,
 * however it ends (a failed cr_assert, a crash, criterion's timeout), and
 * reap_tied() as the test's .fini kills and reaps those still there: a
 * child left behind would spin on a core for good.  The unit tests are one
 * program, so test_seqlock.c and test_supervisor.c use these too.
 */
pid_t fork_tied(void);
void reap_tied(void);

#define TIED_MAX 8
static pid_t tied[TIED_MAX];
static int ntied;

/* 1: pid exited (our zombie, not reaped), 0: runs, -1: not our child */
static int
child_state(pid_t pid)
{
	siginfo_t si;

	memset(&si, 0, sizeof(si));
	if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) == -1)
		return -1;
	return si.si_pid == pid;
}

pid_t
fork_tied(void)
{
	pid_t parent = getpid(), pid;

	cr_assert_lt(ntied, TIED_MAX, "fork_tied: more than %d children",
	    TIED_MAX);
	pid = fork();
	cr_assert_neq(pid, -1, "fork: %s", strerror(errno));
	if (pid == 0) {
		/* a parent that died before the prctl is caught here */
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) == -1 ||
		    getppid() != parent)
			_exit(70);
		return 0;
	}
	tied[ntied++] = pid;
	return pid;
}

void
reap_tied(void)
{
	while (ntied > 0) {
		pid_t pid = tied[--ntied];

		/* not reaped yet, so its pid cannot have been reused */
		if (child_state(pid) == -1)
			continue;
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
}

static struct lane *
lane_new(uint64_t n)
{
	struct lane *l = mmap(NULL, lane_bytes(n), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	cr_assert(l != MAP_FAILED);
	lane_init(l, n, false);
	return l;
}

static void
push_n(struct lane *l, int64_t from, int n)
{
	struct record r;

	for (int i = 0; i < n; i++) {
		memset(&r, 0, sizeof(r));
		r.kind = REC_TEST;
		r.u.test.n = from + i;
		cr_assert_eq(lane_push(l, &r), 0, "push %d failed", i);
	}
}

Test(ring, wraps_around_many_times)
{
	struct lane *l = lane_new(8);
	int64_t next = 0;

	for (int round = 0; round < 100; round++) {
		push_n(l, round * 5, 5);
		for (int i = 0; i < 5; i++) {
			const struct record *r = lane_read(l);
			cr_assert_not_null(r);
			cr_assert_eq(r->u.test.n, next);
			cr_assert_eq(r->seq, (uint64_t)next);
			next++;
		}
		cr_assert_null(lane_read(l));
		lane_commit(l, lane_read_pos(l));
	}
	cr_assert_eq(lane_produced(l), 500);
	cr_assert_eq(lane_committed(l), 500);
	cr_assert_eq(lane_dropped(l), 0);
}

Test(ring, full_lane_drops_newest_and_counts)
{
	struct lane *l = lane_new(4);
	struct record r;

	push_n(l, 0, 4);
	memset(&r, 0, sizeof(r));
	r.u.test.n = 99;
	cr_assert_eq(lane_push(l, &r), -1);
	cr_assert_eq(lane_push(l, &r), -1);
	cr_assert_eq(lane_dropped(l), 2);
	/* the oldest records are intact: drop-newest */
	for (int i = 0; i < 4; i++)
		cr_assert_eq(lane_read(l)->u.test.n, i);
	cr_assert_null(lane_read(l));
}

Test(ring, read_does_not_free_only_commit_does)
{
	struct lane *l = lane_new(4);
	struct record r;

	push_n(l, 0, 4);
	for (int i = 0; i < 4; i++)
		cr_assert_not_null(lane_read(l));
	/* everything read, nothing committed: still full */
	memset(&r, 0, sizeof(r));
	cr_assert_eq(lane_push(l, &r), -1);
	lane_commit(l, 2);
	push_n(l, 4, 2);
	cr_assert_eq(lane_push(l, &r), -1);
	cr_assert_eq(lane_read(l)->u.test.n, 4);
}

Test(ring, rewind_rereads_uncommitted)
{
	struct lane *l = lane_new(8);

	push_n(l, 0, 6);
	for (int i = 0; i < 6; i++)
		lane_read(l);
	lane_commit(l, 3);
	lane_rewind(l);
	for (int i = 3; i < 6; i++)
		cr_assert_eq(lane_read(l)->u.test.n, i);
	cr_assert_null(lane_read(l));
}

Test(ring, init_keep_preserves_indices)
{
	struct lane *l = lane_new(8);

	push_n(l, 0, 5);
	lane_read(l);
	lane_commit(l, 1);
	lane_init(l, 8, true);
	cr_assert_eq(lane_produced(l), 5);
	cr_assert_eq(lane_committed(l), 1);
	cr_assert_eq(lane_read(l)->u.test.n, 1);
}

#define XPROC_N 2000000

/*
 * Consume until n records arrived, checking order; returns the count.
 * producer: the child still pushing, or 0 for none (the first empty read
 * ends it).  A producer that exited ends it too once the lane is empty, so
 * a dead producer fails the caller's count instead of hanging the test.
 */
static int64_t
consume_check(struct lane *l, int64_t expect_from, int64_t n, pid_t producer)
{
	int64_t next = expect_from, idle = 0;
	bool gone = producer == 0;

	while (next < expect_from + n) {
		const struct record *r = lane_read(l);
		if (r == NULL) {
			if (gone)
				break;
			/* after its exit, one more empty read is final */
			if ((++idle & 4095) == 0)
				gone = child_state(producer) != 0;
			continue;
		}
		cr_assert_eq(r->u.test.n, next, "got %lld, expected %lld",
		    (long long)r->u.test.n, (long long)next);
		cr_assert_eq(r->seq, (uint64_t)next);
		next++;
		if ((next & 63) == 0)
			lane_commit(l, lane_read_pos(l));
	}
	lane_commit(l, lane_read_pos(l));
	return next - expect_from;
}

Test(ring, two_processes_every_record_once_in_order, .fini = reap_tied)
{
	struct lane *l = lane_new(1024);
	pid_t pid = fork_tied();

	if (pid == 0) {
		struct record r;
		memset(&r, 0, sizeof(r));
		r.kind = REC_TEST;
		for (int64_t i = 0; i < XPROC_N; ) {
			r.u.test.n = i;
			if (lane_push(l, &r) == 0)
				i++;
			else /* full: the test wants no drops, so retry */
				atomic_fetch_sub(&l->dropped, 1);
		}
		_exit(0);
	}
	cr_assert_eq(consume_check(l, 0, XPROC_N, pid), XPROC_N);
	int status;
	waitpid(pid, &status, 0);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	cr_assert_null(lane_read(l));
}

Test(ring, producer_killed_midstream_leaves_lane_consistent,
    .fini = reap_tied)
{
	struct lane *l = lane_new(256);
	pid_t pid = fork_tied();

	if (pid == 0) {
		struct record r;
		memset(&r, 0, sizeof(r));
		for (int64_t i = 0;; ) {
			r.u.test.n = i;
			if (lane_push(l, &r) == 0)
				i++;
		}
	}
	/* let it run into a full lane and wrap a few times, then kill it */
	int64_t got = consume_check(l, 0, 50000, pid);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	/* what was published is intact and in order; nothing after head */
	uint64_t head = lane_produced(l);
	got += consume_check(l, got, (int64_t)head - got, 0);
	cr_assert_eq((uint64_t)got, head);
	cr_assert_null(lane_read(l));
	/* a new producer continues the sequence without a gap */
	push_n(l, got, 10);
	cr_assert_eq(consume_check(l, got, 10, 0), 10);
}
