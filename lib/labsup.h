/*
 * labsup.h: what every labsup process shares: exit codes, clocks, lab
 * paths, connection strings and secrets, logging.
 */
#ifndef LABSUP_H
#define LABSUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <libpq-fe.h>

#include "../shm/record.h"
#include "../shm/ring.h"
#include "../shm/segment.h"
#include "../shm/status.h"
#include "config.h"
#include "fileio.h"

#define LABSUP_VERSION "0.1.0"

/* Exit codes. */
#define EXIT_USAGE 2	   /* bad command line */
#define EXIT_NOT_RUNNING 3 /* LSB: status of a lab that does not run */
#define EXIT_NORESPAWN 78  /* EX_CONFIG: worker must not be respawned */

/*
 * Is pid running?  A process that is not our child is reaped by whoever
 * inherited it, maybe late: a zombie counts as gone.
 */
bool pid_alive(pid_t pid);

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

/* Connect to a node with the lab's credentials (passfile); NULL + err. */
PGconn *lab_connect(const struct config *cfg, const struct node_cfg *node,
    const char *appname, char *err, size_t errlen);

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

/*
 * A subscription paused on purpose (`labsup sub pause NODE`, a scenario):
 * the file <state_dir>/sub-paused.<node> says so, and the replication
 * worker keeps it disabled instead of repairing it.
 */
int lab_sub_paused_path(const struct config *cfg, const char *node,
    char *buf, size_t len);
bool lab_sub_paused(const struct config *cfg, const char *node);
/* issue 16: a node's jsonlog directory on this host (lab.c says why). */
int lab_node_log_dir(const struct config *cfg, const char *node,
    bool docker, char *buf, size_t len);

/*
 * Scenarios (issue 14).  A node held down on purpose (a scenario's `stop
 * NODE` step): <state_dir>/node-held.<node> says so, and the container
 * worker leaves its server stopped instead of bringing it back, until the
 * mark goes (`start NODE`, or the end of the run).
 */
int lab_node_held_path(const struct config *cfg, const char *node,
    char *buf, size_t len);
bool lab_node_held(const struct config *cfg, const char *node);
/*
 * A scenario's settings for a while (`hum rate=50`, `subscriber add`):
 * <state_dir>/scenario.conf, in the config file's format, which
 * config_load() applies over the user's file; the scenario reloads the
 * lab after writing or removing it.
 */
#define LAB_OVERLAY "scenario.conf"

/*
 * Logging (log.c): to stderr, which the daemon points at its log file; each
 * line says its level after the prefix: info:, warning: (log_warn,
 * log_warnx), debug: (only with LABSUP_DEBUG set), fatal: (then exit 1).
 */
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

#endif
