/*
 * test_supervisor.c: the supervisor loop with stand-in workers (so no
 * servers are needed): crash restarts with doubling backoff, the
 * no-respawn exit code, a reload with a bad file, a reload that touches one
 * worker's settings, lanes surviving reloads, and the stop sequence.
 * Assertions on time are lower bounds only (a busy machine only delays).
 * "Nothing happened" is never shown by sleeping first: a test waits for an
 * event that must come after it (a worker's own loop counter moving on, a
 * crashing worker restarted again), so a slow machine cannot pass it.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../supervisor/supervisor.h"

#define MAX_STARTS 64
#define IDLE_LOOPS 0	/* idle_entry's counter in its own block */

/* test_ring.c: a fork whose child dies with the test */
pid_t fork_tied(void);

/* Shared with the workers (MAP_SHARED before any fork). */
struct trace {
	_Atomic int starts[WK_MAX];
	int64_t hum_start_ns[MAX_STARTS];
};
static struct trace *tr;
static struct seg seg;
static char cfgpath[64];
static pid_t sup_pid;

/* Counts its loops: a worker asked to stop finishes at most one more. */
static int
idle_entry(struct worker_ctx *ctx)
{
	atomic_fetch_add(&tr->starts[ctx->kind], 1);
	status_set(ctx->slot, WS_RUNNING, "idle");
	while (!worker_stop) {
		worker_sleep_ms(20);
		status_counter_add(ctx->slot, IDLE_LOOPS, 1);
	}
	return 0;
}

static int
crash_entry(struct worker_ctx *ctx)
{
	int n = atomic_fetch_add(&tr->starts[ctx->kind], 1);

	if (ctx->kind == WK_HUM && n < MAX_STARTS)
		tr->hum_start_ns[n] = mono_ns();
	return 1;
}

static int
norespawn_entry(struct worker_ctx *ctx)
{
	atomic_fetch_add(&tr->starts[ctx->kind], 1);
	return EXIT_NORESPAWN;
}

/* Produces a numbered record every ms into its lane. */
static int
producer_entry(struct worker_ctx *ctx)
{
	struct record r;
	int64_t n = (int64_t)lane_produced(ctx->lane);

	atomic_fetch_add(&tr->starts[ctx->kind], 1);
	status_set(ctx->slot, WS_RUNNING, "producing");
	while (!worker_stop) {
		memset(&r, 0, sizeof(r));
		r.kind = REC_TEST;
		r.u.test.n = n++;
		worker_emit(ctx, &r);
		worker_sleep_ms(1);
	}
	return 0;
}

static void
write_config(const char *extra)
{
	FILE *fp = fopen(cfgpath, "w");

	cr_assert_not_null(fp);
	fprintf(fp, "[lab]\nname = suptest%d\nstate_dir = /tmp/suptest%d\n"
	    "[node pub]\nrole = publisher\nport = 30001\n"
	    "[node sub1]\nrole = subscriber\nport = 30002\n"
	    "[writer]\nlane_records = 1024\n%s", (int)getpid(), (int)getpid(),
	    extra);
	fclose(fp);
}

static void
start_sup(const char *extra)
{
	struct config *cfg = calloc(1, sizeof(*cfg));
	char err[600], name[SEG_NAME_MAX];

	tr = mmap(NULL, sizeof(*tr), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	cr_assert(tr != MAP_FAILED);
	snprintf(cfgpath, sizeof(cfgpath), "/tmp/suptest.%d.conf", (int)getpid());
	write_config(extra);
	cr_assert_eq(config_load(cfg, cfgpath, err, sizeof(err)), 0, "%s", err);
	lab_seg_name(cfg, name, sizeof(name));
	seg_unlink(name);
	cr_assert_eq(seg_create(&seg, name, sup_nslots(cfg), CFG_MAX_NODES + 2,
	    1024, err, sizeof(err)), 0, "%s", err);
	sup_pid = fork_tied();
	if (sup_pid == 0) {
		log_init("suptest", true);
		_exit(sup_run(cfg, &seg, NULL));
	}
	free(cfg);
}

/* Every test's .fini, so a failed assertion leaves nothing running. */
static void
stop_sup(void)
{
	int status;

	if (sup_pid > 0) {
		kill(sup_pid, SIGTERM);
		waitpid(sup_pid, &status, 0);
		sup_pid = 0;
	}
	seg_unlink(seg.name);
	unlink(cfgpath);
}

/* Index of the slot running kind/arg, or -1 (and *out zeroed). */
static int
find(int kind, const char *arg, struct slot_sup *out)
{
	if (out != NULL)
		memset(out, 0, sizeof(*out));
	for (uint32_t i = 1; i < seg.hdr->nslots; i++) {
		struct slot_sup s;
		if (status_read_sup(seg_slot(&seg, i), &s) == -1)
			continue;
		if (s.state != WS_EMPTY && s.kind == kind &&
		    !strcmp(s.arg, arg)) {
			if (out != NULL)
				*out = s;
			return (int)i;
		}
	}
	return -1;
}

static pid_t
pid_of(int kind, const char *arg)
{
	struct slot_sup s;

	return find(kind, arg, &s) == -1 ? 0 : s.pid;
}

/* Running (a zombie nobody reaped yet does not count). */
static bool
alive(pid_t pid)
{
	char path[64], buf[256];
	FILE *fp;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fp = fopen(path, "r");
	if (fp == NULL)
		return false;
	size_t n = fread(buf, 1, sizeof(buf) - 1, fp);
	fclose(fp);
	buf[n] = '\0';
	char *e = strrchr(buf, ')');
	return e != NULL && e[1] == ' ' && e[2] != 'Z' && e[2] != 'X';
}

static void
sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };
	nanosleep(&ts, NULL);
}

/* Wait (up to 20 s) until every wanted worker has a pid. */
static void
wait_all_up(void)
{
	for (int i = 0; i < 400; i++) {
		if (pid_of(WK_WRITER, "") && pid_of(WK_CONTAINER, "") &&
		    pid_of(WK_REPLICATION, "") && pid_of(WK_SAMPLER, "pub") &&
		    pid_of(WK_SAMPLER, "sub1") && pid_of(WK_HUM, "1") &&
		    pid_of(WK_LINK, "sub1"))
			return;
		sleep_ms(50);
	}
	cr_assert_fail("workers did not come up");
}

/* The hum starts last: on a busy machine it may not have a pid yet. */
static void
wait_hum_up(void)
{
	for (int i = 0; i < 400 && pid_of(WK_HUM, "1") == 0; i++)
		sleep_ms(50);
}

/*
 * The idle worker kind/arg is still pid and was never asked to stop or
 * restarted: its own loop counter moves on twice from now.  (Sent SIGTERM
 * before this call, it would finish at most the loop it is in.)
 */
static void
assert_kept(int kind, const char *arg, pid_t pid)
{
	int i = find(kind, arg, NULL);
	struct slot_own own;
	int64_t from = -1;

	cr_assert_neq(i, -1, "no slot for %d/%s", kind, arg);
	cr_assert_gt(pid, 0);
	struct slot *slot = seg_slot(&seg, (uint32_t)i);
	for (int n = 0; n < 1000; n++) {
		if (status_read_own(slot, &own) == 0) {
			cr_assert_eq(own.pid, pid, "worker %d/%s restarted: "
			    "pid %d, was %d", kind, arg, own.pid, (int)pid);
			if (from == -1)
				from = own.counters[IDLE_LOOPS];
			else if (own.counters[IDLE_LOOPS] >= from + 2)
				break;
		}
		cr_assert(alive(pid), "worker %d/%s (pid %d) exited", kind,
		    arg, (int)pid);
		sleep_ms(20);
	}
	cr_assert(from != -1 && own.counters[IDLE_LOOPS] >= from + 2,
	    "worker %d/%s (pid %d) stopped looping", kind, arg, (int)pid);
	cr_assert_eq(pid_of(kind, arg), pid, "the supervisor shows another "
	    "pid for %d/%s", kind, arg);
}

static void
reload_and_wait(bool expect_ok)
{
	struct lab_info before, after;

	seg_read_info(&seg, &before);
	kill(sup_pid, SIGHUP);
	for (int i = 0; i < 400; i++) {
		seg_read_info(&seg, &after);
		if (after.reloads != before.reloads) {
			cr_assert(expect_ok, "bad config was accepted");
			return;
		}
		if (after.reload_failures != before.reload_failures) {
			cr_assert(!expect_ok, "reload refused: %s",
			    after.last_reload_error);
			return;
		}
		sleep_ms(50);
	}
	cr_assert_fail("reload not answered");
}

static void
set_all(worker_entry fn)
{
	for (int k = WK_CONTAINER; k < WK_MAX; k++)
		if (k != WK_SUPERVISOR)
			sup_set_entry(k, fn);
}

Test(supervisor, crashed_worker_restarts_with_doubling_backoff,
    .timeout = 60, .fini = stop_sup)
{
	set_all(idle_entry);
	sup_set_entry(WK_HUM, crash_entry);
	start_sup("[hum]\nclients = 1\n");
	/* 100+200+400+800 ms of backoff: at least 5 starts within ~2 s */
	for (int i = 0; i < 600 && atomic_load(&tr->starts[WK_HUM]) < 5; i++)
		sleep_ms(50);
	int starts = atomic_load(&tr->starts[WK_HUM]);
	cr_assert_geq(starts, 5);
	struct slot_sup s;
	cr_assert_neq(find(WK_HUM, "1", &s), -1);
	cr_assert_geq(s.restarts, 4);
	/* gap k is at least the k-th backoff: 100 ms doubling */
	for (int k = 0; k < 4; k++) {
		int64_t gap = tr->hum_start_ns[k + 1] - tr->hum_start_ns[k];
		int64_t floor = (100LL << k) * 1000000;
		cr_assert_geq(gap, floor, "gap %d: %lld ms < %lld ms", k,
		    (long long)(gap / 1000000), (long long)(floor / 1000000));
	}
	/* the others were never restarted */
	cr_assert_eq(atomic_load(&tr->starts[WK_WRITER]), 1);
}

Test(supervisor, norespawn_exit_code_is_not_restarted,
    .timeout = 60, .fini = stop_sup)
{
	set_all(idle_entry);
	sup_set_entry(WK_HUM, norespawn_entry);
	/* a worker that crashes at once: its restarts clock the check */
	sup_set_entry(WK_REPLICATION, crash_entry);
	start_sup("[hum]\nclients = 1\n");
	struct slot_sup s;
	for (int i = 0; i < 400; i++) {
		if (find(WK_HUM, "1", &s) != -1 && s.state == WS_FAILED)
			break;
		sleep_ms(50);
	}
	cr_assert_eq(s.state, WS_FAILED);
	/*
	 * The supervisor starts the crashing one three more times: the last
	 * of those was forked after a crash and a backoff that both came
	 * after this point, and each of its start passes starts every slot
	 * that is due.  A restart of hum 1 would have come with them.
	 */
	int from = atomic_load(&tr->starts[WK_REPLICATION]);
	for (int i = 0; i < 400 &&
	    atomic_load(&tr->starts[WK_REPLICATION]) < from + 3; i++)
		sleep_ms(50);
	cr_assert_geq(atomic_load(&tr->starts[WK_REPLICATION]), from + 3,
	    "the crashing worker was not restarted");
	cr_assert_eq(atomic_load(&tr->starts[WK_HUM]), 1);
	cr_assert_neq(find(WK_HUM, "1", &s), -1);
	cr_assert_eq(s.state, WS_FAILED);
	cr_assert_eq(s.restarts, 0);
	cr_assert_eq(s.pid, 0);
}

/*
 * A worker that gave up (exit 78) may have given up for a cause outside the
 * file (an environment variable, a file's mode, an engine that was down):
 * every reload starts it again, even one that changes nothing of its own.
 */
Test(supervisor, reload_restarts_a_worker_that_gave_up,
    .timeout = 60, .fini = stop_sup)
{
	struct slot_sup s;

	set_all(idle_entry);
	sup_set_entry(WK_HUM, norespawn_entry);
	start_sup("[hum]\nclients = 1\n");
	for (int i = 0; i < 400; i++) {
		if (find(WK_HUM, "1", &s) != -1 && s.state == WS_FAILED)
			break;
		sleep_ms(50);
	}
	cr_assert_eq(s.state, WS_FAILED);
	cr_assert_eq(atomic_load(&tr->starts[WK_HUM]), 1);
	/* the same file: nothing of the hum's changed */
	reload_and_wait(true);
	for (int i = 0; i < 400 && atomic_load(&tr->starts[WK_HUM]) < 2; i++)
		sleep_ms(50);
	cr_assert_eq(atomic_load(&tr->starts[WK_HUM]), 2,
	    "the reload did not start the worker that gave up again");
	/* and it is not respawned by itself after giving up again */
	reload_and_wait(true);
	for (int i = 0; i < 400 && atomic_load(&tr->starts[WK_HUM]) < 3; i++)
		sleep_ms(50);
	cr_assert_eq(atomic_load(&tr->starts[WK_HUM]), 3);
}

Test(supervisor, reload_with_bad_file_keeps_old_config,
    .timeout = 60, .fini = stop_sup)
{
	set_all(idle_entry);
	start_sup("[hum]\nclients = 2\n");
	wait_all_up();
	wait_hum_up();
	pid_t hum1 = pid_of(WK_HUM, "1"), writer = pid_of(WK_WRITER, "");
	write_config("[hum]\nclients = 5\nworkload = nonsense\n");
	reload_and_wait(false);
	struct lab_info info;
	seg_read_info(&seg, &info);
	cr_assert_eq(info.generation, 0);
	cr_assert(strstr(info.last_reload_error, "nonsense") != NULL, "%s",
	    info.last_reload_error);
	cr_assert(strstr(info.last_reload_error, cfgpath) != NULL);
	cr_assert_eq(find(WK_HUM, "3", NULL), -1, "new config was applied");
	assert_kept(WK_HUM, "1", hum1);
	assert_kept(WK_WRITER, "", writer);
}

Test(supervisor, reload_restarts_only_the_affected_workers,
    .timeout = 60, .fini = stop_sup)
{
	set_all(idle_entry);
	start_sup("[hum]\nclients = 1\n[sampler]\ninterval_ms = 100\n");
	wait_all_up();
	wait_hum_up();
	pid_t hum = pid_of(WK_HUM, "1"), writer = pid_of(WK_WRITER, ""),
	    cont = pid_of(WK_CONTAINER, ""), repl = pid_of(WK_REPLICATION, ""),
	    spub = pid_of(WK_SAMPLER, "pub"), ssub = pid_of(WK_SAMPLER, "sub1");

	/* sampler settings: only the samplers restart */
	write_config("[hum]\nclients = 1\n[sampler]\ninterval_ms = 50\n"
	    "locks_interval_ms = 50\n");
	reload_and_wait(true);
	for (int i = 0; i < 200; i++) {
		pid_t a = pid_of(WK_SAMPLER, "pub"), b = pid_of(WK_SAMPLER, "sub1");
		if (a && b && a != spub && b != ssub)
			break;
		sleep_ms(50);
	}
	cr_assert_neq(pid_of(WK_SAMPLER, "pub"), spub);
	cr_assert_neq(pid_of(WK_SAMPLER, "sub1"), ssub);
	cr_assert_neq(pid_of(WK_SAMPLER, "pub"), 0);
	assert_kept(WK_HUM, "1", hum);
	assert_kept(WK_WRITER, "", writer);
	assert_kept(WK_CONTAINER, "", cont);
	assert_kept(WK_REPLICATION, "", repl);
	/* restarts caused by a reload are not crashes */
	struct slot_sup s;
	cr_assert_neq(find(WK_SAMPLER, "pub", &s), -1);
	cr_assert_eq(s.restarts, 0);

	/* two more hum clients, samplers off: hum added, samplers removed */
	write_config("[hum]\nclients = 3\n[sampler]\nenabled = no\n");
	reload_and_wait(true);
	for (int i = 0; i < 200 && (pid_of(WK_HUM, "3") == 0 ||
	    pid_of(WK_SAMPLER, "pub") != 0); i++)
		sleep_ms(50);
	cr_assert_neq(pid_of(WK_HUM, "3"), 0);
	cr_assert_eq(pid_of(WK_SAMPLER, "pub"), 0);
	cr_assert_eq(find(WK_SAMPLER, "pub", NULL), -1);
	assert_kept(WK_WRITER, "", writer);
}

Test(supervisor, lanes_keep_their_records_across_reload,
    .timeout = 60, .fini = stop_sup)
{
	set_all(idle_entry);
	sup_set_entry(WK_HUM, producer_entry);
	start_sup("[hum]\nclients = 1\nrate = 10\n");
	wait_all_up();
	int slot = find(WK_HUM, "1", NULL);
	cr_assert_neq(slot, -1);
	struct lane *l = seg_lane(&seg, (uint32_t)slot);
	for (int i = 0; i < 200 && lane_produced(l) < 100; i++)
		sleep_ms(20);
	/* a hum change restarts the producer; nothing is consumed here */
	write_config("[hum]\nclients = 1\nrate = 20\n");
	reload_and_wait(true);
	uint64_t at_reload = lane_produced(l);
	for (int i = 0; i < 200 && lane_produced(l) < at_reload + 100; i++)
		sleep_ms(20);
	cr_assert_eq(find(WK_HUM, "1", NULL), slot);
	cr_assert_eq(atomic_load(&tr->starts[WK_HUM]), 2);
	/* every record, before and after the restart, in order, no gap */
	uint64_t head = lane_produced(l);
	for (uint64_t i = 0; i < head && i < 1024; i++) {
		const struct record *r = lane_read(l);
		cr_assert_not_null(r);
		cr_assert_eq(r->seq, i);
		cr_assert_eq(r->u.test.n, (int64_t)i);
	}
}

Test(supervisor, stop_terminates_every_worker,
    .timeout = 60, .fini = stop_sup)
{
	set_all(idle_entry);
	start_sup("[hum]\nclients = 2\n");
	wait_all_up();
	wait_hum_up();
	for (int i = 0; i < 400 && pid_of(WK_HUM, "2") == 0; i++)
		sleep_ms(50);
	pid_t pids[8];
	int n = 0;
	pids[n++] = pid_of(WK_WRITER, "");
	pids[n++] = pid_of(WK_CONTAINER, "");
	pids[n++] = pid_of(WK_HUM, "1");
	pids[n++] = pid_of(WK_HUM, "2");
	pids[n++] = pid_of(WK_SAMPLER, "pub");
	int status;
	kill(sup_pid, SIGTERM);
	cr_assert_eq(waitpid(sup_pid, &status, 0), sup_pid);
	sup_pid = 0;
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	for (int i = 0; i < n; i++)
		cr_assert(!alive(pids[i]), "worker %d survived", pids[i]);
}

Test(supervisor, workers_die_with_a_killed_supervisor,
    .timeout = 60, .fini = stop_sup)
{
	set_all(idle_entry);
	start_sup("[hum]\nclients = 1\n");
	wait_all_up();
	wait_hum_up();
	pid_t w = pid_of(WK_WRITER, ""), h = pid_of(WK_HUM, "1");
	kill(sup_pid, SIGKILL);
	waitpid(sup_pid, NULL, 0);
	sup_pid = 0;
	/* PR_SET_PDEATHSIG: they get SIGTERM and leave within a moment */
	for (int i = 0; i < 200 && (alive(w) || alive(h)); i++)
		sleep_ms(50);
	cr_assert(!alive(w), "writer outlived the supervisor");
	cr_assert(!alive(h), "hum outlived the supervisor");
}
