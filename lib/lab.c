/*
 * lab.c: small facts about a lab that every process needs: paths in its
 * state directory, its segment name, connection strings, clocks and the
 * lab's credentials.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/random.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "labsup.h"

int64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t
mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

bool
pid_alive(pid_t pid)
{
	char path[64], buf[512], *p;
	ssize_t n;
	int fd;

	if (pid <= 0 || (kill(pid, 0) == -1 && errno != EPERM))
		return false;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	p = strrchr(buf, ')');
	return p == NULL || (p[1] == ' ' && p[2] != 'Z' && p[2] != 'X');
}

int
lab_path(const struct config *cfg, const char *file, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s/%s", cfg->lab.state_dir, file);

	if (n < 0 || (size_t)n >= len) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

int
lab_node_dir(const struct config *cfg, const char *node, char *buf,
    size_t len)
{
	char rel[CFG_NAME + 8];

	snprintf(rel, sizeof(rel), "pg/%s", node);
	return lab_path(cfg, rel, buf, len);
}

void
lab_seg_name(const struct config *cfg, char *buf, size_t len)
{
	seg_name(buf, len, cfg->lab.name);
}

int
lab_conninfo(const struct config *cfg, const struct node_cfg *node,
    const char *appname, char *buf, size_t len)
{
	char passfile[CFG_PATH + 16];
	char sockdir[CFG_PATH + 32], sock[CFG_PATH + 64];
	struct stat st;
	const char *host = cfg->lab.bind;
	int n;

	if (lab_path(cfg, LAB_PASSFILE, passfile, sizeof(passfile)) == -1 ||
	    lab_node_dir(cfg, node->name, sockdir, sizeof(sockdir)) == -1)
		return -1;
	/*
	 * A local-backend server also listens on a unix socket in its data
	 * directory (server user only, trusted there): a round trip through
	 * it costs less than TCP's, which matters to 100 Hz samplers.
	 */
	snprintf(sock, sizeof(sock), "%s/.s.PGSQL.%d", sockdir, node->port);
	if (stat(sock, &st) == 0 && S_ISSOCK(st.st_mode))
		host = sockdir;
	/* values are tame (config.c checks names and paths); quote anyway */
	n = snprintf(buf, len, "host='%s' port=%d dbname='%s' user='%s' "
	    "passfile='%s' application_name='%s' connect_timeout=5",
	    host, node->port, cfg->lab.database, cfg->lab.user,
	    passfile, appname);
	if (n < 0 || (size_t)n >= len) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

PGconn *
lab_connect(const struct config *cfg, const struct node_cfg *node,
    const char *appname, char *err, size_t errlen)
{
	char ci[1024];
	PGconn *c;
	PGresult *r;

	if (lab_conninfo(cfg, node, appname, ci, sizeof(ci)) == -1) {
		snprintf(err, errlen, "connection string too long");
		return NULL;
	}
	c = PQconnectdb(ci);
	if (PQstatus(c) != CONNECTION_OK) {
		snprintf(err, errlen, "%s", PQerrorMessage(c));
		err[strcspn(err, "\n")] = '\0';
		PQfinish(c);
		return NULL;
	}
	/* IF NOT EXISTS notices are expected; keep the log quiet */
	r = PQexec(c, "SET client_min_messages = warning");
	PQclear(r);
	return c;
}

/*
 * The lab password: generated once (24 characters from a 57-letter
 * alphabet, from getrandom), kept in <state_dir>/password, 0600; and the
 * libpq passfile <state_dir>/pgpass (0600) that labsup, `labsup psql` and
 * the user connect with.  Every backend shares these.
 */
int
lab_credentials(const struct config *cfg, char *pw, size_t pwlen, char *err,
    size_t errlen)
{
	static const char alnum[] = "ABCDEFGHJKLMNPQRSTUVWXYZ"
	    "abcdefghijkmnopqrstuvwxyz23456789";
	char path[CFG_PATH + 16], line[256];
	unsigned char rnd[24];
	ssize_t n = 0;
	int fd;

	lab_path(cfg, LAB_PASSWORD, path, sizeof(path));
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) != -1) {
		n = read(fd, pw, pwlen - 1);
		close(fd);
	}
	while (n > 0 && (pw[n - 1] == '\n' || pw[n - 1] == '\r'))
		n--;
	if (n > 0) {
		pw[n] = '\0';
	} else {
		size_t k = pwlen - 1 < sizeof(rnd) ? pwlen - 1 : sizeof(rnd);
		if (getrandom(rnd, k, 0) != (ssize_t)k) {
			snprintf(err, errlen, "cannot generate a password: %s",
			    strerror(errno));
			return -1;
		}
		for (size_t i = 0; i < k; i++)
			pw[i] = alnum[rnd[i] % (sizeof(alnum) - 1)];
		pw[k] = '\0';
		explicit_bzero(rnd, sizeof(rnd));
		snprintf(line, sizeof(line), "%s\n", pw);
		if (lab_write_secret(path, line) == -1)
			goto fail;
	}
	/* host:port:database:user:password; '*' fields keep it port-proof */
	snprintf(line, sizeof(line), "*:*:*:%s:%s\n", cfg->lab.user, pw);
	lab_path(cfg, LAB_PASSFILE, path, sizeof(path));
	if (lab_write_secret(path, line) == -1)
		goto fail;
	explicit_bzero(line, sizeof(line));
	return 0;
fail:
	explicit_bzero(line, sizeof(line));
	snprintf(err, errlen, "cannot write %s: %s (is the state directory "
	    "writable?)", path, strerror(errno));
	return -1;
}

/*
 * Write a small secret file, 0600 from the first byte, atomically; a file
 * that already holds text, 0600, is left alone (callers run every second).
 */
int
lab_write_secret(const char *path, const char *text)
{
	size_t len = strlen(text);

	if (file_same(path, text, len, 0600))
		return 0;
	return file_write_atomic(path, text, len, 0600, (uid_t)-1, (gid_t)-1);
}

/* A node's mark file, <state_dir>/KIND.NODE, and whether it is there. */
static int
lab_mark_path(const struct config *cfg, const char *kind, const char *node,
    char *buf, size_t len)
{
	char rel[CFG_NAME + 16];

	snprintf(rel, sizeof(rel), "%s.%s", kind, node);
	return lab_path(cfg, rel, buf, len);
}

static bool
lab_marked(const struct config *cfg, const char *kind, const char *node)
{
	char path[CFG_PATH + 32];

	return lab_mark_path(cfg, kind, node, path, sizeof(path)) == 0 &&
	    access(path, F_OK) == 0;
}

int
lab_sub_paused_path(const struct config *cfg, const char *node, char *buf,
    size_t len)
{
	return lab_mark_path(cfg, "sub-paused", node, buf, len);
}

bool
lab_sub_paused(const struct config *cfg, const char *node)
{
	return lab_marked(cfg, "sub-paused", node);
}

/*
 * issue 16: where a node's server writes its jsonlog.  The local backend
 * keeps it in the data directory (log_directory = 'log'); a docker
 * container writes it to this host directory, bind-mounted, since its
 * data directory is a volume the host may not read.
 */
int
lab_node_log_dir(const struct config *cfg, const char *node, bool docker,
    char *buf, size_t len)
{
	char rel[CFG_NAME + 16];

	snprintf(rel, sizeof(rel), docker ? "pglog/%s" : "pg/%s/log", node);
	return lab_path(cfg, rel, buf, len);
}

int
lab_node_held_path(const struct config *cfg, const char *node, char *buf,
    size_t len)
{
	return lab_mark_path(cfg, "node-held", node, buf, len);
}

bool
lab_node_held(const struct config *cfg, const char *node)
{
	return lab_marked(cfg, "node-held", node);
}
