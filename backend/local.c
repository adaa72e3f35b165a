/*
 * local.c: the local backend: each PostgreSQL node a postmaster with its
 * own data directory under <state_dir>/pg (local_pg.c), InfluxDB and
 * Grafana local daemons (local_services.c), all on local_proc.c's helpers.
 * This file is the glue: the backend_local table and what it dispatches.
 *
 * Servers are started detached (double fork + setsid) so they outlive the
 * worker and the supervisor; a later ensure() adopts them by their pidfile
 * and a connection check.  ensure() never blocks on a slow step: initdb and
 * server start-up run in the background and are polled on the next pass.
 */
#include <dirent.h>
#include <errno.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../lib/labsup.h"
#include "local.h"

/* the config's services and the orphans the container worker looks at */
#define LOCAL_MAX_SVC (CFG_MAX_NODES * 4 + 2)
static struct local_svc local_svcs[LOCAL_MAX_SVC];

struct local_svc *
local_state(const char *name)
{
	for (int i = 0; i < LOCAL_MAX_SVC; i++)
		if (!strcmp(local_svcs[i].name, name))
			return &local_svcs[i];
	for (int i = 0; i < LOCAL_MAX_SVC; i++)
		if (local_svcs[i].name[0] == '\0') {
			snprintf(local_svcs[i].name, sizeof(local_svcs[i].name),
			    "%s", name);
			return &local_svcs[i];
		}
	/* more names than that: figures that nobody else's overwrite */
	static struct local_svc spare;
	memset(&spare, 0, sizeof(spare));
	return &spare;
}

int
local_server_ids(const struct config *cfg, struct local_ids *ids, char *err,
    size_t errlen)
{
	struct passwd *pw;

	if (geteuid() != 0) {
		ids->uid = geteuid();
		ids->gid = getegid();
		ids->drop = false;
		return 0;
	}
	pw = getpwnam(cfg->lab.run_as);
	if (pw == NULL || pw->pw_uid == 0) {
		snprintf(err, errlen, "run_as user \"%s\" %s (set [lab] run_as "
		    "to an unprivileged user)", cfg->lab.run_as,
		    pw == NULL ? "does not exist" : "is root");
		return -1;
	}
	ids->uid = pw->pw_uid;
	ids->gid = pw->pw_gid;
	ids->drop = true;
	return 0;
}

/* ---- probe, prepare ------------------------------------------------- */

static int
local_probe(const struct config *cfg, char *err, size_t errlen)
{
	char path[LOCAL_PATH];
	struct local_ids ids;

	snprintf(path, sizeof(path), "%s/postgres", cfg->lab.pg_bin);
	if (access(path, X_OK) == -1) {
		snprintf(err, errlen, "no PostgreSQL server at %s (install "
		    "postgresql-15 or set [lab] pg_bin)", path);
		return -1;
	}
	return local_server_ids(cfg, &ids, err, errlen);
}

static int
local_prepare(const struct config *cfg, char *err, size_t errlen)
{
	char path[LOCAL_PATH], pw[LOCAL_PWLEN + 1];
	struct local_ids ids;

	if (local_probe(cfg, err, errlen) == -1)
		return -1;
	local_server_ids(cfg, &ids, err, errlen);
	/* 0711: the server user may pass through, not list or read */
	if (mkdir_owned(cfg->lab.state_dir, 0711, NULL) == -1 &&
	    errno != EPERM) {
		snprintf(err, errlen, "cannot create %s: %s", cfg->lab.state_dir,
		    strerror(errno));
		return -1;
	}
	lab_path(cfg, "pg", path, sizeof(path));
	if (mkdir_owned(path, 0711, NULL) == -1) {
		snprintf(err, errlen, "cannot create %s: %s", path,
		    strerror(errno));
		return -1;
	}
	return local_credentials(cfg, &ids, pw, sizeof(pw), err, errlen);
}

/* ---- ops ------------------------------------------------------------ */

static int
local_ensure(const struct config *cfg, const struct service_def *svc,
    struct service_obs *obs)
{
	memset(obs, 0, sizeof(*obs));
	switch (svc->role) {
	case ROLE_PUBLISHER:
	case ROLE_SUBSCRIBER:
		return pg_ensure(cfg, svc, obs);
	case ROLE_INFLUXDB:
		return influx_ensure(cfg, svc, obs);
	case ROLE_GRAFANA:
		return grafana_ensure(cfg, svc, obs);
	}
	obs->state = SS_FAILED;
	snprintf(obs->detail, sizeof(obs->detail), "unknown service role %d",
	    svc->role);
	return -1;
}

/* The pid serving svc now, or 0. */
static pid_t
local_server_pid(const struct config *cfg, const struct service_def *svc)
{
	char path[LOCAL_PATH + 32], dir[LOCAL_PATH];
	struct pm_pid pm;
	pid_t pid;

	switch (svc->role) {
	case ROLE_PUBLISHER:
	case ROLE_SUBSCRIBER:
		lab_node_dir(cfg, svc->name, dir, sizeof(dir));
		if (read_postmaster_pid(dir, &pm) == 0 &&
		    pid_is(pm.pid, "postgres"))
			return pm.pid;
		return 0;
	case ROLE_INFLUXDB:
		lab_path(cfg, "influxdb/influxd.pid", path, sizeof(path));
		pid = read_pidfile(path);
		return pid_is(pid, "influxd") ? pid : 0;
	case ROLE_GRAFANA:
		lab_path(cfg, "grafana/grafana.pid", path, sizeof(path));
		pid = read_pidfile(path);
		return pid_is(pid, "grafana") ? pid : 0;
	}
	return 0;
}

/*
 * Reading smaps_rollup walks a process's page tables: with every backend
 * of three servers that is most of the container worker's CPU, so memory
 * (which moves slowly) is read less often than CPU time.
 */
#define LOCAL_MEM_EVERY_NS (5 * 1000000000LL)

static int
local_stats(const struct config *cfg, const struct service_def *svc,
    struct service_obs *obs)
{
	struct local_svc *st = local_state(svc->name);
	pid_t pid = local_server_pid(cfg, svc), ppid;
	int64_t ticks = 0, mem = 0, now = mono_ns();
	bool children = svc->role == ROLE_PUBLISHER ||
	    svc->role == ROLE_SUBSCRIBER;

	obs->pid = pid;
	obs->cpu_pct = 0;
	obs->mem_bytes = 0;
	if (pid == 0)
		return -1;
	bool want_mem = now - st->mem_at_ns >= LOCAL_MEM_EVERY_NS;
	int64_t *memp = want_mem ? &mem : NULL;

	if (proc_usage(pid, &ppid, &ticks, memp) == -1)
		return -1;
	if (children)
		children_usage(pid, &ticks, memp);
	if (st->cpu_at_ns != 0 && now > st->cpu_at_ns && ticks >= st->cpu_ticks)
		obs->cpu_pct = (double)(ticks - st->cpu_ticks) * 100.0 /
		    (double)sysconf(_SC_CLK_TCK) /
		    ((double)(now - st->cpu_at_ns) / 1e9);
	st->cpu_ticks = ticks;
	st->cpu_at_ns = now;
	if (want_mem) {
		st->mem_bytes = mem;
		st->mem_at_ns = now;
	}
	obs->mem_bytes = st->mem_bytes;
	return 0;
}

static int
local_stop(const struct config *cfg, const struct service_def *svc,
    bool purge, char *err, size_t errlen)
{
	pid_t pid = local_server_pid(cfg, svc);
	char dir[LOCAL_PATH], logp[LOCAL_PATH + 8];
	bool pg = svc->role == ROLE_PUBLISHER || svc->role == ROLE_SUBSCRIBER;
	int rc = 0;

	/* postgres: SIGINT is a fast shutdown, SIGQUIT an immediate one */
	if (pid > 0 && !stop_pid(pid, pg ? SIGINT : SIGTERM, 30,
	    pg ? SIGQUIT : SIGKILL)) {
		snprintf(err, errlen, "%s (pid %d) did not stop; kill it and "
		    "run labsup stop again", svc->name, (int)pid);
		rc = -1;
	}
	if (pid > 0)
		log_info("%s: stopped pid %d", svc->name, (int)pid);
	if (!purge || rc == -1)
		return rc;
	if (pg)
		lab_node_dir(cfg, svc->name, dir, sizeof(dir));
	else
		lab_path(cfg, svc->role == ROLE_INFLUXDB ? "influxdb" :
		    "grafana", dir, sizeof(dir));
	snprintf(logp, sizeof(logp), "%s.log", dir);
	unlink(logp);
	if (rm_rf(dir) == -1) {
		snprintf(err, errlen, "cannot delete %s: %s", dir,
		    strerror(errno));
		return -1;
	}
	return 0;
}

/* The node directories under pg/ (names fit a node name), at most max. */
static int
local_node_dirs(const struct config *cfg, char (*names)[CFG_NAME], int max)
{
	char path[LOCAL_PATH];
	struct dirent *de;
	int n = 0;
	DIR *d;

	lab_path(cfg, "pg", path, sizeof(path));
	if ((d = opendir(path)) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL && n < max)
		if (de->d_name[0] != '.' && de->d_type == DT_DIR &&
		    strlen(de->d_name) < CFG_NAME)
			snprintf(names[n++], CFG_NAME, "%s", de->d_name);
	closedir(d);
	return n;
}

/* The node directories under pg/ that the config does not name. */
static int
local_orphans(const struct config *cfg, struct service_def *out, int max)
{
	char names[LOCAL_MAX_SVC][CFG_NAME];
	int nd = local_node_dirs(cfg, names, LOCAL_MAX_SVC), n = 0;

	for (int i = 0; i < nd && n < max; i++) {
		if (config_node(cfg, names[i]) != NULL)
			continue;
		memset(&out[n], 0, sizeof(out[n]));
		snprintf(out[n].name, sizeof(out[n].name), "%s", names[i]);
		out[n].role = ROLE_SUBSCRIBER;
		n++;
	}
	return n;
}

/*
 * Before pg/ goes: no server may still run on a data directory there (a
 * node the config forgot, a server started by hand).  Stop it, or refuse
 * and name it.
 */
static int
local_pg_quiet(const struct config *cfg, char *err, size_t errlen)
{
	char names[LOCAL_MAX_SVC][CFG_NAME], dir[LOCAL_PATH];
	int nd = local_node_dirs(cfg, names, LOCAL_MAX_SVC);
	struct pm_pid pm;

	for (int i = 0; i < nd; i++) {
		lab_node_dir(cfg, names[i], dir, sizeof(dir));
		if (read_postmaster_pid(dir, &pm) != 0 ||
		    !pid_is(pm.pid, "postgres"))
			continue;
		log_info("%s: a server still runs there (pid %d): stopping it "
		    "before deleting its data", dir, (int)pm.pid);
		if (!stop_pid(pm.pid, SIGINT, 30, SIGQUIT)) {
			snprintf(err, errlen, "not deleting %s: its server (pid "
			    "%d) does not stop; stop it, then run labsup stop "
			    "--purge again", dir, (int)pm.pid);
			return -1;
		}
	}
	return 0;
}

static int
local_teardown(const struct config *cfg, bool purge, char *err,
    size_t errlen)
{
	static const char *const files[] = { "pg", LAB_PASSWORD, LAB_PASSFILE,
		"influxdb", "grafana", NULL };
	char path[LOCAL_PATH];

	if (!purge)
		return 0;
	if (local_pg_quiet(cfg, err, errlen) == -1)
		return -1;
	for (int i = 0; files[i] != NULL; i++) {
		lab_path(cfg, files[i], path, sizeof(path));
		if (rm_rf(path) == -1) {
			snprintf(err, errlen, "cannot delete %s: %s", path,
			    strerror(errno));
			return -1;
		}
	}
	return 0;
}

static int
local_peer_addr(const struct config *cfg, const struct node_cfg *pub,
    char *host, size_t hostlen, int *port)
{
	/* the publisher listens only on the lab's bind address */
	snprintf(host, hostlen, "%s", cfg->lab.bind);
	*port = pub->port;
	return 0;
}

static int
local_link_addr(const struct config *cfg, char *listen, size_t listenlen,
    char *up, size_t uplen, int *up_port, char *err, size_t errlen)
{
	const struct node_cfg *pub = config_publisher(cfg);

	(void)err, (void)errlen;
	/* the servers and the links share the bind address */
	snprintf(listen, listenlen, "%s", cfg->lab.bind);
	snprintf(up, uplen, "%s", cfg->lab.bind);
	*up_port = pub->port;
	return 0;
}

const struct backend_ops backend_local = {
	.name = "local",
	.probe = local_probe,
	.prepare = local_prepare,
	.ensure = local_ensure,
	.stats = local_stats,
	.stop = local_stop,
	.teardown = local_teardown,
	.peer_addr = local_peer_addr,
	.orphans = local_orphans,
	.link_addr = local_link_addr,
};
