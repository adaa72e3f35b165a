/*
 * test_scenario.c: the scenario file format (cli/scenario_parse.c): every
 * built-in scenario parses, steps and expectations come out as written,
 * bad files are refused with file:line: reason, random steps are drawn
 * the same for the same seed; and the config overlay a scenario writes is
 * applied over the user's file (lib/config.c).
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../cli/scenario.h"
#include "../../lib/labsup.h"

static struct scenario scn;
static char err[700];

static int
parse(const char *text)
{
	err[0] = '\0';
	return scn_parse(&scn, "t.scn", text, strlen(text), err, sizeof(err));
}

static void
refused(const char *text, int line, const char *reason)
{
	char want[32];

	cr_assert_eq(parse(text), -1, "accepted: %s", text);
	snprintf(want, sizeof(want), "t.scn:%d: ", line);
	cr_assert(strncmp(err, want, strlen(want)) == 0,
	    "want %s..., got \"%s\" for: %s", want, err, text);
	cr_assert(strstr(err, reason) != NULL, "want \"%s\" in \"%s\"", reason,
	    err);
}

Test(scenario, builtins_parse)
{
	char dir[512], path[1024];
	struct dirent *d;
	DIR *dp;
	int n = 0;

	snprintf(dir, sizeof(dir), "%s", LABSUP_SCENARIOS_DIR);
	dp = opendir(dir);
	cr_assert_not_null(dp, "no %s", dir);
	while ((d = readdir(dp)) != NULL) {
		size_t len = strlen(d->d_name);
		if (len < 5 || strcmp(d->d_name + len - 4, ".scn") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, d->d_name);
		cr_assert_eq(scn_load(&scn, path, err, sizeof(err)), 0, "%s",
		    err);
		/* each documents itself: a summary and a Dashboards note */
		cr_assert(scn.summary[0] != '\0', "%s has no summary", path);
		cr_assert(scn.nexpect > 0, "%s expects nothing", path);
		n++;
	}
	closedir(dp);
	cr_assert_geq(n, 11, "only %d built-in scenarios", n);
}

Test(scenario, steps_as_written)
{
	cr_assert_eq(parse("# Summary line.\n# more\n\n"
	    "hold: sql pub s1 BEGIN; SELECT 1 FROM branches WHERE bid = 1 "
	    "FOR UPDATE\n"
	    "sql pub s2 async fail-ok ALTER TABLE accounts ALTER abalance SET "
	    "DEFAULT 0\n"
	    "await s2 fail-ok\n"
	    "wait_a: sleep 1.5s\n"
	    "hum rate=50 clients=4\n"
	    "hum reset\n"
	    "stop sub2\r\n"
	    "kill pub\n"
	    "start sub2\n"
	    "pause sub1\n"
	    "resume sub1\n"
	    "wait 30s until sql sub1 SELECT true\n"
	    "wait 2m until check\n"
	    "wait 500ms until ready sub3\n"
	    "subscriber add sub3\n"
	    "subscriber remove sub3\n"
	    "finally\n"
	    "random 3 faults over 30s\n"
	    "expect pg_blocking.waiting >= 3 on pub during step hold\n"
	    "expect spread(pg_blocking.deadlocks) >= 1\n"
	    "expect pg_locks.count >= 1 on pub where mode=AccessExclusiveLock,"
	    "granted=false within 2s of step hold\n"
	    "expect replication.apply_lag_ms < 500 on sub2 within 20s after "
	    "step wait_a\n"
	    "expect check passes within 90s\n"
	    "expect workers running\n"
	    "expect session_errors == 1\n"), 0, "%s", err);
	cr_assert_str_eq(scn.name, "t");
	cr_assert_str_eq(scn.summary, "Summary line.");
	cr_assert_eq(scn.nsteps, 17);
	cr_assert_eq(scn.finally_at, 16);
	cr_assert_eq(scn.steps[0].kind, SK_SQL);
	cr_assert_str_eq(scn.steps[0].label, "hold");
	cr_assert_str_eq(scn.steps[0].node, "pub");
	cr_assert_str_eq(scn.steps[0].session, "s1");
	cr_assert_str_eq(scn.steps[0].text,
	    "BEGIN; SELECT 1 FROM branches WHERE bid = 1 FOR UPDATE");
	cr_assert(!scn.steps[0].async);
	cr_assert(scn.steps[1].async && scn.steps[1].fail_ok);
	cr_assert_str_eq(scn.steps[1].text,
	    "ALTER TABLE accounts ALTER abalance SET DEFAULT 0");
	cr_assert(scn.steps[2].kind == SK_AWAIT && scn.steps[2].fail_ok);
	cr_assert_eq(scn.steps[3].ms, 1500);
	cr_assert_str_eq(scn.steps[4].text, "rate=50 clients=4");
	cr_assert_str_eq(scn.steps[5].text, "reset");
	cr_assert_eq(scn.steps[6].kind, SK_STOP);
	cr_assert_str_eq(scn.steps[6].node, "sub2");	/* CRLF taken */
	cr_assert_eq(scn.steps[7].kind, SK_KILL);
	cr_assert_eq(scn.steps[11].wait, SW_SQL);
	cr_assert_str_eq(scn.steps[11].text, "SELECT true");
	cr_assert_eq(scn.steps[12].wait, SW_CHECK);
	cr_assert_eq(scn.steps[12].ms, 120000);
	cr_assert_eq(scn.steps[13].wait, SW_READY);
	cr_assert_eq(scn.steps[14].kind, SK_SUB_ADD);
	cr_assert_eq(scn.steps[15].kind, SK_SUB_REMOVE);
	cr_assert_eq(scn.steps[16].count, 3);

	cr_assert_eq(scn.nexpect, 7);
	const struct scn_expect *e = &scn.expects[0];
	cr_assert_str_eq(e->func, "max");	/* >= takes the largest */
	cr_assert_str_eq(e->measurement, "pg_blocking");
	cr_assert_str_eq(e->field, "waiting");
	cr_assert_str_eq(e->where, " AND \"node\" = 'pub'");
	cr_assert_eq(e->window, SWIN_DURING);
	cr_assert_str_eq(e->step, "hold");
	cr_assert_str_eq(e->text, "pg_blocking.waiting >= 3 on pub during "
	    "step hold");
	cr_assert_str_eq(scn.expects[1].func, "spread");
	cr_assert_eq(scn.expects[1].window, SWIN_RUN);
	cr_assert_str_eq(scn.expects[2].where, " AND \"mode\" = "
	    "'AccessExclusiveLock' AND \"granted\" = 'false' AND \"node\" = "
	    "'pub'");
	cr_assert_eq(scn.expects[2].window, SWIN_OF);
	cr_assert_eq(scn.expects[2].ms, 2000);
	cr_assert_str_eq(scn.expects[3].func, "min");	/* < the smallest */
	cr_assert_eq(scn.expects[3].window, SWIN_AFTER);
	cr_assert_eq(scn.expects[4].kind, SE_CHECK);
	cr_assert_eq(scn.expects[4].ms, 90000);
	cr_assert_eq(scn.expects[5].kind, SE_WORKERS);
	cr_assert_eq(scn.expects[6].kind, SE_ERRORS);
	cr_assert_eq(scn.expects[6].op, SO_EQ);
}

Test(scenario, link_steps)
{
	char text[SCN_MAX_LINE + 64];

	cr_assert_eq(parse("wan: link sub2   latency 50ms\tjitter 10ms\n"
	    "link sub2 partition for 20s\n"
	    "link sub2 rate 100kbps direction down stall --for 5\n"
	    "link sub2 heal\n"
	    "link sub2 clear\n"
	    "expect mean(labsup.link_delay_ms) >= 40 where node=sub2 during "
	    "step wan\n"
	    "expect max(labsup.link_state) == 3 where node=sub2\n"), 0, "%s",
	    err);
	cr_assert_eq(scn.nsteps, 5);
	for (int i = 0; i < 5; i++) {
		cr_assert_eq(scn.steps[i].kind, SK_LINK);
		cr_assert_str_eq(scn.steps[i].node, "sub2");
	}
	cr_assert_str_eq(scn.steps[0].label, "wan");
	/* the words as one line, one space apart: run time parses them */
	cr_assert_str_eq(scn.steps[0].text, "latency 50ms jitter 10ms");
	cr_assert_str_eq(scn.steps[1].text, "partition for 20s");
	cr_assert_str_eq(scn.steps[4].text, "clear");
	scn_step_text(&scn.steps[2], text, sizeof(text));
	cr_assert_str_eq(text, "link sub2 rate 100kbps direction down stall "
	    "--for 5");
	cr_assert_str_eq(scn.expects[0].measurement, "labsup");
	cr_assert_str_eq(scn.expects[0].field, "link_delay_ms");
	cr_assert_str_eq(scn.expects[0].where, " AND \"node\" = 'sub2'");
	cr_assert_str_eq(scn.expects[1].field, "link_state");
}

Test(scenario, bad_files)
{
	refused("", 1, "no steps");
	refused("# only a comment\n", 1, "no steps");
	refused("sleep 1s\nfrobnicate pub\n", 2, "unknown step \"frobnicate\"");
	refused("sleep 1s\nlink sub2 delay 100ms\n", 2,
	    "link sub2: \"delay\" is not one of latency");
	refused("link sub2 latency\n", 1, "\"latency\" needs a value");
	refused("link sub2 latency fast\n", 1, "latency \"fast\": expected "
	    "milliseconds");
	refused("\nlink sub2 partition for ever\n", 2, "for: expected a "
	    "duration such as ");
	refused("link sub2 direction sideways\n", 1, "direction \"sideways\"");
	refused("link sub2\n", 1, "what should the link do?");
	refused("link\n", 1, "link NODE WORDS...: the node");
	refused("sleep\n", 1, "expected a duration");
	refused("sleep 5x\n", 1, "sleep: expected a duration such as ");
	refused("sleep 25h\n", 1, "sleep: \"25h\" is too long: 1d at most");
	refused("sleep 1s 2s\n", 1, "unexpected \"2s\"");
	refused("sql pub\n", 1, "the session");
	refused("sql pub s1\n", 1, "no statement");
	refused("sql pub s1 async\n", 1, "no statement");
	refused("sql 1pub s1 SELECT 1\n", 1, "expected a name");
	refused("sql pub s1 SELECT 1\nsql sub1 s1 SELECT 1\n", 2,
	    "session s1 is on pub");
	refused("await s9\n", 1, "no sql step before");
	refused("\n\nhum rate\n", 3, "expected KEY=VALUE");
	refused("hum script=/etc/passwd\n", 1, "not a key a scenario can change");
	refused("hum bogus=1\n", 1, "not a key");
	refused("hum\n", 1, "expected KEY=VALUE");
	refused("stop\n", 1, "expected a name");
	refused("kill pub now\n", 1, "unexpected \"now\"");
	refused("wait 10s\n", 1, "expected `until`");
	refused("wait 10s until sql sub1\n", 1, "no query");
	refused("wait 10s until nothing\n", 1, "expected `until sql NODE");
	refused("wait forever until check\n", 1, "expected a duration");
	refused("subscriber sub3\n", 1, "subscriber add NAME");
	refused("random 0 faults over 10s\n", 1, "1 to 20");
	refused("random 3 faults in 10s\n", 1, "faults over DURATION");
	refused("random 5 faults over 2s\n", 1, "at least 5s");
	refused("a: sleep 1s\na: sleep 1s\n", 2, "used twice");
	refused("a:\n", 1, "no step after the label");
	refused("sleep 1s\nexpect\n", 2, "expect: what?");
	refused("sleep 1s\nexpect pg_blocking >= 1\n", 2,
	    "expected MEASUREMENT.FIELD");
	refused("sleep 1s\nexpect pg_nothing.x >= 1\n", 2,
	    "unknown measurement \"pg_nothing\"");
	refused("sleep 1s\nexpect pg_blocking.nope >= 1\n", 2,
	    "has no field \"nope\"");
	refused("sleep 1s\nexpect median(hum.tx) >= 1\n", 2,
	    "unknown function \"median\"");
	refused("sleep 1s\nexpect max(hum.tx >= 1\n", 2, "no closing");
	refused("sleep 1s\nexpect hum.tx ~ 1\n", 2, "expected a comparison");
	refused("sleep 1s\nexpect hum.tx >= lots\n", 2, "expected a number");
	refused("sleep 1s\nexpect hum.tx >= 1 on\n", 2, "expected a name");
	refused("sleep 1s\nexpect hum.tx >= 1 on pub on sub1\n", 2, "`on` twice");
	refused("sleep 1s\nexpect hum.tx >= 1 where client\n", 2,
	    "where TAG=VALUE");
	refused("sleep 1s\nexpect hum.tx >= 1 where a='b\n", 2, "plain value");
	refused("sleep 1s\nexpect hum.tx >= 1 during hold\n", 2,
	    "expected `step NAME`");
	refused("sleep 1s\nexpect hum.tx >= 1 within 2s before step a\n", 2,
	    "after|of");
	refused("sleep 1s\nexpect hum.tx >= 1 during step nope\n", 2,
	    "no step is labelled \"nope\"");
	refused("sleep 1s\nexpect hum.tx >= 1 soon\n", 2, "unexpected \"soon\"");
	refused("sleep 1s\nexpect check\n", 2, "check passes");
	refused("sleep 1s\nexpect check passes soon\n", 2, "unexpected \"soon\"");
	refused("sleep 1s\nexpect workers idle\n", 2, "workers running");
	refused("sleep 1s\nfinally\nfinally\n", 3, "`finally` twice");

	char nul[] = "sleep 1s\n\0sleep 1s\n";
	cr_assert_eq(scn_parse(&scn, "t.scn", nul, sizeof(nul) - 1, err,
	    sizeof(err)), -1);
	cr_assert(strstr(err, "NUL byte") != NULL, "%s", err);

	char *lng = malloc(SCN_MAX_LINE + 100);
	memset(lng, 'x', SCN_MAX_LINE + 50);
	memcpy(lng, "sleep 1s\nsql pub s ", 19);
	lng[SCN_MAX_LINE + 50] = '\0';
	refused(lng, 2, "longer than");
	free(lng);
}

Test(scenario, durations)
{
	cr_assert_eq(scn_duration("250ms"), 250);
	cr_assert_eq(scn_duration("2s"), 2000);
	cr_assert_eq(scn_duration("1.5s"), 1500);
	cr_assert_eq(scn_duration("2m"), 120000);
	cr_assert_eq(scn_duration("2"), 2000, "a bare number: seconds");
	cr_assert_eq(scn_duration("1h30m"), 5400000);
	cr_assert_eq(scn_duration("2min"), 120000);
	cr_assert_eq(scn_duration("24h"), 86400000);
	cr_assert_eq(scn_duration("25h"), -1, "a step is a day at most");
	cr_assert_eq(scn_duration("-2s"), -1);
	cr_assert_eq(scn_duration("s"), -1);
	cr_assert_eq(scn_duration(NULL), -1);
}

Test(scenario, validate_against_the_lab)
{
	struct config cfg;

	config_defaults(&cfg);	/* pub, sub1, sub2 */
	cr_assert_eq(parse("sleep 1s\n\nstop sub9\n"), 0);
	cr_assert_eq(scn_validate(&scn, &cfg, err, sizeof(err)), -1);
	cr_assert(strstr(err, "t.scn:3: the lab has no node \"sub9\"") != NULL,
	    "%s", err);
	cr_assert_eq(parse("pause pub\n"), 0);
	cr_assert_eq(scn_validate(&scn, &cfg, err, sizeof(err)), -1);
	cr_assert(strstr(err, "t.scn:1: pub is not a subscriber") != NULL,
	    "%s", err);
	cr_assert_eq(parse("subscriber add sub1\n"), 0);
	cr_assert_eq(scn_validate(&scn, &cfg, err, sizeof(err)), -1);
	cr_assert(strstr(err, "already has that node") != NULL, "%s", err);
	/* a link is a subscriber's way to the publisher */
	cr_assert_eq(parse("sleep 1s\nlink pub latency 50ms\n"), 0);
	cr_assert_eq(scn_validate(&scn, &cfg, err, sizeof(err)), -1);
	cr_assert(strstr(err, "t.scn:2: pub is not a subscriber") != NULL,
	    "%s", err);
	cr_assert_eq(parse("link sub2 latency 50ms\n"), 0);
	cr_assert_eq(scn_validate(&scn, &cfg, err, sizeof(err)), 0, "%s", err);
	/* a node the scenario adds may be used after it */
	cr_assert_eq(parse("subscriber add sub3\nwait 1s until ready sub3\n"
	    "expect hum.tx >= 0 on sub3\n"), 0);
	cr_assert_eq(scn_validate(&scn, &cfg, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(parse("sleep 1s\nexpect hum.tx >= 1 on nowhere\n"), 0);
	cr_assert_eq(scn_validate(&scn, &cfg, err, sizeof(err)), -1);
	cr_assert(strstr(err, "t.scn:2:") != NULL, "%s", err);
}

static void
drawn_text(const struct scenario *s, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (int i = 0; i < s->nsteps && off < len; i++) {
		char t[SCN_MAX_LINE + 64];
		scn_step_text(&s->steps[i], t, sizeof(t));
		off += (size_t)snprintf(buf + off, len - off, "%s\n", t);
	}
}

Test(scenario, random_is_replayable)
{
	struct config cfg;
	static struct scenario a, b;
	static char ta[65536], tb[65536];
	int differ = 0;

	config_defaults(&cfg);
	cr_assert_eq(parse("f: random 4 faults over 40s\nafter: sleep 1s\n"),
	    0);
	a = scn;
	b = scn;
	cr_assert_eq(scn_draw(&a, &cfg, 42, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(scn_draw(&b, &cfg, 42, err, sizeof(err)), 0, "%s", err);
	drawn_text(&a, ta, sizeof(ta));
	drawn_text(&b, tb, sizeof(tb));
	cr_assert_str_eq(ta, tb, "seed 42 drew differently");
	cr_assert_str_eq(a.steps[0].label, "f");	/* the label stays */
	cr_assert_str_eq(a.steps[a.nsteps - 1].label, "after");
	int64_t total = 0, faults = 0;
	for (int i = 0; i < a.nsteps; i++) {
		cr_assert_neq(a.steps[i].kind, SK_RANDOM);
		if (a.steps[i].kind == SK_SLEEP)
			total += a.steps[i].ms;
		faults += a.steps[i].kind == SK_KILL ||
		    a.steps[i].kind == SK_STOP ||
		    (a.steps[i].kind == SK_HUM &&
		    strcmp(a.steps[i].text, "reset") != 0);
	}
	cr_assert_eq(faults, 4);
	cr_assert_eq(total, 40000 + 1000, "the faults' sleeps fill the span");
	/* other seeds draw other steps (some of them, at least) */
	for (uint64_t seed = 1; seed <= 5; seed++) {
		b = scn;
		cr_assert_eq(scn_draw(&b, &cfg, seed, err, sizeof(err)), 0);
		drawn_text(&b, tb, sizeof(tb));
		differ += strcmp(ta, tb) != 0;
	}
	cr_assert_geq(differ, 4);
}

/* The overlay a scenario writes in the state dir wins over the file. */
Test(scenario, config_overlay)
{
	char dir[] = "/tmp/labsup-overlay.XXXXXX", conf[128], ov[128],
	    text[512];
	struct config cfg;
	FILE *fp;

	cr_assert_not_null(mkdtemp(dir));
	snprintf(conf, sizeof(conf), "%s/labsup.conf", dir);
	snprintf(ov, sizeof(ov), "%s/%s", dir, LAB_OVERLAY);
	snprintf(text, sizeof(text), "[lab]\nstate_dir = %s\n\n[hum]\nrate = "
	    "100\nclients = 2\n", dir);
	fp = fopen(conf, "w");
	fputs(text, fp);
	fclose(fp);
	cr_assert_eq(config_load(&cfg, conf, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(cfg.hum.clients, 2);

	fp = fopen(ov, "w");
	fputs("[hum]\nclients = 5\n\n[node sub3]\nrole = subscriber\nport = "
	    "25999\n", fp);
	fclose(fp);
	cr_assert_eq(config_load(&cfg, conf, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(cfg.hum.clients, 5);
	cr_assert_eq(cfg.hum.rate, 100);
	cr_assert_eq(cfg.nnodes, 4);
	cr_assert_not_null(config_node(&cfg, "sub3"));

	fp = fopen(ov, "w");
	fputs("[hum]\nclients = lots\n", fp);
	fclose(fp);
	cr_assert_eq(config_load(&cfg, conf, err, sizeof(err)), -1);
	snprintf(text, sizeof(text), "%s:2:", ov);
	cr_assert(strstr(err, text) != NULL, "%s", err);

	unlink(ov);
	cr_assert_eq(config_load(&cfg, conf, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(cfg.hum.clients, 2);
	cr_assert_eq(cfg.nnodes, 3);
	unlink(conf);
	rmdir(dir);
}
