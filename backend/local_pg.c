/*
 * local_pg.c: the local backend's PostgreSQL nodes: initdb in the
 * background, labsup.conf and pg_hba.conf, start, adopt, the lab role's
 * password and database once a server answers on its socket.
 */
#include <errno.h>
#include <libpq-fe.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../lib/labsup.h"
#include "local.h"
#include "pg_settings.h"
#include "../lib/probe_so.h"

/*
 * The lab password: generated once, kept in <state_dir>/password (0600).
 * Two libpq passfiles: <state_dir>/pgpass for labsup and the user, and
 * <state_dir>/pg/.pgpass owned by the server user, which subscriptions name
 * in their conninfo (passfile=) so no password is stored in pg_subscription.
 */
int
local_credentials(const struct config *cfg, const struct local_ids *ids,
    char *pw, size_t pwlen, char *err, size_t errlen)
{
	char path[LOCAL_PATH], line[256];

	if (lab_credentials(cfg, pw, pwlen, err, errlen) == -1)
		return -1;
	/* host:port:database:user:password; '*' fields keep it port-proof */
	snprintf(line, sizeof(line), "*:*:*:%s:%s\n", cfg->lab.user, pw);
	lab_path(cfg, "pg/.pgpass", path, sizeof(path));
	if (!file_same(path, line, strlen(line), 0600) &&
	    file_write_atomic(path, line, strlen(line), 0600, ids->uid,
	    ids->gid) == -1) {
		snprintf(err, errlen, "cannot write %s: %s (is the state "
		    "directory writable?)", path, strerror(errno));
		explicit_bzero(line, sizeof(line));
		return -1;
	}
	explicit_bzero(line, sizeof(line));
	return 0;
}

/* postmaster.pid: pid, datadir, start, port, socket dir, addr, key, status */
int
read_postmaster_pid(const char *dir, struct pm_pid *pm)
{
	char path[LOCAL_PATH], buf[1024], *line, *save = NULL;
	int i = 0;

	memset(pm, 0, sizeof(*pm));
	snprintf(path, sizeof(path), "%s/postmaster.pid", dir);
	if (read_file(path, buf, sizeof(buf)) <= 0)
		return -1;
	for (line = strtok_r(buf, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save), i++) {
		if (i == 0)
			pm->pid = (pid_t)atoi(line);
		else if (i == 3)
			pm->port = atoi(line);
		else if (i == 7)
			sscanf(line, "%15s", pm->status);
	}
	return pm->pid > 0 ? 0 : -1;
}

/* A connection over a node's own socket as the lab role. */
static const char *const pg_socket_keys[] = { "host", "port", "dbname",
	"user", "connect_timeout", NULL };

struct pg_socket {
	char port[16];
	const char *vals[6];	/* for pg_socket_keys */
};

static void
pg_socket_params(struct pg_socket *ps, const struct config *cfg,
    const char *dir, int port, const char *timeout)
{
	snprintf(ps->port, sizeof(ps->port), "%d", port);
	ps->vals[0] = dir;
	ps->vals[1] = ps->port;
	ps->vals[2] = "postgres";
	ps->vals[3] = cfg->lab.user;
	ps->vals[4] = timeout;
	ps->vals[5] = NULL;
}

/* The server's own socket answers: it is up and accepting connections. */
static bool
pg_ping(const struct config *cfg, const char *dir, int port)
{
	struct pg_socket ps;

	pg_socket_params(&ps, cfg, dir, port, "2");
	return PQpingParams(pg_socket_keys, ps.vals, 0) == PQPING_OK;
}

/*
 * text as dir/name, owned by the server user.  A failed write is not
 * reported (it never was): the file from the last start stays.
 */
static void
pg_conf_file(const char *dir, const char *name, const char *text,
    const struct local_ids *ids)
{
	char path[LOCAL_PATH];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	(void)file_write_atomic(path, text, strlen(text), 0600, ids->uid,
	    ids->gid);
}

/* labsup.conf of a node: what pg_write_conf writes. */
static void
pg_conf_text(const struct config *cfg, const struct service_def *svc,
    const char *dir, const struct local_ids *ids, char *text, size_t len,
    char *why, size_t whylen)
{
	size_t n;

	/* included from postgresql.conf; rewritten before every start */
	snprintf(text, len,
	    "# written by labsup before every start; edits are lost\n"
	    "listen_addresses = '%s'\n"
	    "port = %d\n"
	    "unix_socket_directories = '%s'\n"
	    "unix_socket_permissions = 0700\n",
	    cfg->lab.bind, svc->port, dir);
	/* what every node runs with, whichever backend (pg_settings.c) */
	(void)pg_settings_conf(text, len);
	/* set by this backend only (pg_settings.h says which and why) */
	n = strlen(text);
	snprintf(text + n, len - n,
	    "max_connections = 100\n"
	    "shared_buffers = 128MB\n"
	    "log_line_prefix = '%%m [%%p] %s '\n",
	    svc->name);
	/*
	 * issue 18: the in-server probe, unless [sampler] says sql; when it
	 * cannot be loaded, why says so and the server starts without it
	 */
	why[0] = '\0';
	if (probe_server_conf(cfg, svc->name, ids->uid, ids->gid, text, len,
	    why, whylen) != -1)
		why[0] = '\0';
	/* the node's own settings last: they win (issue 15) */
	if (svc->node != NULL)
		(void)pg_settings_user_conf(svc->node, text, len);
}

static void
pg_write_conf(const struct config *cfg, const struct service_def *svc,
    const char *dir, const struct local_ids *ids)
{
	char text[4096], why[300];

	pg_conf_text(cfg, svc, dir, ids, text, sizeof(text), why, sizeof(why));
	if (why[0] != '\0')
		log_warnx("%s: starts without the probe: %s", svc->name, why);
	pg_conf_file(dir, "labsup.conf", text, ids);

	/*
	 * The socket lives in the data directory (0700, server user only), so
	 * "local trust" admits only the server user and root; TCP needs the
	 * lab password.
	 */
	snprintf(text, sizeof(text),
	    "# written by labsup\n"
	    "local all all trust\n"
	    "host all all 127.0.0.1/32 scram-sha-256\n"
	    "host all all ::1/128 scram-sha-256\n"
	    "host all all %s/32 scram-sha-256\n"
	    "host replication all 127.0.0.1/32 scram-sha-256\n",
	    strchr(cfg->lab.bind, ':') == NULL ? cfg->lab.bind : "127.0.0.1");
	pg_conf_file(dir, "pg_hba.conf", text, ids);
}

/* After initdb: hook our include into postgresql.conf, move into place. */
static int
pg_finish_initdb(const struct config *cfg, const struct service_def *svc,
    const char *tmpdir, const char *dir, const struct local_ids *ids)
{
	char path[LOCAL_PATH];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/postgresql.conf", tmpdir);
	fp = fopen(path, "a");
	if (fp == NULL)
		return -1;
	fprintf(fp, "\n# labsup: settings in labsup.conf\n"
	    "include_if_exists = 'labsup.conf'\n");
	if (fclose(fp) != 0)
		return -1;
	pg_write_conf(cfg, svc, tmpdir, ids);
	return rename(tmpdir, dir);
}

/*
 * Poll a background job (initdb, cp).  Returns 1 while it runs, 0 when it
 * succeeded, -1 when it failed (the log's last line in why).
 */
static int
job_poll(struct local_svc *st, const char *logp, char *why, size_t len)
{
	char tail[200];
	int status;
	pid_t r = waitpid(st->initdb_pid, &status, WNOHANG);

	if (r == 0)
		return 1;
	st->initdb_pid = 0;
	if (r != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	log_tail(logp, tail, sizeof(tail));
	snprintf(why, len, "%s (see %s)", tail, logp);
	return -1;
}

/* Start argv as a background job logging to logp; 0 or -1 + obs. */
static int
job_start(struct local_svc *st, const struct local_ids *ids,
    const char *logp, char *const argv[], struct service_obs *obs)
{
	int logfd = open_log(logp, ids);

	if (logfd == -1) {
		obs->state = SS_FAILED;
		snprintf(obs->detail, sizeof(obs->detail), "cannot open %s: %s",
		    logp, strerror(errno));
		return -1;
	}
	st->initdb_pid = spawn_job(ids, logfd, argv);
	close(logfd);
	if (st->initdb_pid == -1) {
		st->initdb_pid = 0;
		obs->state = SS_FAILED;
		snprintf(obs->detail, sizeof(obs->detail), "cannot fork %s: %s",
		    argv[0], strerror(errno));
		return -1;
	}
	return 0;
}

static void
pg_initdb(const struct config *cfg, const struct service_def *svc,
    struct local_svc *st, struct service_obs *obs, const struct local_ids *ids)
{
	char dir[LOCAL_PATH], tmp[LOCAL_PATH + 8], logp[LOCAL_PATH + 8];
	char initdb[LOCAL_PATH], user_arg[96], why[300];
	int r;

	lab_node_dir(cfg, svc->name, dir, sizeof(dir));
	snprintf(tmp, sizeof(tmp), "%s.init", dir);
	snprintf(logp, sizeof(logp), "%s.log", dir);
	obs->state = SS_STARTING;
	if (st->initdb_pid > 0) {
		r = job_poll(st, logp, why, sizeof(why));
		if (r == 1) {
			snprintf(obs->detail, sizeof(obs->detail),
			    "initdb running");
			return;
		}
		if (r == -1) {
			obs->state = SS_FAILED;
			snprintf(obs->detail, sizeof(obs->detail),
			    "initdb failed: %s", why);
			return;
		}
		if (pg_finish_initdb(cfg, svc, tmp, dir, ids) == -1) {
			obs->state = SS_FAILED;
			snprintf(obs->detail, sizeof(obs->detail),
			    "cannot set up %s: %s", dir, strerror(errno));
			return;
		}
		snprintf(obs->detail, sizeof(obs->detail), "initialized");
		return;
	}
	/* a half-made directory from a crash: start it over */
	if (rm_rf(tmp) == -1 || mkdir_owned(tmp, 0700, ids) == -1) {
		obs->state = SS_FAILED;
		snprintf(obs->detail, sizeof(obs->detail), "cannot create %s: "
		    "%s", tmp, strerror(errno));
		return;
	}
	snprintf(initdb, sizeof(initdb), "%s/initdb", cfg->lab.pg_bin);
	snprintf(user_arg, sizeof(user_arg), "--username=%s", cfg->lab.user);
	/*
	 * One initdb per node (they run in parallel), never a copy of another
	 * node's directory: a copy shares its system identifier, and two
	 * subscribers with the same one name their table-sync slots on the
	 * publisher alike, collide, and wait out wal_retrieve_retry_interval.
	 * The bootstrap superuser is the lab role; its password is set over
	 * the socket once the server runs, so no password passes through a
	 * command line or a file the server user could read.  --no-sync: a
	 * lab can be re-created, and it saves seconds per node.
	 */
	char *const argv[] = { initdb, "-D", tmp, user_arg, "--auth=trust",
		"--encoding=UTF8", "--locale=C", "--no-sync", "--no-instructions",
		NULL };
	if (job_start(st, ids, logp, argv, obs) == -1)
		return;
	log_info("%s: initdb into %s", svc->name, dir);
	snprintf(obs->detail, sizeof(obs->detail), "initdb running");
}


/*
 * issue 18: tests and benchmarks only (docs/CONTRIBUTING.md): the
 * "NAME=value ..." words of PROBE_TEST_PG_ENV, added to a server's
 * environment (the sanitizer run preloads libasan for the probe built with
 * it).  Logged, so a log shows what its servers ran with.
 */
#define PG_TEST_ENV_MAX 8

static void
pg_test_env(const struct service_def *svc, char **env, int max)
{
	static char buf[2048];
	const char *v = getenv(PROBE_TEST_PG_ENV);
	char *w, *save = NULL;
	int n = 0;

	env[0] = NULL;
	if (v == NULL || v[0] == '\0')
		return;
	snprintf(buf, sizeof(buf), "%s", v);
	for (w = strtok_r(buf, " ", &save); w != NULL && n < max;
	    w = strtok_r(NULL, " ", &save))
		if (strchr(w, '=') != NULL && w[0] != '=')
			env[n++] = w;
	env[n] = NULL;
	log_info("%s: test hook " PROBE_TEST_PG_ENV ": the server starts "
	    "with %s", svc->name, v);
}
/* Once per process and server: lab password (as a SCRAM verifier) and db. */
static int
pg_provision(const struct config *cfg, const struct service_def *svc,
    const char *dir, char *err, size_t errlen)
{
	struct pg_socket ps;
	char pw[LOCAL_PWLEN + 1], sql[512];
	const char *param[1];
	PGconn *c;
	PGresult *r;
	char *verifier = NULL, *lit = NULL, *ident = NULL;
	int rc = -1;

	/* the same password every backend and client of the lab uses */
	if (lab_credentials(cfg, pw, sizeof(pw), err, errlen) == -1)
		return -1;
	pg_socket_params(&ps, cfg, dir, svc->port, "5");
	c = PQconnectdbParams(pg_socket_keys, ps.vals, 0);
	if (PQstatus(c) != CONNECTION_OK) {
		snprintf(err, errlen, "cannot connect over the socket: %s",
		    PQerrorMessage(c));
		goto out;
	}
	/* the server gets a verifier, never the password itself */
	verifier = PQencryptPasswordConn(c, pw, cfg->lab.user, "scram-sha-256");
	ident = PQescapeIdentifier(c, cfg->lab.user, strlen(cfg->lab.user));
	lit = verifier ? PQescapeLiteral(c, verifier, strlen(verifier)) : NULL;
	if (lit == NULL || ident == NULL) {
		snprintf(err, errlen, "cannot encrypt the password: %s",
		    PQerrorMessage(c));
		goto out;
	}
	snprintf(sql, sizeof(sql), "ALTER ROLE %s WITH LOGIN SUPERUSER "
	    "PASSWORD %s", ident, lit);
	r = PQexec(c, sql);
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		snprintf(err, errlen, "cannot set the lab password: %s",
		    PQresultErrorMessage(r));
		PQclear(r);
		goto out;
	}
	PQclear(r);
	param[0] = cfg->lab.database;
	r = PQexecParams(c, "SELECT 1 FROM pg_database WHERE datname = $1", 1,
	    NULL, param, NULL, NULL, 0);
	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 0) {
		PQfreemem(ident);
		PQclear(r);
		ident = PQescapeIdentifier(c, cfg->lab.database,
		    strlen(cfg->lab.database));
		if (ident == NULL)
			goto out;
		snprintf(sql, sizeof(sql), "CREATE DATABASE %s", ident);
		r = PQexec(c, sql);
		if (PQresultStatus(r) != PGRES_COMMAND_OK) {
			snprintf(err, errlen, "cannot create database %s: %s",
			    cfg->lab.database, PQresultErrorMessage(r));
			PQclear(r);
			goto out;
		}
	}
	PQclear(r);
	rc = 0;
out:
	explicit_bzero(pw, sizeof(pw));
	PQfreemem(verifier);
	PQfreemem(lit);
	PQfreemem(ident);
	PQfinish(c);
	return rc;
}

static void
pg_start(const struct config *cfg, const struct service_def *svc,
    struct local_svc *st, struct service_obs *obs, const struct local_ids *ids)
{
	char dir[LOCAL_PATH], logp[LOCAL_PATH + 8], postgres[LOCAL_PATH];
	char tail[200];
	int logfd;

	lab_node_dir(cfg, svc->name, dir, sizeof(dir));
	snprintf(logp, sizeof(logp), "%s.log", dir);
	obs->state = SS_STARTING;
	if (st->started_ns != 0 && mono_ns() - st->started_ns <
	    LOCAL_RESPAWN_NS) {
		snprintf(obs->detail, sizeof(obs->detail), "starting");
		return;
	}
	if (port_taken(cfg->lab.bind, svc->port)) {
		obs->state = SS_FAILED;
		snprintf(obs->detail, sizeof(obs->detail), "port %d for %s is "
		    "already in use by another process (pick another port in "
		    "[node %s])", svc->port, svc->name, svc->name);
		return;
	}
	if (st->started_ns != 0) {
		/* ours died before becoming ready: say why */
		log_tail(logp, tail, sizeof(tail));
		log_warnx("%s: server exited during start-up: %s (see %s)",
		    svc->name, tail, logp);
	}
	pg_write_conf(cfg, svc, dir, ids);
	snprintf(postgres, sizeof(postgres), "%s/postgres", cfg->lab.pg_bin);
	char *const argv[] = { postgres, "-D", dir, NULL };
	static char tunables[] = PG_SERVER_TUNABLES;
	char *pg_env[PG_TEST_ENV_MAX + 2] = { tunables, NULL };

	pg_test_env(svc, pg_env + 1, PG_TEST_ENV_MAX);
	logfd = open_log(logp, ids);
	if (logfd == -1) {
		obs->state = SS_FAILED;
		snprintf(obs->detail, sizeof(obs->detail), "cannot open %s: %s",
		    logp, strerror(errno));
		return;
	}
	if (start_server(st, ids, logfd, NULL, argv, pg_env, postgres, obs) ==
	    -1)
		return;
	log_info("%s: started postgres pid %d on port %d", svc->name,
	    (int)st->server_pid, svc->port);
}

/*
 * issue 15: a running server whose labsup.conf is not what the config asks
 * for now (a reload changed [node] settings) gets the new file and a
 * SIGHUP; a moment later, what of it only a restart applies
 * (pg_settings.pending_restart) is logged and shown as the node's detail.
 */
static void
pg_settings_reload(const struct config *cfg, const struct service_def *svc,
    struct local_svc *st, const char *dir, pid_t pid,
    const struct local_ids *ids, struct service_obs *obs)
{
	char text[4096], path[LOCAL_PATH + 16], why[300];
	struct pg_socket ps;
	PGconn *c;
	PGresult *r;

	pg_conf_text(cfg, svc, dir, ids, text, sizeof(text), why, sizeof(why));
	snprintf(path, sizeof(path), "%s/labsup.conf", dir);
	if (!file_same(path, text, strlen(text), 0600)) {
		pg_conf_file(dir, "labsup.conf", text, ids);
		kill(pid, SIGHUP);
		log_info("%s: settings changed: configuration reloaded",
		    svc->name);
		st->settings_check_ns = mono_ns() + 500000000LL;
		return;
	}
	if (st->settings_check_ns == 0 || mono_ns() < st->settings_check_ns)
		return;
	st->settings_check_ns = 0;
	pg_socket_params(&ps, cfg, dir, svc->port, "5");
	c = PQconnectdbParams(pg_socket_keys, ps.vals, 0);
	r = PQexec(c, "SELECT coalesce(string_agg(name, ', ' ORDER BY name), "
	    "'') FROM pg_settings WHERE pending_restart");
	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 &&
	    PQgetvalue(r, 0, 0)[0] != '\0') {
		log_warnx("%s: settings need a restart of the node to take "
		    "effect: %s", svc->name, PQgetvalue(r, 0, 0));
		snprintf(obs->detail, sizeof(obs->detail), "restart pending: "
		    "%s", PQgetvalue(r, 0, 0));
	} else if (PQresultStatus(r) == PGRES_TUPLES_OK)
		log_info("%s: every setting applied without a restart",
		    svc->name);
	PQclear(r);
	PQfinish(c);
}

int
pg_ensure(const struct config *cfg, const struct service_def *svc,
    struct service_obs *obs)
{
	struct local_svc *st = local_state(svc->name);
	char dir[LOCAL_PATH], path[LOCAL_PATH + 16], err[256];
	struct local_ids ids;
	struct pm_pid pm;
	struct stat sb;

	if (local_server_ids(cfg, &ids, obs->detail, sizeof(obs->detail)) ==
	    -1) {
		obs->state = SS_FAILED;
		return -1;
	}
	lab_node_dir(cfg, svc->name, dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/PG_VERSION", dir);
	if (stat(path, &sb) == -1 || st->initdb_pid > 0) {
		pg_initdb(cfg, svc, st, obs, &ids);
		return obs->state == SS_FAILED ? -1 : 0;
	}
	if (read_postmaster_pid(dir, &pm) == 0 && pid_is(pm.pid, "postgres")) {
		obs->pid = pm.pid;
		st->server_pid = pm.pid;
		if (pm.port != svc->port) {
			/* the config moved it: a fast shutdown, then start */
			log_info("%s: port changed %d -> %d, restarting",
			    svc->name, pm.port, svc->port);
			kill(pm.pid, SIGINT);
			obs->state = SS_STARTING;
			snprintf(obs->detail, sizeof(obs->detail),
			    "restarting on port %d", svc->port);
			return 0;
		}
		if (strcmp(pm.status, "ready") != 0 ||
		    !pg_ping(cfg, dir, svc->port)) {
			obs->state = SS_STARTING;
			snprintf(obs->detail, sizeof(obs->detail), "%s",
			    pm.status[0] ? pm.status : "starting");
			if (st->started_ns != 0 &&
			    mono_ns() - st->started_ns > LOCAL_START_GRACE_NS) {
				obs->state = SS_FAILED;
				snprintf(obs->detail, sizeof(obs->detail),
				    "not ready after %lld s (see %s.log)",
				    LOCAL_START_GRACE_NS / 1000000000LL, dir);
			}
			return 0;
		}
		if (!st->provisioned) {
			if (pg_provision(cfg, svc, dir, err, sizeof(err)) ==
			    -1) {
				obs->state = SS_STARTING;
				snprintf(obs->detail, sizeof(obs->detail),
				    "%s", err);
				return 0;
			}
			st->provisioned = true;
		}
		st->started_ns = 0;
		obs->state = SS_READY;
		obs->detail[0] = '\0';
		pg_settings_reload(cfg, svc, st, dir, pm.pid, &ids, obs);
		return 0;
	}
	pg_start(cfg, svc, st, obs, &ids);
	return obs->state == SS_FAILED ? -1 : 0;
}
