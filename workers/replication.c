/*
 * replication.c: the replication worker.  PLACEHOLDER until its issue lands: it reports
 * itself running and idles, so the supervisor can be exercised.
 */
#include "../supervisor/labsup.h"

int
replication_main(struct worker_ctx *ctx)
{
	status_set(ctx->slot, WS_RUNNING, "placeholder");
	while (!worker_stop) {
		status_heartbeat(ctx->slot);
		worker_sleep_ms(100);
	}
	return 0;
}
