/*
 * test_config.c: defaults, a full file, and every error path, each with
 * its file:line.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../lib/config.h"

static char path[64];
static char err[600];
static struct config cfg;

static int
load(const char *text)
{
	FILE *fp;

	snprintf(path, sizeof(path), "/tmp/labsup-cfgtest.%d.conf",
	    (int)getpid());
	fp = fopen(path, "w");
	cr_assert_not_null(fp);
	fputs(text, fp);
	fclose(fp);
	err[0] = '\0';
	int rc = config_load(&cfg, path, err, sizeof(err));
	unlink(path);
	return rc;
}

/* The error names the file and line and contains the reason. */
static void
expect_error(const char *text, int line, const char *reason)
{
	char want[128];

	cr_assert_eq(load(text), -1, "accepted: %s", text);
	snprintf(want, sizeof(want), "%s:%d: ", path, line);
	cr_assert(strncmp(err, want, strlen(want)) == 0,
	    "error \"%s\" does not start with \"%s\"", err, want);
	cr_assert(strstr(err, reason) != NULL, "error \"%s\" lacks \"%s\"",
	    err, reason);
}

Test(config, defaults_without_a_file)
{
	cr_assert_eq(config_load(&cfg, NULL, err, sizeof(err)), 0);
	cr_assert_str_eq(cfg.lab.name, "default");
	cr_assert_eq(cfg.nnodes, 3);
	cr_assert_eq(config_publisher(&cfg)->port, 15432);
	cr_assert_str_eq(cfg.lab.bind, "127.0.0.1");
	cr_assert_str_eq(cfg.influx.url, "http://127.0.0.1:18086");
	cr_assert_eq(cfg.writer.batch_points, 5000);
	cr_assert_eq(cfg.writer.flush_ms, 200);
	cr_assert_eq(cfg.hum.workload, WL_TPCB);
}

Test(config, a_full_file)
{
	cr_assert_eq(load(
	    "; comment\n"
	    "[lab]\nname = demo\nbackend = local\nstate_dir = /tmp/x\n"
	    "[node main]\nrole = publisher\nport = 6000\n"
	    "[node replica]\nrole = subscriber\nport = 6001\n"
	    "tables = accounts\nrow_filter = accounts: aid % 2 = 0\n"
	    "[influxdb]\nport = 7000\ndatabase = metrics\n"
	    "[hum]\nclients = 4\nrate = 250.5\nworkload = contention\n"
	    "chaos = yes\n"
	    "[sampler]\ninterval_ms = 10\nlocks_interval_ms = 50\n"
	    "[writer]\nbatch_points = 100\nlane_records = 1024\n"), 0, "%s",
	    err);
	cr_assert_str_eq(cfg.lab.name, "demo");
	cr_assert_eq(cfg.lab.backend, BACKEND_LOCAL);
	cr_assert_eq(cfg.nnodes, 2);
	cr_assert_str_eq(config_publisher(&cfg)->name, "main");
	cr_assert_str_eq(config_node(&cfg, "replica")->row_filter,
	    "accounts: aid % 2 = 0");
	cr_assert_eq(cfg.influx.port, 7000);
	cr_assert_str_eq(cfg.influx.database, "metrics");
	cr_assert_eq(cfg.hum.clients, 4);
	cr_assert_float_eq(cfg.hum.rate, 250.5, 1e-9);
	cr_assert_eq(cfg.hum.workload, WL_CONTENTION);
	cr_assert(cfg.hum.chaos);
	cr_assert_eq(cfg.sampler.interval_ms, 10);
	cr_assert_eq(cfg.writer.lane_records, 1024);
	cr_assert_str_eq(cfg.influx.url, "http://127.0.0.1:7000");
}

Test(config, missing_file)
{
	cr_assert_eq(config_load(&cfg, "/nonexistent/labsup.conf", err,
	    sizeof(err)), -1);
	cr_assert(strstr(err, "/nonexistent/labsup.conf: cannot read") != NULL,
	    "%s", err);
}

Test(config, syntax_error)
{
	expect_error("[lab]\nname = x\nthis line is wrong\n", 3, "syntax");
}

Test(config, unknown_section)
{
	expect_error("[lab]\nname = x\n[labs]\n", 3, "unknown section [labs]");
}

Test(config, unknown_key)
{
	expect_error("[lab]\nname = x\ncolour = blue\n", 3,
	    "unknown key \"colour\"");
}

Test(config, key_outside_section)
{
	expect_error("name = x\n", 1, "outside any section");
}

Test(config, duplicate_key)
{
	expect_error("[hum]\nclients = 1\nclients = 2\n", 3, "set twice");
}

Test(config, bad_backend)
{
	expect_error("[lab]\nbackend = podman\n", 2, "not auto, docker or local");
}

Test(config, bad_port)
{
	expect_error("[node pub]\nrole = publisher\nport = 99999\n", 3,
	    "out of range");
	expect_error("[node pub]\nrole = publisher\nport = http\n", 3,
	    "not a whole number");
}

Test(config, two_nodes_one_port)
{
	expect_error("[node a]\nrole = publisher\nport = 6000\n"
	    "[node b]\nrole = subscriber\nport = 6000\n", 4,
	    "port 6000 is already used by node a");
}

Test(config, node_on_influx_port)
{
	expect_error("[node a]\nrole = publisher\nport = 18086\n", 1,
	    "InfluxDB's port");
}

Test(config, missing_publisher)
{
	expect_error("[node a]\nrole = subscriber\nport = 6000\n", 1,
	    "no publisher");
}

Test(config, two_publishers)
{
	expect_error("[node a]\nrole = publisher\nport = 6000\n"
	    "[node b]\nrole = publisher\nport = 6001\n", 4,
	    "more than one publisher");
}

Test(config, missing_role_and_port)
{
	expect_error("[node a]\nport = 6000\n", 1, "role is missing");
	expect_error("[node a]\nrole = publisher\n", 1, "port is missing");
}

Test(config, bad_node_name)
{
	expect_error("[node Pub]\nrole = publisher\nport = 6000\n", 2,
	    "may only contain");
}

Test(config, too_many_nodes)
{
	char buf[4096] = "";
	for (int i = 0; i <= CFG_MAX_NODES; i++) {
		char sec[80];
		snprintf(sec, sizeof(sec), "[node n%d]\nrole = %s\nport = %d\n",
		    i, i ? "subscriber" : "publisher", 6000 + i);
		strcat(buf, sec);
	}
	expect_error(buf, CFG_MAX_NODES * 3 + 2, "at most");
}

Test(config, huge_values)
{
	expect_error("[hum]\nclients = 100000\n", 2, "out of range");
	expect_error("[hum]\nrate = 1e300\n", 2, "out of range");
	expect_error("[writer]\nbatch_points = 99999999999999999999\n", 2,
	    "not a whole number");
	expect_error("[hum]\nrate = nan\n", 2, "not a number");
}

Test(config, long_value)
{
	char buf[600];
	memset(buf, 0, sizeof(buf));
	strcpy(buf, "[lab]\nuser = ");
	memset(buf + strlen(buf), 'a', 100);
	strcat(buf, "\n");
	expect_error(buf, 2, "longer than");
}

Test(config, not_utf8)
{
	expect_error("[lab]\nname = x\n[hum]\nworkload = \xff\xfe\n", 4,
	    "UTF-8");
}

Test(config, lane_records_power_of_two)
{
	expect_error("[writer]\nlane_records = 1000\n", 2, "power of two");
}

Test(config, secrets_not_in_file)
{
	expect_error("[influxdb]\ntoken = abc\n", 2, "token_file");
}

Test(config, relative_path)
{
	expect_error("[lab]\nstate_dir = state\n", 2, "absolute path");
}

Test(config, script_needs_file)
{
	expect_error("[hum]\nworkload = script\n", 2, "script = FILE");
}

Test(config, locks_interval_shorter)
{
	expect_error("[sampler]\ninterval_ms = 100\nlocks_interval_ms = 50\n", 3,
	    "shorter than");
}

Test(config, hum_node_unknown)
{
	expect_error("[hum]\nnode = nope\n", 2, "no such node");
}

Test(config, influx2_needs_org)
{
	expect_error("[influxdb]\nversion = 2\n", 2, "org and bucket");
}

Test(config, backend_override)
{
	cr_assert_eq(config_load(&cfg, NULL, err, sizeof(err)), 0);
	cr_assert_eq(config_set_backend(&cfg, "docker"), 0);
	cr_assert_eq(cfg.lab.backend, BACKEND_DOCKER);
	cr_assert_eq(config_set_backend(&cfg, "vm"), -1);
}

Test(config, print_round_trips)
{
	char out[] = "/tmp/labsup-cfgprint.XXXXXX";
	int fd = mkstemp(out);
	FILE *fp = fdopen(fd, "w");
	struct config again;

	cr_assert_eq(load("[lab]\nname = rt\nstate_dir = /tmp/rt\n"
	    "[hum]\nclients = 3\nrate = 12.5\n"), 0, "%s", err);
	config_print(&cfg, fp);
	fclose(fp);
	cr_assert_eq(config_load(&again, out, err, sizeof(err)), 0, "%s", err);
	unlink(out);
	cr_assert_str_eq(again.lab.name, "rt");
	cr_assert_eq(again.hum.clients, 3);
	cr_assert_float_eq(again.hum.rate, 12.5, 1e-9);
	cr_assert_eq(again.nnodes, cfg.nnodes);
}

Test(config, section_twice)
{
	expect_error("[node a]\nrole = publisher\nport = 6000\n[hum]\n"
	    "clients = 1\n[node a]\nport = 6001\n", 6, "appears twice");
	expect_error("[hum]\nclients = 1\n[hum]\nrate = 3\n", 3,
	    "appears twice");
}

Test(config, nul_byte)
{
	FILE *fp;

	snprintf(path, sizeof(path), "/tmp/labsup-cfgtest.%d.conf",
	    (int)getpid());
	fp = fopen(path, "w");
	fwrite("[lab]\nname = x\n\0\n", 1, 17, fp);
	fclose(fp);
	cr_assert_eq(config_load(&cfg, path, err, sizeof(err)), -1);
	unlink(path);
	cr_assert(strstr(err, ":3: a NUL byte") != NULL, "%s", err);
}

Test(config, unclosed_section)
{
	expect_error("[lab\nname = x\n", 1, "without");
}

Test(config, overlong_line)
{
	char buf[400] = "[lab]\nuser = ";
	memset(buf + strlen(buf), 'a', 300);
	expect_error(buf, 2, "longer than");
}

Test(config, bind_must_be_an_address)
{
	expect_error("[lab]\nbind = localhost\n", 2, "not an IP address");
	cr_assert_eq(load("[lab]\nbind = ::1\n"), 0, "%s", err);
	cr_assert_str_eq(cfg.influx.url, "http://[::1]:18086");
}

/*
 * labsup.conf.example documents every key with its default: it and the key
 * table (lib/config.c) must agree.  Keys set in the example carry the
 * table's default; keys it leaves commented out (";key =") have none, or
 * one derived at run time.
 */
Test(config, example_file_agrees_with_the_key_table)
{
	FILE *fp = fopen("labsup.conf.example", "r");
	char line[512], section[64] = "", seen[128][80];
	int nseen = 0;
	struct config d;

	cr_assert_not_null(fp, "run the unit tests from the source tree");
	config_defaults(&d);
	while (fgets(line, sizeof(line), fp) != NULL) {
		char key[64], val[256], *s = line;
		bool commented = false;

		line[strcspn(line, "\n")] = '\0';
		if (sscanf(s, "[%63[^]]]", section) == 1)
			continue;
		if (*s == ';') {
			commented = true;
			s++;
		}
		val[0] = '\0';
		if (sscanf(s, "%63[a-z_] = %255[^\n]", key, val) < 1 ||
		    strstr(s, " =") == NULL)
			continue;
		const struct cfg_key *k = config_key(section, key);
		cr_assert_not_null(k, "labsup.conf.example: [%s] %s is not in "
		    "the key table", section, key);
		snprintf(seen[nseen++], sizeof(seen[0]), "%s.%s", k->section,
		    key);
		if (commented || config_key_per_node(k))
			continue;
		char def[CFG_PATH * 2];
		config_value(&d, k, NULL, def, sizeof(def));
		cr_assert_str_eq(val, def, "labsup.conf.example: [%s] %s = %s, "
		    "but its default is %s", section, key, val, def);
	}
	fclose(fp);
	for (size_t i = 0; i < cfg_nkeys; i++) {
		char name[80];
		bool found = cfg_keys[i].type == CT_SECRET;
		snprintf(name, sizeof(name), "%s.%s", cfg_keys[i].section,
		    cfg_keys[i].key);
		for (int j = 0; j < nseen && !found; j++)
			found = !strcmp(seen[j], name);
		cr_assert(found, "labsup.conf.example does not document [%s] %s",
		    cfg_keys[i].section, cfg_keys[i].key);
	}
}

/* config_print cfg, and load what it printed into *back. */
static void
print_and_load(struct config *back)
{
	char ppath[64], err2[600];
	FILE *fp;

	snprintf(ppath, sizeof(ppath), "/tmp/labsup-cfgprint.%d.conf",
	    (int)getpid());
	fp = fopen(ppath, "w");
	cr_assert_not_null(fp);
	config_print(&cfg, fp);
	fclose(fp);
	cr_assert_eq(config_load(back, ppath, err2, sizeof(err2)), 0, "%s",
	    err2);
	unlink(ppath);
}

/* config check prints what config_load reads back as the same config. */
Test(config, printed_config_reads_back_the_same)
{
	char a[CFG_PATH * 2], b[CFG_PATH * 2];
	struct config back;

	cr_assert_eq(load("[lab]\nname = rt\n[node p]\nrole = publisher\n"
	    "port = 2000\n[node s]\nrole = subscriber\nport = 2001\n"
	    "tables = accounts\n[hum]\nrate = 12.5\nchaos = yes\n"), 0, "%s",
	    err);
	print_and_load(&back);
	cr_assert_eq(back.nnodes, cfg.nnodes);
	for (size_t i = 0; i < cfg_nkeys; i++) {
		const struct cfg_key *k = &cfg_keys[i];
		int nn = !config_key_per_node(k) ? 1 : cfg.nnodes;
		for (int j = 0; j < nn; j++) {
			const struct node_cfg *n1 = nn > 1 ||
			    config_key_per_node(k) ? &cfg.nodes[j] : NULL;
			const struct node_cfg *n2 = n1 ? &back.nodes[j] : NULL;
			cr_assert_str_eq(config_value(&back, k, n2, b, sizeof(b)),
			    config_value(&cfg, k, n1, a, sizeof(a)), "[%s] %s",
			    k->section, k->key);
		}
	}
}

/* issue 15: [hum NAME] groups, each with the table's defaults. */
Test(config, hum_groups)
{
	cr_assert_eq(load("[node p]\nrole = publisher\nport = 2000\n"
	    "[node s]\nrole = subscriber\nport = 2001\n"
	    "[hum]\nrate = 10\n"
	    "[hum reads]\nclients = 3\nworkload = select\nnode = s\n"
	    "profile = pulse\nperiod_s = 20\npulse_s = 5\npeak = 4\n"
	    "[hum w2]\nrate = 7\n"), 0, "%s", err);
	cr_assert_eq(config_hum_ngroups(&cfg), 3);
	cr_assert_str_eq(config_hum_group(&cfg, 0)->name, "default");
	cr_assert_eq(config_hum_group(&cfg, 0)->rate, 10);
	const struct hum_cfg *g = config_hum_find(&cfg, "reads");
	cr_assert_not_null(g);
	cr_assert_eq(g->clients, 3);
	cr_assert_eq(g->workload, WL_SELECT);
	cr_assert_str_eq(g->node, "s");
	cr_assert_eq(g->profile, HP_PULSE);
	cr_assert_eq(g->period_s, 20);
	cr_assert_eq(g->peak, 4);
	/* the table's defaults, not [hum]'s values */
	cr_assert_eq(g->rate, 100);
	g = config_hum_find(&cfg, "w2");
	cr_assert_eq(g->clients, 2);
	cr_assert_eq(g->rate, 7);
	cr_assert_eq(g->profile, HP_FLAT);
	cr_assert_null(config_hum_find(&cfg, "nope"));
}

Test(config, hum_group_errors)
{
	expect_error("[hum default]\nrate = 1\n", 1,
	    "the default group is plain [hum]");
	expect_error("[lab]\nname = x\n\n[hum Reads]\nrate = 1\n", 4,
	    "may only contain a-z");
	expect_error("[hum averyveryverylongname]\nrate = 1\n", 1,
	    "longer than 11");
	expect_error("[hum r]\nrate = 1\n\n[hum r]\nrate = 2\n", 4,
	    "appears twice");
	expect_error("[hum r]\nrate = 1\nbogus = 2\n", 3,
	    "unknown key \"bogus\" in [hum r]");
	expect_error("[hum r]\nrate = 1\n\nnode = nowhere\n", 4,
	    "[hum r] node = nowhere: no such node");
	expect_error("[hum r]\nworkload = script\n", 2,
	    "[hum r] workload = script needs script");
	expect_error("[hum r]\nrate = 0\nprofile = sine\n", 3,
	    "profile = sine needs a rate");
	expect_error("[hum]\nprofile = pulse\nperiod_s = 10\npulse_s = 10\n",
	    4, "pulse_s 10 is not under period_s 10");
	expect_error("[hum q]\nprofile = ramp\nlow = 5\npeak = 2\n", 4,
	    "[hum q] low 5 is above peak 2");
	expect_error("[hum q]\nprofile = square\n", 2,
	    "is not flat, pulse, ramp or sine");
	expect_error("[hum a]\nrate = 1\n[hum b]\nrate = 1\n[hum c]\nrate = 1\n"
	    "[hum d]\nrate = 1\n[hum e]\nrate = 1\n[hum f]\nrate = 1\n"
	    "[hum g]\nrate = 1\n[hum h]\nrate = 1\n[hum i]\nrate = 1\n", 17,
	    "at most 8");
}

Test(config, hum_groups_print_and_read_back)
{
	char a[CFG_PATH * 2], b[CFG_PATH * 2];
	struct config back;

	cr_assert_eq(load("[hum]\nclients = 1\n[hum ro]\nclients = 4\n"
	    "profile = sine\nlow = 0.5\n[hum x]\nchaos = yes\n"), 0, "%s",
	    err);
	print_and_load(&back);
	cr_assert_eq(config_hum_ngroups(&back), 3);
	for (int g = 0; g < 3; g++)
		for (size_t i = 0; i < cfg_nkeys; i++) {
			const struct cfg_key *k = &cfg_keys[i];
			if (strcmp(k->section, "hum"))
				continue;
			cr_assert_str_eq(config_hum_value(&back, k,
			    config_hum_group(&back, g), b, sizeof(b)),
			    config_hum_value(&cfg, k, config_hum_group(&cfg, g),
			    a, sizeof(a)), "group %d: %s", g, k->key);
		}
	cr_assert_str_eq(config_hum_group(&back, 1)->name, "ro");
}

/* issue 15: [node] settings, memory and cpus. */
Test(config, node_settings)
{
	char name[80], value[256];
	const char *p;

	cr_assert_eq(load("[node p]\nrole = publisher\nport = 2000\n"
	    "settings = work_mem = 8MB;shared_buffers=32MB;  search_path='a, b'\n"
	    "memory = 512m\ncpus = 1.5\n"), 0, "%s", err);
	p = cfg.nodes[0].settings;
	cr_assert_eq(config_setting_next(&p, name, sizeof(name), value,
	    sizeof(value)), 1);
	cr_assert_str_eq(name, "work_mem");
	cr_assert_str_eq(value, "8MB");
	cr_assert_eq(config_setting_next(&p, name, sizeof(name), value,
	    sizeof(value)), 1);
	cr_assert_str_eq(name, "shared_buffers");
	cr_assert_eq(config_setting_next(&p, name, sizeof(name), value,
	    sizeof(value)), 1);
	cr_assert_str_eq(value, "'a, b'");
	cr_assert_eq(config_setting_next(&p, name, sizeof(name), value,
	    sizeof(value)), 0);
	cr_assert_eq(cfg.nodes[0].settings_line, 4);
	cr_assert_eq(cfg.nodes[0].memory_bytes, 512LL << 20);
	cr_assert_float_eq(cfg.nodes[0].cpus, 1.5, 1e-12);
}

Test(config, node_settings_errors)
{
	static const char head[] = "[node p]\nrole = publisher\nport = 2000\n";
	char text[512];

	snprintf(text, sizeof(text), "%ssettings = work_mem\n", head);
	expect_error(text, 4, "[node p] settings: \"work_mem\" is not name=value");
	snprintf(text, sizeof(text), "%ssettings = Work-Mem=1\n", head);
	expect_error(text, 4, "is not a setting name");
	snprintf(text, sizeof(text), "%ssettings = work_mem=\n", head);
	expect_error(text, 4, "work_mem: the value is empty");
	snprintf(text, sizeof(text), "%s\nsettings = a=1;b=2;a=3\n", head);
	expect_error(text, 5, "a is set twice");
	snprintf(text, sizeof(text), "%ssettings = wal_level=replica\n", head);
	expect_error(text, 4, "wal_level is labsup's to set");
	snprintf(text, sizeof(text), "%smemory = lots\n", head);
	expect_error(text, 4, "[node p] memory = lots: expected a size");
	snprintf(text, sizeof(text), "%smemory = 1k\n", head);
	expect_error(text, 4, "at least 4m");
	snprintf(text, sizeof(text), "%scpus = -1\n", head);
	expect_error(text, 4, "out of range");
}

/* issue 15: [replication] schema = FILE: its tables, its errors. */
#include "../../lib/schema.h"

static void
schema_file(const char *text, char *sp, size_t len)
{
	FILE *fp;

	snprintf(sp, len, "/tmp/labsup-schema.%d.sql", (int)getpid());
	fp = fopen(sp, "w");
	cr_assert_not_null(fp);
	fputs(text, fp);
	fclose(fp);
}

Test(config, own_schema_tables)
{
	char sp[64], text[256];

	schema_file("-- CREATE TABLE nope (x int);\n"
	    "CREATE TABLE Customers (id int PRIMARY KEY, note text DEFAULT "
	    "'create table x');\n/* CREATE TABLE hidden () */\n"
	    "create unlogged table if not exists public.orders (id int);\n"
	    "CREATE INDEX ON orders (id);\n", sp, sizeof(sp));
	snprintf(text, sizeof(text), "[replication]\nschema = %s\n"
	    "[hum]\nworkload = script\nscript = /x.sql\n", sp);
	cr_assert_eq(load(text), 0, "%s", err);
	cr_assert_eq(schema_load(&cfg, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(schema_ntables, 3);
	cr_assert_str_eq(schema_tables[0], "customers");
	cr_assert_str_eq(schema_tables[1], "orders");
	cr_assert_str_eq(schema_tables[2], "heartbeat");
	unlink(sp);
}

Test(config, own_schema_errors)
{
	char sp[64], text[256];

	snprintf(text, sizeof(text), "[replication]\nschema = relative.sql\n");
	expect_error(text, 2, "pgbench, or the absolute path");
	expect_error("[replication]\ndata = /d\n", 2, "data needs schema = FILE");
	schema_file("CREATE TABLE t (id int);\n", sp, sizeof(sp));
	snprintf(text, sizeof(text), "[replication]\nschema = %s\n", sp);
	expect_error(text, 1, "workload = tpcb runs on the pgbench tables");
	snprintf(text, sizeof(text), "[replication]\nschema = %s\n"
	    "[hum]\nclients = 0\n", sp);
	cr_assert_eq(load(text), 0, "%s", err);
	schema_file("\n\nCREATE TABLE heartbeat (id int);\n", sp, sizeof(sp));
	cr_assert_eq(schema_load(&cfg, err, sizeof(err)), -1);
	cr_assert(strstr(err, ":3: heartbeat is labsup's own") != NULL, "%s",
	    err);
	schema_file("SELECT 1;\n", sp, sizeof(sp));
	cr_assert_eq(schema_load(&cfg, err, sizeof(err)), -1);
	cr_assert(strstr(err, ":1: no CREATE TABLE") != NULL, "%s", err);
	unlink(sp);
}
