/*
 * lab.c: small facts about a lab that every process needs: paths in its
 * state directory, its segment name, connection strings, clocks, and the
 * helpers a worker uses to talk to its lane and status slot.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/random.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "labsup.h"

volatile sig_atomic_t worker_stop;
pid_t worker_parent_pid;

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

bool
worker_orphaned(void)
{
	return getppid() != worker_parent_pid;
}

void
worker_sleep_ms(int ms)
{
	int64_t end = mono_ns() + (int64_t)ms * 1000000;

	while (!worker_stop) {
		int64_t left = end - mono_ns();
		if (left <= 0)
			break;
		if (left > 50000000)
			left = 50000000;
		struct timespec ts = { 0, (long)left };
		nanosleep(&ts, NULL);
		if (worker_orphaned()) {
			worker_stop = 1;
			break;
		}
	}
}

int
worker_emit(struct worker_ctx *ctx, struct record *r)
{
	if (r->ts == 0)
		r->ts = now_ns();
	return lane_push(ctx->lane, r);
}

void
worker_labsup_init(struct worker_ctx *ctx, struct record *r)
{
	struct slot_sup sup;

	memset(r, 0, sizeof(*r));
	r->kind = REC_LABSUP;
	if (status_read_sup(ctx->slot, &sup) == -1)
		memset(&sup, 0, sizeof(sup));
	snprintf(r->u.labsup.worker, sizeof(r->u.labsup.worker), "%s",
	    sup.name[0] ? sup.name : worker_kind_name(ctx->kind));
	r->u.labsup.ring_drops = (int64_t)lane_dropped(ctx->lane);
	r->u.labsup.restarts = sup.restarts;
	r->u.labsup.spool_bytes = REC_ABSENT;
	r->u.labsup.deadline_misses = REC_ABSENT;
	r->u.labsup.points_written = REC_ABSENT;
	r->u.labsup.errors = REC_ABSENT;
	r->u.labsup.value = REC_ABSENT;
}

int
worker_event(struct worker_ctx *ctx, const char *kind, const char *fmt, ...)
{
	struct record r;
	va_list ap;

	memset(&r, 0, sizeof(r));
	r.kind = REC_EVENT;
	snprintf(r.u.event.kind, sizeof(r.u.event.kind), "%s", kind);
	va_start(ap, fmt);
	vsnprintf(r.u.event.text, sizeof(r.u.event.text), fmt, ap);
	va_end(ap);
	return worker_emit(ctx, &r);
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
	char tmp[CFG_PATH + 40], cur[512];
	size_t len = strlen(text);
	struct stat st;
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) != -1) {
		n = fstat(fd, &st) == 0 && (st.st_mode & 077) == 0 ?
		    read(fd, cur, sizeof(cur)) : -1;
		close(fd);
		if (n == (ssize_t)len && memcmp(cur, text, len) == 0) {
			explicit_bzero(cur, sizeof(cur));
			return 0;
		}
		explicit_bzero(cur, sizeof(cur));
	}

	snprintf(tmp, sizeof(tmp), "%s.tmp%d", path, (int)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd == -1)
		return -1;
	if (fchmod(fd, 0600) == -1 || write(fd, text, len) != (ssize_t)len ||
	    fsync(fd) == -1) {
		int e = errno;
		close(fd);
		unlink(tmp);
		errno = e;
		return -1;
	}
	close(fd);
	if (rename(tmp, path) == -1) {
		int e = errno;
		unlink(tmp);
		errno = e;
		return -1;
	}
	return 0;
}
