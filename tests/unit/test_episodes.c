/*
 * test_episodes.c: lock-wait episodes from ticks: when one starts and
 * ends, what its points say (blocker, target, modes, statements, duration
 * within one interval), one `waiting` point a second, a new episode when
 * the wait changes, and the sampler's columns parsed.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "../../workers/episodes.h"

#define MS 1000000LL
#define T0 1700000000000000000LL

static struct record got[64];
static int ngot;

static void
collect(void *arg, const struct record *r)
{
	(void)arg;
	cr_assert(ngot < 64);
	got[ngot++] = *r;
}

static struct ep_table tab;

static void
setup(void)
{
	ngot = 0;
	ep_init(&tab, "pub", 10 * MS);
}

static struct ep_wait
waiter(int32_t pid, int32_t blocker)
{
	struct ep_wait w;

	memset(&w, 0, sizeof(w));
	w.pid = pid;
	w.blocker = blocker;
	w.nblockers = 1;
	w.blocker_idle_tx = 2;
	return w;
}

/* ticks every 10 ms from T0 + 10 ms * from, to (excluded), showing w */
static void
ticks(int from, int to, const struct ep_wait *w, int nw)
{
	for (int k = from; k < to; k++)
		ep_tick(&tab, T0 + k * 10 * MS, w, nw, collect, NULL);
}

Test(episodes, nothing_waits_nothing_written, .init = setup)
{
	ticks(0, 500, NULL, 0);
	cr_assert_eq(ngot, 0);
	cr_assert_eq(tab.n, 0);
	cr_assert_null(ep_longest(&tab));
}

Test(episodes, one_wait_one_ended_point_at_its_start, .init = setup)
{
	struct ep_wait w = waiter(100, 200);

	ticks(0, 3, NULL, 0);
	ticks(3, 8, &w, 1);	/* seen at 30..70 ms: about 50 ms */
	cr_assert_eq(ngot, 0, "nothing while it lasts under a second");
	cr_assert_eq(tab.n, 1);
	cr_assert_eq(ep_longest(&tab)->w.pid, 100);
	ticks(8, 10, NULL, 0);
	cr_assert_eq(ngot, 1);
	cr_assert_eq(got[0].kind, REC_LOCK_WAIT);
	cr_assert_eq(got[0].u.lock_wait.ended, 1);
	cr_assert_eq(got[0].u.lock_wait.pid, 100);
	cr_assert_eq(got[0].u.lock_wait.blocker, 200);
	cr_assert_eq(got[0].u.lock_wait.blockers, 1);
	cr_assert_str_eq(got[0].u.lock_wait.node, "pub");
	cr_assert_eq(got[0].u.lock_wait.blocker_idle_tx, 2);
	cr_assert_float_eq(got[0].u.lock_wait.duration_ms, 50.0, 1e-9);
	cr_assert_eq(got[0].ts, T0 + 25 * MS);
	cr_assert_eq(tab.n, 0);
	cr_assert_eq(tab.ended, 1);
}

Test(episodes, one_tick_wait_is_an_interval_long, .init = setup)
{
	struct ep_wait w = waiter(100, 200);

	ticks(0, 1, &w, 1);
	ticks(1, 2, NULL, 0);
	cr_assert_eq(ngot, 1);
	cr_assert_float_eq(got[0].u.lock_wait.duration_ms, 10.0, 1e-9);
}

Test(episodes, waitstart_gives_the_start, .init = setup)
{
	struct ep_wait w = waiter(100, 200);

	ticks(0, 1, &w, 1);
	w.detail = true;
	w.waitstart_ns = T0 - 3 * MS;
	w.mode = (uint8_t)rec_lockmode_code("ShareLock");
	w.held = (uint8_t)rec_lockmode_code("ExclusiveLock");
	w.locktype = (uint8_t)rec_locktype_code("transactionid");
	strcpy(w.target, "accounts");
	strcpy(w.query, "SELECT 1 FOR UPDATE");
	strcpy(w.blocker_query, "UPDATE accounts");
	w.query_id = 11;
	w.blocker_query_id = 22;
	w.blocker_idle_tx = 1;
	ticks(1, 3, &w, 1);	/* last seen at 20 ms, gone at 30 ms */
	ticks(3, 4, NULL, 0);
	cr_assert_eq(ngot, 3, "the episode and its two statements");
	cr_assert_eq(got[0].ts, T0 - 3 * MS);
	cr_assert_float_eq(got[0].u.lock_wait.duration_ms, 28.0, 1e-9);
	cr_assert_str_eq(got[0].u.lock_wait.target, "accounts");
	cr_assert_eq(got[0].u.lock_wait.mode, rec_lockmode_code("ShareLock"));
	cr_assert_eq(got[0].u.lock_wait.held,
	    rec_lockmode_code("ExclusiveLock"));
	cr_assert_eq(got[0].u.lock_wait.query_id, 11);
	cr_assert_eq(got[0].u.lock_wait.blocker_query_id, 22);
	cr_assert_eq(got[0].u.lock_wait.blocker_idle_tx, 1);
	for (int i = 1; i < 3; i++) {
		cr_assert_eq(got[i].kind, REC_LOCK_WAIT_TEXT);
		cr_assert_eq(got[i].ts, got[0].ts, "one point: same time");
		cr_assert_eq(got[i].u.lock_wait_text.pid, 100);
		cr_assert_eq(got[i].u.lock_wait_text.ended, 1);
	}
	cr_assert_eq(got[1].u.lock_wait_text.side, REC_SIDE_WAITER);
	cr_assert_str_eq(got[1].u.lock_wait_text.text, "SELECT 1 FOR UPDATE");
	cr_assert_eq(got[2].u.lock_wait_text.side, REC_SIDE_BLOCKER);
	cr_assert_str_eq(got[2].u.lock_wait_text.text, "UPDATE accounts");
}

Test(episodes, a_waitstart_after_the_first_tick_is_not_believed,
    .init = setup)
{
	struct ep_wait w = waiter(100, 200);

	w.detail = true;
	w.waitstart_ns = T0 + 5 * MS;
	ticks(0, 1, &w, 1);
	ticks(1, 2, NULL, 0);
	cr_assert_float_eq(got[0].u.lock_wait.duration_ms, 10.0, 1e-9);
}

Test(episodes, one_waiting_point_a_second, .init = setup)
{
	struct ep_wait w = waiter(100, 200);

	ticks(0, 350, &w, 1);	/* 3.5 s */
	cr_assert_eq(ngot, 3);
	for (int i = 0; i < 3; i++) {
		cr_assert_eq(got[i].u.lock_wait.ended, 0);
		cr_assert_eq(got[i].ts, T0 + (i + 1) * 1000 * MS);
		cr_assert_float_eq(got[i].u.lock_wait.duration_ms,
		    (i + 1) * 1000.0 + 5, 1e-9);
	}
	ticks(350, 351, NULL, 0);
	cr_assert_eq(ngot, 4);
	cr_assert_eq(got[3].u.lock_wait.ended, 1);
	cr_assert_float_eq(got[3].u.lock_wait.duration_ms, 3500.0, 1e-9);
}

Test(episodes, a_chain_and_their_own_ends, .init = setup)
{
	struct ep_wait w[2] = { waiter(1, 2), waiter(2, 3) };

	ticks(0, 5, w, 2);	/* 1 waits on 2, 2 on 3 */
	ticks(5, 8, w, 1);	/* 2 got its lock; 1 still waits */
	cr_assert_eq(ngot, 1);
	cr_assert_eq(got[0].u.lock_wait.pid, 2);
	cr_assert_eq(got[0].u.lock_wait.blocker, 3);
	cr_assert_float_eq(got[0].u.lock_wait.duration_ms, 50.0, 1e-9);
	ticks(8, 9, NULL, 0);
	cr_assert_eq(ngot, 2);
	cr_assert_eq(got[1].u.lock_wait.pid, 1);
	cr_assert_float_eq(got[1].u.lock_wait.duration_ms, 80.0, 1e-9);
}

Test(episodes, another_target_is_another_episode, .init = setup)
{
	struct ep_wait w = waiter(100, 200);

	w.detail = true;
	strcpy(w.target, "a");
	ticks(0, 2, &w, 1);
	strcpy(w.target, "b");
	ticks(2, 3, &w, 1);
	cr_assert_eq(ngot, 1);
	cr_assert_float_eq(got[0].u.lock_wait.duration_ms, 20.0, 1e-9);
	cr_assert_str_eq(got[0].u.lock_wait.target, "a");
	/* a tick without detail says nothing against it */
	w.detail = false;
	ticks(3, 4, &w, 1);
	cr_assert_eq(ngot, 1);
	cr_assert_str_eq(ep_longest(&tab)->w.target, "b");
}

Test(episodes, a_last_tick_without_blocker_keeps_the_blocker, .init = setup)
{
	struct ep_wait w = waiter(100, 200), gone = waiter(100, 0);

	gone.nblockers = 0;
	ticks(0, 3, &w, 1);
	ticks(3, 4, &gone, 1);	/* the holder let go mid-snapshot */
	gone.detail = true;	/* a detailed one says so too */
	strcpy(gone.target, "t");
	w.detail = true;
	strcpy(w.target, "t");
	strcpy(w.blocker_query, "UPDATE t");
	w.held = 7;
	ticks(4, 5, &w, 1);
	ticks(5, 6, &gone, 1);
	ticks(6, 7, NULL, 0);
	cr_assert_eq(ngot, 2, "the episode and the blocker's statement");
	cr_assert_eq(got[0].u.lock_wait.blocker, 200);
	cr_assert_eq(got[0].u.lock_wait.blockers, 1);
	cr_assert_eq(got[0].u.lock_wait.held, 7);
	cr_assert_eq(got[1].u.lock_wait_text.side, REC_SIDE_BLOCKER);
	cr_assert_str_eq(got[1].u.lock_wait_text.text, "UPDATE t");
}

Test(episodes, the_blocker_as_first_seen_then_another, .init = setup)
{
	struct ep_wait w = waiter(100, 200);

	w.detail = true;
	w.blocker_idle_tx = 1;
	strcpy(w.blocker_query, "UPDATE t");
	ticks(0, 2, &w, 1);
	w.blocker_idle_tx = 0;	/* caught at its COMMIT */
	strcpy(w.blocker_query, "COMMIT");
	ticks(2, 3, &w, 1);
	cr_assert_str_eq(ep_longest(&tab)->w.blocker_query, "UPDATE t");
	cr_assert_eq(ep_longest(&tab)->w.blocker_idle_tx, 1);
	w = waiter(100, 300);	/* another blocker, not described yet */
	ticks(3, 4, &w, 1);
	cr_assert_eq(ep_longest(&tab)->w.blocker, 300);
	cr_assert_str_eq(ep_longest(&tab)->w.blocker_query, "");
	cr_assert_eq(ep_longest(&tab)->w.blocker_idle_tx, 2);
	w.detail = true;
	strcpy(w.blocker_query, "LOCK t");
	ticks(4, 5, &w, 1);
	cr_assert_str_eq(ep_longest(&tab)->w.blocker_query, "LOCK t");
	cr_assert_eq(ngot, 0, "one episode all along");
}

Test(episodes, skipped_ticks_end_halfway, .init = setup)
{
	struct ep_wait w = waiter(100, 200);

	ticks(0, 2, &w, 1);
	/* the sampler missed ticks: the next one is 100 ms on */
	ep_tick(&tab, T0 + 110 * MS, NULL, 0, collect, NULL);
	cr_assert_float_eq(got[0].u.lock_wait.duration_ms, 65.0, 1e-9);
}

Test(episodes, flush_ends_all, .init = setup)
{
	struct ep_wait w[3] = { waiter(1, 9), waiter(2, 9), waiter(3, 9) };

	ticks(0, 2, w, 3);
	ep_flush(&tab, collect, NULL);
	cr_assert_eq(ngot, 3);
	cr_assert_eq(tab.n, 0);
	for (int i = 0; i < 3; i++)
		cr_assert_float_eq(got[i].u.lock_wait.duration_ms, 20.0, 1e-9);
}

Test(episodes, a_full_table_counts_what_it_leaves_out, .init = setup)
{
	static struct ep_wait w[EP_MAX + 5];

	for (int i = 0; i < EP_MAX + 5; i++)
		w[i] = waiter(i + 1, 999);
	ticks(0, 1, w, EP_MAX + 5);
	cr_assert_eq(tab.n, EP_MAX);
	cr_assert_eq(tab.dropped, 5);
}

Test(episodes, longest_is_the_earliest_start, .init = setup)
{
	struct ep_wait w[2] = { waiter(1, 9), waiter(2, 9) };

	ticks(0, 1, &w[1], 1);
	ticks(1, 3, w, 2);
	cr_assert_eq(ep_longest(&tab)->w.pid, 2);
}

Test(episodes, parse_blockers)
{
	struct ep_wait w;

	ep_parse_blockers(&w, "{123,456,7}");
	cr_assert_eq(w.blocker, 123);
	cr_assert_eq(w.nblockers, 3);
	ep_parse_blockers(&w, "{}");
	cr_assert_eq(w.blocker, 0);
	cr_assert_eq(w.nblockers, 0);
	ep_parse_blockers(&w, NULL);
	cr_assert_eq(w.nblockers, 0);
	ep_parse_blockers(&w, "{12,x}");
	cr_assert_eq(w.blocker, 12);
	cr_assert_eq(w.nblockers, 1);
}

Test(episodes, parse_detail)
{
	struct ep_wait w;

	memset(&w, 0, sizeof(w));
	w.blocker_idle_tx = 2;
	cr_assert_eq(ep_parse_detail(&w, "transactionid\x1fShareLock\x1f"
	    "accounts\x1f" "ExclusiveLock\x1f" "1700000000000123\x1f-42\x1f"
	    "idle in transaction\x1f" "77\x1fUPDATE accounts\x1f"
	    "SELECT * FROM accounts FOR UPDATE"), 0);
	cr_assert(w.detail);
	cr_assert_eq(w.locktype, rec_locktype_code("transactionid"));
	cr_assert_eq(w.mode, rec_lockmode_code("ShareLock"));
	cr_assert_eq(w.held, rec_lockmode_code("ExclusiveLock"));
	cr_assert_str_eq(w.target, "accounts");
	cr_assert_eq(w.waitstart_ns, 1700000000000123000LL);
	cr_assert_eq(w.query_id, -42);
	cr_assert_eq(w.blocker_query_id, 77);
	cr_assert_eq(w.blocker_idle_tx, 1);
	cr_assert_str_eq(w.blocker_query, "UPDATE accounts");
	cr_assert_str_eq(w.query, "SELECT * FROM accounts FOR UPDATE");
	/* unknowns are empty fields */
	cr_assert_eq(ep_parse_detail(&w, "advisory\x1f" "ExclusiveLock\x1f"
	    "\x1f\x1f\x1f\x1f" "active\x1f\x1f\x1f"), 0);
	cr_assert_eq(w.held, 0);
	cr_assert_eq(w.waitstart_ns, 0);
	cr_assert_eq(w.blocker_idle_tx, 0);
	cr_assert_str_eq(w.query, "");
}

Test(episodes, parse_detail_refuses_the_wrong_shape)
{
	struct ep_wait w;

	memset(&w, 0, sizeof(w));
	cr_assert_eq(ep_parse_detail(&w, "relation\x1fShareLock"), -1);
	cr_assert(!w.detail);
	cr_assert_eq(ep_parse_detail(&w, "a\x1f" "b\x1f" "c\x1f" "d\x1f" "e\x1f"
	    "f\x1f" "g\x1f" "h\x1f" "i\x1f" "j\x1f" "k"), -1);
	cr_assert_eq(ep_parse_detail(&w, NULL), -1);
}

Test(episodes, long_text_is_cut)
{
	struct ep_wait w;
	char s[600];

	memset(&w, 0, sizeof(w));
	memset(s, 0, sizeof(s));
	strcpy(s, "relation\x1f" "AccessShareLock\x1f" "t\x1f\x1f\x1f\x1f"
	    "active\x1f\x1f\x1f");
	memset(s + strlen(s), 'x', 300);
	cr_assert_eq(ep_parse_detail(&w, s), 0);
	cr_assert_eq(strlen(w.query), REC_QUERY_TEXT - 1);
}
