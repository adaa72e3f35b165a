/*
 * local_services.c: the local backend's InfluxDB (an influxd with a
 * generated config) and Grafana (a grafana-server, when one is installed),
 * both run as labsup's own user, tracked by a pidfile and an HTTP check.
 */
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../lib/labsup.h"
#include "local.h"

/* ---- InfluxDB ------------------------------------------------------- */

static size_t
curl_discard(char *p, size_t sz, size_t n, void *u)
{
	(void)p, (void)u;
	return sz * n;
}

/* GET (or POST with a form body) and return the HTTP status, 0 on error. */
static long
http_call(const char *url, const char *post)
{
	CURL *h = curl_easy_init();
	long code = 0;

	if (h == NULL)
		return 0;
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 2000L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, curl_discard);
	if (post != NULL)
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, post);
	if (curl_easy_perform(h) == CURLE_OK)
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_cleanup(h);
	return code;
}


static int
influx_conf(const struct config *cfg, const char *dir, char *confp,
    size_t conflen)
{
	char text[2048];
	int rpc = free_loopback_port();

	if (rpc == -1)
		return -1;
	snprintf(confp, conflen, "%s/influxd.conf", dir);
	/* rpc (backup) listener on a free port: two labs must not collide */
	snprintf(text, sizeof(text),
	    "# written by labsup before every start; edits are lost\n"
	    "reporting-disabled = true\n"
	    "bind-address = \"127.0.0.1:%d\"\n"
	    "[meta]\n  dir = \"%s/meta\"\n"
	    "[data]\n  dir = \"%s/data\"\n  wal-dir = \"%s/wal\"\n"
	    "  query-log-enabled = false\n"
	    "[monitor]\n  store-enabled = false\n"
	    "[http]\n  enabled = true\n  bind-address = \"%s:%d\"\n"
	    "  log-enabled = false\n  auth-enabled = false\n"
	    "[logging]\n  level = \"warn\"\n",
	    rpc, dir, dir, dir, cfg->lab.bind, cfg->influx.port);
	return file_write_atomic(confp, text, strlen(text), 0644, (uid_t)-1,
	    (gid_t)-1);
}

static bool
daemon_healthy(const char *url)
{
	long code = http_call(url, NULL);

	return code >= 200 && code < 300;
}

int
influx_ensure(const struct config *cfg, const struct service_def *svc,
    struct service_obs *obs)
{
	struct local_svc *st = local_state(svc->name);
	char dir[LOCAL_PATH], pidp[LOCAL_PATH + 16], logp[LOCAL_PATH + 16];
	char confp[LOCAL_PATH + 16], url[256], body[160], influxd[] =
	    "/usr/bin/influxd", tail[200];
	pid_t pid;
	int logfd;

	lab_path(cfg, "influxdb", dir, sizeof(dir));
	snprintf(pidp, sizeof(pidp), "%s/influxd.pid", dir);
	snprintf(logp, sizeof(logp), "%s/influxd.log", dir);
	snprintf(url, sizeof(url), "http://%s:%d/ping", cfg->lab.bind,
	    cfg->influx.port);
	pid = read_pidfile(pidp);
	if (pid_is(pid, "influxd")) {
		obs->pid = pid;
		st->server_pid = pid;
		if (!daemon_healthy(url)) {
			obs->state = SS_STARTING;
			snprintf(obs->detail, sizeof(obs->detail), "starting");
			return 0;
		}
		if (!st->provisioned) {
			char q[128], *esc;
			/* CREATE DATABASE is a no-op when it exists */
			snprintf(url, sizeof(url), "http://%s:%d/query",
			    cfg->lab.bind, cfg->influx.port);
			snprintf(q, sizeof(q), "CREATE DATABASE \"%s\"",
			    cfg->influx.database);
			esc = curl_easy_escape(NULL, q, 0);
			snprintf(body, sizeof(body), "q=%s", esc ? esc : "");
			curl_free(esc);
			if (http_call(url, body) != 200) {
				obs->state = SS_STARTING;
				snprintf(obs->detail, sizeof(obs->detail),
				    "creating database %s",
				    cfg->influx.database);
				return 0;
			}
			st->provisioned = true;
		}
		st->started_ns = 0;
		obs->state = SS_READY;
		return 0;
	}
	obs->state = SS_STARTING;
	if (access(influxd, X_OK) == -1) {
		obs->state = SS_FAILED;
		snprintf(obs->detail, sizeof(obs->detail), "%s is not installed "
		    "(apt-get install influxdb)", influxd);
		return -1;
	}
	if (st->started_ns != 0 && mono_ns() - st->started_ns <
	    LOCAL_RESPAWN_NS) {
		snprintf(obs->detail, sizeof(obs->detail), "starting");
		return 0;
	}
	if (port_taken(cfg->lab.bind, cfg->influx.port)) {
		obs->state = SS_FAILED;
		snprintf(obs->detail, sizeof(obs->detail), "port %d for influxdb "
		    "is already in use by another process (pick another port "
		    "in [influxdb])", cfg->influx.port);
		return -1;
	}
	if (st->started_ns != 0) {
		log_tail(logp, tail, sizeof(tail));
		log_warnx("influxdb: influxd exited: %s (see %s)", tail, logp);
	}
	if (mkdir_owned(dir, 0700, NULL) == -1 ||
	    influx_conf(cfg, dir, confp, sizeof(confp)) == -1 ||
	    (logfd = open_log(logp, NULL)) == -1) {
		obs->state = SS_FAILED;
		snprintf(obs->detail, sizeof(obs->detail), "cannot set up %s: "
		    "%s", dir, strerror(errno));
		return -1;
	}
	char *const argv[] = { influxd, "run", "-config", confp, NULL };
	struct local_ids self = { getuid(), getgid(), false };
	if (start_server(st, &self, logfd, pidp, argv, NULL, "influxd", obs) ==
	    -1)
		return -1;
	log_info("influxdb: started influxd pid %d on port %d",
	    (int)st->server_pid, cfg->influx.port);
	return 0;
}

/* ---- Grafana -------------------------------------------------------- */

static const char *
grafana_binary(void)
{
	static const char *const where[] = { "/usr/sbin/grafana-server",
		"/usr/bin/grafana-server", "/usr/share/grafana/bin/grafana-server",
		NULL };

	for (int i = 0; where[i] != NULL; i++)
		if (access(where[i], X_OK) == 0)
			return where[i];
	return NULL;
}

int
grafana_ensure(const struct config *cfg, const struct service_def *svc,
    struct service_obs *obs)
{
	struct local_svc *st = local_state(svc->name);
	const char *bin = grafana_binary();
	char dir[LOCAL_PATH], pidp[LOCAL_PATH + 16], logp[LOCAL_PATH + 16];
	char confp[LOCAL_PATH + 16], url[256], text[2048];
	pid_t pid;
	int logfd;

	if (bin == NULL) {
		obs->state = SS_UNAVAILABLE;
		snprintf(obs->detail, sizeof(obs->detail), "grafana-server is "
		    "not installed (install grafana to get dashboards)");
		return 0;
	}
	lab_path(cfg, "grafana", dir, sizeof(dir));
	snprintf(pidp, sizeof(pidp), "%s/grafana.pid", dir);
	snprintf(logp, sizeof(logp), "%s/grafana.log", dir);
	snprintf(url, sizeof(url), "http://%s:%d/api/health", cfg->lab.bind,
	    svc->port);
	pid = read_pidfile(pidp);
	if (pid_is(pid, "grafana")) {
		obs->pid = pid;
		st->server_pid = pid;
		obs->state = daemon_healthy(url) ? SS_READY : SS_STARTING;
		snprintf(obs->detail, sizeof(obs->detail), "%s",
		    obs->state == SS_READY ? "" : "starting");
		return 0;
	}
	obs->state = SS_STARTING;
	if (st->started_ns != 0 && mono_ns() - st->started_ns <
	    LOCAL_RESPAWN_NS)
		return 0;
	if (port_taken(cfg->lab.bind, svc->port)) {
		obs->state = SS_FAILED;
		snprintf(obs->detail, sizeof(obs->detail), "port %d for grafana "
		    "is already in use by another process (pick another port "
		    "in [grafana])", svc->port);
		return -1;
	}
	snprintf(confp, sizeof(confp), "%s/grafana.ini", dir);
	snprintf(text, sizeof(text),
	    "[server]\nhttp_addr = %s\nhttp_port = %d\n"
	    "[paths]\ndata = %s/data\nlogs = %s/logs\nplugins = %s/plugins\n"
	    "provisioning = %s/provisioning\n"
	    "[analytics]\nreporting_enabled = false\ncheck_for_updates = false\n",
	    cfg->lab.bind, svc->port, dir, dir, dir, cfg->grafana.dir);
	/* grafana/provisioning YAML reads these; the server inherits them */
	char env[CFG_PATH + 32];
	snprintf(env, sizeof(env), "http://%s:%d", cfg->lab.bind,
	    cfg->influx.port);
	setenv("LABSUP_INFLUX_URL", env, 1);
	setenv("LABSUP_INFLUX_DB", cfg->influx.version == 2 ?
	    cfg->influx.bucket : cfg->influx.database, 1);
	snprintf(env, sizeof(env), "%s/dashboards", cfg->grafana.dir);
	setenv("LABSUP_DASHBOARDS", env, 1);
	if (cfg->grafana.admin_password_file[0] != '\0')
		setenv("GF_SECURITY_ADMIN_PASSWORD__FILE",
		    cfg->grafana.admin_password_file, 1);
	if (mkdir_owned(dir, 0700, NULL) == -1 ||
	    file_write_atomic(confp, text, strlen(text), 0600, (uid_t)-1,
	    (gid_t)-1) == -1 ||
	    (logfd = open_log(logp, NULL)) == -1) {
		obs->state = SS_FAILED;
		snprintf(obs->detail, sizeof(obs->detail), "cannot set up %s: "
		    "%s", dir, strerror(errno));
		return -1;
	}
	char binp[LOCAL_PATH], conf_arg[LOCAL_PATH + 16];
	snprintf(binp, sizeof(binp), "%s", bin);
	snprintf(conf_arg, sizeof(conf_arg), "--config=%s", confp);
	char *const argv[] = { binp, "--homepath=/usr/share/grafana", conf_arg,
		NULL };
	struct local_ids self = { getuid(), getgid(), false };
	st->server_pid = spawn_server(&self, logfd, pidp, argv, NULL);
	close(logfd);
	st->started_ns = mono_ns();
	obs->pid = st->server_pid > 0 ? st->server_pid : 0;
	return 0;
}
