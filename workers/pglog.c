/*
 * pglog.c: PostgreSQL's jsonlog lines: parsing (jansson), which lines
 * matter, the pg_log records a line becomes, and following a node's log
 * directory across rotations and restarts.  No lane, no InfluxDB: the
 * logs worker and `labsup logs` both build on it.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "pglog.h"

static void
pglog_str(json_t *o, const char *key, char *buf, size_t len)
{
	const char *s = json_string_value(json_object_get(o, key));

	snprintf(buf, len, "%s", s != NULL ? s : "");
}

/* Append label and s to text when s is not empty. */
static void
pglog_append(char *text, size_t len, const char *label, const char *s)
{
	size_t used = strlen(text);

	if (s[0] != '\0' && used < len)
		snprintf(text + used, len - used, "%s%s", label, s);
}

/* "2026-12-01 11:24:37.123 UTC" as ns since the epoch; -1 if not that. */
static int64_t
pglog_parse_ts(const char *s)
{
	struct tm tm;
	int ms = 0;
	char zone[8] = "";

	memset(&tm, 0, sizeof(tm));
	if (sscanf(s, "%4d-%2d-%2d %2d:%2d:%2d.%3d %7s", &tm.tm_year,
	    &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &ms,
	    zone) != 8 || (strcmp(zone, "UTC") && strcmp(zone, "GMT")))
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return (int64_t)timegm(&tm) * 1000000000LL + (int64_t)ms * 1000000;
}

int
pglog_parse(const char *line, size_t n, struct pglog_line *out)
{
	json_error_t jerr;
	json_t *o = json_loadb(line, n, JSON_DISABLE_EOF_CHECK, &jerr);
	char ts[64], detail[PGLOG_TEXT_MAX];
	json_t *pid;

	memset(out, 0, sizeof(*out));
	if (!json_is_object(o)) {
		json_decref(o);
		return -1;
	}
	pglog_str(o, "timestamp", ts, sizeof(ts));
	pglog_str(o, "error_severity", out->severity_name,
	    sizeof(out->severity_name));
	out->ts_ns = pglog_parse_ts(ts);
	out->severity = pglog_severity_code(out->severity_name);
	if (out->ts_ns < 0 || out->severity == PGLOG_NONE) {
		json_decref(o);
		return -1;
	}
	pglog_str(o, "state_code", out->sqlstate, sizeof(out->sqlstate));
	pglog_str(o, "backend_type", out->backend_type,
	    sizeof(out->backend_type));
	pid = json_object_get(o, "pid");
	out->pid = json_is_integer(pid) ? (int32_t)json_integer_value(pid) : 0;
	pglog_str(o, "message", out->text, sizeof(out->text));
	pglog_str(o, "detail", detail, sizeof(detail));
	pglog_append(out->text, sizeof(out->text), " DETAIL: ", detail);
	/* an apply error's CONTEXT names the relation and the transaction */
	if (pglog_btype_code(out->backend_type) == PGB_APPLY) {
		pglog_str(o, "context", detail, sizeof(detail));
		pglog_append(out->text, sizeof(out->text), " CONTEXT: ", detail);
	}
	json_decref(o);
	return 0;
}

/* LOG lines worth keeping: a message prefix (or part) and whether it is
 * an event. */
static const struct {
	const char *text;
	bool anywhere;		/* false: the message starts with it */
	bool event;
} pglog_notable[] = {
	{ " still waiting for ", true, false },	/* log_lock_waits */
	{ " acquired ", true, false },		/* ... and its end */
	{ "checkpoint starting", false, false },
	{ "checkpoint complete", false, false },
	{ "restartpoint ", false, false },
	{ "logical replication apply worker", false, true },
	{ "logical replication table synchronization worker", false, false },
	{ "\"logical replication worker\"", true, true }, /* ... exited */
	{ "database system is ready to accept connections", false, true },
	{ "database system is shut down", false, true },
	{ "received fast shutdown request", false, false },
	{ "received immediate shutdown request", false, false },
	{ "terminating any other active server processes", false, true },
	{ "server process (PID", false, true },	/* a backend crashed */
};

int
pglog_classify(const struct pglog_line *l)
{
	switch (l->severity) {
	case PGLOG_FATAL:
	case PGLOG_PANIC:
		return PGLOG_EVENT;
	case PGLOG_ERROR:
		/* deadlocks and a subscriber's apply/sync failures */
		if (!strcmp(l->sqlstate, "40P01") ||
		    pglog_btype_code(l->backend_type) == PGB_APPLY)
			return PGLOG_EVENT;
		return PGLOG_KEEP;
	case PGLOG_WARNING:
		return PGLOG_KEEP;
	case PGLOG_LOG:
		break;
	default:
		return PGLOG_DROP;
	}
	for (size_t i = 0; i < sizeof(pglog_notable) /
	    sizeof(pglog_notable[0]); i++) {
		const char *t = pglog_notable[i].text;
		if (pglog_notable[i].anywhere ? strstr(l->text, t) != NULL :
		    !strncmp(l->text, t, strlen(t)))
			return pglog_notable[i].event ? PGLOG_EVENT : PGLOG_KEEP;
	}
	return PGLOG_DROP;
}

/* At most max bytes of s, not splitting a UTF-8 character. */
static size_t
pglog_cut(const char *s, size_t n, size_t max)
{
	if (n <= max)
		return n;
	while (max > 0 && ((unsigned char)s[max] & 0xc0) == 0x80)
		max--;
	return max;
}

uint32_t
pglog_file_hash(const char *name)
{
	uint32_t h = 2166136261u;

	for (; *name; name++)
		h = (h ^ (unsigned char)*name) * 16777619u;
	return h;
}

int
pglog_records(const struct pglog_line *l, const char *node, int64_t ts,
    uint32_t file_hash, int64_t off, struct record recs[PGLOG_PARTS])
{
	const char *p = l->text;
	size_t left = strlen(l->text);
	int n = 0;

	do {
		struct record *r = &recs[n];
		size_t take = pglog_cut(p, left, REC_PGLOG_TEXT);

		memset(r, 0, sizeof(*r));
		r->kind = REC_PG_LOG;
		r->ts = ts;
		snprintf(r->u.pg_log.node, sizeof(r->u.pg_log.node), "%s",
		    node);
		memcpy(r->u.pg_log.sqlstate, l->sqlstate,
		    sizeof(r->u.pg_log.sqlstate));
		r->u.pg_log.sqlstate[sizeof(r->u.pg_log.sqlstate) - 1] = '\0';
		r->u.pg_log.severity = (uint8_t)l->severity;
		r->u.pg_log.btype = (uint8_t)pglog_btype_code(l->backend_type);
		r->u.pg_log.part = (uint8_t)n;
		r->u.pg_log.pid = l->pid;
		r->u.pg_log.file_hash = file_hash;
		r->u.pg_log.off = off;
		memcpy(r->u.pg_log.text, p, take);
		p += take;
		left -= take;
		n++;
	} while (left > 0 && n < PGLOG_PARTS);
	recs[n - 1].u.pg_log.last = 1;
	return n;
}

void
pglog_event_text(const struct pglog_line *l, const char *node, char *buf,
    size_t len)
{
	snprintf(buf, len, "%s %s%s%s: %s", node, l->severity_name,
	    l->sqlstate[0] && strcmp(l->sqlstate, "00000") ? " " : "",
	    l->sqlstate[0] && strcmp(l->sqlstate, "00000") ? l->sqlstate : "",
	    l->text);
}

int64_t
pglog_point_ts(int64_t log_ts_ns, int64_t offset, int node_index)
{
	_Static_assert(CFG_MAX_NODES <= 10, "a digit a node");
	return log_ts_ns + offset % 100000 * 10 + node_index % 10;
}

void
pglog_format_ts(int64_t ts_ns, char *buf, size_t len)
{
	time_t t = (time_t)(ts_ns / 1000000000LL);
	struct tm tm;
	char day[32];

	gmtime_r(&t, &tm);
	strftime(day, sizeof(day), "%Y-%m-%d %H:%M:%S", &tm);
	snprintf(buf, len, "%s.%03d", day,
	    (int)(ts_ns / 1000000 % 1000));
}

/* ---- following a log directory ------------------------------------ */

void
pglog_follow_init(struct pglog_follow *f, const char *dir, const char *file,
    int64_t off)
{
	memset(f, 0, sizeof(*f));
	f->fd = -1;
	snprintf(f->dir, sizeof(f->dir), "%s", dir);
	pglog_follow_seek(f, file, off);
}

void
pglog_follow_seek(struct pglog_follow *f, const char *file, int64_t off)
{
	char name[sizeof(f->file)];

	/* file may be f->file: copy it before anything is cleared */
	snprintf(name, sizeof(name), "%s", file != NULL ? file : "");
	pglog_follow_close(f);
	memcpy(f->file, name, sizeof(f->file));
	f->off = off;
}

void
pglog_follow_close(struct pglog_follow *f)
{
	if (f->fd != -1)
		close(f->fd);
	f->fd = -1;
	f->len = 0;
	f->skipping = false;
}

int
pglog_file_of_hash(const char *dir, uint32_t hash, char *buf, size_t len)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int rc = -1;

	if (d == NULL)
		return -1;
	while (rc == -1 && (e = readdir(d)) != NULL) {
		size_t n = strlen(e->d_name);
		if (n >= 6 && !strcmp(e->d_name + n - 5, ".json") && n < len &&
		    pglog_file_hash(e->d_name) == hash) {
			snprintf(buf, len, "%s", e->d_name);
			rc = 0;
		}
	}
	closedir(d);
	return rc;
}

int
pglog_resume(const char *dir, const struct rec_pg_log *r,
    const char *saved_file, int64_t saved_off, char *file, size_t len,
    int64_t *off, int *skip_parts)
{
	int c;

	if (pglog_file_of_hash(dir, r->file_hash, file, len) == -1)
		return 0;	/* its file is gone: the saved place it is */
	c = strcmp(file, saved_file);
	if (c < 0 || (c == 0 && r->off < saved_off))
		return 0;	/* saved after it was sent */
	*off = r->off;
	*skip_parts = r->last ? 0 : r->part + 1;
	return 1;
}

int
pglog_unsent(int skip_parts, bool event, int n)
{
	int from = skip_parts > 0 ? skip_parts + event : 0;

	return from < n ? from : n;
}

/* The first *.json name after `after` in dir, into next; 1, 0, -1. */
static int
pglog_next_file(const char *dir, const char *after, char *next, size_t len)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int found = 0;

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL) {
		size_t n = strlen(e->d_name);
		if (n < 6 || strcmp(e->d_name + n - 5, ".json") ||
		    strcmp(e->d_name, after) <= 0 || n >= len)
			continue;
		if (!found || strcmp(e->d_name, next) < 0)
			snprintf(next, len, "%s", e->d_name);
		found = 1;
	}
	closedir(d);
	return found;
}

/*
 * Hand out the complete lines in buf; returns the count, and sets *stop
 * when fn refused one (it stays in buf).
 */
static int
pglog_lines(struct pglog_follow *f, pglog_line_fn fn, void *arg, bool *stop)
{
	size_t start = 0;
	int lines = 0;
	char *nl;

	while ((nl = memchr(f->buf + start, '\n', f->len - start)) != NULL) {
		size_t n = (size_t)(nl - (f->buf + start));

		if (f->skipping) {
			f->skipping = false;	/* the rest of a long line */
		} else if (fn(arg, f->buf + start, n, f->file, f->off) != 0) {
			*stop = true;
			break;
		} else
			lines++;
		start += n + 1;
		f->off += (int64_t)n + 1;
	}
	memmove(f->buf, f->buf + start, f->len - start);
	f->len -= start;
	if (f->len == sizeof(f->buf)) {
		/* a line longer than the buffer: skip to its end */
		f->off += (int64_t)f->len;
		f->len = 0;
		f->skipping = true;
	}
	return lines;
}

/* Open the current file at f->off; 0, or -1 when it is gone. */
static int
pglog_open(struct pglog_follow *f)
{
	char path[PATH_MAX + 300];

	snprintf(path, sizeof(path), "%s/%s", f->dir, f->file);
	f->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (f->fd == -1)
		return -1;
	if (lseek(f->fd, (off_t)f->off, SEEK_SET) == (off_t)-1) {
		pglog_follow_close(f);
		return -1;
	}
	f->len = 0;
	f->skipping = false;
	return 0;
}

int
pglog_follow_read(struct pglog_follow *f, pglog_line_fn fn, void *arg)
{
	char next[sizeof(f->file)];
	bool stop = false, saw_next = false;
	int lines = 0;

	for (;;) {
		if (f->fd == -1) {
			if (f->file[0] == '\0' || pglog_open(f) == -1) {
				/* none yet, or deleted: the next name on */
				int r = pglog_next_file(f->dir, f->file, next,
				    sizeof(next));
				if (r <= 0)
					return r == -1 ? -1 : lines;
				snprintf(f->file, sizeof(f->file), "%s", next);
				f->off = 0;
				continue;
			}
		}
		lines += pglog_lines(f, fn, arg, &stop);
		if (stop)
			return lines;
		ssize_t n = read(f->fd, f->buf + f->len, sizeof(f->buf) -
		    f->len);
		if (n > 0) {
			f->len += (size_t)n;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -1;
		/* at the end: move on only once a newer file exists */
		if (!saw_next) {
			int r = pglog_next_file(f->dir, f->file, next,
			    sizeof(next));
			if (r <= 0)
				return r == -1 ? -1 : lines;
			saw_next = true;	/* read to the end once more */
			continue;
		}
		pglog_follow_close(f);
		snprintf(f->file, sizeof(f->file), "%s", next);
		f->off = 0;
		saw_next = false;
	}
}
