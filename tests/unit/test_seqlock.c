/*
 * test_seqlock.c: readers of a status block see either the old or the new
 * value, never a mix, while a writer in another process hammers it; a
 * writer that died mid-write does not wedge readers or the next writer.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../shm/status.h"

/* test_ring.c: a fork whose child dies with the test; the test's .fini */
pid_t fork_tied(void);
void reap_tied(void);

struct block {
	struct seqlock lock;
	int64_t a[16];
};

Test(seqlock, reader_never_sees_a_torn_block, .fini = reap_tied)
{
	struct block *b = mmap(NULL, sizeof(*b), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	pid_t pid;

	cr_assert(b != MAP_FAILED);
	memset(b, 0, sizeof(*b));
	pid = fork_tied();
	if (pid == 0) {
		for (int64_t v = 1;; v++) {
			seq_write_begin(&b->lock);
			for (int i = 0; i < 16; i++)
				b->a[i] = v;
			seq_write_end(&b->lock);
		}
	}
	int64_t last = 0, reads = 0;
	while (reads < 200000) {
		struct block copy;
		if (seq_read(&b->lock, copy.a, b->a, sizeof(copy.a)) == -1)
			continue;
		for (int i = 1; i < 16; i++)
			cr_assert_eq(copy.a[i], copy.a[0], "torn read");
		cr_assert_geq(copy.a[0], last, "went backwards");
		last = copy.a[0];
		reads++;
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	cr_assert_gt(last, 0);
}

Test(seqlock, dead_writer_is_repaired_by_the_next)
{
	struct block b;
	int64_t out[16];

	memset(&b, 0, sizeof(b));
	seq_write_begin(&b.lock); /* and "die" */
	cr_assert_eq(seq_read(&b.lock, out, b.a, sizeof(out)), -1);
	seq_write_begin(&b.lock);
	b.a[0] = 7;
	seq_write_end(&b.lock);
	cr_assert_eq(seq_read(&b.lock, out, b.a, sizeof(out)), 0);
	cr_assert_eq(out[0], 7);
}
