/*
 * main.c: the labsup command line.  `start` validates the config, takes the
 * pidfile, creates (or adopts) the segment, daemonizes the supervisor and
 * follows its progress; the other commands read the segment or signal the
 * supervisor.  Usage errors exit 2, "not running" exits 3 (LSB).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "supervisor.h"
#include "cli.h"

extern char **environ;

/* The CLI's config lives as long as the process (reachable, not leaked). */
struct config *cli_config;

/* Set when a lenient load met an invalid file. */
char cfg_error[600];

static const char usage_text[] =
"usage: labsup COMMAND [-c FILE] [options]\n"
"\n"
"  start [--backend auto|docker|local] [-f|--foreground] [--timeout SEC]\n"
"                     start the lab and wait until it is ready\n"
"  status [--json]    show services, workers, ring and writer (exit 3 if not running)\n"
"  top                live view of the lab from shared memory\n"
"  reload             re-read the config file (same as kill -HUP)\n"
"  stop [--keep-running] [--purge]\n"
"                     stop workers and services (--purge deletes the lab's data)\n"
"  check              compare row counts and checksums across nodes\n"
"  psql [-c FILE] NODE [PSQL ARGS]\n"
"                     psql on a node with the lab's credentials\n"
"  config check       validate the config and print the effective settings\n"
"  image build        build the Docker images from the host's binaries\n"
"\n"
"  -c FILE            the lab's config (default $LABSUP_CONFIG, else built-in defaults)\n"
"  --help, --version\n";

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
load_config(const char *path, const char *backend, bool lenient)
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
	if (backend != NULL && config_set_backend(cfg, backend) == -1)
		cli_usage_error("--backend %s: expected auto, docker or local",
		    backend);
	return cfg;
}

struct config *
cli_load_config(const char *path, const char *backend)
{
	return load_config(path, backend, false);
}

struct config *
cli_find_lab(const char *path)
{
	return load_config(path, NULL, true);
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

/*
 * Find or make the segment for a new supervisor.  A segment left by a
 * supervisor that died is adopted when its layout fits (its unsent samples
 * are then delivered by the new writer), otherwise removed.
 */
static int
prepare_segment(const struct config *cfg, struct seg *seg)
{
	char name[SEG_NAME_MAX], err[300];
	uint32_t nslots = sup_nslots(cfg);
	uint64_t lane_records = (uint64_t)cfg->writer.lane_records;

	lab_seg_name(cfg, name, sizeof(name));
	if (seg_open(seg, name, true, err, sizeof(err)) == 0) {
		struct seg_header *h = seg->hdr;
		int32_t old = atomic_load(&h->supervisor_pid);
		uint64_t p, c, d;
		seg_ring_totals(seg, &p, &c, &d);
		if (old > 0 && cli_running_pid(cfg) == old) {
			fprintf(stderr, "labsup: lab %s is already running (pid "
			    "%d)\n", cfg->lab.name, (int)old);
			seg_close(seg);
			return 1;
		}
		if (h->lane_records == lane_records && h->nslots >= nslots &&
		    h->nsvc == CFG_MAX_NODES + 2) {
			fprintf(stderr, "labsup: adopting the segment of a "
			    "supervisor that died (pid %d)%s\n", (int)old,
			    p != c ? ": its unsent samples will be delivered" :
			    "");
			for (uint32_t i = 0; i < h->nslots; i++) {
				struct slot *s = seg_slot(seg, i);
				memset(s, 0, sizeof(*s));
				/* the consumer starts over from what was committed */
				lane_init(seg_lane(seg, i), lane_records, true);
			}
			for (uint32_t i = 0; i < h->nsvc; i++)
				memset(seg_svc(seg, i), 0, sizeof(struct svc_status));
			h->boot_ns = now_ns();
			return 0;
		}
		if (p != c)
			fprintf(stderr, "labsup: warning: discarding %llu unsent "
			    "samples of an older segment with another layout\n",
			    (unsigned long long)(p - c));
		seg_close(seg);
		seg_unlink(name);
	} else if (errno != ENOENT) {
		/* unreadable or foreign layout: remove it */
		fprintf(stderr, "labsup: removing stale %s: %s\n", name, err);
		seg_unlink(name);
	}
	if (seg_create(seg, name, nslots, CFG_MAX_NODES + 2, lane_records, err,
	    sizeof(err)) == -1) {
		fprintf(stderr, "labsup: %s\n", err);
		return -1;
	}
	return 0;
}

static int
open_log(const struct config *cfg)
{
	char path[CFG_PATH + 32];
	int fd;

	lab_path(cfg, LAB_LOGFILE, path, sizeof(path));
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd == -1)
		fprintf(stderr, "labsup: cannot open log %s: %s\n", path,
		    strerror(errno));
	return fd;
}

static int
cmd_start(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "backend", required_argument, NULL, 'b' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "timeout", required_argument, NULL, 't' },
		{ "quiet", no_argument, NULL, 'q' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = NULL, *backend = NULL;
	bool fg = false, quiet = false;
	int timeout = 300, ch;
	struct config *cfg;
	struct pidfh *pfh;
	struct seg seg;
	char pidpath[CFG_PATH + 32];
	pid_t other, pid;
	int rc;

	while ((ch = getopt_long(argc, argv, "+c:b:ft:q", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': path = optarg; break;
		case 'b': backend = optarg; break;
		case 'f': fg = true; break;
		case 'q': quiet = true; break;
		case 't':
			timeout = atoi(optarg);
			if (timeout <= 0)
				cli_usage_error("--timeout %s: expected seconds",
				    optarg);
			break;
		default:
			cli_usage_error("start: unknown option or missing value \"%s\"", argv[optind - 1]);
		}
	}
	if (optind != argc)
		cli_usage_error("start: unexpected argument \"%s\"",
		    argv[optind]);
	cfg = cli_load_config(path, backend);
	if (cli_state_dir(cfg, true) != 0)
		return 1;
	lab_path(cfg, LAB_PIDFILE, pidpath, sizeof(pidpath));
	pfh = pidfile_open(pidpath, 0600, &other);
	if (pfh == NULL) {
		if (errno == EEXIST) {
			printf("labsup: lab %s is already running (pid %d); see "
			    "`labsup status%s%s`\n", cfg->lab.name, (int)other,
			    cfg->path[0] ? " -c " : "", cfg->path);
			return 0;
		}
		fprintf(stderr, "labsup: cannot open pidfile %s: %s\n", pidpath,
		    strerror(errno));
		return 1;
	}
	rc = prepare_segment(cfg, &seg);
	if (rc != 0) {
		pidfile_remove(pfh);
		return rc == 1 ? 0 : 1;
	}
	if (fg) {
		log_init("labsup", true);
		setproctitle("supervisor %s", cfg->lab.name);
		if (pidfile_write(pfh) == -1)
			fprintf(stderr, "labsup: cannot write pidfile: %s\n",
			    strerror(errno));
		return sup_run(cfg, &seg, pfh);
	}

	int logfd = open_log(cfg);
	if (logfd == -1) {
		pidfile_remove(pfh);
		seg_unlink(seg.name);
		return 1;
	}
	fflush(NULL);
	pid = fork();
	if (pid == -1) {
		fprintf(stderr, "labsup: cannot fork the supervisor: %s\n",
		    strerror(errno));
		pidfile_remove(pfh);
		return 1;
	}
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDWR);
		setsid();
		if (chdir("/") == -1)
			_exit(1);
		dup2(devnull, STDIN_FILENO);
		dup2(logfd, STDOUT_FILENO);
		dup2(logfd, STDERR_FILENO);
		close(devnull);
		close(logfd);
		log_init("labsup", false);
		setproctitle("supervisor %s", cfg->lab.name);
		if (pidfile_write(pfh) == -1)
			log_warn("cannot write pidfile");
		_exit(sup_run(cfg, &seg, pfh));
	}
	close(logfd);
	/* the daemon holds the pidfile's lock through its own descriptor */
	pidfile_close(pfh);
	return cli_follow_start(cfg, &seg, pid, timeout, quiet);
}

static int
cmd_stop(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "keep-running", no_argument, NULL, 'k' },
		{ "purge", no_argument, NULL, 'p' },
		{ "timeout", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = NULL;
	uint32_t flags = 0;
	int timeout = 120, ch;
	struct config *cfg;
	struct seg seg;
	pid_t pid;

	while ((ch = getopt_long(argc, argv, "+c:kpt:", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': path = optarg; break;
		case 'k': flags |= SHUT_KEEP_RUNNING; break;
		case 'p': flags |= SHUT_PURGE; break;
		case 't': timeout = atoi(optarg); break;
		default:
			cli_usage_error("stop: unknown option or missing value \"%s\"", argv[optind - 1]);
		}
	}
	if (optind != argc)
		cli_usage_error("stop: unexpected argument \"%s\"",
		    argv[optind]);
	if ((flags & SHUT_KEEP_RUNNING) && (flags & SHUT_PURGE))
		cli_usage_error("stop: --keep-running and --purge exclude each "
		    "other");
	cfg = cli_find_lab(path);
	pid = cli_running_pid(cfg);
	if (pid == 0 && cfg_error[0]) {
		fprintf(stderr, "labsup: %s\n", cfg_error);
		return 1;
	}
	if (pid == 0) {
		int rc = 0;
		/* a supervisor that died leaves its services running */
		if (!(flags & SHUT_KEEP_RUNNING) &&
		    cli_state_dir(cfg, false) == 0) {
			printf("labsup: lab %s is not running; stopping any of "
			    "its services left behind\n", cfg->lab.name);
			rc = container_stop_services(cfg,
			    (flags & SHUT_PURGE) != 0);
		} else
			printf("labsup: lab %s is not running\n", cfg->lab.name);
		char name[SEG_NAME_MAX];
		lab_seg_name(cfg, name, sizeof(name));
		if (cli_open_seg(cfg, &seg, false, true) == 0) {
			uint64_t p, c, d;
			seg_ring_totals(&seg, &p, &c, &d);
			seg_close(&seg);
			if (p == c || (flags & SHUT_PURGE))
				seg_unlink(name);
		}
		return rc == 0 ? 0 : 1;
	}
	if (cli_open_seg(cfg, &seg, true, true) == 0) {
		atomic_store(&seg.hdr->shutdown_flags, flags);
		seg_close(&seg);
	}
	if (kill(pid, SIGTERM) == -1) {
		fprintf(stderr, "labsup: cannot signal the supervisor (pid %d): "
		    "%s\n", (int)pid, strerror(errno));
		return 1;
	}
	printf("labsup: stopping lab %s (pid %d)", cfg->lab.name, (int)pid);
	fflush(stdout);
	for (int i = 0; i < timeout * 5; i++) {
		if (cli_running_pid(cfg) != pid) {
			printf("\nlabsup: lab %s stopped%s\n", cfg->lab.name,
			    flags & SHUT_PURGE ? " and its data deleted" :
			    flags & SHUT_KEEP_RUNNING ?
			    " (services left running)" : "");
			return 0;
		}
		usleep(200000);
		if (i % 10 == 9) {
			putchar('.');
			fflush(stdout);
		}
	}
	fprintf(stderr, "\nlabsup: the supervisor (pid %d) did not stop within "
	    "%d s; see %s/%s\n", (int)pid, timeout, cfg->lab.state_dir,
	    LAB_LOGFILE);
	return 1;
}

static int
cmd_reload(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = NULL;
	struct config *cfg;
	struct lab_info before, after;
	struct seg seg;
	pid_t pid;
	int ch;

	while ((ch = getopt_long(argc, argv, "+c:", opts, NULL)) != -1) {
		if (ch == 'c')
			path = optarg;
		else
			cli_usage_error("reload: unknown option or missing value \"%s\"", argv[optind - 1]);
	}
	if (optind != argc)
		cli_usage_error("reload: unexpected argument \"%s\"",
		    argv[optind]);
	cfg = cli_find_lab(path);
	pid = cli_running_pid(cfg);
	if (pid == 0 || cli_open_seg(cfg, &seg, false, true) == -1) {
		if (cfg_error[0])
			fprintf(stderr, "labsup: %s\n", cfg_error);
		fprintf(stderr, "labsup: lab %s is not running: start it with "
		    "`labsup start`\n", cfg->lab.name);
		return EXIT_NOT_RUNNING;
	}
	seg_read_info(&seg, &before);
	if (kill(pid, SIGHUP) == -1) {
		fprintf(stderr, "labsup: cannot signal pid %d: %s\n", (int)pid,
		    strerror(errno));
		return 1;
	}
	for (int i = 0; i < 100; i++) {
		usleep(100000);
		seg_read_info(&seg, &after);
		if (after.reloads != before.reloads) {
			printf("labsup: reloaded: config generation %llu\n",
			    (unsigned long long)after.generation);
			return 0;
		}
		if (after.reload_failures != before.reload_failures) {
			fprintf(stderr, "labsup: reload refused, the lab keeps "
			    "its config: %s\n", after.last_reload_error);
			return 1;
		}
	}
	fprintf(stderr, "labsup: the supervisor did not answer the reload "
	    "within 10 s; see %s/%s\n", cfg->lab.state_dir, LAB_LOGFILE);
	return 1;
}

static int
cmd_config(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = NULL;
	struct config *cfg;
	int ch;

	if (argc < 2 || strcmp(argv[1], "check") != 0)
		cli_usage_error("config: expected `config check [-c FILE]`");
	argc--, argv++;
	while ((ch = getopt_long(argc, argv, "+c:", opts, NULL)) != -1) {
		if (ch == 'c')
			path = optarg;
		else
			cli_usage_error("config check: unknown option or missing value \"%s\"", argv[optind - 1]);
	}
	if (optind != argc)
		cli_usage_error("config check: unexpected argument \"%s\"",
		    argv[optind]);
	cfg = cli_load_config(path, NULL);
	config_print(cfg, stdout);
	fprintf(stderr, "labsup: config OK\n");
	return 0;
}

/*
 * Commands implemented elsewhere take (cfg, args after the command).  -c
 * FILE may appear anywhere before a `--`; with operands_end (psql), our
 * options stop at the first operand so `labsup psql pub -c "SELECT 1"`
 * hands -c to psql.
 */
static int
run_ext(int (*fn)(const struct config *, int, char **), int argc,
    char **argv, bool lenient, bool operands_end)
{
	const char *path = NULL;
	char **rest = calloc((size_t)argc + 1, sizeof(char *));
	int n = 0;

	if (rest == NULL)
		return 1;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--") || (operands_end && n > 0)) {
			if (!strcmp(argv[i], "--"))
				i++;
			for (; i < argc; i++)
				rest[n++] = argv[i];
			break;
		}
		if (!strcmp(argv[i], "-c") || !strcmp(argv[i], "--config")) {
			if (i + 1 >= argc)
				cli_usage_error("%s: -c needs a FILE", argv[0]);
			path = argv[++i];
		} else if (!strncmp(argv[i], "--config=", 9))
			path = argv[i] + 9;
		else
			rest[n++] = argv[i];
	}
	struct config *cfg = lenient ? cli_find_lab(path) :
	    cli_load_config(path, NULL);
	int rc = fn(cfg, n, rest);
	free(rest);
	free(cfg);
	return rc;
}

int
main(int argc, char **argv)
{
	const char *cmd;

	setproctitle_init(argc, argv, environ);
	sup_titles = true;
	if (argc < 2)
		cli_usage_error("no command given");
	cmd = argv[1];
	if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") ||
	    !strcmp(cmd, "help")) {
		fputs(usage_text, stdout);
		return 0;
	}
	if (!strcmp(cmd, "--version") || !strcmp(cmd, "version")) {
		printf("labsup %s\n", LABSUP_VERSION);
		return 0;
	}
	log_init("labsup", true);
	opterr = 0; /* we print one line of our own */
	argc--, argv++;
	if (!strcmp(cmd, "start"))
		return cmd_start(argc, argv);
	if (!strcmp(cmd, "stop"))
		return cmd_stop(argc, argv);
	if (!strcmp(cmd, "status"))
		return cmd_status(argc, argv);
	if (!strcmp(cmd, "reload"))
		return cmd_reload(argc, argv);
	if (!strcmp(cmd, "config"))
		return cmd_config(argc, argv);
	if (!strcmp(cmd, "check"))
		return run_ext(cmd_check, argc, argv, false, false);
	if (!strcmp(cmd, "psql"))
		return run_ext(cmd_psql, argc, argv, false, true);
	if (!strcmp(cmd, "top"))
		return run_ext(cmd_top, argc, argv, true, false);
	if (!strcmp(cmd, "image"))
		return run_ext(cmd_image, argc, argv, false, false);
	cli_usage_error("unknown command \"%s\"", cmd);
}
