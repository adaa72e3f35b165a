/*
 * test_link.c: the pure parts of links: the delay queue (bytes delayed,
 * never reordered), the token bucket, the words of `labsup link`, the
 * settings file, [link NODE] in the config, and link_apply's control file
 * as link_effective reads it back.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../lib/labsup.h"
#include "../../lib/link.h"
#include "../../workers/lineproto.h"
#include "../../workers/link.h"

#define MS 1000000LL

Test(link_queue, delays_every_chunk_and_keeps_order)
{
	struct lq q = { 0 };
	int64_t t0 = 1000 * MS;

	cr_assert_eq(lq_push(&q, "abc", 3, t0, 50 * MS), 0);
	/* jitter made this one shorter: it still waits for the first */
	cr_assert_eq(lq_push(&q, "de", 2, t0 + 1 * MS, 10 * MS), 0);
	cr_assert_eq(lq_push(&q, "f", 1, t0 + 2 * MS, 80 * MS), 0);
	cr_assert_eq(q.bytes, 6);
	cr_assert_null(lq_due(&q, t0 + 49 * MS), "delivered before its delay");
	struct lq_chunk *c = lq_due(&q, t0 + 50 * MS);
	cr_assert_not_null(c);
	cr_assert_eq(memcmp(c->data, "abc", 3), 0);
	/* a short write: the rest stays at the head */
	cr_assert_eq(lq_consume(&q, 2, t0 + 50 * MS), -1);
	cr_assert_eq(lq_due(&q, t0 + 50 * MS)->off, 2);
	cr_assert_eq(lq_consume(&q, 1, t0 + 51 * MS), 51 * MS,
	    "the delay reported is what the chunk waited");
	c = lq_due(&q, t0 + 50 * MS);
	cr_assert_not_null(c, "the second chunk is due with the first");
	cr_assert_eq(memcmp(c->data, "de", 2), 0);
	cr_assert_eq(lq_consume(&q, 2, t0 + 50 * MS), 49 * MS);
	cr_assert_null(lq_due(&q, t0 + 81 * MS));
	cr_assert_eq(lq_next_due(&q), t0 + 82 * MS);
	cr_assert_not_null(lq_due(&q, t0 + 82 * MS));
	lq_free(&q);
	cr_assert_eq(q.bytes, 0);
	cr_assert_eq(lq_next_due(&q), INT64_MAX);
}

Test(link_queue, pass_through_is_due_at_once)
{
	struct lq q = { 0 };

	lq_push(&q, "x", 1, 5 * MS, 0);
	cr_assert_not_null(lq_due(&q, 5 * MS));
	lq_free(&q);
}

Test(link_bucket, unlimited_grants_everything)
{
	struct tb b = { 0 };

	tb_set(&b, 0, 0);
	cr_assert_eq(tb_take(&b, 1 << 20, 0), 1 << 20);
	cr_assert_eq(tb_wait_ns(&b, 0), 0);
}

Test(link_bucket, holds_to_the_rate)
{
	struct tb b = { 0 };
	size_t sent = 0;
	int64_t t;

	tb_set(&b, 100, 0);	/* 102400 B/s, bursts of 4096 */
	cr_assert_eq(tb_take(&b, 1000, 0), 0, "an empty bucket grants nothing");
	cr_assert_gt(tb_wait_ns(&b, 0), 0);
	/* one second of asking for everything, every millisecond */
	for (t = MS; t <= 1000 * MS; t += MS)
		sent += tb_take(&b, 1 << 20, t);
	cr_assert(sent >= 100 * 1024 - 4096 && sent <= 100 * 1024 + 4096,
	    "sent %zu bytes in 1 s at 100 KB/s", sent);
	/* a short write gives back what it did not use */
	size_t n = tb_take(&b, 1 << 20, 1100 * MS);
	tb_give(&b, n);
	cr_assert_eq(tb_take(&b, 1 << 20, 1100 * MS), n);
}

Test(link_bucket, never_holds_more_than_a_burst)
{
	struct tb b = { 0 };

	tb_set(&b, 1000, 0);
	/* idle for a minute: only 20 ms worth may go at once */
	cr_assert_leq(tb_take(&b, 1 << 30, 60000 * MS), 1000 * 1024 / 50 + 1);
}

static int
parse(const char *line, struct link_settings *s, bool *clear, char *err)
{
	char buf[256], *argv[16];
	int argc = 0;

	snprintf(buf, sizeof(buf), "%s", line);
	for (char *w = strtok(buf, " "); w && argc < 16; w = strtok(NULL, " "))
		argv[argc++] = w;
	return link_settings_parse(argc, argv, s, clear, err, 300);
}

Test(link_words, parse_every_word)
{
	struct link_settings s = { 0 };
	char err[300];
	bool clear;

	cr_assert_eq(parse("latency 50ms jitter 10 rate 1000 direction down "
	    "stall for 20s", &s, &clear, err), 0, "%s", err);
	cr_assert_eq(s.latency_ms, 50);
	cr_assert_eq(s.jitter_ms, 10);
	cr_assert_eq(s.rate_kbps, 1000);
	cr_assert_eq(s.direction, LINK_DOWN);
	cr_assert(s.stall);
	cr_assert_eq(s.for_s, 20);
	cr_assert(!clear);
	cr_assert_eq(parse("latency 2s partition --for 10", &s, &clear, err),
	    0);
	cr_assert_eq(s.latency_ms, 2000);
	cr_assert(s.partition);
	cr_assert_eq(s.for_s, 10);
	/* for takes the durations of every command (lib/duration.h) */
	cr_assert_eq(parse("partition for 1m30s", &s, &clear, err), 0);
	cr_assert_eq(s.for_s, 90);
	cr_assert_eq(parse("partition for 500ms", &s, &clear, err), -1);
	cr_assert(strstr(err, "too short") != NULL, "%s", err);
	cr_assert_eq(parse("heal", &s, &clear, err), 0);
	cr_assert(!s.partition && !s.stall);
	cr_assert_eq(s.latency_ms, 2000, "heal keeps the latency");
	cr_assert_eq(parse("clear", &s, &clear, err), 0);
	cr_assert(clear);
}

Test(link_words, refuse_what_is_wrong)
{
	struct link_settings s = { 0 };
	char err[300];
	bool clear;

	cr_assert_eq(parse("latency fast", &s, &clear, err), -1);
	cr_assert(strstr(err, "milliseconds") != NULL, "%s", err);
	cr_assert_eq(parse("latency", &s, &clear, err), -1);
	cr_assert(strstr(err, "needs a value") != NULL, "%s", err);
	cr_assert_eq(parse("latency -5", &s, &clear, err), -1);
	cr_assert_eq(parse("latency 50us", &s, &clear, err), -1);
	cr_assert_eq(parse("rate 5s", &s, &clear, err), -1,
	    "rate takes no time");
	cr_assert_eq(parse("direction sideways", &s, &clear, err), -1);
	cr_assert(strstr(err, "both, down") != NULL, "%s", err);
	cr_assert_eq(parse("for 0", &s, &clear, err), -1);
	cr_assert_eq(parse("wobble 3", &s, &clear, err), -1);
	cr_assert(strstr(err, "not one of") != NULL, "%s", err);
}

Test(link_words, settings_file_round_trip)
{
	struct link_settings a = { 120, 30, 512, LINK_UP, true, false, 0 }, b;
	char line[256];
	int64_t until;

	link_settings_format(&a, 1234567890123LL, line, sizeof(line));
	cr_assert_eq(link_settings_scan(line, &b, &until), 0, "%s", line);
	cr_assert(link_settings_same(&a, &b));
	b.latency_ms++;
	cr_assert(!link_settings_same(&a, &b));
	cr_assert_eq(until, 1234567890123LL);
	cr_assert_eq(link_settings_scan("latency=-1 jitter=0 rate=0 "
	    "direction=0 stall=0 partition=0 until=0", &b, &until), -1);
	cr_assert_eq(link_settings_scan("garbage", &b, &until), -1);
	cr_assert_str_eq(link_settings_text(&b, line, sizeof(line)),
	    "pass-through");
	cr_assert_str_eq(link_settings_text(&a, line, sizeof(line)),
	    "stall latency 120ms jitter 30ms rate 512kbps direction up");
}

static char cpath[128], cerr[600];

static int
load(struct config *cfg, const char *text)
{
	FILE *fp;

	snprintf(cpath, sizeof(cpath), "/tmp/labsup-linktest.%d.conf",
	    (int)getpid());
	fp = fopen(cpath, "w");
	fputs(text, fp);
	fclose(fp);
	int rc = config_load(cfg, cpath, cerr, sizeof(cerr));
	unlink(cpath);
	return rc;
}

Test(link_config, sections_before_and_after_their_node)
{
	struct config cfg;

	cr_assert_eq(load(&cfg, "[link sub2]\nlatency_ms = 50\njitter_ms = 10\n"
	    "[node pub]\nrole = publisher\nport = 6000\n[node sub2]\nrole = "
	    "subscriber\nport = 6001\n[link sub3]\nstall = yes\n[node sub3]\n"
	    "role = subscriber\nport = 6002\n"), 0, "%s", cerr);
	cr_assert_eq(cfg.nnodes, 3);
	cr_assert_eq(config_link(&cfg, "sub2")->latency_ms, 50);
	cr_assert_eq(config_link(&cfg, "sub2")->jitter_ms, 10);
	cr_assert(config_link(&cfg, "sub3")->stall);
	cr_assert_eq(config_link(&cfg, "pub")->latency_ms, 0);
}

Test(link_config, with_the_default_nodes)
{
	struct config cfg;

	cr_assert_eq(load(&cfg, "[link sub1]\nrate_kbps = 100\n"), 0, "%s",
	    cerr);
	cr_assert_eq(cfg.nnodes, 3, "the default nodes stay");
	cr_assert_eq(config_link(&cfg, "sub1")->rate_kbps, 100);
	cr_assert_eq(config_node(&cfg, "sub1")->port, 15433);
}

Test(link_config, refused_with_file_and_line)
{
	struct config cfg;

	cr_assert_eq(load(&cfg, "[node pub]\nrole = publisher\nport = 6000\n"
	    "[link pub]\nlatency_ms = 5\n"), -1);
	cr_assert(strstr(cerr, ":4: [link pub]: links are for subscribers"),
	    "%s", cerr);
	cr_assert_eq(load(&cfg, "[node pub]\nrole = publisher\nport = 6000\n"
	    "\n[link sub9]\nlatency_ms = 5\n"), -1);
	cr_assert(strstr(cerr, ":5: [link sub9]: there is no [node sub9]"),
	    "%s", cerr);
	cr_assert_eq(load(&cfg, "[link sub1]\nlatency_ms = 700000\n"), -1);
	cr_assert(strstr(cerr, ":2: latency_ms: 700000 is out of range"), "%s",
	    cerr);
	cr_assert_eq(load(&cfg, "[link sub1]\ndirection = left\n"), -1);
	cr_assert(strstr(cerr, ":2: direction: \"left\" is not both, down or "
	    "up"), "%s", cerr);
	cr_assert_eq(load(&cfg, "[link]\nstall = yes\n"), -1);
	cr_assert(strstr(cerr, "unknown section [link]"), "%s", cerr);
}

Test(link_apply, the_link_reads_what_apply_wrote)
{
	struct config cfg;
	struct link_settings s = { 0 }, got;
	char dir[] = "/tmp/labsup-linkapply.XXXXXX", err[300];
	int64_t until;

	cr_assert_not_null(mkdtemp(dir));
	config_defaults(&cfg);
	snprintf(cfg.lab.state_dir, sizeof(cfg.lab.state_dir), "%s", dir);
	cfg.nodes[2].link.latency_ms = 5;	/* the config's */
	link_effective(&cfg, "sub2", &got, &until);
	cr_assert_eq(got.latency_ms, 5);
	s.latency_ms = 200;
	s.jitter_ms = 20;
	cr_assert_eq(link_apply(&cfg, "sub2", &s, err, sizeof(err)), 0, "%s",
	    err);
	link_effective(&cfg, "sub2", &got, &until);
	cr_assert_eq(got.latency_ms, 200);
	cr_assert_eq(got.jitter_ms, 20);
	cr_assert_eq(until, 0);
	/* --for: in force, with an end */
	s.partition = true;
	s.for_s = 30;
	cr_assert_eq(link_apply(&cfg, "sub2", &s, err, sizeof(err)), 0);
	link_effective(&cfg, "sub2", &got, &until);
	cr_assert(got.partition);
	cr_assert_gt(until, now_ns());
	cr_assert_eq(link_clear(&cfg, "sub2", err, sizeof(err)), 0, "%s", err);
	link_effective(&cfg, "sub2", &got, &until);
	cr_assert_eq(got.latency_ms, 5, "clear: the config's again");
	cr_assert(!got.partition);
	/* only subscribers have links */
	cr_assert_eq(link_apply(&cfg, "pub", &s, err, sizeof(err)), -1);
	cr_assert(strstr(err, "pub is not a subscriber") != NULL, "%s", err);
	cr_assert_eq(link_apply(&cfg, "nope", &s, err, sizeof(err)), -1);
	/* the listen address */
	cr_assert_eq(link_addr_write(&cfg, "sub1", "127.0.0.1", 40123), 0);
	char host[64];
	int port;
	cr_assert_eq(link_addr_read(&cfg, "sub1", host, sizeof(host), &port),
	    0);
	cr_assert_str_eq(host, "127.0.0.1");
	cr_assert_eq(port, 40123);
	cr_assert_eq(link_addr_read(&cfg, "sub2", host, sizeof(host), &port),
	    -1);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_assert_eq(system(cmd), 0);
}

Test(link_apply, an_expired_override_is_not_in_force)
{
	struct config cfg;
	char dir[] = "/tmp/labsup-linkexp.XXXXXX", path[CFG_PATH + 64];
	char line[256], cmd[128];
	struct link_settings s = { 100, 0, 0, 0, false, false, 0 }, got;
	int64_t until;

	cr_assert_not_null(mkdtemp(dir));
	config_defaults(&cfg);
	snprintf(cfg.lab.state_dir, sizeof(cfg.lab.state_dir), "%s", dir);
	snprintf(path, sizeof(path), "%s/links", dir);
	mkdir(path, 0700);
	link_path(&cfg, "sub1", "set", path, sizeof(path));
	link_settings_format(&s, now_ns() - 1, line, sizeof(line));
	cr_assert_eq(file_write_atomic(path, line, strlen(line), 0600,
	    (uid_t)-1, (gid_t)-1), 0);
	cr_assert_eq(link_override(&cfg, "sub1", &got, &until), 0);
	link_effective(&cfg, "sub1", &got, &until);
	cr_assert_eq(got.latency_ms, 0);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_assert_eq(system(cmd), 0);
}

/* The link's figures are points of the labsup measurement. */
Test(link_record, a_labsup_point_with_the_link_fields)
{
	struct lp_buf b = { 0 };
	struct record r;
	char line[LP_LINE_MAX + 1];

	memset(&r, 0, sizeof(r));
	r.kind = REC_LINK;
	r.seq = 7;
	r.ts = 1700000000000000000LL;
	snprintf(r.u.link.worker, sizeof(r.u.link.worker), "link sub2");
	snprintf(r.u.link.node, sizeof(r.u.link.node), "sub2");
	r.u.link.bytes_down = 4096;
	r.u.link.bytes_up = 128;
	r.u.link.connections = 2;
	r.u.link.accepted = 5;
	r.u.link.refused = 1;
	r.u.link.partitions = 1;
	r.u.link.delay_us = 50500;
	r.u.link.state = 1;
	r.u.link.queued = 900;
	cr_assert_eq(lp_format(&b, &r), 0);
	snprintf(line, sizeof(line), "%.*s", (int)b.len, b.data);
	cr_assert_str_eq(line, "labsup,node=sub2,worker=link\\ sub2 "
	    "link_bytes_down=4096i,link_bytes_up=128i,link_connections=2i,"
	    "link_accepted=5i,link_refused=1i,link_partitions=1i,"
	    "link_delay_ms=50.5,link_state=1i,link_queued_bytes=900i,seq=7i "
	    "1700000000000000000\n");
	lp_free(&b);
}
