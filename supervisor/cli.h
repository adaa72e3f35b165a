/*
 * cli.h: helpers shared by the command-line commands.
 */
#ifndef LABSUP_CLI_H
#define LABSUP_CLI_H

#include <sys/types.h>

#include "labsup.h"

void cli_usage_error(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));
struct config *cli_load_config(const char *path, const char *backend);
/* Like cli_load_config, but an invalid file only warns (cfg_error). */
struct config *cli_find_lab(const char *path);
extern char cfg_error[600];
extern struct config *cli_config;
int cli_state_dir(const struct config *cfg, bool create);
pid_t cli_running_pid(const struct config *cfg);
int cli_open_seg(const struct config *cfg, struct seg *seg, bool writable,
    bool quiet);

/* A consistent snapshot of the segment, for status, start and top. */
struct snap_worker {
	struct slot_sup sup;
	struct slot_own own;
	int state;		/* combined: enum worker_state */
};
struct snapshot {
	struct lab_info info;
	int32_t supervisor_pid;
	int64_t boot_ns;
	uint32_t nslots, nsvc;
	struct snap_worker workers[128];
	struct svc_info svcs[CFG_MAX_NODES + 2];
	uint64_t produced, committed, dropped;
};
void cli_snapshot(const struct seg *seg, struct snapshot *snap);
/* The writer's slot in a snapshot, or NULL. */
const struct snap_worker *cli_writer(const struct snapshot *snap);

/* "12 MB"; compact ("12M") for narrow columns. */
void cli_bytes(int64_t b, bool compact, char *buf, size_t len);

int cmd_status(int argc, char **argv);
int cli_follow_start(const struct config *cfg, struct seg *seg, pid_t pid,
    int timeout, bool quiet);
void cli_summary(const struct config *cfg, const struct snapshot *snap);

#endif
