/*
 * labsup.h: what every labsup process shares: the worker entry points and
 * their context, exit codes, lab paths and connection strings, logging.
 */
#ifndef LABSUP_H
#define LABSUP_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../shm/record.h"
#include "../shm/ring.h"
#include "../shm/segment.h"
#include "../shm/status.h"
#include "config.h"

#define LABSUP_VERSION "0.1.0"

/* Exit codes. */
#define EXIT_USAGE 2	   /* bad command line */
#define EXIT_NOT_RUNNING 3 /* LSB: status of a lab that does not run */
#define EXIT_NORESPAWN 78  /* EX_CONFIG: worker must not be respawned */

/* What a worker gets; it owns slot and lane, and reads cfg. */
struct worker_ctx {
	struct seg *seg;
	struct slot *slot;	/* my status slot */
	struct lane *lane;	/* my lane (I am its only producer) */
	const struct config *cfg;
	int slot_index;
	int kind;		/* enum worker_kind */
	const char *arg;	/* node name (sampler), client index (hum) */
};

/*
 * Set by the worker's signal handler (installed by worker_main before the
 * entry point runs): SIGTERM/SIGINT set worker_stop.  A worker loop checks
 * it at least every 100 ms and returns 0 promptly when it is set.
 */
extern volatile sig_atomic_t worker_stop;

/* Entry points: return the process exit code (0, 1 crash-ish, 78). */
int container_main(struct worker_ctx *ctx);
int replication_main(struct worker_ctx *ctx);
int hum_main(struct worker_ctx *ctx);
int sampler_main(struct worker_ctx *ctx);
int writer_main(struct worker_ctx *ctx);

/*
 * Run by a one-shot child of the supervisor at `labsup stop`, after every
 * worker is gone: stop the lab's services (and delete their data when
 * purge).  Returns 0 or 1.
 */
int container_stop_services(const struct config *cfg, bool purge);

/* True when the worker has been orphaned (supervisor gone). */
bool worker_orphaned(void);

/* Sleep up to ms, returning early when worker_stop is set. */
void worker_sleep_ms(int ms);

/* Push a record into the worker's lane, stamping ts when it is 0. */
int worker_emit(struct worker_ctx *ctx, struct record *r);
/*
 * Start this worker's `labsup` record: every figure absent (so it never
 * overwrites what the writer reports for the same worker) but ring_drops
 * and restarts.  Fill in what the worker knows, then worker_emit().
 */
void worker_labsup_init(struct worker_ctx *ctx, struct record *r);

/* Push an `events` record: kind and printf text. */
int worker_event(struct worker_ctx *ctx, const char *kind, const char *fmt,
    ...) __attribute__((format(printf, 3, 4)));

/* Time. */
int64_t now_ns(void);	   /* CLOCK_REALTIME */
int64_t mono_ns(void);	   /* CLOCK_MONOTONIC */

/* Paths in the lab's state directory: lab_path(cfg, "pgpass", buf, len). */
int lab_path(const struct config *cfg, const char *file, char *buf,
    size_t len);
/* A PostgreSQL node's directory there (local backend: its data directory). */
int lab_node_dir(const struct config *cfg, const char *node, char *buf,
    size_t len);
/* The segment name of this lab. */
void lab_seg_name(const struct config *cfg, char *buf, size_t len);

/*
 * libpq connection string for a node from the host: host, port, dbname,
 * user, passfile (never a password), application_name, connect_timeout.
 * The host is the server's unix socket directory when it has one there
 * (local backend), else the bind address.
 */
int lab_conninfo(const struct config *cfg, const struct node_cfg *node,
    const char *appname, char *buf, size_t len);

/*
 * The lab password (read, or generated once into <state_dir>/password) and
 * the passfile <state_dir>/pgpass, both 0600.  0, or -1 with err.
 */
int lab_credentials(const struct config *cfg, char *pw, size_t pwlen,
    char *err, size_t errlen);
/* Write a small secret file, 0600, atomically. */
int lab_write_secret(const char *path, const char *text);

/* Files in the state directory. */
#define LAB_PIDFILE "labsup.pid"
#define LAB_LOGFILE "labsup.log"
#define LAB_PASSFILE "pgpass"	  /* libpq passfile, 0600 */
#define LAB_PASSWORD "password"	  /* the generated password, 0600 */

/* Logging (log.c): to stderr, which the daemon points at its log file. */
void log_init(const char *ident, bool foreground);
void log_setident(const char *ident);
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void fatal(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));

/* CLI commands implemented outside main.c: (cfg, argc, argv) -> exit code */
int cmd_check(const struct config *cfg, int argc, char **argv);
int cmd_psql(const struct config *cfg, int argc, char **argv);
int cmd_top(const struct config *cfg, int argc, char **argv);
int cmd_image(const struct config *cfg, int argc, char **argv);

#endif
