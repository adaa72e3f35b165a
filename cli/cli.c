/*
 * cli.c: what the commands share: the dispatcher over the command table,
 * loading the config, the state directory, finding the running supervisor
 * and its segment, and consistent snapshots of the segment.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../lib/duration.h"
#include "cli.h"

/*
 * The CLI's config lives as long as the command (a usage error exits with
 * it still reachable from here, not leaked); cli_dispatch frees it.
 */
struct config *cli_config;

/* Set when a lenient load met an invalid file. */
char cfg_error[600];

void
cli_usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "labsup: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see `labsup --help`)\n");
	exit(EXIT_USAGE);
}

/*
 * Load the config named by -c, $LABSUP_CONFIG, or the built-in defaults.
 * An invalid file is fatal, except for commands that only need to find the
 * running lab (lenient): they warn and go on with its identity.
 */
static struct config *
cli_load_config(const char *path, bool lenient)
{
	struct config *cfg = cli_config = calloc(1, sizeof(*cfg));
	char err[600], real[PATH_MAX];

	if (cfg == NULL) {
		fprintf(stderr, "labsup: out of memory\n");
		exit(1);
	}
	if (path == NULL)
		path = getenv("LABSUP_CONFIG");
	if (path != NULL && path[0] != '\0') {
		if (realpath(path, real) == NULL) {
			fprintf(stderr, "labsup: %s: cannot read: %s\n", path,
			    strerror(errno));
			exit(1);
		}
		path = real;
	}
	if (config_load(cfg, path, err, sizeof(err)) == -1) {
		if (!lenient || config_load_identity(cfg, path) == -1) {
			fprintf(stderr, "labsup: %s\n", err);
			exit(1);
		}
		cfg->lab.backend = -1; /* marks "identity only" */
		snprintf(cfg_error, sizeof(cfg_error), "%s", err);
	}
	return cfg;
}

/*
 * The state directory: created 0711 (servers running as another user must
 * traverse it), owned by us, writable by nobody else.
 */
int
cli_state_dir(const struct config *cfg, bool create)
{
	const char *dir = cfg->lab.state_dir;
	struct stat st;
	char tmp[CFG_PATH];

	if (create) {
		snprintf(tmp, sizeof(tmp), "%s", dir);
		for (char *p = tmp + 1; *p; p++) {
			if (*p != '/')
				continue;
			*p = '\0';
			if (mkdir(tmp, 0755) == -1 && errno != EEXIST) {
				fprintf(stderr, "labsup: cannot create %s: %s\n",
				    tmp, strerror(errno));
				return -1;
			}
			*p = '/';
		}
		if (mkdir(dir, 0711) == -1 && errno != EEXIST) {
			fprintf(stderr, "labsup: cannot create state directory "
			    "%s: %s\n", dir, strerror(errno));
			return -1;
		}
	}
	if (stat(dir, &st) == -1) {
		if (!create && errno == ENOENT)
			return 1;
		fprintf(stderr, "labsup: state directory %s: %s\n", dir,
		    strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid()) {
		fprintf(stderr, "labsup: state directory %s is not a directory "
		    "owned by you: choose another state_dir\n", dir);
		return -1;
	}
	if (st.st_mode & 022) {
		fprintf(stderr, "labsup: state directory %s is writable by "
		    "others (mode %03o): run chmod 0711 %s\n", dir,
		    st.st_mode & 0777, dir);
		return -1;
	}
	return 0;
}

/*
 * The running supervisor's pid, or 0.  The supervisor holds a lock on its
 * pidfile (libbsd pidfile_open); a pid that merely exists is not enough,
 * since a killed supervisor can linger as a zombie nobody reaps.
 */
pid_t
cli_running_pid(const struct config *cfg)
{
	char path[CFG_PATH + 32], buf[32];
	int fd;
	ssize_t n;
	long pid;

	if (lab_path(cfg, LAB_PIDFILE, path, sizeof(path)) == -1)
		return 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd == -1)
		return 0;
	if (flock(fd, LOCK_SH | LOCK_NB) == 0) {
		close(fd); /* nobody holds it: stale */
		return 0;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	pid = strtol(buf, NULL, 10);
	if (pid <= 1 || (kill((pid_t)pid, 0) == -1 && errno == ESRCH))
		return 0;
	return (pid_t)pid;
}

/* Map the lab's segment; 0 on success. */
int
cli_open_seg(const struct config *cfg, struct seg *seg, bool writable,
    bool quiet)
{
	char name[SEG_NAME_MAX], err[300];

	lab_seg_name(cfg, name, sizeof(name));
	if (seg_open(seg, name, writable, err, sizeof(err)) == -1) {
		if (!quiet)
			fprintf(stderr, "labsup: %s\n", err);
		return -1;
	}
	return 0;
}

void
cli_snapshot(const struct seg *seg, struct snapshot *snap)
{
	const struct seg_header *h = seg->hdr;

	memset(snap, 0, sizeof(*snap));
	seg_read_info(seg, &snap->info);
	uint32_t be = atomic_load(&((struct seg_header *)h)->backend);
	if (be == BACKEND_LOCAL || be == BACKEND_DOCKER)
		snprintf(snap->backend, sizeof(snap->backend), "%s",
		    backend_name((int)be));
	snap->supervisor_pid = atomic_load(&((struct seg_header *)h)->supervisor_pid);
	snap->boot_ns = h->boot_ns;
	snap->nslots = h->nslots < SUP_MAX_SLOTS ? h->nslots : SUP_MAX_SLOTS;
	snap->nsvc = h->nsvc < CFG_MAX_NODES + 2 ? h->nsvc : CFG_MAX_NODES + 2;
	for (uint32_t i = 0; i < snap->nslots; i++) {
		struct snap_worker *w = &snap->workers[i];
		const struct slot *s = seg_slot(seg, i);
		if (status_read_sup(s, &w->sup) == -1) {
			/* no stable copy in ~10 ms: say so, show nothing torn */
			w->state = WS_STARTING;
			snprintf(w->sup.name, sizeof(w->sup.name), "slot %u", i);
			snprintf(w->own.detail, sizeof(w->own.detail),
			    "(status busy: being written)");
			continue;
		}
		if (status_read_own(s, &w->own) == -1)
			snprintf(w->own.detail, sizeof(w->own.detail),
			    "(status busy: being written)");
		if (w->sup.state == WS_EMPTY && i > 0)
			w->state = WS_EMPTY;
		else if (w->sup.pid > 0 && w->own.pid == w->sup.pid)
			w->state = w->own.state;
		else if (w->sup.pid > 0)
			w->state = WS_STARTING;
		else
			w->state = w->sup.state;
	}
	for (uint32_t i = 0; i < snap->nsvc; i++)
		status_read_svc(seg_svc(seg, i), &snap->svcs[i]);
	seg_ring_totals(seg, &snap->produced, &snap->committed,
	    &snap->dropped);
}

const struct snap_worker *
cli_worker(const struct snapshot *snap, int kind, const char *arg)
{
	for (uint32_t i = 1; i < snap->nslots; i++)
		if (snap->workers[i].state != WS_EMPTY &&
		    snap->workers[i].sup.kind == kind &&
		    (arg == NULL || !strcmp(snap->workers[i].sup.arg, arg)))
			return &snap->workers[i];
	return NULL;
}

/* "12 MB"; compact ("12M") for narrow columns. */
void
cli_bytes(int64_t b, bool compact, char *buf, size_t len)
{
	const char *sp = compact ? "" : " ";

	if (b >= 1 << 30)
		snprintf(buf, len, "%.1f%s%s", b / 1073741824.0, sp,
		    compact ? "G" : "GB");
	else if (b >= 1 << 20)
		snprintf(buf, len, "%.0f%s%s", b / 1048576.0, sp,
		    compact ? "M" : "MB");
	else if (b >= 1024 || !compact)
		snprintf(buf, len, "%lld%s%s", (long long)(b / 1024), sp,
		    compact ? "k" : "kB");
	else
		snprintf(buf, len, "%lldB", (long long)b);
}

/*
 * Take -c FILE out of the arguments after the command (before a `--`; for
 * operands_end commands before the first operand, so `labsup psql pub -c
 * "SELECT 1"` hands -c to psql).  rest[0] is the command's name.
 */
static int
cli_split(const struct cli_command *c, int argc, char **argv,
    const char **path, char **rest)
{
	int n = 0;

	rest[n++] = argv[0];
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--") || (c->operands_end && n > 1)) {
			if (!strcmp(argv[i], "--"))
				i++;
			for (; i < argc; i++)
				rest[n++] = argv[i];
			break;
		}
		if (!strcmp(argv[i], "-c") || !strcmp(argv[i], "--config")) {
			if (i + 1 >= argc)
				cli_usage_error("%s: -c needs a FILE", argv[0]);
			*path = argv[++i];
		} else if (!strncmp(argv[i], "--config=", 9))
			*path = argv[i] + 9;
		else if (!strncmp(argv[i], "-c", 2) && argv[i][2] != '\0')
			*path = argv[i] + 2;	/* -cFILE, as getopt takes it */
		else
			rest[n++] = argv[i];
	}
	rest[n] = NULL;
	return n;
}

/* What cli_cfg() loads, set by cli_dispatch from the command table. */
static const char *cli_path;
static bool cli_lenient;

struct config *
cli_cfg(void)
{
	/* a lab to find or a running one: a broken file still names it */
	return cli_config != NULL ? cli_config : cli_load_config(cli_path,
	    cli_lenient);
}

int
cli_dispatch(int argc, char **argv)
{
	const struct cli_command *c;
	const char *path = NULL;
	char **rest;
	int n, rc;

	for (c = cli_commands; c->name != NULL; c++)
		if (!strcmp(c->name, argv[1]))
			break;
	if (c->name == NULL)
		cli_usage_error("unknown command \"%s\"", argv[1]);
	rest = calloc((size_t)argc + 1, sizeof(char *));
	if (rest == NULL) {
		fprintf(stderr, "labsup: out of memory\n");
		return 1;
	}
	n = cli_split(c, argc - 1, argv + 1, &path, rest);
	cli_path = path;
	cli_lenient = c->needs != CLI_CONFIG;
	optind = 1;
	rc = c->run(n, rest);
	free(rest);
	free(cli_config);
	cli_config = NULL;
	return rc;
}

int
cli_require_running(const struct config *cfg, struct seg *seg, FILE *say)
{
	pid_t pid = cli_running_pid(cfg);

	if (pid == 0 || cli_open_seg(cfg, seg, false, true) == -1) {
		if (cfg_error[0])
			fprintf(stderr, "labsup: %s\n", cfg_error);
		fprintf(say, "lab %s is not running (start it with "
		    "`labsup start%s%s`)\n", cfg->lab.name,
		    cfg->path[0] ? " -c " : "", cfg->path);
		return -1;
	}
	if (atomic_load(&seg->hdr->supervisor_pid) != pid) {
		seg_close(seg);
		fprintf(stderr, "labsup: lab %s is starting or stopping (pid "
		    "%d): try again in a moment\n", cfg->lab.name, (int)pid);
		return -1;
	}
	return 0;
}

int
cli_seconds(const char *cmd, const char *text)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(text, &end, 10);
	if (text[0] == '\0' || *end != '\0' || errno != 0 || v < 1 ||
	    v > 86400)
		cli_usage_error("%s: --timeout %s: expected whole seconds, 1 to "
		    "86400", cmd, text);
	return (int)v;
}

int64_t
cli_duration(const char *what, const char *text)
{
	char err[400];
	int64_t ns;

	if (duration_arg(what, text, 1, DURATION_MAX_NS, &ns, err,
	    sizeof(err)) == -1)
		cli_usage_error("%s", err);
	return ns;
}
