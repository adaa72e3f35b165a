/*
 * sampler.h: what the sampler shares with its benchmark: the statement one
 * tick runs (locks: with the pg_locks scan; repl: with the subscription
 * part; dboid: the oid of the database it runs in; wait_detail: with
 * each lock waiter's detail, workers/episodes.h), so a baseline can run
 * exactly the same SQL.
 */
#ifndef LABSUP_SAMPLER_H
#define LABSUP_SAMPLER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

void sampler_sql(char *buf, size_t len, bool locks, bool repl,
    unsigned dboid, bool wait_detail);

/*
 * issue 18: the sampler with the in-server probe (sampler_probe.c).  It
 * returns the worker's exit code, or SAMPLER_PROBE_FALLBACK with why (one
 * line, for status) when source = auto finds no probe: sample over SQL.
 */
#define SAMPLER_PROBE_FALLBACK (-1000)
struct worker_ctx;
struct node_cfg;
int sampler_probe_main(struct worker_ctx *ctx, const struct node_cfg *node,
    char *why, size_t whylen);
/* A subscriber's subscriptions (rows 'R'), and their records. */
void sampler_sql_repl(char *buf, size_t len, unsigned dboid);
void sampler_emit_repl(struct worker_ctx *ctx, const char *node,
    const PGresult *res, int row, int64_t ts);
/* issue 16/18: `top`'s figures of a node's lock-wait episodes. */
struct ep_table;
void sampler_ep_status(struct worker_ctx *ctx, const struct ep_table *ep);

#endif
