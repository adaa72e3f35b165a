/*
 * local.h: what the local backend's files share (local.c, local_proc.c,
 * local_pg.c, local_services.c) and nothing more.  Other layers see the
 * backend only as backend_local (backend.h).
 */
#ifndef LABSUP_LOCAL_H
#define LABSUP_LOCAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "backend.h"

#define LOCAL_PATH 512
#define LOCAL_PWLEN 32
/* A server that is not up this long after its start is reported failed. */
#define LOCAL_START_GRACE_NS (120 * 1000000000LL)
/* Never respawn a server more often than this (a crash loop). */
#define LOCAL_RESPAWN_NS (2 * 1000000000LL)

/* What this process remembers about a service between passes. */
struct local_svc {
	char name[16];
	pid_t initdb_pid;	/* initdb running in the background */
	pid_t server_pid;	/* the server we last saw or started */
	int64_t started_ns;	/* when we spawned it (mono), 0 = adopted */
	bool provisioned;	/* password and database set this process */
	int64_t cpu_ticks;	/* previous stats sample */
	int64_t cpu_at_ns;
	int64_t mem_bytes;	/* PSS, refreshed every LOCAL_MEM_EVERY_NS */
	int64_t mem_at_ns;
	/* issue 15: after a SIGHUP for new settings, when to ask what waits */
	int64_t settings_check_ns;
};

/* Who a server runs as. */
struct local_ids {
	uid_t uid;
	gid_t gid;
	bool drop;		/* setuid to uid in the child */
};

/* ---- local.c: the backend's memory and paths ------------------------ */

struct local_svc *local_state(const char *name);
/* PostgreSQL refuses to run as root: root runs servers as run_as. */
int local_server_ids(const struct config *cfg, struct local_ids *ids,
    char *err, size_t errlen);

/* ---- local_proc.c: processes and files ------------------------------ */

int mkdir_owned(const char *path, mode_t mode, const struct local_ids *ids);
/* Up to len - 1 bytes, NUL-terminated; how many, or -1. */
int read_file(const char *path, char *buf, size_t len);
int rm_rf(const char *path);
/* The last line of a log file: what a failed server or initdb said. */
void log_tail(const char *path, char *out, size_t len);
/* True when /proc/pid/comm starts with want (a recycled pid is not ours). */
bool pid_is(pid_t pid, const char *want);
/* The pid in a pidfile, or 0. */
pid_t read_pidfile(const char *path);
/* Is something else listening on bind:port? */
bool port_taken(const char *addr, int port);
/* A loopback port nobody uses now, or -1. */
int free_loopback_port(void);
/* A detached server, nobody's child (see local_proc.c); pid or -1. */
pid_t spawn_server(const struct local_ids *ids, int logfd,
    const char *pidfile, char *const argv[], char *const env[]);
/*
 * spawn_server for st, logging to logfd (closed here), and note it: pid,
 * start time, not provisioned.  0 with obs "starting", or -1 with obs
 * FAILED ("cannot start what: why").
 */
int start_server(struct local_svc *st, const struct local_ids *ids,
    int logfd, const char *pidfile, char *const argv[], char *const env[],
    const char *what, struct service_obs *obs);
/* A background job we wait for (initdb): our child, dies with us. */
pid_t spawn_job(const struct local_ids *ids, int logfd, char *const argv[]);
int open_log(const char *path, const struct local_ids *ids);
/*
 * Signal pid and wait up to secs for it to go; then escalate (5 s), then
 * SIGKILL (5 s): never unbounded.  PostgreSQL: SIGINT (fast shutdown),
 * SIGQUIT (immediate), SIGKILL.
 */
bool stop_pid(pid_t pid, int sig, int secs, int escalate);
/* utime+stime ticks and, when mem is not NULL, PSS of one process. */
int proc_usage(pid_t pid, pid_t *ppid, int64_t *ticks, int64_t *mem);
/* Add the usage of pid's children (a postmaster's backends). */
void children_usage(pid_t pid, int64_t *ticks, int64_t *mem);

/* ---- local_pg.c: PostgreSQL nodes ----------------------------------- */

/* The lab password and the server user's passfile <state_dir>/pg/.pgpass. */
int local_credentials(const struct config *cfg, const struct local_ids *ids,
    char *pw, size_t pwlen, char *err, size_t errlen);

struct pm_pid {
	pid_t pid;
	int port;
	char status[16];	/* "ready", "starting", "stopping", "" */
};

/* A data directory's postmaster.pid; 0, or -1 when there is none. */
int read_postmaster_pid(const char *dir, struct pm_pid *pm);
/* Adopt, initdb or start a node; provision it once it answers. */
int pg_ensure(const struct config *cfg, const struct service_def *svc,
    struct service_obs *obs);

/* ---- local_services.c: InfluxDB and Grafana ------------------------- */

int influx_ensure(const struct config *cfg, const struct service_def *svc,
    struct service_obs *obs);
int grafana_ensure(const struct config *cfg, const struct service_def *svc,
    struct service_obs *obs);

#endif
