/*
 * local.c: the local backend.  Each PostgreSQL node is a postmaster with its
 * own data directory under <state_dir>/pg, InfluxDB a local influxd with a
 * generated config, Grafana a grafana-server when one is installed.
 *
 * Servers are started detached (double fork + setsid) so they outlive the
 * worker and the supervisor; a later ensure() adopts them by their pidfile
 * and a connection check.  ensure() never blocks on a slow step: initdb and
 * server start-up run in the background and are polled on the next pass.
 */
#include <ctype.h>
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../lib/labsup.h"
#include "backend.h"

#define LOCAL_MAX_SVC (CFG_MAX_NODES + 2)
#define LOCAL_PATH 512
#define LOCAL_PWLEN 32
/* A server that is not up this long after its start is reported failed. */
#define LOCAL_START_GRACE_NS (120 * 1000000000LL)
/* Never respawn a server more often than this (a crash loop). */
#define LOCAL_RESPAWN_NS (2 * 1000000000LL)

/* What this process remembers about a service between passes. */
struct local_svc {
	char name[16];
	pid_t initdb_pid;	/* initdb running in the background */
	pid_t server_pid;	/* the server we last saw or started */
	int64_t started_ns;	/* when we spawned it (mono), 0 = adopted */
	bool provisioned;	/* password and database set this process */
	int64_t cpu_ticks;	/* previous stats sample */
	int64_t cpu_at_ns;
	int64_t mem_bytes;	/* PSS, refreshed every LOCAL_MEM_EVERY_NS */
	int64_t mem_at_ns;
};

static struct local_svc local_svcs[LOCAL_MAX_SVC];

struct local_ids {
	uid_t uid;
	gid_t gid;
	bool drop;		/* setuid to uid in the child */
};

static struct local_svc *
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
	return &local_svcs[0]; /* cannot happen: the config caps services */
}

/* PostgreSQL refuses to run as root: root runs servers as run_as. */
static int
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

static void
local_path(const struct config *cfg, char *buf, size_t len, const char *fmt,
    const char *a)
{
	char rel[LOCAL_PATH];

	snprintf(rel, sizeof(rel), fmt, a);
	snprintf(buf, len, "%s/%s", cfg->lab.state_dir, rel);
}

static void
node_dir(const struct config *cfg, const char *node, char *buf, size_t len)
{
	lab_node_dir(cfg, node, buf, len);	/* the layout lab_conninfo uses */
}

static int
mkdir_owned(const char *path, mode_t mode, const struct local_ids *ids)
{
	if (mkdir(path, mode) == -1 && errno != EEXIST)
		return -1;
	if (chmod(path, mode) == -1)
		return -1;
	if (ids != NULL && chown(path, ids->uid, ids->gid) == -1)
		return -1;
	return 0;
}

/* Write a whole small file atomically (temp + rename), mode and owner. */
static int
write_file(const char *path, const char *text, mode_t mode,
    const struct local_ids *ids)
{
	char tmp[LOCAL_PATH + 8];
	size_t len = strlen(text);
	int fd;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd == -1)
		return -1;
	if (fchmod(fd, mode) == -1 ||
	    (ids != NULL && fchown(fd, ids->uid, ids->gid) == -1) ||
	    write(fd, text, len) != (ssize_t)len) {
		int e = errno;
		close(fd);
		unlink(tmp);
		errno = e;
		return -1;
	}
	close(fd);
	return rename(tmp, path);
}

static int
read_file(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd == -1)
		return -1;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return (int)n;
}

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)ftw;
	if (flag == FTW_DP)
		return rmdir(path) == -1 && errno != ENOENT ? -1 : 0;
	return unlink(path) == -1 && errno != ENOENT ? -1 : 0;
}

static int
rm_rf(const char *path)
{
	struct stat st;

	if (lstat(path, &st) == -1)
		return errno == ENOENT ? 0 : -1;
	return nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* The last line of a log file: what a failed server or initdb said. */
static void
log_tail(const char *path, char *out, size_t len)
{
	char buf[4096];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	off_t end;
	ssize_t n;
	char *line, *p;

	out[0] = '\0';
	if (fd == -1)
		return;
	end = lseek(fd, 0, SEEK_END);
	if (end > (off_t)sizeof(buf) - 1)
		lseek(fd, end - (off_t)sizeof(buf) + 1, SEEK_SET);
	else
		lseek(fd, 0, SEEK_SET);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return;
	buf[n] = '\0';
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	line = strrchr(buf, '\n');
	line = line != NULL ? line + 1 : buf;
	for (p = line; *p; p++)
		if (!isprint((unsigned char)*p))
			*p = ' ';
	snprintf(out, len, "%s", line);
}

/*
 * A detached server is not our child: once it exits, whoever inherited it
 * reaps it, maybe late.  A zombie counts as gone.
 */
static bool
pid_alive(pid_t pid)
{
	char path[64], buf[512], *p;

	if (pid <= 0 || (kill(pid, 0) == -1 && errno != EPERM))
		return false;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (read_file(path, buf, sizeof(buf)) <= 0)
		return false;
	p = strrchr(buf, ')');
	return p == NULL || (p[1] == ' ' && p[2] != 'Z' && p[2] != 'X');
}

/* True when /proc/pid/comm starts with want (a recycled pid is not ours). */
static bool
pid_is(pid_t pid, const char *want)
{
	char path[64], comm[64];

	if (!pid_alive(pid))
		return false;
	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	if (read_file(path, comm, sizeof(comm)) <= 0)
		return false;
	return strncmp(comm, want, strlen(want)) == 0;
}

/* Is something else listening on bind:port?  A bind test says it best. */
static bool
port_taken(const char *addr, int port)
{
	struct sockaddr_in sin;
	int fd, one = 1, rc;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, addr, &sin.sin_addr) != 1)
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return false;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	rc = bind(fd, (struct sockaddr *)&sin, sizeof(sin));
	close(fd);
	return rc == -1 && errno == EADDRINUSE;
}

/* A loopback port nobody uses now (for influxd's rpc listener). */
static int
free_loopback_port(void)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int fd, port = 0;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -1;
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sin, &len) == 0)
		port = ntohs(sin.sin_port);
	close(fd);
	return port > 0 ? port : -1;
}

static void
child_reset_signals(void)
{
	sigset_t all;

	/* the worker ignores SIGHUP; a server must not inherit that */
	for (int sig = 1; sig < NSIG; sig++)
		signal(sig, SIG_DFL);
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
}

static int
child_drop(const struct local_ids *ids)
{
	if (!ids->drop)
		return 0;
	if (setgroups(0, NULL) == -1 || setgid(ids->gid) == -1 ||
	    setuid(ids->uid) == -1)
		return -1;
	return 0;
}

/*
 * Start argv as a server nobody's child: double fork so it is reparented at
 * once, setsid so it leaves our session and process group, and no
 * PDEATHSIG (fork clears it).  stdout/stderr go to logfd; env (NULL or
 * NULL-terminated "NAME=value" strings) is added to ours.  Returns the
 * server's pid, or -1 with errno.
 */
static pid_t
spawn_server(const struct local_ids *ids, int logfd, const char *pidfile,
    char *const argv[], char *const env[])
{
	int pfd[2];
	pid_t mid, pid = -1;
	int status, child_errno = 0;

	if (pipe2(pfd, O_CLOEXEC) == -1)
		return -1;
	mid = fork();
	if (mid == -1) {
		close(pfd[0]);
		close(pfd[1]);
		return -1;
	}
	if (mid == 0) {
		pid_t srv;

		close(pfd[0]);
		setsid();
		srv = fork();
		if (srv != 0) {
			(void)!write(pfd[1], &srv, sizeof(srv));
			_exit(srv == -1 ? 1 : 0);
		}
		child_reset_signals();
		if (chdir("/") == -1 || child_drop(ids) == -1)
			goto fail;
		if (pidfile != NULL) {
			char line[32];
			int fd = open(pidfile, O_WRONLY | O_CREAT | O_TRUNC |
			    O_CLOEXEC, 0644);
			if (fd == -1)
				goto fail;
			snprintf(line, sizeof(line), "%d\n", (int)getpid());
			(void)!write(fd, line, strlen(line));
			close(fd);
		}
		int nul = open("/dev/null", O_RDONLY);
		if (nul == -1 || dup2(nul, 0) == -1 || dup2(logfd, 1) == -1 ||
		    dup2(logfd, 2) == -1)
			goto fail;
		for (int i = 0; env != NULL && env[i] != NULL; i++)
			putenv(env[i]);
		execv(argv[0], argv);
	fail:
		child_errno = errno;
		(void)!write(pfd[1], &child_errno, sizeof(child_errno));
		_exit(127);
	}
	close(pfd[1]);
	if (read(pfd[0], &pid, sizeof(pid)) != sizeof(pid))
		pid = -1;
	/* EOF here means exec succeeded: the pipe closed on exec */
	if (pid > 0 && read(pfd[0], &child_errno, sizeof(child_errno)) ==
	    sizeof(child_errno)) {
		pid = -1;
		errno = child_errno;
	}
	close(pfd[0]);
	while (waitpid(mid, &status, 0) == -1 && errno == EINTR)
		;
	return pid;
}

/* A background job we wait for (initdb): our child, dies with us. */
static pid_t
spawn_job(const struct local_ids *ids, int logfd, char *const argv[])
{
	pid_t pid = fork();

	if (pid != 0)
		return pid;
	child_reset_signals();
	if (child_drop(ids) == -1)
		_exit(127);
	/* after setuid: a credential change clears it */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (dup2(logfd, 1) == -1 || dup2(logfd, 2) == -1)
		_exit(127);
	execv(argv[0], argv);
	dprintf(2, "cannot run %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

static int
open_log(const char *path, const struct local_ids *ids)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);

	if (fd != -1 && ids != NULL)
		(void)!fchown(fd, ids->uid, ids->gid);
	return fd;
}

/* ---- credentials ---------------------------------------------------- */


/*
 * The lab password: generated once, kept in <state_dir>/password (0600).
 * Two libpq passfiles: <state_dir>/pgpass for labsup and the user, and
 * <state_dir>/pg/.pgpass owned by the server user, which subscriptions name
 * in their conninfo (passfile=) so no password is stored in pg_subscription.
 */
static int
local_credentials(const struct config *cfg, const struct local_ids *ids,
    char *pw, size_t pwlen, char *err, size_t errlen)
{
	char path[LOCAL_PATH], line[256];

	if (lab_credentials(cfg, pw, pwlen, err, errlen) == -1)
		return -1;
	/* host:port:database:user:password; '*' fields keep it port-proof */
	snprintf(line, sizeof(line), "*:*:*:%s:%s\n", cfg->lab.user, pw);
	local_path(cfg, path, sizeof(path), "%s", "pg/.pgpass");
	char cur[256];
	bool same = read_file(path, cur, sizeof(cur)) > 0 &&
	    strcmp(cur, line) == 0;
	explicit_bzero(cur, sizeof(cur));
	if (!same && write_file(path, line, 0600, ids) == -1) {
		snprintf(err, errlen, "cannot write %s: %s (is the state "
		    "directory writable?)", path, strerror(errno));
		explicit_bzero(line, sizeof(line));
		return -1;
	}
	explicit_bzero(line, sizeof(line));
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
	local_path(cfg, path, sizeof(path), "%s", "pg");
	if (mkdir_owned(path, 0711, NULL) == -1) {
		snprintf(err, errlen, "cannot create %s: %s", path,
		    strerror(errno));
		return -1;
	}
	return local_credentials(cfg, &ids, pw, sizeof(pw), err, errlen);
}

/* ---- PostgreSQL ----------------------------------------------------- */

struct pm_pid {
	pid_t pid;
	int port;
	char status[16];	/* "ready", "starting", "stopping", "" */
};

/* postmaster.pid: pid, datadir, start, port, socket dir, addr, key, status */
static int
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

/* The server's own socket answers: it is up and accepting connections. */
static bool
pg_ping(const struct config *cfg, const char *dir, int port)
{
	const char *keys[] = { "host", "port", "dbname", "user",
	    "connect_timeout", NULL };
	char sport[16];
	const char *vals[6];

	snprintf(sport, sizeof(sport), "%d", port);
	vals[0] = dir;
	vals[1] = sport;
	vals[2] = "postgres";
	vals[3] = cfg->lab.user;
	vals[4] = "2";
	vals[5] = NULL;
	return PQpingParams(keys, vals, 0) == PQPING_OK;
}

static void
pg_write_conf(const struct config *cfg, const struct service_def *svc,
    const char *dir, const struct local_ids *ids)
{
	char path[LOCAL_PATH], text[2048];

	/* included from postgresql.conf; rewritten before every start */
	snprintf(text, sizeof(text),
	    "# written by labsup before every start; edits are lost\n"
	    "listen_addresses = '%s'\n"
	    "port = %d\n"
	    "unix_socket_directories = '%s'\n"
	    "unix_socket_permissions = 0700\n"
	    "wal_level = logical\n"
	    "max_wal_senders = 20\n"
	    "max_replication_slots = 20\n"
	    "max_worker_processes = 24\n"
	    "max_logical_replication_workers = 12\n"
	    "max_sync_workers_per_subscription = 4\n"
	    "max_connections = 100\n"
	    "shared_buffers = 128MB\n"
	    "jit = off\n"
	    "password_encryption = 'scram-sha-256'\n"
	    "logging_collector = off\n"
	    "log_line_prefix = '%%m [%%p] %s '\n",
	    cfg->lab.bind, svc->port, dir, svc->name);
	snprintf(path, sizeof(path), "%s/labsup.conf", dir);
	(void)write_file(path, text, 0600, ids);

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
	snprintf(path, sizeof(path), "%s/pg_hba.conf", dir);
	(void)write_file(path, text, 0600, ids);
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

	node_dir(cfg, svc->name, dir, sizeof(dir));
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

/* Once per process and server: lab password (as a SCRAM verifier) and db. */
static int
pg_provision(const struct config *cfg, const struct service_def *svc,
    const char *dir, char *err, size_t errlen)
{
	const char *keys[] = { "host", "port", "dbname", "user",
	    "connect_timeout", NULL };
	char sport[16], pw[LOCAL_PWLEN + 1], sql[512];
	const char *vals[6];
	const char *param[1];
	PGconn *c;
	PGresult *r;
	char *verifier = NULL, *lit = NULL, *ident = NULL;
	int rc = -1;

	/* the same password every backend and client of the lab uses */
	if (lab_credentials(cfg, pw, sizeof(pw), err, errlen) == -1)
		return -1;
	snprintf(sport, sizeof(sport), "%d", svc->port);
	vals[0] = dir;
	vals[1] = sport;
	vals[2] = "postgres";
	vals[3] = cfg->lab.user;
	vals[4] = "5";
	vals[5] = NULL;
	c = PQconnectdbParams(keys, vals, 0);
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

	node_dir(cfg, svc->name, dir, sizeof(dir));
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
	char *const pg_env[] = { tunables, NULL };
	logfd = open_log(logp, ids);
	if (logfd == -1) {
		obs->state = SS_FAILED;
		snprintf(obs->detail, sizeof(obs->detail), "cannot open %s: %s",
		    logp, strerror(errno));
		return;
	}
	st->server_pid = spawn_server(ids, logfd, NULL, argv, pg_env);
	close(logfd);
	st->started_ns = mono_ns();
	st->provisioned = false;
	if (st->server_pid == -1) {
		obs->state = SS_FAILED;
		snprintf(obs->detail, sizeof(obs->detail), "cannot start "
		    "%s: %s", postgres, strerror(errno));
		return;
	}
	log_info("%s: started postgres pid %d on port %d", svc->name,
	    (int)st->server_pid, svc->port);
	obs->pid = st->server_pid;
	snprintf(obs->detail, sizeof(obs->detail), "starting");
}

static int
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
	node_dir(cfg, svc->name, dir, sizeof(dir));
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
		return 0;
	}
	pg_start(cfg, svc, st, obs, &ids);
	return obs->state == SS_FAILED ? -1 : 0;
}

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

static pid_t
read_pidfile(const char *path)
{
	char buf[32];

	if (read_file(path, buf, sizeof(buf)) <= 0)
		return 0;
	return (pid_t)atoi(buf);
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
	return write_file(confp, text, 0644, NULL);
}

/* Adopt-or-start for daemons tracked by a pidfile we write (influxd, grafana). */
struct daemon_def {
	const char *comm;	/* /proc comm of the running server */
	const char *subdir;	/* under the state dir */
	char health[256];	/* URL answering 2xx when ready */
};

static bool
daemon_healthy(const char *url)
{
	long code = http_call(url, NULL);

	return code >= 200 && code < 300;
}

static int
influx_ensure(const struct config *cfg, const struct service_def *svc,
    struct service_obs *obs)
{
	struct local_svc *st = local_state(svc->name);
	char dir[LOCAL_PATH], pidp[LOCAL_PATH + 16], logp[LOCAL_PATH + 16];
	char confp[LOCAL_PATH + 16], url[256], body[160], influxd[] =
	    "/usr/bin/influxd", tail[200];
	pid_t pid;
	int logfd;

	local_path(cfg, dir, sizeof(dir), "%s", "influxdb");
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
	st->server_pid = spawn_server(&self, logfd, pidp, argv, NULL);
	close(logfd);
	st->started_ns = mono_ns();
	st->provisioned = false;
	if (st->server_pid == -1) {
		obs->state = SS_FAILED;
		snprintf(obs->detail, sizeof(obs->detail), "cannot start influxd: "
		    "%s", strerror(errno));
		return -1;
	}
	log_info("influxdb: started influxd pid %d on port %d",
	    (int)st->server_pid, cfg->influx.port);
	obs->pid = st->server_pid;
	snprintf(obs->detail, sizeof(obs->detail), "starting");
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

static int
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
	local_path(cfg, dir, sizeof(dir), "%s", "grafana");
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
	    write_file(confp, text, 0600, NULL) == -1 ||
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
		node_dir(cfg, svc->name, dir, sizeof(dir));
		if (read_postmaster_pid(dir, &pm) == 0 &&
		    pid_is(pm.pid, "postgres"))
			return pm.pid;
		return 0;
	case ROLE_INFLUXDB:
		local_path(cfg, path, sizeof(path), "%s",
		    "influxdb/influxd.pid");
		pid = read_pidfile(path);
		return pid_is(pid, "influxd") ? pid : 0;
	case ROLE_GRAFANA:
		local_path(cfg, path, sizeof(path), "%s",
		    "grafana/grafana.pid");
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

/*
 * utime+stime ticks and, when mem is not NULL, proportional memory of one
 * process.
 */
static int
proc_usage(pid_t pid, pid_t *ppid, int64_t *ticks, int64_t *mem)
{
	char path[64], buf[1024], *p;
	unsigned long ut, st;
	int pp;
	long long kb;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (read_file(path, buf, sizeof(buf)) <= 0)
		return -1;
	/* comm may hold spaces and parentheses: parse after the last ')' */
	p = strrchr(buf, ')');
	if (p == NULL || sscanf(p + 2, "%*c %d %*d %*d %*d %*d %*u %*u %*u "
	    "%*u %*u %lu %lu", &pp, &ut, &st) != 3)
		return -1;
	*ppid = pp;
	*ticks = (int64_t)ut + (int64_t)st;
	if (mem == NULL)
		return 0;
	*mem = 0;
	/* Pss shares postgres's shared buffers fairly among its processes */
	snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", (int)pid);
	char big[4096];
	if (read_file(path, big, sizeof(big)) > 0 &&
	    (p = strstr(big, "\nPss:")) != NULL &&
	    sscanf(p + 5, "%lld", &kb) == 1)
		*mem = kb * 1024;
	return 0;
}

/*
 * Add the usage of pid's children (a postmaster's backends), listed by the
 * kernel in /proc/PID/task/PID/children: far cheaper than reading every
 * process's stat once a second.  -1 when the kernel does not offer it.
 */
static int
local_children(pid_t pid, int64_t *ticks, int64_t *mem)
{
	char path[64], buf[8192], *p, *end;
	pid_t ppid;
	int64_t t, m;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)pid,
	    (int)pid);
	if (access(path, R_OK) == -1 || read_file(path, buf, sizeof(buf)) < 0)
		return -1;
	for (p = buf; *p != '\0'; p = end) {
		long c = strtol(p, &end, 10);
		if (end == p)
			break;
		if (c > 0 && proc_usage((pid_t)c, &ppid, &t, mem ? &m : NULL)
		    == 0 && ppid == pid) {
			*ticks += t;
			if (mem != NULL)
				*mem += m;
		}
	}
	return 0;
}

static int
local_stats(const struct config *cfg, const struct service_def *svc,
    struct service_obs *obs)
{
	struct local_svc *st = local_state(svc->name);
	pid_t pid = local_server_pid(cfg, svc), ppid;
	int64_t ticks = 0, mem = 0, t, m, now = mono_ns();
	bool children = svc->role == ROLE_PUBLISHER ||
	    svc->role == ROLE_SUBSCRIBER;
	DIR *d;
	struct dirent *de;

	obs->pid = pid;
	obs->cpu_pct = 0;
	obs->mem_bytes = 0;
	if (pid == 0)
		return -1;
	bool want_mem = now - st->mem_at_ns >= LOCAL_MEM_EVERY_NS;
	int64_t *memp = want_mem ? &mem : NULL;

	if (proc_usage(pid, &ppid, &ticks, memp) == -1)
		return -1;
	if (children && local_children(pid, &ticks, memp) == -1 &&
	    (d = opendir("/proc")) != NULL) {
		/* no /proc/PID/task/PID/children: scan every process */
		while ((de = readdir(d)) != NULL) {
			pid_t c = (pid_t)atoi(de->d_name);
			if (c <= 0 || c == pid)
				continue;
			if (proc_usage(c, &ppid, &t, memp ? &m : NULL) == 0 &&
			    ppid == pid) {
				ticks += t;
				if (memp != NULL)
					mem += m;
			}
		}
		closedir(d);
	}
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

/* Signal pid and wait up to secs for it to go; then escalate once. */
static bool
stop_pid(pid_t pid, int sig, int secs, int escalate)
{
	kill(pid, sig);
	for (int i = 0; i < secs * 20; i++) {
		if (!pid_alive(pid))
			return true;
		usleep(50000);
	}
	kill(pid, escalate);
	for (int i = 0; i < 100; i++) {
		if (!pid_alive(pid))
			return true;
		usleep(50000);
	}
	return false;
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
		node_dir(cfg, svc->name, dir, sizeof(dir));
	else
		local_path(cfg, dir, sizeof(dir), "%s", svc->role ==
		    ROLE_INFLUXDB ? "influxdb" : "grafana");
	snprintf(logp, sizeof(logp), "%s.log", dir);
	unlink(logp);
	if (rm_rf(dir) == -1) {
		snprintf(err, errlen, "cannot delete %s: %s", dir,
		    strerror(errno));
		return -1;
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
	for (int i = 0; files[i] != NULL; i++) {
		local_path(cfg, path, sizeof(path), "%s", files[i]);
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

const struct backend_ops backend_local = {
	.name = "local",
	.probe = local_probe,
	.prepare = local_prepare,
	.ensure = local_ensure,
	.stats = local_stats,
	.stop = local_stop,
	.teardown = local_teardown,
	.peer_addr = local_peer_addr,
};
