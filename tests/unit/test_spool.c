/*
 * test_spool.c: the writer's spool: blocks come back in order and intact,
 * survive a restart, a torn or corrupt tail is skipped and counted, the
 * size cap drops the oldest data with an exact count, and a replayed spool
 * leaves nothing behind.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../workers/spool.h"

static char dir[64];

static void
setup(void)
{
	char tmpl[] = "/tmp/labsup-spool-test.XXXXXX";

	cr_assert_not_null(mkdtemp(tmpl));
	snprintf(dir, sizeof(dir), "%s/spool", tmpl);
}

static void
teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%.*s'", (int)(strrchr(dir, '/') -
	    dir), dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
}

TestSuite(spool, .init = setup, .fini = teardown);

static void
open_spool(struct spool *sp, uint64_t max)
{
	char err[512];

	cr_assert_eq(spool_open(sp, dir, max, err, sizeof(err)), 0, "%s", err);
}

/* Block i: npoints i + 1, payload "block <i>" padded to len bytes. */
static void
append(struct spool *sp, int i, size_t len)
{
	char err[512], *buf = calloc(1, len + 16);

	cr_assert_not_null(buf);
	snprintf(buf, len + 16, "block %d", i);
	cr_assert_eq(spool_append(sp, buf, len, (uint32_t)i + 1, SPOOL_GZIP,
	    err, sizeof(err)), 0, "%s", err);
	free(buf);
}

/* Peek, check it is block i, consume. */
static void
expect(struct spool *sp, int i)
{
	struct spool_block b;
	char err[512], want[32];

	cr_assert_eq(spool_peek(sp, &b, err, sizeof(err)), 1,
	    "block %d missing (%s)", i, err);
	snprintf(want, sizeof(want), "block %d", i);
	cr_assert_str_eq((char *)b.data, want);
	cr_assert_eq(b.npoints, (uint32_t)i + 1);
	cr_assert_eq(b.flags, SPOOL_GZIP);
	spool_consume(sp, &b);
	free(b.data);
}

static void
expect_end(struct spool *sp)
{
	struct spool_block b;
	char err[512];

	cr_assert_eq(spool_peek(sp, &b, err, sizeof(err)), 0);
	cr_assert(spool_empty(sp));
}

static bool
exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

/* The newest segment file. */
static void
last_file(char *buf, size_t len)
{
	struct dirent *de;
	DIR *d = opendir(dir);

	cr_assert_not_null(d);
	buf[0] = '\0';
	while ((de = readdir(d)) != NULL) {
		char p[256];

		if (strstr(de->d_name, ".spool") == NULL)
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
		if (strcmp(p, buf) > 0)
			snprintf(buf, len, "%s", p);
	}
	closedir(d);
	cr_assert(buf[0] != '\0');
}

Test(spool, opening_creates_nothing)
{
	struct spool sp;

	open_spool(&sp, 1 << 20);
	cr_assert(spool_empty(&sp));
	cr_assert(!exists(dir));
	expect_end(&sp);
	spool_close(&sp);
}

Test(spool, blocks_come_back_in_order_and_the_spool_goes_away)
{
	struct spool sp;

	open_spool(&sp, 1 << 20);
	for (int i = 0; i < 5; i++)
		append(&sp, i, 100);
	cr_assert_eq(spool_points(&sp), 15);
	cr_assert(exists(dir));
	expect(&sp, 0);
	expect(&sp, 1);
	/* appending while replaying keeps the order */
	append(&sp, 5, 100);
	for (int i = 2; i < 6; i++)
		expect(&sp, i);
	expect_end(&sp);
	cr_assert_eq(spool_bytes(&sp), 0);
	cr_assert(!exists(dir), "a replayed spool leaves its directory");
	/* and it can start again */
	append(&sp, 6, 10);
	expect(&sp, 6);
	expect_end(&sp);
	spool_close(&sp);
}

Test(spool, survives_a_restart)
{
	struct spool sp;

	open_spool(&sp, 1 << 20);
	for (int i = 0; i < 3; i++)
		append(&sp, i, 1000);
	spool_close(&sp);
	open_spool(&sp, 1 << 20);
	cr_assert_eq(sp.torn, 0);
	cr_assert_eq(spool_points(&sp), 6);
	append(&sp, 3, 1000);
	for (int i = 0; i < 4; i++)
		expect(&sp, i);
	expect_end(&sp);
	spool_close(&sp);
}

Test(spool, torn_tail_is_skipped_and_counted)
{
	struct spool sp;
	struct stat st;
	char path[256];

	open_spool(&sp, 1 << 20);
	for (int i = 0; i < 3; i++)
		append(&sp, i, 1000);
	spool_close(&sp);
	/* a crash in the middle of the last append */
	last_file(path, sizeof(path));
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(truncate(path, st.st_size - 300), 0);
	open_spool(&sp, 1 << 20);
	cr_assert_eq(sp.torn, 1);
	expect(&sp, 0);
	expect(&sp, 1);
	expect_end(&sp);
	spool_close(&sp);
}

Test(spool, torn_header_is_skipped_and_counted)
{
	struct spool sp;
	char path[256];
	int fd;

	open_spool(&sp, 1 << 20);
	append(&sp, 0, 500);
	spool_close(&sp);
	last_file(path, sizeof(path));
	fd = open(path, O_WRONLY | O_APPEND);
	cr_assert(fd != -1);
	cr_assert_eq(write(fd, "LSPL\0\0", 6), 6);
	close(fd);
	open_spool(&sp, 1 << 20);
	cr_assert_eq(sp.torn, 1);
	expect(&sp, 0);
	expect_end(&sp);
	spool_close(&sp);
}

Test(spool, corrupt_block_is_caught_by_its_checksum)
{
	struct spool sp;
	char path[256];
	int fd;

	open_spool(&sp, 1 << 20);
	for (int i = 0; i < 3; i++)
		append(&sp, i, 1000);
	spool_close(&sp);
	last_file(path, sizeof(path));
	fd = open(path, O_WRONLY);
	cr_assert(fd != -1);
	/* a payload byte of the second block */
	cr_assert_eq(pwrite(fd, "X", 1, sizeof(struct spool_hdr) * 2 + 1000 +
	    500), 1);
	close(fd);
	open_spool(&sp, 1 << 20);
	cr_assert_eq(sp.torn, 1);
	expect(&sp, 0);
	expect_end(&sp);
	spool_close(&sp);
}

Test(spool, corruption_after_open_is_skipped_at_replay)
{
	struct spool sp;
	char path[256];
	int fd;

	open_spool(&sp, 1 << 20);
	for (int i = 0; i < 2; i++)
		append(&sp, i, 1000);
	last_file(path, sizeof(path));
	fd = open(path, O_WRONLY);
	cr_assert(fd != -1);
	cr_assert_eq(pwrite(fd, "X", 1, sizeof(struct spool_hdr) + 10), 1);
	close(fd);
	expect_end(&sp);
	cr_assert_eq(sp.torn, 1);
	spool_close(&sp);
}

Test(spool, cap_drops_the_oldest_and_counts_them)
{
	struct spool sp;
	struct spool_block b;
	uint64_t cap = 256 * 1024, total = 0, replayed = 0;
	char err[512];
	int first = -1, last = -1;

	open_spool(&sp, cap);
	for (int i = 0; i < 40; i++) {
		append(&sp, i, 16 * 1024);
		total += (uint64_t)i + 1;
		cr_assert(spool_bytes(&sp) <= cap);
	}
	cr_assert(sp.dropped_points > 0);
	while (spool_peek(&sp, &b, err, sizeof(err)) == 1) {
		int i = atoi((char *)b.data + strlen("block "));

		if (first == -1)
			first = i;
		cr_assert(i > last, "blocks in order");
		last = i;
		replayed += b.npoints;
		spool_consume(&sp, &b);
		free(b.data);
	}
	cr_assert(first > 0, "the oldest went first");
	cr_assert_eq(last, 39, "the newest stayed");
	cr_assert_eq(replayed + sp.dropped_points, total,
	    "every point is replayed or counted as dropped");
	cr_assert(!exists(dir));
	spool_close(&sp);
}

Test(spool, block_over_the_cap_is_dropped_and_counted)
{
	struct spool sp;

	open_spool(&sp, 1024);
	append(&sp, 4, 4096);
	cr_assert_eq(sp.dropped_points, 5);
	expect_end(&sp);
	spool_close(&sp);
}
