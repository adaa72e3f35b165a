/*
 * supervisor.h: the supervisor process: forks and names workers, reaps and
 * restarts them, reloads the config, stops everything.  It never touches
 * the data plane (beyond its own lane of events).
 */
#ifndef LABSUP_SUPERVISOR_H
#define LABSUP_SUPERVISOR_H

#include <bsd/libutil.h>

#include "../workers/worker.h"

#define SUP_MAX_SLOTS 128
#define SUP_SPARE_SLOTS 8	/* room for workers a reload adds */
#define SUP_BACKOFF_MIN_MS 100
#define SUP_BACKOFF_MAX_MS 10000
#define SUP_BACKOFF_RESET_MS 30000 /* uptime that forgives past crashes */
#define SUP_TAKEOVER_WAIT_MS 10000 /* old workers exit before a takeover */
#define SUP_SERVICE_STOP_MS 45000 /* stopping one service, at most */
#define SUP_SERVICES_KILL_MS 5000  /* then SIGTERM, and SIGKILL after this */

/* Workers the config asks for (kind, arg, name), in start order. */
struct want {
	int kind;
	char arg[STATUS_NAME];
	char name[STATUS_NAME];
	uint64_t slice;		/* hash of the config this worker depends on */
};
int sup_wanted(const struct config *cfg, struct want *out, int max);

/*
 * The longest a whole stop may take (every worker's grace by phase, every
 * service's bounded stop): what `labsup stop` waits by default.
 */
int sup_stop_bound_s(const struct config *cfg);

/* Slots a segment needs for cfg: supervisor + workers + spare. */
uint32_t sup_nslots(const struct config *cfg);

/* Tests replace worker entry points (and skip stopping services). */
void sup_set_entry(int kind, worker_entry fn);

/*
 * Run the supervisor loop until stopped.  cfg is owned by the supervisor
 * from here on (replaced on reload).  pfh may be NULL (tests).  Returns
 * the process exit code.
 */
int sup_run(struct config *cfg, struct seg *seg, struct pidfh *pfh);

#endif
