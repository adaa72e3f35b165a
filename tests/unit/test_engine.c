/*
 * test_engine.c: the Docker Engine API client's pure parts: API version
 * negotiation, progress-stream errors, image names, stats arithmetic, the
 * tar it sends (checked by extracting it with tar(1)), and the one-line
 * errors a user sees when no engine answers.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../docker/engine.h"

static json_t *
version(const char *api, const char *min)
{
	return json_pack("{s:s, s:s}", "ApiVersion", api, "MinAPIVersion", min);
}

Test(engine, api_num)
{
	cr_assert_eq(engine_api_num("1.41"), 141);
	cr_assert_eq(engine_api_num("1.5"), 105);
	cr_assert_eq(engine_api_num("1."), -1);
	cr_assert_eq(engine_api_num("x"), -1);
	cr_assert_eq(engine_api_num("1.41beta"), -1);
	cr_assert_eq(engine_api_num(NULL), -1);
}

Test(engine, api_pick_speaks_the_engines_version)
{
	char out[16], err[256];
	json_t *v = version("1.41", "1.12");

	cr_assert_eq(engine_api_pick(v, out, sizeof(out), err, sizeof(err)), 0);
	cr_assert_str_eq(out, "1.41");
	json_decref(v);
}

Test(engine, api_pick_caps_a_newer_engine)
{
	char out[16], err[256];
	json_t *v = version("1.47", "1.24");

	cr_assert_eq(engine_api_pick(v, out, sizeof(out), err, sizeof(err)), 0);
	cr_assert_str_eq(out, ENGINE_API_MAX);
	json_decref(v);
}

Test(engine, api_pick_refuses_an_old_engine_and_says_upgrade)
{
	char out[16], err[256];
	json_t *v = version("1.24", "1.12");

	cr_assert_eq(engine_api_pick(v, out, sizeof(out), err, sizeof(err)),
	    -1);
	cr_assert(strstr(err, "upgrade Docker") != NULL, "err: %s", err);
	cr_assert(strstr(err, ENGINE_API_MIN) != NULL, "err: %s", err);
	json_decref(v);
}

Test(engine, api_pick_refuses_garbage)
{
	char out[16], err[256];
	json_t *v = json_pack("{s:s}", "Version", "20.10");

	cr_assert_eq(engine_api_pick(v, out, sizeof(out), err, sizeof(err)),
	    -1);
	json_decref(v);
}

Test(engine, stream_error_finds_the_error_among_progress)
{
	const char *s = "{\"status\":\"Pulling from library/x\"}\r\n"
	    "{\"status\":\"Downloading\",\"progress\":\"[=> ]\"}\n"
	    "{\"errorDetail\":{\"message\":\"Get https://registry-1: dial "
	    "tcp: lookup registry-1\\nno such host\"},"
	    "\"error\":\"Get https://registry-1: no such host\"}\n";
	const char *m = engine_stream_error(s, strlen(s));

	cr_assert_not_null(m);
	cr_assert_str_eq(m, "Get https://registry-1: no such host");
}

Test(engine, stream_error_none_on_success)
{
	const char *s = "{\"status\":\"sha256:abc\"}\n";

	cr_assert_null(engine_stream_error(s, strlen(s)));
	cr_assert_null(engine_stream_error("", 0));
}

Test(engine, stream_error_detail_only_and_one_line)
{
	const char *s = "{\"errorDetail\":{\"message\":\"a\\nb\"}}";
	const char *m = engine_stream_error(s, strlen(s));

	cr_assert_not_null(m);
	cr_assert_str_eq(m, "a b");
}

Test(engine, split_image)
{
	char repo[64], tag[64];

	engine_split_image("labsup/postgres:15", repo, sizeof(repo), tag,
	    sizeof(tag));
	cr_assert_str_eq(repo, "labsup/postgres");
	cr_assert_str_eq(tag, "15");
	engine_split_image("grafana/grafana-oss", repo, sizeof(repo), tag,
	    sizeof(tag));
	cr_assert_str_eq(repo, "grafana/grafana-oss");
	cr_assert_str_eq(tag, "latest");
	/* a registry port is not a tag */
	engine_split_image("reg.local:5000/pg", repo, sizeof(repo), tag,
	    sizeof(tag));
	cr_assert_str_eq(repo, "reg.local:5000/pg");
	cr_assert_str_eq(tag, "latest");
	engine_split_image("reg.local:5000/pg:16", repo, sizeof(repo), tag,
	    sizeof(tag));
	cr_assert_str_eq(repo, "reg.local:5000/pg");
	cr_assert_str_eq(tag, "16");
}

Test(engine, escape)
{
	char buf[128];

	cr_assert_eq(engine_escape("{\"label\":[\"labsup.lab=a b\"]}", buf,
	    sizeof(buf)), 0);
	cr_assert_str_eq(buf,
	    "%7B%22label%22%3A%5B%22labsup.lab%3Da%20b%22%5D%7D");
	cr_assert_eq(engine_escape("abcdef", buf, 4), -1);
}

/* A cgroup v2 sample as `GET /containers/{id}/stats` returns it. */
static const char *stats1 = "{\"cpu_stats\":{\"cpu_usage\":{\"total_usage\":"
    "1000000000},\"system_cpu_usage\":100000000000,\"online_cpus\":2},"
    "\"memory_stats\":{\"usage\":50000000,\"stats\":{\"inactive_file\":"
    "10000000}},\"networks\":{\"eth0\":{\"rx_bytes\":100,\"tx_bytes\":"
    "200},\"eth1\":{\"rx_bytes\":1,\"tx_bytes\":2}}}";
static const char *stats2 = "{\"cpu_stats\":{\"cpu_usage\":{\"total_usage\":"
    "1500000000},\"system_cpu_usage\":102000000000,\"online_cpus\":2},"
    "\"memory_stats\":{\"usage\":60000000,\"stats\":{\"inactive_file\":"
    "10000000}},\"networks\":{\"eth0\":{\"rx_bytes\":300,\"tx_bytes\":"
    "400}}}";

Test(engine, stats_memory_network_cpu)
{
	struct engine_stats a, b, zero;
	json_t *j1 = json_loads(stats1, 0, NULL), *j2 = json_loads(stats2, 0,
	    NULL);

	cr_assert_eq(engine_stats_parse(j1, &a), 0);
	cr_assert_eq(a.mem_bytes, 40000000, "page cache is not counted");
	cr_assert_eq(a.rx_bytes, 101);
	cr_assert_eq(a.tx_bytes, 202);
	cr_assert_eq(a.online_cpus, 2);
	cr_assert_eq(engine_stats_parse(j2, &b), 0);
	/* 0.5 s of CPU over 2 s of host time on 2 CPUs = 50 % of one core */
	cr_assert_float_eq(engine_cpu_pct(&a, &b), 50.0, 1e-9);
	memset(&zero, 0, sizeof(zero));
	cr_assert_float_eq(engine_cpu_pct(&zero, &b), 0.0, 1e-9,
	    "no previous sample: no figure");
	cr_assert_float_eq(engine_cpu_pct(&b, &a), 0.0, 1e-9,
	    "counters going back (a restart) give 0, not garbage");
	json_decref(j1);
	json_decref(j2);
}

Test(engine, stats_rejects_non_stats)
{
	struct engine_stats s;
	json_t *j = json_loads("{\"message\":\"No such container\"}", 0, NULL);

	cr_assert_eq(engine_stats_parse(j, &s), -1);
	json_decref(j);
}

Test(engine, tar_extracts_with_tar1)
{
	char dir[64], cmd[256], buf[256], longname[200];
	FILE *fp, *p;
	size_t n;

	snprintf(dir, sizeof(dir), "/tmp/labsup-tartest.%d", (int)getpid());
	snprintf(cmd, sizeof(cmd), "mkdir -p %s", dir);
	cr_assert_eq(system(cmd), 0);
	memset(longname, 0, sizeof(longname));
	strcpy(longname, "d/");
	memset(longname + 2, 'x', 150);	/* needs a GNU long name */
	snprintf(buf, sizeof(buf), "%s/t.tar", dir);
	fp = fopen(buf, "w+");
	cr_assert_not_null(fp);
	cr_assert_eq(engine_tar_add(fp, "d", '5', 0755, 0, 0, NULL, 0), 0);
	cr_assert_eq(engine_tar_add(fp, "d/secret", '0', 0600, 999, 999,
	    "pw", 2), 0);
	cr_assert_eq(engine_tar_add(fp, "d/link", '2', 0777, 0, 0, "secret",
	    6), 0);
	cr_assert_eq(engine_tar_add(fp, longname, '0', 0644, 0, 0, "L", 1), 0);
	cr_assert_eq(engine_tar_end(fp), 0);
	fclose(fp);

	snprintf(cmd, sizeof(cmd), "tar -tvf %s/t.tar --numeric-owner", dir);
	p = popen(cmd, "r");
	cr_assert_not_null(p);
	n = fread(buf, 1, sizeof(buf) - 1, p);
	buf[n] = '\0';
	cr_assert_eq(pclose(p), 0, "tar(1) rejects our archive");
	cr_assert(strstr(buf, "-rw------- 999/999") != NULL, "%s", buf);
	cr_assert(strstr(buf, "d/link -> secret") != NULL, "%s", buf);
	snprintf(cmd, sizeof(cmd), "cd %s && tar -xf t.tar && "
	    "[ \"$(cat d/secret)\" = pw ] && [ \"$(cat d/x*)\" = L ]", dir);
	cr_assert_eq(system(cmd), 0, "contents differ after extraction");
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	(void)system(cmd);
}

Test(engine, no_socket_says_what_to_do)
{
	struct engine e;

	cr_assert_eq(engine_open(&e, "unix:///nonexistent/docker.sock"), -1);
	cr_assert(strstr(e.err, "start dockerd") != NULL, "err: %s", e.err);
	cr_assert(strstr(e.err, "DOCKER_HOST") != NULL, "err: %s", e.err);
	cr_assert(strchr(e.err, '\n') == NULL);
}

Test(engine, bad_docker_host_is_named)
{
	struct engine e;

	cr_assert_eq(engine_open(&e, "ssh://somewhere"), -1);
	cr_assert(strstr(e.err, "ssh://somewhere") != NULL, "err: %s", e.err);
}

Test(engine, tcp_refused_says_check_docker_host)
{
	struct engine e;

	/* port 1 on loopback: nothing listens there */
	cr_assert_eq(engine_open(&e, "tcp://127.0.0.1:1"), -1);
	cr_assert(strstr(e.err, "check DOCKER_HOST") != NULL, "err: %s",
	    e.err);
}

Test(engine, port_taken_leads_with_the_port)
{
	struct engine e;
	char buf[160];
	json_t *resp = json_pack("{s:s}", "message", "driver failed "
	    "programming external connectivity on endpoint labsup-x-sub2 "
	    "(0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef)"
	    ": Error starting userland proxy: listen tcp4 127.0.0.1:25608: "
	    "bind: address already in use");

	memset(&e, 0, sizeof(e));
	e.status = 500;
	engine_errmsg(&e, resp, "labsup-x-sub2", buf, sizeof(buf));
	cr_assert(strncmp(buf, "port 127.0.0.1:25608 is taken", 29) == 0,
	    "%s", buf);
	json_decref(resp);
}

Test(engine, api_version_must_be_plain_digits)
{
	char out[16], err[256];
	const char *bad[] = { " 1.41", "\n1.43", "+1.41", "1.+41", "1. 41",
		"-1.41", "1.41x" };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_t *v = version(bad[i], "1.12");
		cr_assert_eq(engine_api_num(bad[i]), -1, "accepted \"%s\"",
		    bad[i]);
		cr_assert_eq(engine_api_pick(v, out, sizeof(out), err,
		    sizeof(err)), -1, "picked \"%s\"", bad[i]);
		json_decref(v);
	}
}
