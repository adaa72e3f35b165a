/*
 * cmd_lab.c: the lab's life: `labsup start` validates the config, takes
 * the pidfile, creates (or adopts) the segment, daemonizes the supervisor
 * and follows its progress; `stop` and `reload` signal the supervisor and
 * wait for its answer in the segment.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

/*
 * Is pid alive and one of the lab's own processes: does it map the lab's
 * segment?  That survives a rebuilt or upgraded binary (whose exe reads
 * "(deleted)") and never matches a recycled pid of something else, nor the
 * lab's servers (another user, and they never map it).  Unreadable: not
 * ours, so nothing is waited for or killed on a guess.
 */
static bool
is_lab_process(pid_t pid, const char *segname)
{
	char path[64], line[512], want[SEG_NAME_MAX + 16];
	bool found = false;
	FILE *fp;

	if (pid == getpid() || !pid_alive(pid))
		return false;
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	snprintf(want, sizeof(want), "/dev/shm%s", segname);
	if ((fp = fopen(path, "r")) == NULL)
		return false;
	while (!found && fgets(line, sizeof(line), fp) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		size_t l = strlen(line), w = strlen(want);
		found = l >= w && strcmp(line + l - w, want) == 0;
	}
	fclose(fp);
	return found;
}

/*
 * The workers of a supervisor that died get SIGTERM from the kernel
 * (PR_SET_PDEATHSIG) but may still be at work: its writer flushes for up
 * to 5 s.  A new supervisor must not rewind and drain the lanes beside
 * them: wait for every pid the old segment names to exit, SIGKILL what is
 * left after SUP_TAKEOVER_WAIT_MS.
 */
static int
old_workers_gone(struct seg *seg)
{
	pid_t pids[SUP_MAX_SLOTS * 2];
	int n = 0, left;
	int64_t until = mono_ns() + (int64_t)SUP_TAKEOVER_WAIT_MS * 1000000;
	bool killed = false;

	for (uint32_t i = 1; i < seg->hdr->nslots && n < (int)(sizeof(pids) /
	    sizeof(pids[0])); i++) {
		struct slot *sl = seg_slot(seg, i);
		/* the supervisor's record of what it forked and did not reap */
		if (sl->sup.state != WS_EMPTY && sl->sup.pid > 0 &&
		    is_lab_process(sl->sup.pid, seg->name))
			pids[n++] = sl->sup.pid;
	}
	if (n == 0)
		return 0;
	fprintf(stderr, "labsup: waiting for %d worker%s of that supervisor to "
	    "exit\n", n, n == 1 ? "" : "s");
	for (;;) {
		left = 0;
		for (int i = 0; i < n; i++)
			if (pids[i] > 0 && !is_lab_process(pids[i], seg->name))
				pids[i] = 0;
			else if (pids[i] > 0)
				left++;
		if (left == 0)
			return 0;
		if (mono_ns() > until) {
			if (killed) {
				fprintf(stderr, "labsup: %d old worker%s did not "
				    "exit after SIGKILL; see ps\n", left,
				    left == 1 ? "" : "s");
				return -1;
			}
			for (int i = 0; i < n; i++)
				if (pids[i] > 0) {
					fprintf(stderr, "labsup: old worker %d "
					    "did not exit: SIGKILL\n",
					    (int)pids[i]);
					kill(pids[i], SIGKILL);
				}
			killed = true;
			until = mono_ns() + 5000000000LL;
		}
		usleep(20000);
	}
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
			/* its workers must be gone before the lanes rewind */
			if (old_workers_gone(seg) == -1) {
				seg_close(seg);
				return -1;
			}
			for (uint32_t i = 0; i < h->nslots; i++) {
				struct slot *s = seg_slot(seg, i);
				memset(s, 0, sizeof(*s));
				/* the consumer starts over from what was committed */
				lane_init(seg_lane(seg, i), lane_records, true);
			}
			for (uint32_t i = 0; i < h->nsvc; i++)
				memset(seg_svc(seg, i), 0, sizeof(struct svc_status));
			h->boot_ns = now_ns();
			atomic_store(&h->backend, 0);	/* the new container worker says */
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

int
cmd_start(int argc, char **argv)
{
	struct config *cfg;
	static const struct option opts[] = {
		{ "backend", required_argument, NULL, 'b' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "timeout", required_argument, NULL, 't' },
		{ "quiet", no_argument, NULL, 'q' },
		{ NULL, 0, NULL, 0 },
	};
	const char *backend = NULL;
	bool fg = false, quiet = false;
	int timeout = 300, ch;
	struct pidfh *pfh;
	struct seg seg;
	char pidpath[CFG_PATH + 32], errbuf[512];
	pid_t other, pid;
	int rc;

	while ((ch = getopt_long(argc, argv, "+b:ft:q", opts, NULL)) != -1) {
		switch (ch) {
		case 'b': backend = optarg; break;
		case 'f': fg = true; break;
		case 'q': quiet = true; break;
		case 't':
			timeout = cli_seconds("start", optarg);
			break;
		default:
			cli_usage_error("start: unknown option or missing value \"%s\"", argv[optind - 1]);
		}
	}
	if (optind != argc)
		cli_usage_error("start: unexpected argument \"%s\"",
		    argv[optind]);
	cfg = cli_cfg();	/* once the command line is known good */
	if (backend != NULL && config_set_backend(cfg, backend) == -1)
		cli_usage_error("--backend %s: expected auto, docker or local",
		    backend);
	/* issue 15: a bad hum script or server setting stops the start */
	if (cli_config_deep_check(cfg, errbuf, sizeof(errbuf)) == -1) {
		fprintf(stderr, "labsup: %s\n", errbuf);
		return 1;
	}
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
		/* the supervisor owns cfg now (a reload frees it): never return */
		exit(sup_run(cfg, &seg, pfh));
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

int
cmd_stop(int argc, char **argv)
{
	struct config *cfg;
	static const struct option opts[] = {
		{ "keep-running", no_argument, NULL, 'k' },
		{ "purge", no_argument, NULL, 'p' },
		{ "timeout", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 },
	};
	uint32_t flags = 0;
	int timeout = 0, ch;	/* 0: the bound the supervisor keeps */
	struct seg seg;
	pid_t pid;

	while ((ch = getopt_long(argc, argv, "+kpt:", opts, NULL)) != -1) {
		switch (ch) {
		case 'k': flags |= SHUT_KEEP_RUNNING; break;
		case 'p': flags |= SHUT_PURGE; break;
		case 't':
			timeout = cli_seconds("stop", optarg);
			break;
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
	cfg = cli_cfg();	/* once the command line is known good */
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
	if (timeout == 0)
		timeout = sup_stop_bound_s(cfg);
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

int
cmd_reload(int argc, char **argv)
{
	struct config *cfg;
	static const struct option opts[] = {
		{ NULL, 0, NULL, 0 },
	};
	struct lab_info before, after;
	struct seg seg;
	pid_t pid;
	int ch;

	while ((ch = getopt_long(argc, argv, "+", opts, NULL)) != -1)
		cli_usage_error("reload: unknown option or missing value \"%s\"",
		    argv[optind - 1]);
	if (optind != argc)
		cli_usage_error("reload: unexpected argument \"%s\"",
		    argv[optind]);
	cfg = cli_cfg();	/* once the command line is known good */
	if (cli_require_running(cfg, &seg, stderr) == -1)
		return EXIT_NOT_RUNNING;
	pid = (pid_t)atomic_load(&seg.hdr->supervisor_pid);
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
