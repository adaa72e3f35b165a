/*
 * subhealth.h: subscription health, read once a second by the replication
 * worker on the connections it holds: on each subscriber its subscription
 * (errors, LSNs, message times, tables not ready, what its apply and sync
 * workers wait on), on the publisher each subscription's slot and
 * walsender.  Records sub_stats, sub_rel, sub_slot, sub_worker (record.h).
 */
#ifndef LABSUP_SUBHEALTH_H
#define LABSUP_SUBHEALTH_H

#include <libpq-fe.h>

#include "worker.h"

/*
 * Every statement runs under this statement_timeout: a slow catalog
 * read (a lock on pg_subscription_rel during a table sync) delays the
 * replication worker's heartbeat by no more than this.
 */
#define SUBHEALTH_TIMEOUT_MS 300

/*
 * The subscriber's side; 0, or -1 when the statement failed.  out (NULL:
 * none) gets subscription subname's errors, LSNs and tables for top.
 */
int subhealth_subscriber(struct worker_ctx *ctx, PGconn *c, const char *node,
    const char *subname, struct slot_sub *out);

/*
 * The publisher's side, for the slots named in subs[0 .. n-1] (the
 * subscriptions' names, which are their slots' names); 0 or -1.  out[j]
 * (out NULL: none) gets slot subs[j]'s wal_status and retained WAL.
 */
int subhealth_publisher(struct worker_ctx *ctx, PGconn *c, const char *node,
    const char *const *subs, int n, struct slot_sub *out);

#endif
