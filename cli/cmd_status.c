/*
 * cmd_status.c: `labsup status [--json]`, the progress `labsup start` prints
 * while the lab comes up, and the summary it ends with.  Everything here
 * reads the shared segment; nothing asks a server.
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"

static json_t *
status_json(const struct config *cfg, const struct snapshot *s, bool running)
{
	json_t *root = json_object(), *svcs = json_array(),
	    *workers = json_array();
	const struct snap_worker *wr;

	json_object_set_new(root, "running", json_boolean(running));
	json_object_set_new(root, "lab", json_string(cfg->lab.name));
	json_object_set_new(root, "backend", json_string(s->backend[0] ?
	    s->backend : cfg->lab.backend >= 0 ?
	    backend_name(cfg->lab.backend) : "unknown"));
	json_object_set_new(root, "pid", json_integer(s->supervisor_pid));
	json_object_set_new(root, "state_dir",
	    json_string(cfg->lab.state_dir));
	json_object_set_new(root, "config_generation",
	    json_integer((json_int_t)s->info.generation));
	json_object_set_new(root, "reloads",
	    json_integer((json_int_t)s->info.reloads));
	json_object_set_new(root, "reload_failures",
	    json_integer((json_int_t)s->info.reload_failures));
	for (uint32_t i = 0; i < s->nsvc; i++) {
		const struct svc_info *v = &s->svcs[i];
		if (v->name[0] == '\0')
			continue;
		json_t *o = json_object();
		json_object_set_new(o, "name", json_string(v->name));
		json_object_set_new(o, "role", json_string(svc_role_name(v->role)));
		json_object_set_new(o, "state",
		    json_string(svc_state_name(v->state)));
		json_object_set_new(o, "port", json_integer(v->port));
		json_object_set_new(o, "detail", json_string(v->detail));
		json_object_set_new(o, "cpu_pct", json_real(v->cpu_pct));
		json_object_set_new(o, "mem_bytes", json_integer(v->mem_bytes));
		json_object_set_new(o, "restarts", json_integer(v->restarts));
		json_array_append_new(svcs, o);
	}
	json_object_set_new(root, "services", svcs);
	for (uint32_t i = 1; i < s->nslots; i++) {
		const struct snap_worker *w = &s->workers[i];
		if (w->state == WS_EMPTY)
			continue;
		json_t *o = json_object(), *c = json_array();
		json_object_set_new(o, "name", json_string(w->sup.name));
		json_object_set_new(o, "kind",
		    json_string(worker_kind_name(w->sup.kind)));
		json_object_set_new(o, "pid", json_integer(w->sup.pid));
		json_object_set_new(o, "state",
		    json_string(worker_state_name(w->state)));
		json_object_set_new(o, "restarts", json_integer(w->sup.restarts));
		json_object_set_new(o, "detail", json_string(w->own.detail));
		json_object_set_new(o, "slot", json_integer(i));
		for (int k = 0; k < NCOUNTERS; k++)
			json_array_append_new(c, json_integer(w->own.counters[k]));
		json_object_set_new(o, "counters", c);
		json_array_append_new(workers, o);
	}
	json_object_set_new(root, "workers", workers);
	json_object_set_new(root, "influxdb", json_pack("{s:s, s:s}",
	    "url", s->info.influx_url[0] ? s->info.influx_url :
	    cfg->influx.url, "database", s->info.influx_db[0] ?
	    s->info.influx_db : cfg->influx.version == 2 ?
	    cfg->influx.bucket : cfg->influx.database));
	json_object_set_new(root, "ring", json_pack("{s:I, s:I, s:I, s:I}",
	    "produced", (json_int_t)s->produced,
	    "committed", (json_int_t)s->committed,
	    "dropped", (json_int_t)s->dropped,
	    "pending", (json_int_t)(s->produced - s->committed)));
	wr = cli_worker(s, WK_WRITER, NULL);
	if (wr != NULL) {
		const int64_t *c = wr->own.counters;
		json_object_set_new(root, "writer", json_pack(
		    "{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:b}",
		    "points_written", (json_int_t)c[WC_POINTS],
		    "rejected", (json_int_t)c[WC_REJECTED],
		    "replayed", (json_int_t)c[WC_REPLAYED],
		    "batches", (json_int_t)c[WC_BATCHES],
		    "bytes", (json_int_t)c[WC_BYTES],
		    "spooled", (json_int_t)c[WC_SPOOLED],
		    "spool_bytes", (json_int_t)c[WC_SPOOL_BYTES],
		    "spool_dropped", (json_int_t)c[WC_SPOOL_DROPPED],
		    "retries", (json_int_t)c[WC_RETRIES],
		    "errors", (json_int_t)c[WC_ERRORS],
		    "influxdb_up", c[WC_INFLUX_UP] != 0));
	} else
		json_object_set_new(root, "writer", json_pack(
		    "{s:i, s:i, s:i, s:i}", "points_written", 0, "batches", 0,
		    "spooled", 0, "errors", 0));
	return root;
}

static void
status_print(const struct config *cfg, const struct snapshot *s)
{
	int64_t up = (now_ns() - s->boot_ns) / 1000000000;
	const struct snap_worker *wr;
	char mem[32];

	printf("lab %s: running (pid %d, backend %s, up %lldh%02lldm%02llds, "
	    "config generation %llu)\n", cfg->lab.name, (int)s->supervisor_pid,
	    s->backend[0] ? s->backend : "choosing",
	    (long long)(up / 3600), (long long)(up / 60 % 60),
	    (long long)(up % 60), (unsigned long long)s->info.generation);
	if (s->info.reload_failures)
		printf("  reloads refused: %llu, last: %s\n",
		    (unsigned long long)s->info.reload_failures,
		    s->info.last_reload_error);
	printf("\n%-10s %-11s %-12s %-6s %6s %8s  %s\n", "SERVICE", "ROLE",
	    "STATE", "PORT", "CPU%", "MEM", "DETAIL");
	for (uint32_t i = 0; i < s->nsvc; i++) {
		const struct svc_info *v = &s->svcs[i];
		if (v->name[0] == '\0')
			continue;
		cli_bytes(v->mem_bytes, false, mem, sizeof(mem));
		printf("%-10s %-11s %-12s %-6d %6.1f %8s  %s\n", v->name,
		    svc_role_name(v->role), svc_state_name(v->state), v->port,
		    v->cpu_pct, mem, v->detail);
	}
	printf("\n%-14s %-12s %-8s %-9s %-8s %s\n", "WORKER", "KIND", "PID",
	    "STATE", "RESTARTS", "DETAIL");
	for (uint32_t i = 1; i < s->nslots; i++) {
		const struct snap_worker *w = &s->workers[i];
		if (w->state == WS_EMPTY)
			continue;
		printf("%-14s %-12s %-8d %-9s %-8u %s\n", w->sup.name,
		    worker_kind_name(w->sup.kind), (int)w->sup.pid,
		    worker_state_name(w->state), w->sup.restarts,
		    w->own.detail);
	}
	printf("\nring: %llu produced, %llu committed, %llu pending, %llu "
	    "dropped\n", (unsigned long long)s->produced,
	    (unsigned long long)s->committed,
	    (unsigned long long)(s->produced - s->committed),
	    (unsigned long long)s->dropped);
	wr = cli_worker(s, WK_WRITER, NULL);
	if (wr != NULL) {
		const int64_t *c = wr->own.counters;
		printf("writer: %lld points in %lld batches, %lld spooled "
		    "(%lld bytes now), %lld errors, InfluxDB %s\n",
		    (long long)c[WC_POINTS], (long long)c[WC_BATCHES],
		    (long long)c[WC_SPOOLED], (long long)c[WC_SPOOL_BYTES],
		    (long long)c[WC_ERRORS], c[WC_INFLUX_UP] ? "up" : "down");
	}
	printf("influxdb: %s, database %s\n", s->info.influx_url,
	    s->info.influx_db);
}

int
cmd_status(int argc, char **argv)
{
	struct config *cfg;
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	bool json = false;
	struct snapshot *snap;
	struct seg seg;
	pid_t pid;
	int ch;

	while ((ch = getopt_long(argc, argv, "+j", opts, NULL)) != -1) {
		switch (ch) {
		case 'j': json = true; break;
		default:
			cli_usage_error("status: unknown option or missing value \"%s\"", argv[optind - 1]);
		}
	}
	if (optind != argc)
		cli_usage_error("status: unexpected argument \"%s\"",
		    argv[optind]);
	cfg = cli_cfg();	/* once the command line is known good */
	if (cfg_error[0])
		fprintf(stderr, "labsup: warning: %s (a running lab keeps the "
		    "config it has)\n", cfg_error);
	snap = calloc(1, sizeof(*snap));
	if (snap == NULL)
		return 1;
	pid = cli_running_pid(cfg);
	if (pid == 0 || cli_open_seg(cfg, &seg, false, true) == -1 ||
	    atomic_load(&seg.hdr->supervisor_pid) != pid) {
		if (json) {
			json_t *o = status_json(cfg, snap, false);
			json_dumpf(o, stdout, JSON_INDENT(2));
			putchar('\n');
			json_decref(o);
		} else
			printf("lab %s is not running (start it with `labsup "
			    "start%s%s`)\n", cfg->lab.name,
			    cfg->path[0] ? " -c " : "", cfg->path);
		free(snap);
		return EXIT_NOT_RUNNING;
	}
	cli_snapshot(&seg, snap);
	if (json) {
		json_t *o = status_json(cfg, snap, true);
		json_dumpf(o, stdout, JSON_INDENT(2));
		putchar('\n');
		json_decref(o);
	} else
		status_print(cfg, snap);
	seg_close(&seg);
	free(snap);
	return 0;
}

void
cli_summary(const struct config *cfg, const struct snapshot *s)
{
	const struct node_cfg *pub = config_publisher(cfg);
	const char *cflag = cfg->path[0] ? " -c " : "";

	printf("\nlab %s is ready (backend %s)\n\n", cfg->lab.name,
	    s->backend[0] ? s->backend : "?");
	for (uint32_t i = 0; i < s->nsvc; i++) {
		const struct svc_info *v = &s->svcs[i];
		if (v->name[0] == '\0')
			continue;
		if (v->state == SS_READY)
			printf("  %-9s %-11s %s:%d\n", v->name,
			    svc_role_name(v->role), cfg->lab.bind, v->port);
		else
			printf("  %-9s %-11s %s: %s\n", v->name,
			    svc_role_name(v->role), svc_state_name(v->state),
			    v->detail);
	}
	printf("\n  connect:    labsup psql %s%s%s\n", pub ? pub->name : "pub",
	    cflag, cfg->path);
	if (pub != NULL)
		printf("              PGPASSFILE=%s/%s psql \"host=%s port=%d "
		    "dbname=%s user=%s\"\n", cfg->lab.state_dir, LAB_PASSFILE,
		    cfg->lab.bind, pub->port, cfg->lab.database, cfg->lab.user);
	printf("  influxdb:   %s (database %s)\n", cfg->influx.url,
	    cfg->influx.version == 2 ? cfg->influx.bucket :
	    cfg->influx.database);
	printf("  dashboards: http://%s:%d (Locks, Activity, Replication, Hum, "
	    "Lab) when Grafana runs\n", cfg->lab.bind, cfg->grafana.port);
	printf("  status:     labsup status%s%s    live: labsup top%s%s\n",
	    cflag, cfg->path, cflag, cfg->path);
	printf("  stop:       labsup stop%s%s   (--purge deletes the data)\n",
	    cflag, cfg->path);
}

/* Print a line whenever a worker's or service's state or detail changes. */
int
cli_follow_start(const struct config *cfg, struct seg *seg, pid_t pid,
    int timeout, bool quiet)
{
	struct snapshot *prev = calloc(1, sizeof(*prev));
	struct snapshot *cur = calloc(1, sizeof(*cur));
	int64_t deadline = mono_ns() + (int64_t)timeout * 1000000000;
	int status, rc = 1;

	if (prev == NULL || cur == NULL)
		return 1;
	if (!quiet)
		printf("labsup: starting lab %s (supervisor pid %d, log %s/%s)\n",
		    cfg->lab.name, (int)pid, cfg->lab.state_dir, LAB_LOGFILE);
	for (;;) {
		if (waitpid(pid, &status, WNOHANG) == pid) {
			fprintf(stderr, "labsup: the supervisor exited during "
			    "start-up; see %s/%s\n", cfg->lab.state_dir,
			    LAB_LOGFILE);
			break;
		}
		cli_snapshot(seg, cur);
		bool all_running = true, failed = false;
		int nworkers = 0;
		for (uint32_t i = 1; i < cur->nslots; i++) {
			struct snap_worker *w = &cur->workers[i], *p =
			    &prev->workers[i];
			if (w->state == WS_EMPTY)
				continue;
			nworkers++;
			if (!quiet && (w->state != p->state ||
			    strcmp(w->own.detail, p->own.detail)))
				printf("  %-14s %s%s%s\n", w->sup.name,
				    worker_state_name(w->state),
				    w->own.detail[0] ? ": " : "", w->own.detail);
			if (w->state != WS_RUNNING)
				all_running = false;
			if (w->state == WS_FAILED) {
				failed = true;
				fprintf(stderr, "labsup: %s failed: %s\n",
				    w->sup.name, w->own.detail[0] ?
				    w->own.detail : "see the log");
			}
		}
		for (uint32_t i = 0; i < cur->nsvc; i++) {
			struct svc_info *v = &cur->svcs[i], *p = &prev->svcs[i];
			if (v->name[0] == '\0')
				continue;
			if (!quiet && (v->state != p->state ||
			    strcmp(v->detail, p->detail)))
				printf("  service %-6s %s%s%s\n", v->name,
				    svc_state_name(v->state),
				    v->detail[0] ? ": " : "", v->detail);
			if (v->state != SS_READY && v->state != SS_UNAVAILABLE)
				all_running = false;
			if (v->state == SS_FAILED)
				failed = true;
		}
		memcpy(prev, cur, sizeof(*cur));
		if (failed) {
			fprintf(stderr, "labsup: lab %s did not start; it is still "
			    "running so you can look: `labsup status`, the log "
			    "at %s/%s, `labsup stop` when done\n", cfg->lab.name,
			    cfg->lab.state_dir, LAB_LOGFILE);
			break;
		}
		if (all_running && nworkers > 0) {
			if (!quiet)
				cli_summary(cfg, cur);
			rc = 0;
			break;
		}
		if (mono_ns() > deadline) {
			fprintf(stderr, "labsup: lab %s is not ready after %d s; "
			    "it keeps trying: see `labsup status` and %s/%s\n",
			    cfg->lab.name, timeout, cfg->lab.state_dir,
			    LAB_LOGFILE);
			break;
		}
		usleep(200000);
	}
	fflush(stdout);
	free(prev);
	free(cur);
	return rc;
}
