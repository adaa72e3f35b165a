/*
 * cmd_top.c: `labsup top`, a live view of the lab from the shared segment
 * only (status slots and their counters): no query to PostgreSQL or
 * InfluxDB, so it works while they struggle, which is when it matters.
 * On a terminal it redraws an 80x24 screen every second and quits on q;
 * otherwise it prints the same frame as plain text, for scripts.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

#define TOP_HIST 60	/* sparkline: one point a refresh, the last minute */
#define TOP_COLS 79	/* stay off the last column: some terminals wrap */
#define TOP_ROWS 24

enum top_fig { TF_TPS, TF_WAITING, TF_PAIRS, TF_LAG, TF_POINTS, TF_MAX };

struct top_hist {
	double v[TF_MAX][TOP_HIST];
	int n;		/* points kept, up to TOP_HIST */
	int head;	/* next slot to write */
};

struct top_state {
	struct snapshot *prev, *cur;
	bool have_prev;
	int64_t prev_ns, cur_ns;	/* when prev and cur were taken */
	struct top_hist hist;
	char frame[TOP_ROWS * 4][TOP_COLS * 4 + 1];	/* UTF-8 room */
	int rows;
};

static volatile sig_atomic_t top_quit;
static struct termios top_saved;
static bool top_raw;

static void
top_on_signal(int sig)
{
	(void)sig;
	top_quit = 1;
}

/* Leaves the terminal as it was; safe to call twice. */
static void
top_restore(void)
{
	if (!top_raw)
		return;
	tcsetattr(STDIN_FILENO, TCSAFLUSH, &top_saved);
	/* cursor back on, leave the alternate screen */
	fputs("\033[?25h\033[?1049l", stdout);
	fflush(stdout);
	top_raw = false;
}

static int
top_raw_mode(void)
{
	struct termios t;

	if (tcgetattr(STDIN_FILENO, &top_saved) == -1)
		return -1;
	t = top_saved;
	/* keys arrive one by one and unechoed; ^C still raises SIGINT */
	t.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
	t.c_cc[VMIN] = 0;
	t.c_cc[VTIME] = 0;
	if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &t) == -1)
		return -1;
	top_raw = true;
	atexit(top_restore);
	fputs("\033[?1049h\033[?25l", stdout);
	return 0;
}

static void
top_line(struct top_state *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
top_line(struct top_state *t, const char *fmt, ...)
{
	va_list ap;

	if (t->rows >= TOP_ROWS)
		return;
	va_start(ap, fmt);
	vsnprintf(t->frame[t->rows], sizeof(t->frame[0]), fmt, ap);
	va_end(ap);
	t->rows++;
}


static void
top_hist_push(struct top_hist *h, const double *v)
{
	for (int f = 0; f < TF_MAX; f++)
		h->v[f][h->head] = v[f];
	h->head = (h->head + 1) % TOP_HIST;
	if (h->n < TOP_HIST)
		h->n++;
}

/*
 * One figure's last minute as block characters, oldest first, scaled from
 * zero to the window's maximum so a flat zero stays at the bottom.
 */
static void
top_spark(const struct top_hist *h, int f, char *out, size_t len)
{
	static const char *const blocks[8] = { "▁", "▂", "▃", "▄", "▅", "▆",
		"▇", "█" };
	double max = 0;
	size_t o = 0;

	for (int i = 0; i < h->n; i++)
		if (h->v[f][i] > max)
			max = h->v[f][i];
	for (int i = h->n; i < TOP_HIST && o + 1 < len; i++)
		out[o++] = ' ';
	for (int i = 0; i < h->n; i++) {
		double v = h->v[f][(h->head - h->n + i + TOP_HIST) % TOP_HIST];
		int b = max > 0 ? (int)(v / max * 7.999) : 0;
		size_t bl = strlen(blocks[b < 0 ? 0 : b]);
		if (o + bl >= len)
			break;
		memcpy(out + o, blocks[b < 0 ? 0 : b], bl);
		o += bl;
	}
	out[o] = '\0';
}

/*
 * A hum client's tx/s since the last frame, from its cumulative count: the
 * worker's own rate covers only its last 100 ms, which flickers.
 */
static double
top_hum_rate(const struct top_state *t, uint32_t i, int64_t now)
{
	const struct snap_worker *w = &t->cur->workers[i];
	const struct snap_worker *p = &t->prev->workers[i];
	double secs = (now - t->prev_ns) / 1e9;

	if (!t->have_prev || secs < 0.2 || p->sup.pid != w->sup.pid ||
	    w->own.counters[HC_TX] < p->own.counters[HC_TX])
		return w->own.counters[HC_TPS_X100] / 100.0;
	return (double)(w->own.counters[HC_TX] - p->own.counters[HC_TX]) /
	    secs;
}

/*
 * One line of the lock-wait episodes open now (workers/episodes.h), per
 * node: how many, and the longest as waiter > blocker and its age.
 */
static void
top_waits(struct top_state *t, const struct snapshot *s, int64_t now)
{
	char line[TOP_COLS + 1] = "waits  ";
	size_t len = strlen(line);
	int open = 0;

	for (uint32_t i = 0; i < s->nsvc; i++) {
		const struct snap_worker *w = cli_worker(s, WK_SAMPLER,
		    s->svcs[i].name);
		const int64_t *c;
		int n;

		if (s->svcs[i].name[0] == '\0' || w == NULL ||
		    w->own.counters[SC_EP_OPEN] == 0)
			continue;
		c = w->own.counters;
		n = snprintf(line + len, sizeof(line) - len, "%s %s %lld, "
		    "longest %d > %d %.1f s", open++ ? ";" : "",
		    s->svcs[i].name, (long long)c[SC_EP_OPEN],
		    (int)(c[SC_EP_PAIR] >> 32), (int)(uint32_t)c[SC_EP_PAIR],
		    c[SC_EP_SINCE] > 0 ? (now - c[SC_EP_SINCE]) / 1e9 : 0.0);
		if (n < 0 || (size_t)n >= sizeof(line) - len)
			break;
		len += (size_t)n;
	}
	if (open == 0)
		strlcat(line, " no lock wait now", sizeof(line));
	top_line(t, "%s", line);
}

/* A line cut to TOP_COLS columns (plain output is not cut otherwise). */
static void
top_cut_line(struct top_state *t, const char *line)
{
	char buf[TOP_COLS * 4 + 1];
	int col = 0;
	size_t i;

	for (i = 0; line[i] != '\0' && i + 1 < sizeof(buf); i++) {
		if (((unsigned char)line[i] & 0xc0) != 0x80 && ++col > TOP_COLS)
			break;
		buf[i] = line[i];
	}
	buf[i] = '\0';
	top_line(t, "%s", buf);
}

/*
 * issue 16: a line per subscription from the replication worker's slot
 * (workers/subhealth.h, read once a second): apply and sync errors, what
 * it received but has not yet reported back (received - latest_end LSN),
 * its slot's wal_status and the WAL that slot holds on the publisher.
 */
static void
top_subs(struct top_state *t, const struct snapshot *s)
{
	const struct snap_worker *w = cli_worker(s, WK_REPLICATION, NULL);

	if (w == NULL)
		return;
	for (int i = 0; i < SLOT_SUBS; i++) {
		const struct slot_sub *u = &w->own.extra.subs[i];
		char line[TOP_COLS * 4], rr[16] = "-", held[16] = "-", errs[48];
		const char *state = "";

		if (u->node[0] == '\0')
			continue;
		if (!u->seen) {
			top_line(t, "sub %-8.8s no answer yet", u->node);
			continue;
		}
		if (u->received_lsn >= 0 && u->reported_lsn >= 0)
			cli_bytes(u->received_lsn - u->reported_lsn, true, rr,
			    sizeof(rr));
		if (u->retained_bytes >= 0)
			cli_bytes(u->retained_bytes, true, held, sizeof(held));
		if (!u->enabled)
			state = "paused; ";
		else if (!u->apply_running)
			state = "no apply; ";
		snprintf(errs, sizeof(errs), "errors %lld apply, %lld sync",
		    (long long)u->apply_errors, (long long)u->sync_errors);
		snprintf(line, sizeof(line), "sub %-8.8s %s%s; rcv-rep %s; slot %s, "
		    "%s WAL%s", u->node, state, errs, rr,
		    u->wal_status[0] ? u->wal_status : "?", held,
		    u->tables_not_ready > 0 ? ", tables syncing" : "");
		top_cut_line(t, line);
	}
}

/*
 * issue 16: the server logs, from the logs worker's slot: lines kept by
 * severity since it started, and the latest ERROR, FATAL or PANIC.
 */
static void
top_logs(struct top_state *t, const struct snapshot *s)
{
	const struct snap_worker *w = cli_worker(s, WK_LOGS, NULL);
	const struct slot_logline *e;
	const int64_t *c;
	char line[TOP_COLS * 4], when[16];
	time_t tt;
	struct tm tm;

	if (w == NULL || w->sup.pid <= 0) {
		top_line(t, "logs     the logs worker is not running");
		return;
	}
	c = w->own.counters;
	e = &w->own.extra.last_error;
	top_line(t, "logs     %lld WARNING, %lld ERROR, %lld FATAL, %lld PANIC "
	    "(since the worker started)", (long long)c[LC_WARNINGS],
	    (long long)c[LC_ERRORS], (long long)c[LC_FATALS],
	    (long long)c[LC_PANICS]);
	if (e->ts_ns <= 0)
		return;
	tt = (time_t)(e->ts_ns / 1000000000);
	localtime_r(&tt, &tm);
	strftime(when, sizeof(when), "%H:%M:%S", &tm);
	snprintf(line, sizeof(line), "  last   %s %s %s%s%s: %.96s", when,
	    e->node, e->severity, e->sqlstate[0] ? " " : "", e->sqlstate,
	    e->text);
	top_cut_line(t, line);
}

/* issue 18: what the samplers sample with: probe, sql, or both */
static const char *
top_source(const struct snapshot *s)
{
	int seen = 0;

	for (uint32_t i = 1; i < s->nslots; i++) {
		const struct snap_worker *w = &s->workers[i];

		if (w->sup.kind == WK_SAMPLER && w->sup.pid > 0)
			seen |= w->own.counters[SC_SOURCE] == SAMPLER_PROBE ?
			    1 : 2;
	}
	return seen == 1 ? "probe" : seen == 2 ? "sql" : seen ? "probe+sql" :
	    "-";
}

static void
top_render(struct top_state *t, const struct config *cfg)
{
	const struct snapshot *s = t->cur;
	const struct snap_worker *wr = cli_worker(s, WK_WRITER, NULL);
	double fig[TF_MAX] = { 0 }, secs, pps = -1, tps;
	int64_t now = now_ns(), up = (now - s->boot_ns) / 1000000000;
	int nrun = 0, nback = 0, nfail = 0, nstart = 0, hums = 0, shown;
	unsigned restarts = 0;
	char clock[16], spark[TOP_HIST * 4 + 1];
	time_t tt = (time_t)(now / 1000000000);
	struct tm tm;

	t->rows = 0;
	t->cur_ns = now;
	localtime_r(&tt, &tm);
	strftime(clock, sizeof(clock), "%H:%M:%S", &tm);
	top_line(t, "labsup top: lab %.16s (%s/%s), up %lldh%02lldm%02llds, "
	    "gen %llu   %s", cfg->lab.name, s->backend[0] ?
	    s->backend : "?", top_source(s), (long long)(up / 3600),
	    (long long)(up / 60 % 60), (long long)(up % 60),
	    (unsigned long long)s->info.generation, clock);
	top_line(t, "%-8s %-6s %5s %5s %5s %6s %7s %9s %5s %5s %7s", "NODE",
	    "STATE", "WAIT", "GRANT", "PAIRS", "ACTIVE", "IDLE-TX",
	    "APPLY-LAG", "CPU%", "MEM", "SAMPLER");
	shown = 0;
	for (uint32_t i = 0; i < s->nsvc; i++) {
		const struct svc_info *v = &s->svcs[i];
		const struct snap_worker *w;
		const int64_t *c;
		char lag[16], mem[16];

		if (v->name[0] == '\0' || (v->role != ROLE_PUBLISHER &&
		    v->role != ROLE_SUBSCRIBER))
			continue;
		if (++shown > CFG_MAX_NODES)
			break;
		cli_bytes(v->mem_bytes, true, mem, sizeof(mem));
		if ((w = cli_worker(s, WK_SAMPLER, v->name)) == NULL) {
			top_line(t, "%-8.8s %-6.6s %5s %5s %5s %6s %7s %9s %5.1f "
			    "%5s", v->name, svc_state_name(v->state), "-", "-",
			    "-", "-", "-", "-", v->cpu_pct, mem);
			continue;
		}
		c = w->own.counters;
		if (v->role == ROLE_SUBSCRIBER) {
			snprintf(lag, sizeof(lag), "%.0f ms",
			    c[SC_APPLY_LAG_US] / 1000.0);
			if (c[SC_APPLY_LAG_US] / 1000.0 > fig[TF_LAG])
				fig[TF_LAG] = c[SC_APPLY_LAG_US] / 1000.0;
		} else
			snprintf(lag, sizeof(lag), "-");
		fig[TF_WAITING] += (double)c[SC_WAITING];
		fig[TF_PAIRS] += (double)c[SC_PAIRS];
		top_line(t, "%-8.8s %-6.6s %5lld %5lld %5lld %6lld %7lld %9s "
		    "%5.1f %5s %7d", v->name, c[SC_UNREACHABLE] ? "lost" :
		    svc_state_name(v->state), (long long)c[SC_WAITING],
		    (long long)c[SC_GRANTED], (long long)c[SC_PAIRS],
		    (long long)c[SC_ACTIVE], (long long)c[SC_IDLE_IN_TX], lag,
		    v->cpu_pct, mem, (int)w->sup.pid);
	}
	top_waits(t, s, now);
	top_subs(t, s);
	top_logs(t, s);
	top_line(t, "%-8s %8s %8s %9s %9s %9s %8s %7s", "HUM", "TX/S",
	    "TARGET", "P50", "P99", "ERRORS", "TX", "PID");
	for (uint32_t i = 1; i < s->nslots; i++) {
		const struct snap_worker *w = &s->workers[i];
		const int64_t *c = w->own.counters;

		if (w->state == WS_EMPTY)
			continue;
		switch (w->state) {
		case WS_RUNNING: nrun++; break;
		case WS_BACKOFF: nback++; break;
		case WS_FAILED: nfail++; break;
		case WS_STARTING: nstart++; break;
		}
		restarts += w->sup.restarts;
		if (w->sup.kind != WK_HUM)
			continue;
		tps = top_hum_rate(t, i, now);
		fig[TF_TPS] += tps;
		if (++hums > 4)
			continue;	/* the total still counts them */
		top_line(t, "%-8.8s %8.1f %8.1f %6.1f ms %6.1f ms %9lld %8lld "
		    "%7d", w->sup.name, tps,
		    c[HC_RATE_X100] / 100.0, c[HC_P50_US] / 1000.0,
		    c[HC_P99_US] / 1000.0, (long long)c[HC_ERRORS],
		    (long long)c[HC_TX], (int)w->sup.pid);
	}
	if (hums > 1)
		top_line(t, "%-8s %8.1f%s", "all", fig[TF_TPS], hums > 4 ?
		    "   (first 4 clients shown)" : "");
	top_line(t, "ring    %llu produced, %llu committed, %llu pending, "
	    "%llu dropped", (unsigned long long)s->produced,
	    (unsigned long long)s->committed,
	    (unsigned long long)(s->produced - s->committed),
	    (unsigned long long)s->dropped);
	if (wr != NULL) {
		const int64_t *c = wr->own.counters;
		char spool[16], ago[24], rate[24];

		if (t->have_prev && cli_worker(t->prev, WK_WRITER, NULL) != NULL &&
		    (secs = (now - t->prev_ns) / 1e9) > 0.2) {
			pps = (double)(c[WC_POINTS] -
			    cli_worker(t->prev, WK_WRITER, NULL)->own.counters[WC_POINTS]) / secs;
			fig[TF_POINTS] = pps > 0 ? pps : 0;
		}
		cli_bytes(c[WC_SPOOL_BYTES], true, spool, sizeof(spool));
		if (c[WC_LAST_FLUSH] > 0)
			snprintf(ago, sizeof(ago), "%.1fs ago",
			    (now - c[WC_LAST_FLUSH]) / 1e9);
		else
			snprintf(ago, sizeof(ago), "never");
		if (pps >= 0)
			snprintf(rate, sizeof(rate), "%.0f", pps);
		else
			snprintf(rate, sizeof(rate), "-");
		top_line(t, "writer  %lld points %s/s, %lld errors, spool %s, "
		    "InfluxDB %s, flush %s", (long long)c[WC_POINTS], rate,
		    (long long)c[WC_ERRORS], spool, c[WC_INFLUX_UP] ? "up" : "DOWN",
		    ago);
	} else
		top_line(t, "writer  not running");
	top_line(t, "workers %d running, %d starting, %d in backoff, %d failed; "
	    "%u restarts", nrun, nstart, nback, nfail, restarts);
	top_hist_push(&t->hist, fig);
	/*
	 * The sparklines take the rows left (the last one is the terminal's
	 * "q: quit"): in a big lab the first ones go, points/s stays.
	 */
	int room = TOP_ROWS - 1 - t->rows, first = 0;
	if (room > TF_MAX)
		top_line(t, "last minute");
	else
		first = TF_MAX - (room > 1 ? room : 1);
	static const char *const names[TF_MAX] = { "hum tx/s", "lock wait",
		"blk pairs", "apply lag", "points/s" };
	static const char *const fmts[TF_MAX] = { "%7.1f", "%7.0f", "%7.0f",
		"%5.0fms", "%7.0f" };
	for (int f = first; f < TF_MAX; f++) {
		char val[16];

		top_spark(&t->hist, f, spark, sizeof(spark));
		snprintf(val, sizeof(val), fmts[f], fig[f]);
		top_line(t, "%-10s %s %s", names[f], spark, val);
	}
}

/* Writes s cut to cols terminal columns (UTF-8: count lead bytes only). */
static void
top_put_cols(const char *s, int cols)
{
	int col = 0;
	const char *p = s;

	for (; *p != '\0'; p++) {
		if (((unsigned char)*p & 0xc0) != 0x80 && ++col > cols)
			break;
	}
	fwrite(s, 1, (size_t)(p - s), stdout);
}

/* Terminal: redraw in place.  Else: the frame, then a blank line. */
static void
top_show(const struct top_state *t, bool tty)
{
	if (tty) {
		fputs("\033[H", stdout);
		for (int i = 0; i < t->rows; i++) {
			top_put_cols(t->frame[i], TOP_COLS);
			fputs("\033[K\r\n", stdout);
		}
		fputs("\033[J", stdout);
		printf("\033[%d;1Hq: quit\033[K", TOP_ROWS);
	} else {
		for (int i = 0; i < t->rows; i++)
			printf("%s\n", t->frame[i]);
		putchar('\n');
	}
	fflush(stdout);
}

/*
 * Waits ms, or less when q is pressed (true then).  Other keys do not cut
 * the wait short: a frame a second keeps the rates and sparklines honest.
 */
static bool
top_wait(int ms, bool tty)
{
	struct pollfd p = { .fd = STDIN_FILENO, .events = POLLIN };
	int64_t end = mono_ns() + (int64_t)ms * 1000000;
	char buf[32];
	ssize_t n;

	if (!tty) {
		struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };
		nanosleep(&ts, NULL);
		return false;
	}
	while (!top_quit && (ms = (int)((end - mono_ns()) / 1000000)) > 0) {
		if (poll(&p, 1, ms) <= 0)
			continue;
		if ((n = read(STDIN_FILENO, buf, sizeof(buf))) <= 0)
			return false;	/* the terminal went away */
		for (ssize_t i = 0; i < n; i++)
			if (buf[i] == 'q' || buf[i] == 'Q')
				return true;
	}
	return false;
}

static bool
top_running(const struct config *cfg, const struct seg *seg)
{
	pid_t pid = cli_running_pid(cfg);

	return pid != 0 && atomic_load(&seg->hdr->supervisor_pid) == pid;
}

static void
top_free(struct top_state *t)
{
	free(t->prev);
	free(t->cur);
	free(t);
}

int
cmd_top(int argc, char **argv)
{
	struct config *cfg;
	static const struct option opts[] = {
		{ "once", no_argument, NULL, '1' },
		{ "count", required_argument, NULL, 'n' },
		{ "plain", no_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 },
	};
	struct top_state *t = calloc(1, sizeof(*t));
	long count = -1;
	bool tty, plain = false;
	struct sigaction sa;
	struct seg seg;
	int ch, rc = 0;

	if (t == NULL ||
	    (t->prev = calloc(1, sizeof(*t->prev))) == NULL ||
	    (t->cur = calloc(1, sizeof(*t->cur))) == NULL) {
		fprintf(stderr, "labsup: top: out of memory\n");
		return 1;
	}
	while ((ch = getopt_long(argc, argv, "+1n:p", opts, NULL)) != -1) {
		char *end;

		switch (ch) {
		case '1': count = 1; break;
		case 'p': plain = true; break;
		case 'n':
			errno = 0;
			count = strtol(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || count < 1)
				cli_usage_error("top: -n wants a count of "
				    "frames, 1 or more, not \"%s\"", optarg);
			break;
		default:
			cli_usage_error("top: unknown option or missing value "
			    "\"%s\" (try --once, -n COUNT, --plain)",
			    argv[optind - 1]);
		}
	}
	if (optind != argc)
		cli_usage_error("top: unexpected argument \"%s\"", argv[optind]);
	cfg = cli_cfg();	/* once the command line is known good */
	if (cli_require_running(cfg, &seg, stdout) == -1) {
		top_free(t);
		return EXIT_NOT_RUNNING;
	}
	tty = !plain && isatty(STDOUT_FILENO) && isatty(STDIN_FILENO);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = top_on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	if (tty && top_raw_mode() == -1)
		tty = false;
	for (long frame = 0; !top_quit; frame++) {
		int64_t t0 = mono_ns();

		if (!top_running(cfg, &seg)) {
			top_restore();
			printf("lab %s stopped\n", cfg->lab.name);
			break;
		}
		cli_snapshot(&seg, t->cur);
		top_render(t, cfg);
		top_show(t, tty);
		struct snapshot *x = t->prev;
		t->prev = t->cur;
		t->cur = x;
		t->have_prev = true;
		t->prev_ns = t->cur_ns;
		if (count > 0 && frame + 1 >= count)
			break;
		/* next frame a second after this one began */
		int ms = 1000 - (int)((mono_ns() - t0) / 1000000);
		if (top_wait(ms > 0 ? ms : 0, tty))
			break;
	}
	top_restore();
	seg_close(&seg);
	top_free(t);
	return rc;
}
