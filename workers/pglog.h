/*
 * pglog.h: PostgreSQL's jsonlog, for the logs worker and `labsup logs`.
 * A line parser and classifier (pure: unit-tested line by line), the
 * records a line becomes, and a follower that reads a node's log
 * directory file after file, across rotations and server restarts.
 */
#ifndef LABSUP_PGLOG_H
#define LABSUP_PGLOG_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../shm/record.h"
#include "../lib/config.h"

/*
 * The text kept of a line: message, then " DETAIL: " detail, and for a
 * logical replication worker " CONTEXT: " context (the relation and
 * transaction an apply error was in).
 */
#define PGLOG_TEXT_MAX 2048

struct pglog_line {
	int64_t ts_ns;		/* "timestamp" (log_timezone = UTC) */
	int severity;		/* enum pglog_severity */
	char severity_name[16];	/* as the server spelled it (DEBUG1 ...) */
	char sqlstate[6];
	char backend_type[40];
	int32_t pid;
	char text[PGLOG_TEXT_MAX];
};

/* What becomes of a line. */
enum pglog_class {
	PGLOG_DROP = 0,		/* routine LOG line: not kept */
	PGLOG_KEEP,		/* pg_log */
	PGLOG_EVENT,		/* pg_log and events */
};

/* Parse one jsonlog line (no newline needed); 0, or -1 if not jsonlog. */
int pglog_parse(const char *line, size_t n, struct pglog_line *out);

/*
 * Every WARNING and worse is kept; of the LOG lines only the notable ones
 * (lock waits from log_lock_waits, checkpoints, logical replication
 * workers starting, exiting or failing, the server starting and stopping).
 * Events: FATAL, PANIC, deadlocks, a logical replication worker's errors
 * and exits, the server's start and stop.
 */
int pglog_classify(const struct pglog_line *l);

/*
 * The pg_log records of a line (record.h says how a long text is split),
 * at file_hash and off: fills recs[0 .. n-1] (ts set to ts, last set in
 * recs[n - 1] only) and returns n, 1 to PGLOG_PARTS.
 * Parts end on UTF-8 character boundaries.
 */
int pglog_records(const struct pglog_line *l, const char *node, int64_t ts,
    uint32_t file_hash, int64_t off, struct record recs[PGLOG_PARTS]);

/* FNV-1a of a log file's name, for rec_pg_log.file_hash. */
uint32_t pglog_file_hash(const char *name);

/*
 * The name of the *.json file in dir whose pglog_file_hash() is hash,
 * into buf; 0, or -1 when there is none.
 */
int pglog_file_of_hash(const char *dir, uint32_t hash, char *buf,
    size_t len);

/*
 * Where a restarted logs worker goes on in a node's log (in dir), given
 * r, the newest pg_log record of that node in its lane, and the offset it
 * saved: 1 when r is past the saved place, with file and *off the line r
 * is of and *skip_parts 0 (that line was sent whole: skip it) or the
 * parts of it that were (its predecessor died between two parts: send
 * the rest); 0 to go on from the saved offset.
 */
int pglog_resume(const char *dir, const struct rec_pg_log *r,
    const char *saved_file, int64_t saved_off, char *file, size_t len,
    int64_t *off, int *skip_parts);

/*
 * Of a line's n records (its event first when event), the index of the
 * first its predecessor did not send, given pglog_resume's skip_parts
 * (not 0); the event went before the parts.
 */
int pglog_unsent(int skip_parts, bool event, int n);

/* The `events` text of a line: "pub ERROR 40P01: deadlock detected". */
void pglog_event_text(const struct pglog_line *l, const char *node,
    char *buf, size_t len);

/*
 * A line's point timestamp: its log time, ms resolution, plus in ns its
 * byte offset modulo 100000 times ten and its node's place in the config
 * (0 .. CFG_MAX_NODES - 1, a digit each: a hash of the name would give
 * two of eight nodes the same digit often).  The same line always gets the same time, so a line sent
 * twice (a worker restarted before it saved its offset) is one point;
 * lines of one millisecond stay apart and in order; and two nodes' lines
 * of one millisecond at one offset (sub1 and sub2 start alike, and log
 * alike) stay apart in `events`, whose points have no node tag.
 */
int64_t pglog_point_ts(int64_t log_ts_ns, int64_t offset, int node_index);

/* "2026-12-01 11:24:37.123": a line's time as the CLI prints it (UTC). */
void pglog_format_ts(int64_t ts_ns, char *buf, size_t len);

/*
 * Following a node's log directory.  PostgreSQL's syslogger names files
 * by their start time (log_filename in pg_settings.c), so name order is
 * time order: the follower reads its file to the end, and moves to the
 * next name only once one exists and it read to the end again after
 * seeing it (the syslogger opens the new file before it stops writing
 * the old one, and is single-threaded: nothing reaches the old file after
 * the new one exists).  A server restart starts a new file too.
 */
#define PGLOG_BUF 65536

struct pglog_follow {
	char dir[PATH_MAX];
	char file[256];		/* current file's name, "" before the first */
	int64_t off;		/* next unread byte = start of the next line */
	int fd;			/* -1 when closed */
	bool skipping;		/* in a line longer than the buffer */
	size_t len;		/* bytes in buf not yet handed out */
	char buf[PGLOG_BUF];
};

/* dir must not be f->dir (init clears f first): to move a follower
 * within its directory, pglog_follow_seek(). */
void pglog_follow_init(struct pglog_follow *f, const char *dir,
    const char *file, int64_t off);
/* Go to off in file (NULL or "": the first file) of the same directory. */
void pglog_follow_seek(struct pglog_follow *f, const char *file, int64_t off);
void pglog_follow_close(struct pglog_follow *f);

/*
 * Called for each complete line, at its file and start offset; a non-zero
 * return stops the read with that line not consumed (retry later).
 */
typedef int (*pglog_line_fn)(void *arg, const char *line, size_t n,
    const char *file, int64_t off);

/*
 * Hand out every complete line available now, moving on to newer files.
 * Returns the lines handed out, or -1 with errno when the directory
 * cannot be read (it does not exist before the server's first start:
 * ENOENT).  f->file and f->off then say where to resume.
 */
int pglog_follow_read(struct pglog_follow *f, pglog_line_fn fn, void *arg);

#endif
