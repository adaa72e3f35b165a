/*
 * local_proc.c: the local backend's process and file helpers: spawning
 * servers detached and jobs as children, telling whether a pid is still
 * the server it was, what it uses (from /proc), stopping it.  Knows
 * nothing of PostgreSQL, InfluxDB or Grafana.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../lib/labsup.h"
#include "local.h"

int
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

int
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

int
rm_rf(const char *path)
{
	struct stat st;

	if (lstat(path, &st) == -1)
		return errno == ENOENT ? 0 : -1;
	return nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* The last line of a log file: what a failed server or initdb said. */
void
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

/* True when /proc/pid/comm starts with want (a recycled pid is not ours). */
bool
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
bool
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
int
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
pid_t
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

			snprintf(line, sizeof(line), "%d\n", (int)getpid());
			if (file_write_atomic(pidfile, line, strlen(line), 0644,
			    (uid_t)-1, (gid_t)-1) == -1)
				goto fail;
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

int
start_server(struct local_svc *st, const struct local_ids *ids, int logfd,
    const char *pidfile, char *const argv[], char *const env[],
    const char *what, struct service_obs *obs)
{
	st->server_pid = spawn_server(ids, logfd, pidfile, argv, env);
	close(logfd);
	st->started_ns = mono_ns();
	st->provisioned = false;
	if (st->server_pid == -1) {
		obs->state = SS_FAILED;
		snprintf(obs->detail, sizeof(obs->detail), "cannot start %s: "
		    "%s", what, strerror(errno));
		return -1;
	}
	obs->pid = st->server_pid;
	snprintf(obs->detail, sizeof(obs->detail), "starting");
	return 0;
}

/* A background job we wait for (initdb): our child, dies with us. */
pid_t
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

int
open_log(const char *path, const struct local_ids *ids)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);

	if (fd != -1 && ids != NULL)
		(void)!fchown(fd, ids->uid, ids->gid);
	return fd;
}

pid_t
read_pidfile(const char *path)
{
	char buf[32];

	if (read_file(path, buf, sizeof(buf)) <= 0)
		return 0;
	return (pid_t)atoi(buf);
}

/*
 * utime+stime ticks and, when mem is not NULL, proportional memory of one
 * process.
 */
int
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

/* Add c's usage when its parent is pid (it may be gone, or another's). */
static void
add_child(pid_t pid, pid_t c, int64_t *ticks, int64_t *mem)
{
	pid_t ppid;
	int64_t t, m;

	if (proc_usage(c, &ppid, &t, mem != NULL ? &m : NULL) == 0 &&
	    ppid == pid) {
		*ticks += t;
		if (mem != NULL)
			*mem += m;
	}
}

/*
 * pid's children as the kernel lists them in /proc/PID/task/PID/children:
 * far cheaper than reading every process's stat once a second.  -1 when
 * the kernel does not offer it.
 */
static int
children_listed(pid_t pid, int64_t *ticks, int64_t *mem)
{
	char path[64], buf[8192], *p, *end;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)pid,
	    (int)pid);
	if (access(path, R_OK) == -1 || read_file(path, buf, sizeof(buf)) < 0)
		return -1;
	for (p = buf; *p != '\0'; p = end) {
		long c = strtol(p, &end, 10);
		if (end == p)
			break;
		if (c > 0)
			add_child(pid, (pid_t)c, ticks, mem);
	}
	return 0;
}

void
children_usage(pid_t pid, int64_t *ticks, int64_t *mem)
{
	DIR *d;
	struct dirent *de;

	if (children_listed(pid, ticks, mem) == 0 ||
	    (d = opendir("/proc")) == NULL)
		return;
	/* no /proc/PID/task/PID/children: scan every process */
	while ((de = readdir(d)) != NULL) {
		pid_t c = (pid_t)atoi(de->d_name);

		if (c > 0 && c != pid)
			add_child(pid, c, ticks, mem);
	}
	closedir(d);
}

/* Signal pid and wait up to secs for it to go; then escalate once. */
bool
stop_pid(pid_t pid, int sig, int secs, int escalate)
{
	/* sig, then escalate after secs, then SIGKILL: always bounded */
	const int steps[3] = { sig, escalate, SIGKILL };
	const int waits[3] = { secs * 20, 100, 100 };	/* 50 ms each */

	for (int s = 0; s < 3; s++) {
		if (s > 0 && steps[s] == steps[s - 1])
			continue;
		kill(pid, steps[s]);
		for (int i = 0; i < waits[s]; i++) {
			if (!pid_alive(pid))
				return true;
			usleep(50000);
		}
	}
	return false;
}
