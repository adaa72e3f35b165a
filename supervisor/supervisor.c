/*
 * supervisor.c: the supervisor's main loop.  Signals arrive on a signalfd
 * (blocked otherwise) and only set pending_* flags; the loop reaps with
 * WNOHANG, restarts crashed workers with backoff, reconciles on reload and
 * runs the stop sequence.  Like the postmaster, it never touches the data
 * plane: its only lane carries events (restarts, reloads).
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "supervisor.h"

/* Supervisor-private view of a slot. */
struct wslot {
	bool used;
	int kind;
	char arg[STATUS_NAME];
	char name[STATUS_NAME];
	uint64_t slice;
	pid_t pid;
	int64_t started_mono;
	int64_t next_start_mono;	/* 0: start now */
	int backoff_ms;
	uint32_t restarts;
	bool failed;			/* no respawn */
	bool removing;			/* gone from the config: free on exit */
	bool restarting;		/* config changed: start again on exit */
	int64_t kill_at_mono;		/* SIGKILL deadline after SIGTERM */
	int last_status;		/* wait status of the last exit */
};

static struct sup {
	struct config *cfg;
	struct seg *seg;
	struct pidfh *pfh;
	struct wslot slots[SUP_MAX_SLOTS];
	uint32_t nslots;
	int sigfd;
	bool pending_reload, pending_stop;
	struct worker_ctx evctx;	/* for our own lane (slot 0) */
} sup;

/* Tests replace entry points (NULL: the worker table's). */
static worker_entry entries[WK_MAX];
static bool entries_overridden;

void
sup_set_entry(int kind, worker_entry fn)
{
	if (kind > WK_NONE && kind < WK_MAX) {
		entries[kind] = fn;
		entries_overridden = true;
	}
}

static int
want_add(struct want *out, int n, int max, const struct config *cfg,
    int kind, const char *arg)
{
	if (n >= max)
		return n;
	memset(&out[n], 0, sizeof(out[n]));
	out[n].kind = kind;
	snprintf(out[n].arg, sizeof(out[n].arg), "%s", arg);
	if (arg[0])
		snprintf(out[n].name, sizeof(out[n].name), "%s %s",
		    worker_kind_name(kind), arg);
	else
		snprintf(out[n].name, sizeof(out[n].name), "%s",
		    worker_kind_name(kind));
	out[n].slice = worker_config_hash(cfg, kind, arg);
	return n + 1;
}

/* The workers of cfg, from the worker table, in its start order. */
int
sup_wanted(const struct config *cfg, struct want *out, int max)
{
	char arg[STATUS_NAME];
	int n = 0;

	for (size_t o = 0; o < worker_ntypes; o++) {
		const struct worker_type *t = &worker_types[o];
		if (t->enabled != NULL && !t->enabled(cfg))
			continue;
		switch (t->count) {
		case WN_ONE:
			n = want_add(out, n, max, cfg, t->kind, "");
			break;
		case WN_PER_NODE:
			for (int i = 0; i < cfg->nnodes; i++)
				n = want_add(out, n, max, cfg, t->kind,
				    cfg->nodes[i].name);
			break;
		case WN_PER_SUBSCRIBER:
			for (int i = 0; i < cfg->nnodes; i++)
				if (cfg->nodes[i].role == NODE_SUBSCRIBER &&
				    !cfg->nodes[i].link.bypass)
					n = want_add(out, n, max, cfg, t->kind,
					    cfg->nodes[i].name);
			break;
		case WN_PER_CLIENT:
			/* every hum group's clients (issue 15) */
			for (int g = 0; g < config_hum_ngroups(cfg); g++) {
				const struct hum_cfg *hg = config_hum_group(cfg,
				    g);
				for (int i = 0; i < hg->clients; i++) {
					hum_worker_arg(cfg, hg, i + 1, arg,
					    sizeof(arg));
					n = want_add(out, n, max, cfg, t->kind,
					    arg);
				}
			}
			break;
		}
	}
	return n;
}

int
sup_stop_bound_s(const struct config *cfg)
{
	int grace[WORKER_LAST_PHASE + 1] = { 0 };

	for (size_t i = 0; i < worker_ntypes; i++)
		if (worker_types[i].grace_ms > grace[worker_types[i].stop_phase])
			grace[worker_types[i].stop_phase] = worker_types[i].grace_ms;
	int ms = SUP_SERVICE_STOP_MS * (cfg->nnodes + 2) + SUP_SERVICES_KILL_MS;
	for (int p = 0; p <= WORKER_LAST_PHASE; p++)
		ms += grace[p];
	/* and a service's worth for nodes a reload removed */
	return (ms + SUP_SERVICE_STOP_MS) / 1000;
}

uint32_t
sup_nslots(const struct config *cfg)
{
	struct want w[SUP_MAX_SLOTS];
	uint32_t n = 1 + (uint32_t)sup_wanted(cfg, w, SUP_MAX_SLOTS) +
	    SUP_SPARE_SLOTS;

	return n > SUP_MAX_SLOTS ? SUP_MAX_SLOTS : n;
}

static void
sup_event(const char *kind, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
sup_event(const char *kind, const char *fmt, ...)
{
	char text[sizeof(((struct rec_event *)0)->text)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	worker_event(&sup.evctx, kind, "%s", text);
}

/* Publish the supervisor's view of slot i. */
static void
publish_slot(uint32_t i, int state)
{
	struct wslot *w = &sup.slots[i];
	struct slot *s = seg_slot(sup.seg, i);
	struct slot_sup v;

	/* prepared outside the write section, which only copies */
	memset(&v, 0, sizeof(v));
	if (w->used) {
		snprintf(v.name, sizeof(v.name), "%s", w->name);
		snprintf(v.arg, sizeof(v.arg), "%s", w->arg);
		v.kind = (uint8_t)w->kind;
		v.state = (uint8_t)state;
		v.pid = w->pid;
		v.restarts = w->restarts;
		v.last_status = w->last_status;
		v.started_ns = w->pid ? now_ns() -
		    (mono_ns() - w->started_mono) : 0;
		v.next_start_ns = w->next_start_mono ?
		    now_ns() + (w->next_start_mono - mono_ns()) : 0;
	}
	seq_write_begin(&s->sup_lock);
	memcpy(&s->sup, &v, sizeof(v));
	seq_write_end(&s->sup_lock);
}

/* In the child: become the worker and never return. */
static void __attribute__((noreturn))
become_worker(uint32_t i, pid_t parent)
{
	struct wslot *w = &sup.slots[i];
	struct worker_start ws = {
		.seg = sup.seg, .slot = i, .kind = w->kind, .arg = w->arg,
		.name = w->name, .cfg = sup.cfg, .parent = parent,
		.entry = entries[w->kind],
	};

	close(sup.sigfd);
	if (sup.pfh != NULL)
		pidfile_close(sup.pfh);
	_exit(worker_run(&ws));
}

static int
start_worker(uint32_t i)
{
	struct wslot *w = &sup.slots[i];
	pid_t parent = getpid();
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid == -1) {
		log_warn("cannot fork %s (retrying with backoff)", w->name);
		w->next_start_mono = mono_ns() + 1000000000LL;
		publish_slot(i, WS_BACKOFF);
		return -1;
	}
	if (pid == 0)
		become_worker(i, parent);
	w->pid = pid;
	w->started_mono = mono_ns();
	w->next_start_mono = 0;
	w->kill_at_mono = 0;
	log_debug("started %s, pid %d, slot %u", w->name, (int)pid, i);
	publish_slot(i, WS_STARTING);
	return 0;
}

static void
signal_worker(struct wslot *w, int sig, int grace_ms)
{
	if (w->pid <= 0)
		return;
	kill(w->pid, sig);
	if (sig == SIGTERM && w->kill_at_mono == 0)
		w->kill_at_mono = mono_ns() + (int64_t)grace_ms * 1000000;
}

static const char *
describe_exit(int status, char *buf, size_t len)
{
	if (WIFEXITED(status))
		snprintf(buf, len, "exit %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, len, "signal %s", strsignal(WTERMSIG(status)));
	else
		snprintf(buf, len, "status 0x%x", status);
	return buf;
}

static struct wslot *
slot_of_pid(pid_t pid, uint32_t *idx)
{
	for (uint32_t i = 1; i < sup.nslots; i++)
		if (sup.slots[i].used && sup.slots[i].pid == pid) {
			*idx = i;
			return &sup.slots[i];
		}
	return NULL;
}

/* A worker exited: decide what comes next for its slot. */
static void
worker_exited(uint32_t i, int status, bool stopping)
{
	struct wslot *w = &sup.slots[i];
	int64_t up_ms = (mono_ns() - w->started_mono) / 1000000;
	char how[64];

	w->pid = 0;
	w->kill_at_mono = 0;
	w->last_status = status;
	describe_exit(status, how, sizeof(how));

	if (stopping) {
		publish_slot(i, WS_STOPPED);
		return;
	}
	if (w->removing) {
		log_info("%s stopped (%s): removed by reload", w->name, how);
		w->used = false;
		publish_slot(i, WS_EMPTY);
		return;
	}
	if (w->restarting) {
		w->restarting = false;
		log_info("%s stopped (%s): restarting with the new config",
		    w->name, how);
		start_worker(i);
		return;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == EXIT_NORESPAWN) {
		w->failed = true;
		log_warnx("%s gave up (exit %d): it will not be restarted; fix "
		    "the config and run `labsup reload`", w->name,
		    EXIT_NORESPAWN);
		sup_event("failed", "%s gave up: fix the config", w->name);
		publish_slot(i, WS_FAILED);
		return;
	}
	/* a crash: restart with backoff, forgiven after a long uptime */
	if (up_ms >= SUP_BACKOFF_RESET_MS || w->backoff_ms == 0)
		w->backoff_ms = SUP_BACKOFF_MIN_MS;
	else if ((w->backoff_ms *= 2) > SUP_BACKOFF_MAX_MS)
		w->backoff_ms = SUP_BACKOFF_MAX_MS;
	w->restarts++;
	w->next_start_mono = mono_ns() + (int64_t)w->backoff_ms * 1000000;
	log_warnx("%s died (%s) after %lld ms; restart %u in %d ms", w->name,
	    how, (long long)up_ms, w->restarts, w->backoff_ms);
	sup_event("restart", "%s died (%s); restart %u in %d ms", w->name, how,
	    w->restarts, w->backoff_ms);
	publish_slot(i, WS_BACKOFF);
}

static void
reap(bool stopping)
{
	uint32_t i;
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if (slot_of_pid(pid, &i) != NULL)
			worker_exited(i, status, stopping);
	}
}

static void
start_due(void)
{
	int64_t now = mono_ns();

	for (uint32_t i = 1; i < sup.nslots; i++) {
		struct wslot *w = &sup.slots[i];
		if (!w->used || w->pid > 0 || w->failed || w->removing)
			continue;
		if (w->next_start_mono <= now)
			start_worker(i);
	}
}

/* SIGKILL whoever outlived its SIGTERM grace. */
static void
enforce_kills(void)
{
	int64_t now = mono_ns();

	for (uint32_t i = 1; i < sup.nslots; i++) {
		struct wslot *w = &sup.slots[i];
		if (w->pid > 0 && w->kill_at_mono && now >= w->kill_at_mono) {
			log_warnx("%s did not stop in time: SIGKILL", w->name);
			kill(w->pid, SIGKILL);
			w->kill_at_mono = 0;
		}
	}
}

static int
next_timeout_ms(void)
{
	int64_t now = mono_ns(), next = now + 1000000000LL;

	for (uint32_t i = 1; i < sup.nslots; i++) {
		struct wslot *w = &sup.slots[i];
		if (w->used && w->pid == 0 && !w->failed &&
		    w->next_start_mono && w->next_start_mono < next)
			next = w->next_start_mono;
		if (w->pid > 0 && w->kill_at_mono && w->kill_at_mono < next)
			next = w->kill_at_mono;
	}
	int64_t ms = (next - now) / 1000000 + 1;
	return ms < 0 ? 0 : (int)ms;
}

static int
find_slot(int kind, const char *arg)
{
	for (uint32_t i = 1; i < sup.nslots; i++)
		if (sup.slots[i].used && !sup.slots[i].removing &&
		    sup.slots[i].kind == kind &&
		    !strcmp(sup.slots[i].arg, arg))
			return (int)i;
	return -1;
}

static int
free_slot(void)
{
	for (uint32_t i = 1; i < sup.nslots; i++)
		if (!sup.slots[i].used)
			return (int)i;
	return -1;
}

/*
 * Make the running set match cfg: keep unaffected workers (same pid),
 * restart those whose slice changed, stop removed ones, start new ones.
 * Returns -1 (changing nothing) when the new set needs more slots than the
 * segment has.
 */
static int
reconcile(const struct config *cfg, char *err, size_t errlen)
{
	struct want want[SUP_MAX_SLOTS];
	int n = sup_wanted(cfg, want, SUP_MAX_SLOTS);
	bool keep[SUP_MAX_SLOTS] = { false };
	int need = 0, freeable = 0;

	for (int k = 0; k < n; k++)
		if (find_slot(want[k].kind, want[k].arg) == -1)
			need++;
	for (uint32_t i = 1; i < sup.nslots; i++)
		if (!sup.slots[i].used)
			freeable++;
	if (need > freeable) {
		snprintf(err, errlen, "the new config needs %d more worker "
		    "slots and the lab has %d free: stop and start the lab to "
		    "grow it", need, freeable);
		return -1;
	}
	for (int k = 0; k < n; k++) {
		int i = find_slot(want[k].kind, want[k].arg);
		if (i != -1) {
			keep[i] = true;
			struct wslot *w = &sup.slots[i];
			if (w->slice != want[k].slice) {
				w->slice = want[k].slice;
				w->failed = false;
				w->backoff_ms = 0;
				if (w->pid > 0) {
					w->restarting = true;
					signal_worker(w, SIGTERM,
					    worker_type_of(w->kind)->grace_ms);
				} else
					w->next_start_mono = 0;
			} else if (w->failed && w->pid <= 0) {
				/*
				 * It gave up (exit 78), but the cause may lie
				 * outside the file (an environment variable, a
				 * file's mode, an engine that was down): every
				 * reload gives it another go.
				 */
				log_info("%s gave up before: starting it again",
				    w->name);
				w->failed = false;
				w->backoff_ms = 0;
				w->next_start_mono = 0;
			}
		}
	}
	for (uint32_t i = 1; i < sup.nslots; i++) {
		struct wslot *w = &sup.slots[i];
		if (!w->used || keep[i] || w->removing)
			continue;
		if (w->pid > 0) {
			w->removing = true;
			w->restarting = false;
			signal_worker(w, SIGTERM,
			    worker_type_of(w->kind)->grace_ms);
		} else {
			w->used = false;
			publish_slot(i, WS_EMPTY);
		}
	}
	for (int k = 0; k < n; k++) {
		if (find_slot(want[k].kind, want[k].arg) != -1)
			continue;
		int i = free_slot();
		struct wslot *w = &sup.slots[i];
		memset(w, 0, sizeof(*w));
		w->used = true;
		w->kind = want[k].kind;
		w->slice = want[k].slice;
		memcpy(w->arg, want[k].arg, sizeof(w->arg));
		memcpy(w->name, want[k].name, sizeof(w->name));
		publish_slot((uint32_t)i, WS_STARTING);
	}
	return 0;
}

static void
publish_info(const char *reload_error)
{
	struct lab_info info;

	seg_read_info(sup.seg, &info);
	snprintf(info.lab, sizeof(info.lab), "%s", sup.cfg->lab.name);
	snprintf(info.config_path, sizeof(info.config_path), "%s",
	    sup.cfg->path);
	snprintf(info.state_dir, sizeof(info.state_dir), "%s",
	    sup.cfg->lab.state_dir);
	snprintf(info.influx_url, sizeof(info.influx_url), "%s",
	    sup.cfg->influx.url);
	snprintf(info.influx_db, sizeof(info.influx_db), "%s",
	    sup.cfg->influx.version == 2 ? sup.cfg->influx.bucket :
	    sup.cfg->influx.database);
	if (reload_error != NULL) {
		info.reload_failures++;
		snprintf(info.last_reload_error,
		    sizeof(info.last_reload_error), "%s", reload_error);
	}
	seg_write_info(sup.seg, &info);
}

/* What a reload may not change: the lab's identity and the segment. */
static int
reload_allowed(const struct config *old, const struct config *new,
    char *err, size_t errlen)
{
	if (strcmp(old->lab.name, new->lab.name) ||
	    strcmp(old->lab.state_dir, new->lab.state_dir)) {
		snprintf(err, errlen, "%s: lab name and state_dir cannot change "
		    "on reload: stop the lab, then start it", new->path);
		return -1;
	}
	if (old->writer.lane_records != new->writer.lane_records) {
		snprintf(err, errlen, "%s: writer.lane_records cannot change on "
		    "reload: stop the lab, then start it", new->path);
		return -1;
	}
	return 0;
}

static void
do_reload(void)
{
	struct config *next = calloc(1, sizeof(*next));
	char err[512];

	if (next == NULL) {
		log_warn("reload: cannot allocate");
		return;
	}
	log_info("reloading %s", sup.cfg->path[0] ? sup.cfg->path :
	    "(built-in defaults)");
	if (config_load(next, sup.cfg->path, err, sizeof(err)) == -1 ||
	    reload_allowed(sup.cfg, next, err, sizeof(err)) == -1) {
		/* keep the backend override given at start */
		log_warnx("reload refused, keeping the running config: %s", err);
		sup_event("reload", "refused: %s", err);
		publish_info(err);
		free(next);
		return;
	}
	next->lab.backend = sup.cfg->lab.backend;
	if (reconcile(next, err, sizeof(err)) == -1) {
		log_warnx("reload refused, keeping the running config: %s", err);
		sup_event("reload", "refused: %s", err);
		publish_info(err);
		free(next);
		return;
	}
	/* running children keep their own copy; new ones get next */
	free(sup.cfg);
	sup.cfg = next;
	struct lab_info info;
	seg_read_info(sup.seg, &info);
	info.generation++;
	info.reloads++;
	info.last_reload_error[0] = '\0';
	seg_write_info(sup.seg, &info);
	publish_info(NULL);
	log_info("reloaded: config generation %llu",
	    (unsigned long long)info.generation);
	sup_event("reload", "config generation %llu in force",
	    (unsigned long long)info.generation);
}

static void
read_signals(void)
{
	struct signalfd_siginfo si;

	while (read(sup.sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGHUP:
			sup.pending_reload = true;
			break;
		case SIGTERM:
		case SIGINT:
			sup.pending_stop = true;
			break;
		case SIGCHLD:	/* the loop reaps after every wake-up */
			break;
		}
	}
}

static int
stop_phase(const struct wslot *w)
{
	return worker_type_of(w->kind)->stop_phase;
}

static bool
any_alive(int phase)
{
	for (uint32_t i = 1; i < sup.nslots; i++)
		if (sup.slots[i].pid > 0 && stop_phase(&sup.slots[i]) == phase)
			return true;
	return false;
}

/* Wait (reaping) until no worker of phase is alive, escalating to KILL. */
static void
wait_phase(int phase)
{
	while (any_alive(phase)) {
		struct pollfd pfd = { .fd = sup.sigfd, .events = POLLIN };
		poll(&pfd, 1, 100);
		read_signals();
		reap(true);
		enforce_kills();
	}
}

static void
stop_services(uint32_t flags)
{
	pid_t pid;
	int status;

	if (flags & SHUT_KEEP_RUNNING) {
		log_info("leaving the services running (--keep-running)");
		return;
	}
	if (entries_overridden)
		return; /* tests run without services */
	pid = fork();
	if (pid == -1) {
		log_warn("cannot fork to stop the services");
		return;
	}
	if (pid == 0) {
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		close(sup.sigfd);
		if (sup.pfh != NULL)
			pidfile_close(sup.pfh);
		if (worker_titles)
			setproctitle("stopping services");
		_exit(container_stop_services(sup.cfg,
		    (flags & SHUT_PURGE) != 0));
	}
	/*
	 * Bounded: the child escalates per server (backend stop), and if it
	 * hangs all the same (a stuck engine, a server in D state) it gets
	 * SIGTERM at the deadline and SIGKILL SUP_SERVICES_KILL_MS later.
	 */
	/* each server may take its whole escalation (local: 30 + 5 + 5 s) */
	int stop_ms = SUP_SERVICE_STOP_MS * (sup.cfg->nnodes + 2);
	int64_t deadline = mono_ns() + (int64_t)stop_ms * 1000000;
	bool termed = false;
	status = 0;
	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);
		if (r == pid || (r == -1 && errno != EINTR))
			break;
		if (mono_ns() >= deadline) {
			log_warnx("stopping the services takes longer than %d s: "
			    "%s the stopper (pid %d); check the servers by hand",
			    stop_ms / 1000, termed ? "SIGKILL to" :
			    "SIGTERM to", (int)pid);
			kill(pid, termed ? SIGKILL : SIGTERM);
			deadline = mono_ns() + (int64_t)SUP_SERVICES_KILL_MS *
			    1000000;
			termed = true;
		}
		struct pollfd pfd = { .fd = sup.sigfd, .events = POLLIN };
		poll(&pfd, 1, 100);
		read_signals();
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)		log_warnx("some services did not stop cleanly; see above");
}

static int
shutdown_all(void)
{
	uint32_t flags = atomic_load(&sup.seg->hdr->shutdown_flags);
	uint64_t produced, committed, dropped;

	log_info("stopping: workers first, then the writer, then services");
	sup_event("stop", "lab %s stopping", sup.cfg->lab.name);
	/*
	 * By the worker table's stop phases: the producers first; once they
	 * are gone the writer (phase 1) drains what is left, then exits.
	 */
	for (int phase = 0; phase <= WORKER_LAST_PHASE; phase++) {
		for (uint32_t i = 1; i < sup.nslots; i++)
			if (sup.slots[i].used &&
			    stop_phase(&sup.slots[i]) == phase)
				signal_worker(&sup.slots[i], SIGTERM,
				    worker_type_of(sup.slots[i].kind)->grace_ms);
		wait_phase(phase);
	}
	stop_services(flags);

	seg_ring_totals(sup.seg, &produced, &committed, &dropped);
	if (produced != committed) {
		/* keep them: the next start's writer delivers them */
		log_warnx("%llu samples were not yet written; keeping %s so the "
		    "next `labsup start` delivers them",
		    (unsigned long long)(produced - committed), sup.seg->name);
	} else if (!entries_overridden || sup.pfh != NULL) {
		seg_unlink(sup.seg->name);
	}
	if (sup.pfh != NULL)
		pidfile_remove(sup.pfh);
	log_info("stopped");
	return 0;
}

int
sup_run(struct config *cfg, struct seg *seg, struct pidfh *pfh)
{
	sigset_t mask;
	char err[512];

	memset(&sup, 0, sizeof(sup));
	sup.cfg = cfg;
	sup.seg = seg;
	sup.pfh = pfh;
	sup.nslots = seg->hdr->nslots;

	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	sup.sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (sup.sigfd == -1) {
		log_warn("signalfd");
		return 1;
	}

	atomic_store(&seg->hdr->supervisor_pid, (int32_t)getpid());
	atomic_store(&seg->hdr->shutdown_flags, 0);
	/* slot 0 is ours: supervisor status and the events lane */
	sup.slots[0].used = true;
	sup.slots[0].kind = WK_SUPERVISOR;
	sup.slots[0].pid = getpid();
	sup.slots[0].started_mono = mono_ns();
	snprintf(sup.slots[0].name, sizeof(sup.slots[0].name), "supervisor");
	publish_slot(0, WS_RUNNING);
	for (uint32_t i = 1; i < sup.nslots; i++)
		publish_slot(i, WS_EMPTY);
	sup.evctx.seg = seg;
	sup.evctx.slot = seg_slot(seg, 0);
	sup.evctx.lane = seg_lane(seg, 0);
	sup.evctx.cfg = cfg;
	sup.evctx.kind = WK_SUPERVISOR;
	sup.evctx.arg = "";
	status_set(sup.evctx.slot, WS_RUNNING, "pid %d", (int)getpid());
	publish_info(NULL);

	if (reconcile(cfg, err, sizeof(err)) == -1) {
		log_warnx("%s", err);
		return 1;
	}
	sup_event("start", "lab %s started (pid %d)", cfg->lab.name,
	    (int)getpid());
	log_info("supervisor of lab %s running, pid %d, %u slots",
	    cfg->lab.name, (int)getpid(), sup.nslots);

	while (!sup.pending_stop) {
		start_due();
		struct pollfd pfd = { .fd = sup.sigfd, .events = POLLIN };
		int rc = poll(&pfd, 1, next_timeout_ms());
		if (rc == -1 && errno != EINTR) {
			log_warn("poll");
			break;
		}
		read_signals();
		reap(false);
		enforce_kills();
		if (sup.pending_reload) {
			sup.pending_reload = false;
			sup.evctx.cfg = sup.cfg;
			do_reload();
			sup.evctx.cfg = sup.cfg;
		}
		status_heartbeat(sup.evctx.slot);
	}
	return shutdown_all();
}
